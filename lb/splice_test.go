package lb

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"
)

// pattern is n bytes that differ along the way, so that a byte lost,
// repeated or moved shows.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i/7) ^ byte(i) ^ seed
	}
	return b
}

// bodyServer answers each request on a keep-alive connection with the
// sha256 of the request body it read (Content-Length framing) in a header
// and a body of the size the X-Size header asks for. With X-Cut it sends
// only that many body bytes and closes; with X-Stall it sends them and
// waits until the test ends.
func bodyServer(t testing.TB) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(stop)
		_ = ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				go func() { <-stop; _ = c.Close() }()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					h := sha256.New()
					if _, err := io.Copy(h, req.Body); err != nil {
						return
					}
					size, _ := strconv.Atoi(req.Header.Get("X-Size"))
					body := pattern(size, 0x5a)
					head := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Got: %x\r\n\r\n", size, h.Sum(nil))
					if cut := req.Header.Get("X-Cut"); cut != "" {
						n, _ := strconv.Atoi(cut)
						_, _ = c.Write(append([]byte(head), body[:n]...))
						return
					}
					if stall := req.Header.Get("X-Stall"); stall != "" {
						n, _ := strconv.Atoi(stall)
						_, _ = c.Write(append([]byte(head), body[:n]...))
						<-stop
						return
					}
					if _, err := c.Write(append([]byte(head), body...)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// Bodies framed by Content-Length cross the proxy whole both ways, at the
// sizes around the splice threshold and the pipe size, and the connection
// stays usable for the next request.
func TestSpliceBodies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start(h.oneBackend(BackendConfig{Servers: []ServerConfig{{Name: "s1", Addr: bodyServer(t), Weight: 1}}}))
	tests := []struct {
		name       string
		up, down   int
		upFirstLen int // bytes of the request body sent with the head
	}{
		{"small both ways", 100, 100, 100},
		{"just below the threshold", spliceMin - 1, spliceMin - 1, 0},
		{"at the threshold", spliceMin, spliceMin, 0},
		{"a pipe's worth", pipeCap, pipeCap, 1000},
		{"a pipe's worth and one", pipeCap + 1, pipeCap + 1, 0},
		{"one MiB and some", 1<<20 + 7, 1<<20 + 13, 5000},
		{"upload only", 3<<20 + 1, 0, 16000},
		{"download only", 0, 3<<20 + 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, h.addr("fe"))
			for round := range 2 { // the second request proves the framing held
				up := pattern(tc.up, byte(round))
				head := fmt.Sprintf("POST /x HTTP/1.1\r\nHost: t\r\nX-Size: %d\r\nContent-Length: %d\r\n\r\n", tc.down, tc.up)
				first := min(tc.upFirstLen, len(up))
				go func() { // the request body may exceed the socket buffers: write while reading
					_, _ = c.c.Write(append([]byte(head), up[:first]...))
					_, _ = c.c.Write(up[first:])
				}()
				r := c.read("POST")
				if r.StatusCode != 200 {
					t.Fatalf("round %d: status %d", round, r.StatusCode)
				}
				if want := fmt.Sprintf("%x", sha256.Sum256(up)); r.Header.Get("X-Got") != want {
					t.Errorf("round %d: server read a request body with sha256 %s, want %s", round, r.Header.Get("X-Got"), want)
				}
				if !bytes.Equal([]byte(r.body), pattern(tc.down, 0x5a)) {
					t.Errorf("round %d: response body of %d bytes differs from the %d sent", round, len(r.body), tc.down)
				}
			}
		})
	}
}

// A server that stops in the middle of a large body: the client gets what
// there was and a closed connection, the log says why.
func TestSpliceBodyCut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		term   string
	}{
		{"server closes", "X-Cut: 100000", " SD--"},
		{"server stalls", "X-Stall: 100000", " sD--"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.start(h.oneBackend(BackendConfig{
				Servers:  []ServerConfig{{Name: "s1", Addr: bodyServer(t), Weight: 1}},
				Timeouts: Timeouts{Server: 300 * time.Millisecond},
			}))
			c := dial(t, h.addr("fe"))
			c.send("GET /x HTTP/1.1\r\nHost: t\r\nX-Size: 1000000\r\n" + tc.header + "\r\n\r\n")
			resp, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			if err == nil {
				t.Errorf("read a whole body of %d bytes, want it cut short", len(got))
			}
			if !bytes.Equal(got, pattern(1000000, 0x5a)[:len(got)]) {
				t.Errorf("the %d bytes received differ from what the server sent", len(got))
			}
			if len(got) < 100000-16384 || len(got) > 100000 {
				t.Errorf("received %d bytes, want about the 100000 the server sent", len(got))
			}
			h.waitLog(`"GET /x HTTP/1.1"`, tc.term)
		})
	}
}

