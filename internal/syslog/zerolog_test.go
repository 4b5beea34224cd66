package syslog

import (
	"bytes"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
)

func TestAppendReadable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, record, want string
	}{
		{"message first, fields in order, level and time dropped",
			`{"level":"warn","backend":"ms1","server":"ms1.srv1","time":"2026-11-25T16:50:00Z","reason":"Layer4 timeout","message":"Server ms1/ms1.srv1 is DOWN"}` + "\n",
			`Server ms1/ms1.srv1 is DOWN backend=ms1 server=ms1.srv1 reason="Layer4 timeout"`},
		{"numbers, booleans, null and nested values",
			`{"level":"info","active":2,"backup":0,"ratio":0.5,"up":true,"x":null,"list":[1,"a b"],"obj":{"k":1},"message":"counts"}`,
			`counts active=2 backup=0 ratio=0.5 up=true x=null list="[1,\"a b\"]" obj="{\"k\":1}"`},
		{"error field, quoting of quotes, equals and control bytes",
			`{"level":"error","error":"dial ms1/ms1.srv1 192.0.2.21:8080: connection refused","q":"say \"hi\"","eq":"a=b","nl":"a\nb","empty":"","message":"x"}`,
			`x error="dial ms1/ms1.srv1 192.0.2.21:8080: connection refused" q="say \"hi\"" eq="a=b" nl="a\nb" empty=""`},
		{"no message", `{"level":"info","vrrp":"VI_1","state":"MASTER"}`, `vrrp=VI_1 state=MASTER`},
		{"message only", `{"message":"tandem started"}`, `tandem started`},
		{"utf-8 kept bare", `{"message":"m","who":"zoë"}`, `m who=zoë`},
		{"not json", "plain text line\n", "plain text line"},
		{"control bytes in the message become spaces", `{"message":"line one\nline two\ttab"}`, `line one line two tab`},
		{"broken json", `{"message":"m",`, `{"message":"m",`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := string(AppendReadable([]byte("> "), []byte(tt.record)))
			if diff := cmp.Diff("> "+tt.want, got); diff != "" {
				t.Errorf("AppendReadable (-want +got):\n%s", diff)
			}
		})
	}
}

// TestZerologRouting: info goes to the facility, warn and above to both
// facilities with the record's severity, below info nowhere.
func TestZerologRouting(t *testing.T) {
	t.Parallel()
	pc, read := listenUDP(t)
	w := dialTest(t, "udp://"+pc.LocalAddr().String(), WithPID(4242),
		WithClock(fixedClock(time.Date(2026, time.November, 25, 16, 50, 0, 0, time.UTC))))
	log := zerolog.New(NewZerologWriter(w, Local0, Local1)).Level(zerolog.TraceLevel).With().Timestamp().Logger()
	const hdr = "Nov 25 16:50:00 tandem[4242]: "

	log.Debug().Msg("not for syslog")
	log.Trace().Msg("nor this")
	log.Info().Str("config", "/etc/tandem/tandem.toml").Msg("tandem started")
	if diff := cmp.Diff("<134>"+hdr+"tandem started config=/etc/tandem/tandem.toml", read()); diff != "" {
		t.Errorf("info (-want +got):\n%s", diff)
	}
	log.Warn().Str("backend", "ms1").Msg("Server ms1/ms1.srv1 is DOWN")
	for _, pri := range []string{"<132>", "<140>"} {
		if diff := cmp.Diff(pri+hdr+"Server ms1/ms1.srv1 is DOWN backend=ms1", read()); diff != "" {
			t.Errorf("warn (-want +got):\n%s", diff)
		}
	}
	log.Error().Err(errors.New("boom")).Msg("reload failed")
	for _, pri := range []string{"<131>", "<139>"} {
		if diff := cmp.Diff(pri+hdr+"reload failed error=boom", read()); diff != "" {
			t.Errorf("error (-want +got):\n%s", diff)
		}
	}
	log.Log().Msg("no level")
	if diff := cmp.Diff("<134>"+hdr+"no level", read()); diff != "" {
		t.Errorf("no level (-want +got):\n%s", diff)
	}
	zw := NewZerologWriter(w, Local0, Local1)
	for _, tt := range []struct {
		level zerolog.Level
		pris  []string
	}{
		{zerolog.FatalLevel, []string{"<130>", "<138>"}},
		{zerolog.PanicLevel, []string{"<128>", "<136>"}},
	} {
		if n, err := zw.WriteLevel(tt.level, []byte(`{"message":"bye"}`)); err != nil || n != 17 {
			t.Errorf("WriteLevel(%v) = %d, %v", tt.level, n, err)
		}
		for _, pri := range tt.pris {
			if got := read(); got != pri+hdr+"bye" {
				t.Errorf("%v: got %q, want priority %s", tt.level, got, pri)
			}
		}
	}
	noDatagram(t, pc)
}

func TestZerologSameFacilitySendsOnce(t *testing.T) {
	t.Parallel()
	pc, read := listenUDP(t)
	w := dialTest(t, "udp://"+pc.LocalAddr().String())
	log := zerolog.New(NewZerologWriter(w, Local0, Local0))
	log.Warn().Msg("once")
	if got := read(); !regexp.MustCompile(`^<132>.*: once$`).MatchString(got) {
		t.Errorf("got %q", got)
	}
	noDatagram(t, pc)
}

// TestZerologErrorsAreCounted: a closed writer must not make zerolog print
// complaints; the loss shows in Dropped.
func TestZerologErrorsAreCounted(t *testing.T) {
	t.Parallel()
	pc, _ := listenUDP(t)
	w := dialTest(t, "udp://"+pc.LocalAddr().String())
	w.Close()
	zw := NewZerologWriter(w, Local0, Local1)
	if _, err := zw.WriteLevel(zerolog.WarnLevel, []byte(`{"message":"lost"}`)); err != nil {
		t.Errorf("WriteLevel returned %v, want nil", err)
	}
	if w.Dropped() != 2 {
		t.Errorf("Dropped = %d, want 2", w.Dropped())
	}
}

func TestConsole(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := zerolog.New(Console(&buf)).With().Time(zerolog.TimestampFieldName,
		time.Date(2026, time.November, 25, 16, 50, 0, 0, time.UTC)).Logger()
	log.Warn().Str("backend", "ms1").Msg("Server ms1/ms1.srv1 is DOWN")
	if got, want := buf.String(), "2026-11-25T16:50:00.000Z WRN Server ms1/ms1.srv1 is DOWN backend=ms1\n"; got != want {
		t.Errorf("console line:\n got %q\nwant %q", got, want)
	}
}
