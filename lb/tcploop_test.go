package lb

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// rawServer accepts TCP connections and runs handle on each in its own
// goroutine; the connections close at test cleanup.
func rawServer(t *testing.T, handle func(net.Conn)) ServerConfig {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
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
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				handle(c)
			}()
		}
	}()
	return ServerConfig{Name: "raw", Addr: ln.Addr().(*net.TCPAddr).AddrPort(), Weight: 1}
}

func echo(c net.Conn) { _, _ = io.Copy(c, c) }

// loopPair is the event loop pair relaying the proxy's only TCP session.
func loopPair(t *testing.T, p *Proxy) *tcpPair {
	t.Helper()
	var tp *tcpPair
	poll(t, "a pair in an event loop", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for c := range p.tcpConns {
			tp = c.pair
		}
		return tp != nil
	})
	return tp
}

func dirStates(tp *tcpPair) [2]dirState {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return [2]dirState{tp.dirs[0].state, tp.dirs[1].state}
}

// Many connections at once, each a long ping-pong of messages of every
// size up to a little over the loop's buffer: every byte comes back in
// order, and the pairs live in the event loops; also as on a kernel
// without TCP_INQ (CentOS 7), where a drained socket is known by EAGAIN.
func TestTCPLoopEcho(t *testing.T) {
	t.Parallel()
	for _, noInq := range []bool{false, true} {
		t.Run(map[bool]string{false: "TCP_INQ", true: "without TCP_INQ"}[noInq], func(t *testing.T) {
			t.Parallel()
			loopEcho(t, noInq)
		})
	}
}

func loopEcho(t *testing.T, noInq bool) {
	h := newHarness(t)
	h.noInq = noInq
	h.start(tcpConfig([]ServerConfig{rawServer(t, echo)}, "roundrobin"))
	first := dial(t, h.addr("tcp-in"))
	loopPair(t, h.p)
	_ = first.c.Close()
	const conns, rounds = 20, 100
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", h.addr("tcp-in"))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(20 * time.Second))
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			got := make([]byte, DefaultBufSize+4096)
			for r := range rounds {
				n := 1 + rng.IntN(len(got))
				if r%10 != 0 {
					n = 1 + rng.IntN(200) // mostly small messages
				}
				msg := make([]byte, n)
				for j := range msg {
					msg[j] = byte(rng.Uint32())
				}
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, got[:n]); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got[:n], msg) {
					errs <- io.ErrUnexpectedEOF
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A server that does not read makes the loop's send fall short: a
// goroutine writes the rest when the server reads again, then hands the
// direction back to the loop. The stream arrives whole and in order.
func TestTCPLoopBackpressure(t *testing.T) {
	t.Parallel()
	const total = 8 << 20
	start := make(chan struct{})
	sum := make(chan []byte, 1)
	srv := rawServer(t, func(c net.Conn) {
		<-start
		b, _ := io.ReadAll(io.LimitReader(c, total))
		sum <- b
		_, _ = c.Write([]byte("done\n"))
		echo(c)
	})
	h := newHarness(t)
	h.start(tcpConfig([]ServerConfig{srv}, "roundrobin"))
	c := dial(t, h.addr("tcp-in"))
	tp := loopPair(t, h.p)

	want := make([]byte, total)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	wrote := make(chan error, 1)
	go func() {
		// Small writes: each is one message for the loop, none fills its
		// buffer, so only the server's window can stop the loop.
		var err error
		for off := 0; off < total && err == nil; off += 1000 {
			_, err = c.c.Write(want[off:min(off+1000, total)])
		}
		wrote <- err
	}()
	poll(t, "the client-to-server direction in a goroutine", func() bool { return dirStates(tp)[0] == dirSlow })
	close(start)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if got := <-sum; !bytes.Equal(got, want) {
		t.Fatalf("server got %d bytes, not the %d sent in order", len(got), len(want))
	}
	if line, err := c.br.ReadString('\n'); line != "done\n" || err != nil {
		t.Fatalf("reply %q %v", line, err)
	}
	poll(t, "the direction back in the loop", func() bool { return dirStates(tp)[0] == dirParked })
	c.send("ping\n")
	if line, err := c.br.ReadString('\n'); line != "ping\n" || err != nil {
		t.Fatalf("echo after the hand-back: %q %v", line, err)
	}
}

// A read that fills the loop's buffer hands the direction to a goroutine
// that splices; the bytes count in the log line.
func TestTCPLoopBulk(t *testing.T) {
	t.Parallel()
	const total = 4 << 20
	start := make(chan struct{})
	h := newHarness(t)
	h.start(tcpConfig([]ServerConfig{rawServer(t, func(c net.Conn) {
		<-start // the splicing direction waits for room meanwhile
		n, _ := io.Copy(io.Discard, c)
		_, _ = c.Write(bytes.Repeat([]byte("x"), int(n)))
		_ = c.Close()
	})}, "roundrobin"))
	c := dial(t, h.addr("tcp-in"))
	tp := loopPair(t, h.p)
	wrote := make(chan error, 1)
	go func() {
		_, err := c.c.Write(make([]byte, total))
		if err == nil {
			err = c.c.(*net.TCPConn).CloseWrite()
		}
		wrote <- err
	}()
	poll(t, "the client-to-server direction splicing", func() bool { return dirStates(tp)[0] == dirSlow })
	close(start)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, c.br)
	if n != total || err != nil {
		t.Fatalf("client got %d bytes back (%v), want %d", n, err, total)
	}
	h.waitLog("tcp-in be/raw", " 4194304 -- ")
}

