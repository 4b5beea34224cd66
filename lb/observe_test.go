package lb

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandemlb/tandem/health"
)

// badServer answers every request with code, or with bytes that are not
// HTTP when code is 0.
func badServer(t *testing.T, code int) netip.AddrPort {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code != 0 {
			w.WriteHeader(code)
			return
		}
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		_, _ = c.Write([]byte("NOT HTTP AT ALL\r\n\r\n"))
		_ = c.Close()
	}))
	t.Cleanup(ts.Close)
	return netip.MustParseAddrPort(ts.Listener.Addr().String())
}

// TestObserve: live traffic reaches health.Server.ReportTraffic as HAProxy
// classifies it, so a server failing it is taken out between checks (which
// here never run: inter is an hour) and traffic moves to the other one.
func TestObserve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		observe  string
		addr     func(t *testing.T) netip.AddrPort
		wantDown bool
		info     string
	}{
		{"layer7 500s", "layer7", func(t *testing.T) netip.AddrPort { return badServer(t, 500) }, true,
			"Detected 3 consecutive errors, last one was: Wrong http response"},
		{"layer7 503s", "layer7", func(t *testing.T) netip.AddrPort { return badServer(t, 503) }, true,
			"Detected 3 consecutive errors, last one was: Wrong http response"},
		{"layer7 invalid heads", "layer7", func(t *testing.T) netip.AddrPort { return badServer(t, 0) }, true,
			"Detected 3 consecutive errors, last one was: Invalid http response (headers)"},
		{"layer7 refused", "layer7", deadAddr, true,
			"Detected 3 consecutive errors, last one was: L4 unsuccessful connection"},
		{"layer4 refused", "layer4", deadAddr, true,
			"Detected 3 consecutive errors, last one was: L4 unsuccessful connection"},
		{"layer7 501 is not an error", "layer7", func(t *testing.T) netip.AddrPort { return badServer(t, 501) }, false, ""},
		{"layer7 505 is not an error", "layer7", func(t *testing.T) netip.AddrPort { return badServer(t, 505) }, false, ""},
		{"layer7 404 is not an error", "layer7", func(t *testing.T) netip.AddrPort { return badServer(t, 404) }, false, ""},
		{"layer4 ignores 500s", "layer4", func(t *testing.T) netip.AddrPort { return badServer(t, 500) }, false, ""},
		{"not observed", "", func(t *testing.T) netip.AddrPort { return badServer(t, 500) }, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			chk := &health.CheckConfig{Type: "tcp", Inter: time.Hour}
			bad := *chk
			bad.Observe, bad.ErrorLimit, bad.OnError = tt.observe, 3, "mark-down"
			servers := h.startBackends("g", "live")
			servers[0].Check, servers[0].CheckConfig = true, chk
			servers = append(servers, ServerConfig{Name: "bad", Addr: tt.addr(t), Weight: 1, Check: true, CheckConfig: &bad})
			h.start(h.oneBackend(BackendConfig{Servers: servers, Retries: 0}))

			var mu sync.Mutex
			var events []health.Event
			chkr := health.NewChecker(h.p.HealthTargets(), health.Options{Traffic: h.p.HealthTraffic, OnChange: func(e health.Event) {
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			}})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- chkr.Run(ctx) }()
			t.Cleanup(func() {
				cancel()
				<-done
			})

			srv := h.p.Server("be", "bad")
			// Round robin: 6 requests give the bad server 3.
			for range 6 {
				c := dial(t, h.addr("fe"))
				c.get("/x")
			}
			if got := !srv.Usable(); got != tt.wantDown {
				t.Fatalf("bad server down = %v after 3 requests, want %v (op %v)", got, tt.wantDown, srv.Op())
			}
			snap := srv.Snapshot()
			if !tt.wantDown {
				if snap.HanaFail != 0 {
					t.Errorf("hanafail %d, want 0", snap.HanaFail)
				}
				return
			}
			if snap.Op != health.Down || snap.CheckStatus != health.StatusHana || snap.CheckInfo != tt.info || snap.HanaFail != 1 {
				t.Errorf("op %v status %v info %q hanafail %d; want DOWN HANA %q 1", snap.Op, snap.CheckStatus, snap.CheckInfo, snap.HanaFail, tt.info)
			}
			mu.Lock()
			if len(events) != 1 || events[0].Server != "bad" || events[0].Status != health.StatusHana || events[0].To != health.Down {
				t.Errorf("events %+v, want one DOWN of bad by HANA", events)
			}
			mu.Unlock()
			// Everything now goes to the live server.
			c := dial(t, h.addr("fe"))
			for range 4 {
				if r := c.get("/x"); r.StatusCode != 200 || r.Header.Get("X-Server") != "live" {
					t.Fatalf("after the bad server went down: %d from %q", r.StatusCode, r.Header.Get("X-Server"))
				}
			}
		})
	}
}

// TestObserveReadErrors: a server closing or timing out before its head
// counts as a layer7 error with HAProxy's descriptions.
func TestObserveReadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		timeout time.Duration
		serve   func(c net.Conn)
		info    string
	}{
		{"close", 5 * time.Second, func(c net.Conn) { _ = c.Close() },
			"Detected 1 consecutive errors, last one was: Close from server (http)"},
		{"timeout", 100 * time.Millisecond, func(c net.Conn) { time.Sleep(300 * time.Millisecond); _ = c.Close() },
			"Detected 1 consecutive errors, last one was: Read timeout (http)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			t.Cleanup(func() {
				_ = ln.Close()
				wg.Wait()
			})
			wg.Go(func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					buf := make([]byte, 4096)
					_, _ = c.Read(buf) // the request head
					wg.Go(func() { tt.serve(c) })
				}
			})
			h := newHarness(t)
			chk := health.CheckConfig{Type: "tcp", Inter: time.Hour, Observe: "layer7", ErrorLimit: 1, OnError: "mark-down"}
			h.start(h.oneBackend(BackendConfig{Retries: 0, Timeouts: Timeouts{Server: tt.timeout},
				Servers: []ServerConfig{{Name: "bad", Addr: netip.MustParseAddrPort(ln.Addr().String()), Weight: 1, Check: true, CheckConfig: &chk}}}))
			health.NewChecker(h.p.HealthTargets(), health.Options{}) // configures observe; no check needs to run
			c := dial(t, h.addr("fe"))
			if r := c.get("/x"); r.StatusCode != 502 && r.StatusCode != 504 {
				t.Errorf("status %d, want 502 or 504", r.StatusCode)
			}
			snap := h.p.Server("be", "bad").Snapshot()
			if snap.Op != health.Down || !strings.HasSuffix(snap.CheckInfo, tt.info[len("Detected 1 consecutive errors, "):]) {
				t.Errorf("op %v info %q, want DOWN %q", snap.Op, snap.CheckInfo, tt.info)
			}
		})
	}
}
