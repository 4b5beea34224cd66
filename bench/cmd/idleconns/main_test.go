package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lineWriter hands each write to a channel, so a test can wait for "ready".
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

// connCounter tracks how many server-side connections are open.
type connCounter struct {
	mu   sync.Mutex
	open int
}

func (c *connCounter) hook(_ net.Conn, s http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s {
	case http.StateNew:
		c.open++
	case http.StateClosed, http.StateHijacked:
		c.open--
	}
}

func (c *connCounter) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for an event
	}
}

func TestHoldsConnectionsUntilCancelled(t *testing.T) {
	t.Parallel()
	var cc connCounter
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat("x", 100)))
	}))
	srv.Config.ConnState = cc.hook
	srv.Start()
	defer srv.Close()

	const n = 30
	out := make(lineWriter, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{addr: srv.Listener.Addr().String(), n: n, path: "/", parallel: 7, timeout: 10 * time.Second, hold: time.Minute}, out)
	}()
	select {
	case line := <-out:
		if line != "ready 30\n" {
			t.Fatalf("run printed %q, want %q", line, "ready 30\n")
		}
	case err := <-done:
		t.Fatalf("run returned before ready: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no ready line within 10s")
	}
	if got := cc.get(); got != n {
		t.Errorf("server sees %d open connections while held, want %d", got, n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	waitFor(t, "all connections closed", func() bool { return cc.get() == 0 })
}

func TestHoldExpires(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	out := make(lineWriter, 1)
	err := run(context.Background(), options{addr: srv.Listener.Addr().String(), n: 3, path: "/", parallel: 3, timeout: 10 * time.Second, hold: 10 * time.Millisecond}, out)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if line := <-out; line != "ready 3\n" {
		t.Errorf("run printed %q", line)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	status500 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(status500.Close) // the parallel subtests outlive this function body
	closing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
	}))
	t.Cleanup(closing.Close)
	// A listener that accepts and never answers: the timeout must end it.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = silent.Close()
		<-acceptDone
		for _, c := range held {
			_ = c.Close()
		}
	})
	// A port with nothing listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	_ = l.Close()

	tests := []struct {
		name string
		o    options
		want string
	}{
		{"zero connections", options{addr: refused, n: 0, parallel: 1}, "-n and -parallel must be positive"},
		{"status", options{addr: status500.Listener.Addr().String(), n: 2, parallel: 2}, "status 500"},
		{"close", options{addr: closing.Listener.Addr().String(), n: 2, parallel: 2}, "Connection: close"},
		{"refused", options{addr: refused, n: 2, parallel: 2}, "dial"},
		{"silent", options{addr: silent.Addr().String(), n: 2, parallel: 2, timeout: 200 * time.Millisecond}, "read response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := tt.o
			o.path = "/"
			if o.timeout == 0 {
				o.timeout = 5 * time.Second
			}
			o.hold = time.Minute
			err := run(context.Background(), o, make(lineWriter, 1))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run: error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
