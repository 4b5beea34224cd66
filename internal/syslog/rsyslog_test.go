package syslog_test

import (
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/tandemlb/tandem/internal/logtest"
	"github.com/tandemlb/tandem/internal/syslog"
	"github.com/tandemlb/tandem/lb/accesslog"
)

// TestThroughRsyslog sends events and a traffic line through a real
// rsyslogd running deploy/rsyslog.conf: info lands in tandem.log only,
// warnings in both files, each line with the hostname rsyslog added.
func TestThroughRsyslog(t *testing.T) {
	t.Parallel()
	r := logtest.StartRsyslog(t)
	w, err := syslog.Dial(r.Target, "tandem")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	log := zerolog.New(syslog.NewZerologWriter(w, syslog.Local0, syslog.Local1)).With().Timestamp().Logger()

	log.Info().Str("version", "1.0").Msg("tandem started")
	log.Warn().Str("backend", "ms1").Str("reason", "Layer4 connection problem").Msg("Server ms1/ms1.srv1 is DOWN")
	log.Debug().Msg("debug stays out of syslog")
	line := accesslog.AppendHTTP(nil, &accesslog.HTTP{
		Client: netip.MustParseAddrPort("192.0.2.200:51234"), Accept: time.Now(),
		Frontend: "http-in", Backend: "ms1", Server: "ms1.srv2", Tc: time.Millisecond,
		Ta: 3 * time.Millisecond, Status: 200, Bytes: 512, Term: [4]byte{'-', '-', 'N', 'I'},
		RequestLine: []byte("GET /ms1/demo.html HTTP/1.1"),
	})
	if err := w.Write(syslog.Local0, syslog.Info, line); err != nil {
		t.Fatal(err)
	}
	log.Info().Msg("last")

	logtest.WaitForLine(t, r.Log, "last", 10*time.Second)
	logtest.WaitForLine(t, r.WarnLog, "is DOWN", 10*time.Second)
	t.Logf("tandem.log:\n%s", strings.Join(logtest.Lines(r.Log), "\n"))
	head := regexp.MustCompile(`^[A-Z][a-z]{2} [ 1-3][0-9] \d\d:\d\d:\d\d \S+ tandem\[` + strconv.Itoa(os.Getpid()) + `\]: `)
	strip := func(path string) []string {
		var out []string
		for _, l := range logtest.Lines(path) {
			if !head.MatchString(l) {
				t.Errorf("line %q is not `Mmm dd hh:mm:ss host tandem[pid]: msg`", l)
			}
			out = append(out, head.ReplaceAllString(l, ""))
		}
		return out
	}
	down := `Server ms1/ms1.srv1 is DOWN backend=ms1 reason="Layer4 connection problem"`
	if diff := cmp.Diff([]string{"tandem started version=1.0", down, string(line), "last"}, strip(r.Log)); diff != "" {
		t.Errorf("tandem.log (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{down}, strip(r.WarnLog)); diff != "" {
		t.Errorf("tandem_warn.log (-want +got):\n%s", diff)
	}
	if w.Dropped() != 0 {
		t.Errorf("Dropped = %d", w.Dropped())
	}
}
