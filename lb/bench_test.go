package lb

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// rawBackend answers every request head with the same small response; it
// allocates nothing per request, so allocations measured around it are the
// proxy's.
type rawBackend struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

var rawResponse = []byte("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nhello, world\n")

func startRawBackend(tb testing.TB) *rawBackend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	rb := &rawBackend{ln: ln}
	rb.wg.Add(1)
	go func() {
		defer rb.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rb.mu.Lock()
			rb.conns = append(rb.conns, c)
			rb.mu.Unlock()
			rb.wg.Add(1)
			go func() {
				defer rb.wg.Done()
				rb.serve(c)
			}()
		}
	}()
	tb.Cleanup(rb.close)
	return rb
}

func (rb *rawBackend) serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 16384)
	n := 0
	for {
		k, err := c.Read(buf[n:])
		if err != nil {
			return
		}
		n += k
		for {
			i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
			if i < 0 {
				break
			}
			if _, err := c.Write(rawResponse); err != nil {
				return
			}
			n = copy(buf, buf[i+4:n])
		}
		if n == len(buf) {
			return
		}
	}
}

func (rb *rawBackend) close() {
	_ = rb.ln.Close()
	rb.mu.Lock()
	for _, c := range rb.conns {
		_ = c.Close()
	}
	rb.mu.Unlock()
	rb.wg.Wait()
}

func (rb *rawBackend) addr() netip.AddrPort { return netip.MustParseAddrPort(rb.ln.Addr().String()) }

// benchProxy runs a proxy in front of a raw backend and returns a function
// doing one keep-alive request on one client connection.
func benchProxy(tb testing.TB) (roundTrip func()) { return benchProxyWith(tb, nil, benchCookie) }

const benchCookie = "a=b"

// benchProxyWith is benchProxy with the backend adjusted by edit and the
// request's Cookie header set to cookies.
func benchProxyWith(tb testing.TB, edit func(*BackendConfig), cookies string) (roundTrip func()) {
	rb := startRawBackend(tb)
	var logged int
	be := BackendConfig{Name: "be", Servers: []ServerConfig{{Name: "s1", Addr: rb.addr(), Weight: 1}}}
	if edit != nil {
		edit(&be)
	}
	p, err := New(Config{
		HardStopAfter: time.Second,
		Frontends:     []FrontendConfig{{Name: "fe", Binds: loop0(), DefaultBackend: "be", ForwardFor: &ForwardFor{}}},
		Backends:      []BackendConfig{be},
	}, Options{TrafficLog: func(line []byte) { logged += len(line) }})
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.Listen(); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(ctx)
	}()
	c, err := net.Dial("tcp", p.Addrs("fe")[0].String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = c.Close()
		cancel()
		<-done
	})
	req := []byte("GET /bench/demo.html HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\nCookie: " + cookies + "\r\n\r\n")
	buf := make([]byte, 4096)
	// The response to the client has a fixed size: learn it once.
	if _, err := c.Write(req); err != nil {
		tb.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	size := 0
	for {
		k, err := c.Read(buf[size:])
		if err != nil {
			tb.Fatal(err)
		}
		size += k
		if bytes.HasSuffix(buf[:size], []byte("hello, world\n")) {
			break
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	return func() {
		if _, err := c.Write(req); err != nil {
			tb.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf[:size]); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkProxyKeepAlive is one small GET through the proxy over real
// loopback sockets, keep-alive on both sides, with X-Forwarded-For and the
// httplog line formatted.
func BenchmarkProxyKeepAlive(b *testing.B) {
	rt := benchProxy(b)
	for range 100 {
		rt()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rt()
	}
}

// TestZeroAllocsPerRequest proves the steady state allocates nothing per
// request. It is not parallel: allocations are counted process-wide.
func TestZeroAllocsPerRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count needs a quiet process")
	}
	rt := benchProxy(t)
	for range 100 {
		rt()
	}
	if n := testing.AllocsPerRun(500, rt); n > 0 {
		t.Errorf("%.2f allocations per request, want 0", n)
	}
}

// A pooled server connection the server closed meanwhile is detected and
// the request replayed on a new connection, unseen by the client.
func TestStaleServerConnectionReplayed(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer func() {
		_ = ln.Close()
		wg.Wait()
	}()
	wg.Add(1)
	go func() { // answers one request per connection, then closes without saying so
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			n := 0
			for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
				k, err := c.Read(buf[n:])
				if err != nil {
					break
				}
				n += k
			}
			_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
			_ = c.Close()
		}
	}()
	h := newHarness(t)
	h.start(h.oneBackend(BackendConfig{Servers: []ServerConfig{{Name: "s1", Addr: netip.MustParseAddrPort(ln.Addr().String()), Weight: 1}}}))
	c := dial(t, h.addr("fe"))
	for i := range 3 {
		if r := c.get("/x"); r.StatusCode != 200 || r.body != "ok" {
			t.Fatalf("request %d: %d %q", i, r.StatusCode, r.body)
		}
	}
}
