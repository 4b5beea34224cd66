package lb

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

func tcpConfig(servers []ServerConfig, balance string) Config {
	return Config{
		Frontends: []FrontendConfig{{Name: "tcp-in", Mode: ModeTCP, DefaultBackend: "be", Timeouts: Timeouts{Client: 5 * time.Second}}},
		Backends: []BackendConfig{{Name: "be", Mode: ModeTCP, Balance: balance, Retries: 1, Redispatch: true, Servers: servers,
			Timeouts: Timeouts{Connect: time.Second, Server: 5 * time.Second}}},
	}
}

func TestTCPMode(t *testing.T) {
	t.Parallel()
	t.Run("roundrobin", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.start(tcpConfig(h.startBackends("g", "s1", "s2"), "roundrobin"))
		var got []string
		for range 4 {
			c := dial(t, h.addr("tcp-in"))
			c.send("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			r := c.read("GET")
			got = append(got, r.Header.Get("X-Server"))
			if !c.closed() {
				t.Error("connection not closed after the server closed")
			}
			_ = c.c.Close()
		}
		exactly("s1", "s2", "s1", "s2")(t, got)
		line := h.waitLog("tcp-in be/s2")
		re := regexp.MustCompile(`^127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] tcp-in be/s2 \d+/\d+/\d+ \d+ -- \d+/\d+/\d+/\d+/0 0/0$`)
		if !re.MatchString(line) {
			t.Errorf("tcplog line %q does not match %s", line, re)
		}
	})
	t.Run("source", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.start(tcpConfig(h.startBackends("g", "s1", "s2", "s3"), "source"))
		var got []string
		for range 4 {
			c := dial(t, h.addr("tcp-in"))
			c.send("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			got = append(got, c.read("GET").Header.Get("X-Server"))
		}
		allSame(t, got)
	})
	t.Run("half close", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.start(tcpConfig(h.startBackends("g", "s1"), "roundrobin"))
		c := dial(t, h.addr("tcp-in"))
		c.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = c.c.(interface{ CloseWrite() error }).CloseWrite()
		b, err := io.ReadAll(c.br)
		if err != nil || !strings.Contains(string(b), "g/s1 /x") {
			t.Errorf("after half-close: %q %v", b, err)
		}
	})
	t.Run("connect failure", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.start(tcpConfig([]ServerConfig{{Name: "dead", Addr: deadAddr(t), Weight: 1}}, "roundrobin"))
		c := dial(t, h.addr("tcp-in"))
		if !c.closed() {
			t.Error("client not closed")
		}
		h.waitLog("tcp-in be/dead", " SC ")
	})
	t.Run("client timeout", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		cfg := tcpConfig(h.startBackends("g", "s1"), "roundrobin")
		cfg.Frontends[0].Timeouts.Client = 100 * time.Millisecond
		h.start(cfg)
		c := dial(t, h.addr("tcp-in"))
		if !c.closed() {
			t.Error("idle TCP connection not closed")
		}
		h.waitLog("tcp-in be/s1", " cD ")
	})
}

// Stopping closes idle keep-alive connections at once, lets a request in
// flight finish, and kills what is still running at hard-stop-after.
func TestGracefulStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1")})
	cfg.HardStopAfter = 3 * time.Second
	for i := range cfg.Frontends {
		cfg.Frontends[i].Binds = loop0()
	}
	p, err := New(cfg, Options{})
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
	poll(t, "frontend signal", func() bool { return p.FrontendSignal("fe").Healthy() })

	idle := dial(t, h.addr("fe"))
	idle.get("/x")
	busy := dial(t, h.addr("fe"))
	busy.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	poll(t, "request at the server", func() bool { return h.be["g/s1"].Blocked() == 1 })

	cancel()
	if !idle.closed() {
		t.Error("idle connection not closed at stop")
	}
	if p.FrontendSignal("fe").Healthy() {
		t.Error("frontend signal still healthy after stop")
	}
	h.be["g/s1"].Unblock()
	r := busy.read("GET")
	if r.StatusCode != 200 || !r.Close {
		t.Errorf("in-flight request: %d close %v", r.StatusCode, r.Close)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}
