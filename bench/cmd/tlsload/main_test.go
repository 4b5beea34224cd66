package main

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server is a TLS HTTP server on 127.0.0.1 answering 100 bytes (or
// status), with session tickets on, as a proxy would be.
func server(t *testing.T, cfg *tls.Config, status int) string {
	t.Helper()
	body := strings.Repeat("a", 100)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	s.TLS = cfg
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the failing cases' handshake errors
	s.StartTLS()
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

func TestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		cfg         *tls.Config // server's; nil: nothing listens
		status      int
		wantOK      bool // some full handshakes, no error of any kind
		wantErrors  bool
		wantStatus  bool
		wantVersion uint16
	}{
		{name: "TLS 1.3 X25519", cfg: &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519}}, status: 200, wantOK: true, wantVersion: tls.VersionTLS13},
		{name: "TLS 1.2 X25519", cfg: &tls.Config{MaxVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{tls.X25519}}, status: 200, wantOK: true, wantVersion: tls.VersionTLS12},
		{name: "server default curves", cfg: &tls.Config{}, status: 200, wantOK: true, wantVersion: tls.VersionTLS13},
		{name: "no common key exchange", cfg: &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP256}}, status: 200, wantErrors: true},
		{name: "error status", cfg: &tls.Config{}, status: 503, wantStatus: true},
		{name: "nothing listening", status: 200, wantErrors: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := "127.0.0.1:1" // nothing listens on tcpmux
			if tt.cfg != nil {
				addr = server(t, tt.cfg, tt.status)
			}
			r, err := run(context.Background(), options{addr: addr, conns: 4, duration: 300 * time.Millisecond,
				path: "/100b", serverName: "bench.test", curve: "X25519", timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r.summary())
			if r.resumed != 0 {
				t.Errorf("%d handshakes resumed a session", r.resumed)
			}
			if tt.wantOK && (r.handshakes == 0 || r.errors != 0 || r.statusErrors != 0) {
				t.Errorf("want full handshakes and no errors: %s", r.summary())
			}
			if tt.wantVersion != 0 && r.versions[tt.wantVersion] != r.handshakes {
				t.Errorf("versions %v, want all %s", r.versions, tls.VersionName(tt.wantVersion))
			}
			if tt.wantErrors && (r.errors == 0 || r.handshakes != 0 || r.firstErr == nil) {
				t.Errorf("want only errors: %s", r.summary())
			}
			if tt.wantStatus && (r.statusErrors == 0 || r.handshakes != 0) {
				t.Errorf("want only bad status: %s", r.summary())
			}
			if r.duration < 300*time.Millisecond || r.duration > 3*time.Second {
				t.Errorf("ran %v for -d 300ms", r.duration)
			}
		})
	}
}

func TestBenchLine(t *testing.T) {
	t.Parallel()
	r := &result{handshakes: 4, errors: 1, statusErrors: 2, resumed: 1, duration: 2 * time.Second,
		latencies: []time.Duration{1 * time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 40 * time.Millisecond}}
	got := r.benchLine()
	want := "BENCH requests=4 duration_us=2000000 p50_us=2000 p99_us=40000 errors=1 status_errors=2 resumed=1"
	if got != want {
		t.Errorf("benchLine\n got %q\nwant %q", got, want)
	}
	// run.sh reads every key=value pair with this pattern.
	for _, kv := range strings.Fields(got)[1:] {
		if !regexp.MustCompile(`^[a-z_0-9]+=[0-9]+$`).MatchString(kv) {
			t.Errorf("%q is not key=integer", kv)
		}
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	good := options{addr: "127.0.0.1:1", conns: 1, duration: time.Millisecond, path: "/", curve: "X25519", timeout: time.Second}
	tests := []struct {
		name string
		edit func(*options)
		want string
	}{
		{"no workers", func(o *options) { o.conns = 0 }, "must be positive"},
		{"no duration", func(o *options) { o.duration = 0 }, "must be positive"},
		{"unknown curve", func(o *options) { o.curve = "X448" }, `unknown -curve "X448"`},
	}
	for _, tt := range tests {
		o := good
		tt.edit(&o)
		_, err := run(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestStopsOnCancel: a signal (context cancel) ends the run at once.
func TestStopsOnCancel(t *testing.T) {
	t.Parallel()
	addr := server(t, &tls.Config{}, 200)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *result, 1)
	go func() {
		r, _ := run(ctx, options{addr: addr, conns: 2, duration: time.Minute, path: "/", serverName: "x", curve: "X25519", timeout: time.Second})
		done <- r
	}()
	cancel()
	select {
	case r := <-done:
		if r == nil {
			t.Fatal("no result")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop within 10s of its context being cancelled")
	}
}
