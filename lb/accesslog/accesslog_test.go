package accesslog

import (
	"net/netip"
	"testing"
	"time"
)

var accept = time.Date(2026, time.November, 25, 16, 50, 0, 123_456_789, time.UTC)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func term(s string) (t [4]byte) {
	copy(t[:], s)
	return t
}

func TestAppendHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    HTTP
		want string
	}{
		{
			name: "normal",
			e: HTTP{
				Client: netip.MustParseAddrPort("192.0.2.200:51234"), Accept: accept,
				Frontend: "http-in", Backend: "ms1", Server: "ms1.srv1",
				Tq: 0, Tw: 0, Tc: ms(1), Tr: ms(2), Ta: ms(3), Status: 200, Bytes: 512,
				Term: term("--NI"), Actconn: 1, Feconn: 1,
				RequestLine: []byte("GET /ms1/demo.html HTTP/1.1"),
			},
			want: `192.0.2.200:51234 [25/Nov/2026:16:50:00.123] http-in ms1/ms1.srv1 0/0/1/2/3 200 512 - - --NI 1/1/0/0/0 0/0 "GET /ms1/demo.html HTTP/1.1"`,
		},
		{
			name: "haproxy manual example",
			e: HTTP{
				Client:   netip.MustParseAddrPort("10.0.1.2:33317"),
				Accept:   time.Date(2009, time.February, 6, 12, 14, 14, 655_000_000, time.UTC),
				Frontend: "http-in", Backend: "static", Server: "srv1",
				Tq: ms(10), Tw: 0, Tc: ms(30), Tr: ms(69), Ta: ms(109), Status: 200, Bytes: 2750,
				Term: term("----"), Actconn: 1, Feconn: 1, Beconn: 1, Srvconn: 1,
				RequestLine: []byte("GET /index.html HTTP/1.1"),
			},
			want: `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1"`,
		},
		{
			name: "no server 503 with -1 timers",
			e: HTTP{
				Client: netip.MustParseAddrPort("192.0.2.200:40000"), Accept: accept,
				Frontend: "http-in", Backend: "ms2",
				Tq: ms(4), Tw: -1, Tc: -1, Tr: -1, Ta: ms(5000), Status: 503, Bytes: 217,
				Term: term("SC--"), Actconn: 7, Feconn: 6, Beconn: 5,
				RequestLine: []byte("GET /ms2/ HTTP/1.1"),
			},
			want: `192.0.2.200:40000 [25/Nov/2026:16:50:00.123] http-in ms2/<NOSRV> 4/-1/-1/-1/5000 503 217 - - SC-- 7/6/5/0/0 0/0 "GET /ms2/ HTTP/1.1"`,
		},
		{
			name: "redispatch with retries and queues, tls frontend, cookies",
			e: HTTP{
				Client: netip.MustParseAddrPort("192.0.2.200:1"), Accept: time.Date(2026, time.January, 29, 16, 50, 0, 123_000_000, time.UTC),
				Frontend: "https-in~", Backend: "ms1", Server: "ms1.srv2",
				Tq: ms(1), Tw: ms(1500), Tc: ms(3002), Tr: ms(20), Ta: ms(4600), Status: 302, Bytes: 90,
				ReqCookie: "HA_STICKY_ms1=ms1.srv1", RespCookie: "HA_STICKY_ms1=ms1.srv2",
				Term: term("--VN"), Actconn: 300, Feconn: 250, Beconn: 200, Srvconn: 150, Retries: 3,
				Redispatched: true, SrvQueue: 12, BackendQueue: 34,
				RequestLine: []byte("POST /login HTTP/1.1"),
			},
			want: `192.0.2.200:1 [29/Jan/2026:16:50:00.123] https-in~ ms1/ms1.srv2 1/1500/3002/20/4600 302 90 HA_STICKY_ms1=ms1.srv1 HA_STICKY_ms1=ms1.srv2 --VN 300/250/200/150/+3 12/34 "POST /login HTTP/1.1"`,
		},
		{
			name: "retries without redispatch",
			e: HTTP{
				Client: netip.MustParseAddrPort("192.0.2.200:2"), Accept: accept,
				Frontend: "http-in", Backend: "ms1", Server: "ms1.srv1",
				Ta: ms(1), Status: 200, Term: term("----"), Retries: 2,
				RequestLine: []byte("GET / HTTP/1.1"),
			},
			want: `192.0.2.200:2 [25/Nov/2026:16:50:00.123] http-in ms1/ms1.srv1 0/0/0/0/1 200 0 - - ---- 0/0/0/0/2 0/0 "GET / HTTP/1.1"`,
		},
		{
			name: "bad request before backend, zero term bytes",
			e: HTTP{
				Client: netip.MustParseAddrPort("[::ffff:192.0.2.200]:3"), Accept: accept,
				Frontend: "http-in~",
				Tq:       -1, Tw: -1, Tc: -1, Tr: -1, Ta: ms(2), Status: 400, Bytes: 187,
				Term: [4]byte{'P', 'R'},
			},
			want: `192.0.2.200:3 [25/Nov/2026:16:50:00.123] http-in~ http-in/<NOSRV> -1/-1/-1/-1/2 400 187 - - PR-- 0/0/0/0/0 0/0 "<BADREQ>"`,
		},
		{
			name: "hostile request line and ipv6 client",
			e: HTTP{
				Client: netip.MustParseAddrPort("[2001:db8::1]:443"), Accept: accept,
				Frontend: "http-in", Backend: "ms1", Server: "ms1.srv1", Status: 200,
				ReqCookie: "a b", Term: term("----"),
				RequestLine: []byte("GET /a\"b#c\r\n\x7f\xff HTTP/1.1"),
			},
			want: `2001:db8::1:443 [25/Nov/2026:16:50:00.123] http-in ms1/ms1.srv1 0/0/0/0/0 200 0 a#20b - ---- 0/0/0/0/0 0/0 "GET /a#22b#23c#0D#0A#7F#FF HTTP/1.1"`,
		},
		{
			name: "sub-millisecond timers truncate",
			e: HTTP{
				Client:   netip.MustParseAddrPort("127.0.0.1:9"),
				Accept:   time.Date(2026, time.January, 2, 3, 4, 5, 6_000_000, time.UTC),
				Frontend: "fe", Backend: "be", Server: "s", Tq: 999 * time.Microsecond,
				Tw: 1999 * time.Microsecond, Status: 204, Term: term("----"),
				RequestLine: []byte("HEAD / HTTP/1.0"),
			},
			want: `127.0.0.1:9 [02/Jan/2026:03:04:05.006] fe be/s 0/1/0/0/0 204 0 - - ---- 0/0/0/0/0 0/0 "HEAD / HTTP/1.0"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := string(AppendHTTP([]byte("prefix: "), &tt.e))
			if want := "prefix: " + tt.want; got != want {
				t.Errorf("AppendHTTP:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestAppendTCP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    TCP
		want string
	}{
		{
			name: "haproxy manual example",
			e: TCP{
				Client:   netip.MustParseAddrPort("10.0.1.2:33313"),
				Accept:   time.Date(2009, time.February, 6, 12, 12, 51, 443_000_000, time.UTC),
				Frontend: "fnt", Backend: "bck", Server: "srv1",
				Tw: 0, Tc: 0, Tt: ms(5007), Bytes: 212, Term: term("--"), Retries: 3,
			},
			want: `10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0`,
		},
		{
			name: "no server",
			e: TCP{
				Client: netip.MustParseAddrPort("192.0.2.200:5000"), Accept: accept,
				Frontend: "tcp-in", Backend: "db", Tw: -1, Tc: -1, Tt: ms(3001),
				Term: term("SC"), Actconn: 4, Feconn: 3, Beconn: 2, Srvconn: 0,
			},
			want: `192.0.2.200:5000 [25/Nov/2026:16:50:00.123] tcp-in db/<NOSRV> -1/-1/3001 0 SC 4/3/2/0/0 0/0`,
		},
		{
			name: "redispatch and queues, only two term characters",
			e: TCP{
				Client: netip.MustParseAddrPort("192.0.2.200:5001"), Accept: accept,
				Frontend: "tcp-in", Backend: "db", Server: "db2", Tw: ms(10), Tc: ms(2),
				Tt: ms(60000), Bytes: 1 << 40, Term: term("cDxx"), Actconn: 9, Feconn: 8,
				Beconn: 7, Srvconn: 6, Retries: 1, Redispatched: true, SrvQueue: 2, BackendQueue: 5,
			},
			want: `192.0.2.200:5001 [25/Nov/2026:16:50:00.123] tcp-in db/db2 10/2/60000 1099511627776 cD 9/8/7/6/+1 2/5`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := string(AppendTCP(nil, &tt.e)); got != tt.want {
				t.Errorf("AppendTCP:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestAppendDateMatchesTimeFormat checks the hand-written date against the
// standard library over a spread of instants, in a zone with an offset.
func TestAppendDateMatchesTimeFormat(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("X", -7*3600)
	start := time.Date(1999, time.December, 31, 23, 59, 59, 999_999_999, zone)
	for i := range 2000 {
		tm := start.Add(time.Duration(i) * 97 * time.Hour).Add(time.Duration(i) * 7919 * time.Microsecond)
		want := tm.Format("[02/Jan/2006:15:04:05.000]")
		if got := string(appendDate(nil, tm)); got != want {
			t.Fatalf("appendDate(%v) = %s, want %s", tm, got, want)
		}
	}
}

func TestAppendZeroAllocs(t *testing.T) {
	h := sampleHTTP()
	c := sampleTCP()
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = AppendHTTP(buf[:0], &h) }); n != 0 {
		t.Errorf("AppendHTTP allocates %v times per line", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = AppendTCP(buf[:0], &c) }); n != 0 {
		t.Errorf("AppendTCP allocates %v times per line", n)
	}
}

func sampleHTTP() HTTP {
	return HTTP{
		Client: netip.MustParseAddrPort("192.0.2.200:51234"), Accept: accept,
		Frontend: "http-in", Backend: "ms1", Server: "ms1.srv1",
		Tc: ms(1), Tr: ms(2), Ta: ms(3), Status: 200, Bytes: 512,
		Term: term("--NI"), Actconn: 1, Feconn: 1, Retries: 1, Redispatched: true,
		RequestLine: []byte("GET /ms1/demo.html HTTP/1.1"),
	}
}

func sampleTCP() TCP {
	return TCP{
		Client: netip.MustParseAddrPort("192.0.2.200:51234"), Accept: accept,
		Frontend: "tcp-in", Backend: "db", Server: "db1", Tw: 0, Tc: ms(1), Tt: ms(5007),
		Bytes: 212, Term: term("--"), Actconn: 1, Feconn: 1, Beconn: 1, Srvconn: 1,
	}
}

func BenchmarkAppendHTTP(b *testing.B) {
	e := sampleHTTP()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendHTTP(buf[:0], &e)
	}
}

func BenchmarkAppendTCP(b *testing.B) {
	e := sampleTCP()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTCP(buf[:0], &e)
	}
}
