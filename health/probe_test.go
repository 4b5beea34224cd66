package health

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// serve listens on loopback and runs handle for each connection until the
// test ends; it returns the address.
func serve(t *testing.T, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return netip.MustParseAddrPort(ln.Addr().String())
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ap := netip.MustParseAddrPort(ln.Addr().String())
	ln.Close()
	return ap
}

func readHead(c net.Conn) []byte {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var head []byte
	buf := make([]byte, 1024)
	for !bytes.Contains(head, []byte("\r\n\r\n")) {
		n, err := c.Read(buf)
		head = append(head, buf[:n]...)
		if err != nil {
			break
		}
	}
	return head
}

// respond answers any request with resp, then closes.
func respond(resp string) func(net.Conn) {
	return func(c net.Conn) {
		readHead(c)
		_, _ = io.WriteString(c, resp)
	}
}

// respondAndHold answers, then keeps the connection open until the client
// closes it (a server that ignores Connection: close).
func respondAndHold(resp string) func(net.Conn) {
	return func(c net.Conn) {
		readHead(c)
		_, _ = io.WriteString(c, resp)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.Copy(io.Discard, c)
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	hang := func(c net.Conn) {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.Copy(io.Discard, c)
	}
	reset := func(c net.Conn) {
		readHead(c)
		_ = c.(*net.TCPConn).SetLinger(0)
	}
	tests := []struct {
		name   string
		handle func(net.Conn) // nil: nothing listens
		cfg    CheckConfig
		want   Result
	}{
		{"tcp connect", hang, CheckConfig{}, Result{Status: StatusL4OK}},
		{"tcp refused", nil, CheckConfig{}, Result{Status: StatusL4Con, Info: "Connection refused"}},
		{"http refused", nil, CheckConfig{Type: "http"}, Result{Status: StatusL4Con, Info: "Connection refused"}},
		{"200", respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), CheckConfig{Type: "http"}, Result{Status: StatusL7OK, Code: 200}},
		{"302 passes by default", respond("HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n"), CheckConfig{Type: "http"}, Result{Status: StatusL7OK, Code: 302}},
		{"503 fails", respond("HTTP/1.1 503 Service Unavailable\r\n\r\n"), CheckConfig{Type: "http"},
			Result{Status: StatusL7Sts, Code: 503, Info: "Service Unavailable"}},
		{"404 fails by default", respond("HTTP/1.1 404 Not Found\r\n\r\n"), CheckConfig{Type: "http"},
			Result{Status: StatusL7Sts, Code: 404, Info: "Not Found"}},
		{"404 expected", respond("HTTP/1.1 404 Not Found\r\n\r\n"), CheckConfig{Type: "http", ExpectStatus: []StatusRange{{404, 404}}},
			Result{Status: StatusL7OK, Code: 404}},
		{"302 outside 200,204", respond("HTTP/1.1 302 Found\r\n\r\n"), CheckConfig{Type: "http", ExpectStatus: []StatusRange{{200, 200}, {204, 204}}},
			Result{Status: StatusL7Sts, Code: 302, Info: "Found"}},
		{"status line without reason", respond("HTTP/1.1 204\r\n\r\n"), CheckConfig{Type: "http"}, Result{Status: StatusL7OK, Code: 204}},
		{"expect string found", respond("HTTP/1.1 200 OK\r\n\r\nI am alive"), CheckConfig{Type: "http", ExpectString: "alive"},
			Result{Status: StatusL7OK, Code: 200}},
		{"expect string missing", respond("HTTP/1.1 200 OK\r\n\r\nI am dead"), CheckConfig{Type: "http", ExpectString: "alive"},
			Result{Status: StatusL7Rsp, Code: 200, Info: infoNoMatch}},
		{"expect string on a wrong status", respond("HTTP/1.1 500 Oops\r\n\r\nalive"), CheckConfig{Type: "http", ExpectString: "alive"},
			Result{Status: StatusL7Sts, Code: 500, Info: "Oops"}},
		{"expect string, kept alive, found early", respondAndHold("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nalive"),
			CheckConfig{Type: "http", ExpectString: "alive", Timeout: 5 * time.Second}, Result{Status: StatusL7OK, Code: 200}},
		{"expect string, kept alive, content-length ends it", respondAndHold("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndead"),
			CheckConfig{Type: "http", ExpectString: "alive", Timeout: 5 * time.Second}, Result{Status: StatusL7Rsp, Code: 200, Info: infoNoMatch}},
		{"expect string, no body", respond("HTTP/1.1 200 OK\r\nX: y\r\n"), CheckConfig{Type: "http", ExpectString: "alive"},
			Result{Status: StatusL7Rsp, Code: 200, Info: infoNoBody}},
		{"expect regex", respond("HTTP/1.1 200 OK\r\n\r\nstatus=green\n"), CheckConfig{Type: "http", ExpectRegex: regexp.MustCompile(`status=(green|yellow)`)},
			Result{Status: StatusL7OK, Code: 200}},
		{"expect regex missing", respond("HTTP/1.1 200 OK\r\n\r\nstatus=red\n"), CheckConfig{Type: "http", ExpectRegex: regexp.MustCompile(`status=(green|yellow)`)},
			Result{Status: StatusL7Rsp, Code: 200, Info: infoNoMatch}},
		{"garbage", func(c net.Conn) { _, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.2\r\n") }, CheckConfig{Type: "http"},
			Result{Status: StatusL7Rsp, Info: "SSH-2.0-OpenSSH_9.2"}},
		{"binary garbage", func(c net.Conn) { readHead(c); _, _ = c.Write([]byte{0x16, 0x03, 0x01, 0x00}) }, CheckConfig{Type: "http"},
			Result{Status: StatusL7Rsp, Info: "\x16\x03\x01\x00"}},
		{"empty answer", func(c net.Conn) { readHead(c) }, CheckConfig{Type: "http"}, Result{Status: StatusL7Rsp, Info: infoEmpty}},
		{"reset", reset, CheckConfig{Type: "http"}, Result{Status: StatusSockErr, Info: "Connection reset by peer"}},
		{"never answers", hang, CheckConfig{Type: "http", Timeout: 100 * time.Millisecond}, Result{Status: StatusL7TOut}},
		{"answers half a status line then hangs", func(c net.Conn) { _, _ = io.WriteString(c, "HTTP/1.1 20"); hang(c) },
			CheckConfig{Type: "http", Timeout: 100 * time.Millisecond}, Result{Status: StatusL7TOut}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var addr netip.AddrPort
			if tt.handle == nil {
				addr = closedPort(t)
			} else {
				addr = serve(t, tt.handle)
			}
			cfg := tt.cfg
			if cfg.Timeout == 0 {
				cfg.Timeout = 5 * time.Second
			}
			p := newProbe(addr, cfg.WithDefaults())
			start := time.Now()
			got := p.run(context.Background(), &net.Dialer{})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("check result (-want +got):\n%s", diff)
			}
			if el := time.Since(start); el > cfg.Timeout+time.Second {
				t.Errorf("check took %v, more than its timeout %v", el, cfg.Timeout)
			}
		})
	}
}

