package lb

import (
	"bytes"
	"net"
	"syscall"
	"testing"
	"time"
)

// tcpIdleConnBudget is what one idle TCP-mode connection may cost the
// process, heap and goroutine stacks together (issue 5 asks for at most 4
// KiB). An event loop relays it (tcploop.go): no goroutine, no stack, no
// I/O buffer; the pair's state, its timer, the client and server
// connections, and the test's own client-side and backend-side net.Conns
// (a few hundred bytes each). It measures about 3 KiB (it was about 13
// with a goroutine per direction, 47 with buffers held).
const tcpIdleConnBudget = 4 * 1024

// tcpIdleMem opens n TCP-mode connections through a proxy to a backend
// that answers one request on each without a goroutine per connection,
// leaves them open and idle, and returns the growth of HeapInuse and
// StackInuse per connection.
func tcpIdleMem(tb testing.TB, n int) (heap, stack float64) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < uint64(4*n+256) {
		tb.Skipf("open-file limit %d is too low for %d connections (needs %d)", rl.Cur, n, 4*n+256)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nhello, world\n")
	// One goroutine serves every backend connection in turn: the proxy
	// dials it when the client connects, and the client sends at once.
	held := make(chan []net.Conn, 1)
	go func() {
		var conns []net.Conn
		defer func() { held <- conns }()
		buf := make([]byte, 512)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			got := 0
			for !bytes.HasSuffix(buf[:got], []byte("\r\n\r\n")) && got < len(buf) {
				k, err := c.Read(buf[got:])
				if err != nil {
					break
				}
				got += k
			}
			_, _ = c.Write(resp)
		}
	}()
	tb.Cleanup(func() {
		_ = ln.Close()
		for _, c := range <-held {
			_ = c.Close()
		}
	})
	return measureIdle(tb, Config{
		HardStopAfter: time.Second,
		Frontends:     []FrontendConfig{{Name: "fe", Mode: ModeTCP, Binds: loop0(), DefaultBackend: "be"}},
		Backends:      []BackendConfig{{Name: "be", Mode: ModeTCP, Servers: []ServerConfig{{Name: "s1", Addr: ln.Addr().(*net.TCPAddr).AddrPort(), Weight: 1}}}},
	}, n)
}

// An idle TCP-mode connection holds no I/O buffer: 1,000 of them stay
// within tcpIdleConnBudget each. Not parallel: it reads process-wide
// memory statistics.
func TestTCPIdleConnectionMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("memory figures need a quiet process")
	}
	heap, stack := tcpIdleMem(t, 1000)
	total := heap + stack
	t.Logf("per idle TCP connection: heap %.0f B, stack %.0f B, total %.0f B (budget %d)", heap, stack, total, tcpIdleConnBudget)
	if raceEnabled {
		return // the race detector's bookkeeping makes the figures meaningless
	}
	if total > tcpIdleConnBudget {
		t.Errorf("an idle TCP connection costs %.0f B (heap %.0f + stack %.0f), want at most %d", total, heap, stack, tcpIdleConnBudget)
	}
}