// TCP mode relays megabytes both ways at once, byte for byte, and passes
// each half-close on (the relay switches to splice on full buffers).
func TestSpliceTCPRelay(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const size = 4<<20 + 3
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	srvGot := make(chan []byte, 1)
	wg.Add(1)
	go func() { // sends its data, reads everything until EOF
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			srvGot <- nil
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		go func() {
			_, _ = c.Write(pattern(size, 2))
			_ = c.(*net.TCPConn).CloseWrite()
		}()
		b, _ := io.ReadAll(c)
		srvGot <- b
	}()
	h := newHarness(t)
	h.start(tcpConfig([]ServerConfig{{Name: "s1", Addr: netip.MustParseAddrPort(ln.Addr().String()), Weight: 1}}, "roundrobin"))
	c, err := net.Dial("tcp", h.addr("tcp-in"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		_, _ = c.Write(pattern(size, 1))
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("client read: %v", err)
	}
	if !bytes.Equal(got, pattern(size, 2)) {
		t.Errorf("client received %d bytes, not the %d the server sent", len(got), size)
	}
	if b := <-srvGot; !bytes.Equal(b, pattern(size, 1)) {
		t.Errorf("server received %d bytes, not the %d the client sent", len(b), size)
	}
}

// deadlineConn counts the deadlines set on it.
type deadlineConn struct {
	netConn
	reads, writes int
}

func (c *deadlineConn) SetReadDeadline(time.Time) error  { c.reads++; return nil }
func (c *deadlineConn) SetWriteDeadline(time.Time) error { c.writes++; return nil }

// Lazy deadlines are set again only when the one in place would come
// sooner than the timeout, so never early and at most the slack late.
func TestLazyDeadlines(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name  string
		to    time.Duration
		at    []time.Duration // uses, from t0
		forgo int             // forget() before this use (index), -1: never
		sets  int
	}{
		{"one use", 50 * time.Second, []time.Duration{0}, -1, 1},
		{"many uses within the slack", 50 * time.Second, []time.Duration{0, time.Millisecond, 500 * time.Millisecond, time.Second}, -1, 1},
		{"one past the slack", 50 * time.Second, []time.Duration{0, time.Second + 1}, -1, 2},
		{"short timeout: slack an eighth", 800 * time.Millisecond, []time.Duration{0, 90 * time.Millisecond, 101 * time.Millisecond}, -1, 2},
		{"forgotten", 50 * time.Second, []time.Duration{0, time.Millisecond}, 1, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &deadlineConn{}
			d := deadlines{c: c}
			for i, at := range tc.at {
				if i == tc.forgo {
					d.forget()
				}
				now := t0.Add(at)
				d.read(now, tc.to)
				d.write(now, tc.to)
				if left := d.rd.Sub(now); left < tc.to || left > tc.to+slack(tc.to) {
					t.Errorf("use %d: read deadline %v away, want within [%v, %v]", i, left, tc.to, tc.to+slack(tc.to))
				}
			}
			if c.reads != tc.sets || c.writes != tc.sets {
				t.Errorf("set %d read and %d write deadlines, want %d each", c.reads, c.writes, tc.sets)
			}
		})
	}
}

// BenchmarkSpliceBody is one 256 KiB response through the proxy (head and
// first bytes copied, the rest spliced).
func BenchmarkSpliceBody(b *testing.B) {
	p, err := New(Config{
		HardStopAfter: time.Second,
		Frontends:     []FrontendConfig{{Name: "fe", Binds: loop0(), DefaultBackend: "be"}},
		Backends:      []BackendConfig{{Name: "be", Servers: []ServerConfig{{Name: "s1", Addr: bodyServer(b), Weight: 1}}}},
	}, Options{TrafficLog: func([]byte) {}})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Listen(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(ctx)
	}()
	defer func() {
		cancel()
		<-done
	}()
	addr := p.Addrs("fe")[0].String()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	req := []byte("GET /x HTTP/1.1\r\nHost: t\r\nX-Size: 262144\r\n\r\n")
	b.SetBytes(262144)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}