func TestProbeCheckAddrAndPort(t *testing.T) {
	t.Parallel()
	addr := serve(t, respond("HTTP/1.0 200 OK\r\n\r\n"))
	// The server's own address is closed; the check goes to Addr/Port.
	p := newProbe(netip.MustParseAddrPort("127.0.0.2:1"), CheckConfig{
		Type: "http", Addr: addr.Addr(), Port: int(addr.Port()),
	}.WithDefaults())
	if got := p.run(context.Background(), &net.Dialer{}); got.Status != StatusL7OK {
		t.Errorf("check of Addr/Port = %+v, want L7OK", got)
	}
}

func TestProbeCancel(t *testing.T) {
	t.Parallel()
	addr := serve(t, func(c net.Conn) {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.Copy(io.Discard, c)
	})
	ctx, cancel := context.WithCancel(context.Background())
	p := newProbe(addr, CheckConfig{Type: "http", Timeout: time.Minute}.WithDefaults())
	done := make(chan Result)
	go func() { done <- p.run(ctx, &net.Dialer{}) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled check did not return")
	}
}

func TestBuildRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  CheckConfig
		want string
	}{
		{"defaults", CheckConfig{Type: "http"}, "GET / HTTP/1.0\r\nConnection: close\r\n\r\n"},
		{"HAProxy's OPTIONS", CheckConfig{Type: "http", Method: "OPTIONS"}, "OPTIONS / HTTP/1.0\r\nConnection: close\r\n\r\n"},
		{"1.1 gets the address as Host", CheckConfig{Type: "http", Version: "HTTP/1.1", Path: "/health"},
			"GET /health HTTP/1.1\r\nHost: 192.0.2.21:8080\r\nConnection: close\r\n\r\n"},
		{"Host set", CheckConfig{Type: "http", Version: "HTTP/1.1", Host: "www.example"},
			"GET / HTTP/1.1\r\nHost: www.example\r\nConnection: close\r\n\r\n"},
		{"Host with 1.0", CheckConfig{Type: "http", Host: "www.example"},
			"GET / HTTP/1.0\r\nHost: www.example\r\nConnection: close\r\n\r\n"},
		{"headers", CheckConfig{Type: "http", Version: "HTTP/1.1", Headers: [][2]string{{"host", "h"}, {"X-Check", "1"}, {"Connection", "keep-alive"}}},
			"GET / HTTP/1.1\r\nhost: h\r\nX-Check: 1\r\nConnection: keep-alive\r\n\r\n"},
	}
	for _, tt := range tests {
		got := string(buildRequest(tt.cfg.WithDefaults(), "192.0.2.21:8080"))
		if got != tt.want {
			t.Errorf("%s: request %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestEvalHTTP(t *testing.T) {
	t.Parallel()
	cfg := CheckConfig{Type: "http"}.WithDefaults()
	tests := []struct {
		in    string
		final bool
		want  Result
		done  bool
	}{
		{"HTTP/1.1 200 OK", false, Result{}, false},
		{"HTTP/1.1 200 OK", true, Result{Status: StatusL7Rsp, Info: "HTTP/1.1 200 OK"}, true},
		{"HTTP/1.1 200 OK\n", false, Result{Status: StatusL7OK, Code: 200}, true},
		{"HTTP/1.9 200 OK\r\n", false, Result{Status: StatusL7OK, Code: 200}, true},
		{"HTTP/2 200\r\n", false, Result{Status: StatusL7Rsp, Info: "HTTP/2 200"}, true},
		{"HTTP/1.1 2x0 OK\r\n", false, Result{Status: StatusL7Rsp, Info: "HTTP/1.1 2x0 OK"}, true},
		{"HTTP/1.1 2000 OK\r\n", false, Result{Status: StatusL7Rsp, Info: "HTTP/1.1 2000 OK"}, true},
		{"HTTP/1.1  200 OK\r\n", false, Result{Status: StatusL7Rsp, Info: "HTTP/1.1  200 OK"}, true},
		{"", true, Result{Status: StatusL7Rsp, Info: infoEmpty}, true},
		{"", false, Result{}, false},
	}
	for _, tt := range tests {
		got, done := evalHTTP([]byte(tt.in), tt.final, &cfg)
		if done != tt.done || got != tt.want {
			t.Errorf("evalHTTP(%q, %v) = %+v, %v; want %+v, %v", tt.in, tt.final, got, done, tt.want, tt.done)
		}
	}
}

func FuzzEvalHTTP(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nalive"), true)
	f.Add([]byte("HTTP/1.0 503 x\n\n"), false)
	f.Add([]byte("\x00\xff\r\n"), true)
	cfg := CheckConfig{Type: "http", ExpectString: "alive", ExpectRegex: regexp.MustCompile("a+")}.WithDefaults()
	f.Fuzz(func(t *testing.T, b []byte, final bool) {
		res, done := evalHTTP(b, final, &cfg)
		if final && !done {
			t.Fatalf("no verdict on a final buffer %q", b)
		}
		if done && res.Status == StatusUnknown {
			t.Fatalf("verdict without a status on %q", b)
		}
		if len(res.Info) > maxInfoBytes && res.Info != infoNoBody {
			t.Fatalf("info of %d bytes", len(res.Info))
		}
	})
}
