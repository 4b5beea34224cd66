package lb

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// startTCPRelayProxy runs a TCP-mode proxy in front of addr with long
// timeouts (a missed wake-up shows as a hang, not as a timeout) and
// returns its address.
func startTCPRelayProxy(t *testing.T, addr net.Addr) string {
	t.Helper()
	p, err := New(Config{
		HardStopAfter: time.Second,
		Frontends:     []FrontendConfig{{Name: "fe", Mode: ModeTCP, Binds: loop0(), DefaultBackend: "be", Timeouts: Timeouts{Client: 30 * time.Second}}},
		Backends: []BackendConfig{{Name: "be", Mode: ModeTCP, Timeouts: Timeouts{Connect: time.Second, Server: 30 * time.Second},
			Servers: []ServerConfig{{Name: "s1", Addr: addr.(*net.TCPAddr).AddrPort(), Weight: 1}}}},
	}, Options{TrafficLog: func([]byte) {}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return p.Addrs("fe")[0].String()
}

// The relay waits for the poller after a read that drained the socket,
// without a read that fails: data and FIN arriving together (a server
// that writes its last bytes and closes, or one write then a half-close
// by the client) must still end the direction at once, for every message
// size around the buffer's and across many rounds.
func TestTCPRelayDataWithFIN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		size int
	}{
		{"small", 100},
		{"one below buffer", DefaultBufSize - 1},
		{"buffer", DefaultBufSize},
		{"large", 200 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ln.Close() })
			msg := bytes.Repeat([]byte("x"), tt.size)
			// The backend reads the request to its end (the client's
			// half-close), answers in one write and closes.
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						defer c.Close()
						_ = c.SetDeadline(time.Now().Add(10 * time.Second))
						got, err := io.ReadAll(c)
						if err != nil || len(got) != len(msg) {
							return
						}
						_, _ = c.Write(msg)
					}()
				}
			}()
			addr := startTCPRelayProxy(t, ln.Addr())
			for i := range 20 {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Write(msg); err != nil {
					t.Fatal(err)
				}
				_ = c.(*net.TCPConn).CloseWrite()
				got, err := io.ReadAll(c)
				_ = c.Close()
				if err != nil {
					t.Fatalf("round %d: reading the answer: %v (got %d bytes)", i, err, len(got))
				}
				if len(got) != len(msg) {
					t.Fatalf("round %d: got %d bytes, want %d", i, len(got), len(msg))
				}
			}
		})
	}
}

// Many request/response rounds over one connection pair, each message
// smaller than the buffer: every one must come through without waiting
// for a timeout.
func TestTCPRelayPingPong(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c) // echo
			}()
		}
	}()
	addr := startTCPRelayProxy(t, ln.Addr())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for i := range 2000 {
		msg := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%3000)
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if !bytes.Equal(buf[:len(msg)], msg) {
			t.Fatalf("round %d: echo differs", i)
		}
	}
	_ = c.(*net.TCPConn).CloseWrite()
	if n, err := c.Read(buf); err != io.EOF {
		t.Fatalf("after the half-close: read %d bytes, %v; want EOF", n, err)
	}
}