// The timeout is the whole tunnel's inactivity: a direction that only
// listens is not cut while the other one talks; when both are quiet the
// pair ends with the timeout's termination code.
func TestTCPLoopTunnelTimeout(t *testing.T) {
	t.Parallel()
	talk := make(chan struct{})
	h := newHarness(t)
	cfg := tcpConfig([]ServerConfig{rawServer(t, func(c net.Conn) {
		for {
			select {
			case <-talk:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := c.Write([]byte("tick\n")); err != nil {
					return
				}
			}
		}
	})}, "roundrobin")
	cfg.Frontends[0].Timeouts.Client = 300 * time.Millisecond
	cfg.Backends[0].Timeouts.Server = 300 * time.Millisecond
	h.start(cfg)
	c := dial(t, h.addr("tcp-in"))
	t0 := time.Now()
	for time.Since(t0) < time.Second {
		_ = c.c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if line, err := c.br.ReadString('\n'); line != "tick\n" || err != nil {
			t.Fatalf("after %v: %q %v (cut while the server talks)", time.Since(t0), line, err)
		}
	}
	close(talk)
	if !c.closed() {
		t.Fatal("quiet tunnel not closed")
	}
	line := h.waitLog("tcp-in be/raw")
	if !bytes.Contains([]byte(line), []byte(" cD ")) && !bytes.Contains([]byte(line), []byte(" sD ")) {
		t.Errorf("log line %q: want cD or sD", line)
	}
}

// hard-stop-after kills a pair idle in a loop: the client sees the close,
// the log says K, and Run returns (the loops stop: goleak checks).
func TestTCPLoopHardStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := tcpConfig([]ServerConfig{rawServer(t, echo)}, "roundrobin")
	cfg.HardStopAfter = 200 * time.Millisecond
	cfg.Frontends[0].Binds = loop0()
	var mu sync.Mutex
	var logs []string
	p, err := New(cfg, Options{TrafficLog: func(l []byte) {
		mu.Lock()
		logs = append(logs, string(l))
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(); err != nil {
		t.Fatal(err)
	}
	h.p = p
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	c := dial(t, h.addr("tcp-in"))
	c.send("hi\n")
	if line, err := c.br.ReadString('\n'); line != "hi\n" || err != nil {
		t.Fatalf("echo: %q %v", line, err)
	}
	loopPair(t, p)
	cancel()
	if !c.closed() {
		t.Error("idle pair not closed at hard-stop-after")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logs) != 1 || !bytes.Contains([]byte(logs[0]), []byte(" KD ")) {
		t.Errorf("log %q: want one line with KD", logs)
	}
}
