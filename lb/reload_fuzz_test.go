package lb

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tandemlb/tandem/internal/testbackend"
)

// FuzzClientBytes sends arbitrary bytes as a client to a running Proxy
// (HTTP mode, one real backend) and half-closes: whatever comes in, the
// proxy never panics, always ends the connection within its timeouts and
// answers only HTTP/1.1 responses. The parsers have their own fuzz
// targets; this one covers the session around them (framing, pipelining,
// bodies, errors, keep-alive).
func FuzzClientBytes(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
		"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET /status/204 HTTP/1.0\r\n\r\n",
		"GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\nping",
		"\r\n\r\nGET / HTTP/1.1\r\n\r\n",
		"G\x00T / HTTP/1.1\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	be, err := testbackend.Start("g", "s1", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = be.Close() })
	cfg := Config{
		MaxConn:       100,
		HardStopAfter: time.Second,
		Frontends: []FrontendConfig{{Name: "fe", Binds: loop0(), DefaultBackend: "be",
			Timeouts: Timeouts{Client: time.Second, HTTPRequest: 300 * time.Millisecond, HTTPKeepAlive: 300 * time.Millisecond}}},
		Backends: []BackendConfig{{Name: "be", Timeouts: Timeouts{Connect: time.Second, Server: time.Second, Tunnel: time.Second},
			Servers: []ServerConfig{{Name: "s1", Addr: be.Addr, Weight: 1}}}},
	}
	p, err := New(cfg, Options{})
	if err != nil {
		f.Fatal(err)
	}
	if err := p.Listen(); err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	f.Cleanup(func() { cancel(); <-done })
	addr := p.Addrs("fe")[0].String()

	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		_ = c.SetDeadline(start.Add(5 * time.Second))
		go func() {
			_, _ = c.Write(in)
			_ = c.(*net.TCPConn).CloseWrite()
		}()
		out, err := io.ReadAll(c)
		if err != nil && !isReset(err) {
			t.Fatalf("proxy did not end the connection in %v: %v (got %q)", time.Since(start), err, out)
		}
		if len(out) > 0 && !bytes.HasPrefix(out, []byte("HTTP/1.")) {
			t.Fatalf("answer is not HTTP: %q", out)
		}
	})
}

func isReset(err error) bool {
	ne, ok := err.(*net.OpError)
	return ok && !ne.Timeout()
}
