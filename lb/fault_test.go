package lb

import (
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// deadAddr is a loopback port nobody listens on (connection refused).
func deadAddr(t *testing.T) netip.AddrPort {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddrPort(ln.Addr().String())
	_ = ln.Close()
	return a
}

// blackhole is a loopback listener whose accept queue is full, so new
// connections get no SYN-ACK and time out.
func blackhole(t *testing.T) netip.AddrPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	for range 8 {
		c, err := net.DialTimeout("tcp", a.String(), 100*time.Millisecond)
		if err != nil {
			return a // queue full: SYNs are now dropped
		}
		t.Cleanup(func() { _ = c.Close() })
	}
	t.Skip("could not fill a listen queue to simulate a connect timeout")
	return a
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	t.Run("server timeout 504", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.start(h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1"), Timeouts: Timeouts{Server: 150 * time.Millisecond}}))
		c := dial(t, h.addr("fe"))
		r := c.get("/block")
		if r.StatusCode != 504 || r.body != errorBodies[504] {
			t.Errorf("got %d %q", r.StatusCode, r.body)
		}
		h.waitLog(`"GET /block HTTP/1.1"`, " 504 ", " sH-- ", "be/s1")
	})
	t.Run("connect refused retries 503", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.start(h.oneBackend(BackendConfig{Retries: 2, Servers: []ServerConfig{{Name: "dead", Addr: deadAddr(t), Weight: 1}}}))
		c := dial(t, h.addr("fe"))
		r := c.get("/x")
		if r.StatusCode != 503 || r.body != errorBodies[503] {
			t.Errorf("got %d %q", r.StatusCode, r.body)
		}
		line := h.waitLog(`"GET /x HTTP/1.1"`, " 503 ", " SC-- ", "be/dead")
		if !regexp.MustCompile(` \d+/\d+/\d+/\d+/2 `).MatchString(line) {
			t.Errorf("retries not logged as 2: %s", line)
		}
		if s := h.p.Snapshot().Backends[0].Servers[0]; s.Retries != 2 || s.ErrConn != 3 {
			t.Errorf("server retries %d errconn %d, want 2 and 3", s.Retries, s.ErrConn)
		}
	})
	t.Run("connect timeout 503", func(t *testing.T) {
		t.Parallel()
		bh := blackhole(t)
		h := newHarness(t)
		h.start(h.oneBackend(BackendConfig{Retries: 1, Timeouts: Timeouts{Connect: 100 * time.Millisecond},
			Servers: []ServerConfig{{Name: "hole", Addr: bh, Weight: 1}}}))
		c := dial(t, h.addr("fe"))
		start := time.Now()
		r := c.get("/x")
		if r.StatusCode != 503 {
			t.Errorf("got %d", r.StatusCode)
		}
		if el := time.Since(start); el < 200*time.Millisecond {
			t.Errorf("answered after %v, want >= 2 connect timeouts", el)
		}
		h.waitLog(" 503 ", " SC-- ", "be/hole")
	})
	t.Run("redispatch", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		live := h.startBackends("g", "live")
		h.start(h.oneBackend(BackendConfig{Retries: 1, Redispatch: true,
			Servers: append([]ServerConfig{{Name: "dead", Addr: deadAddr(t), Weight: 1}}, live...)}))
		c := dial(t, h.addr("fe"))
		r := c.get("/x")
		if r.StatusCode != 200 || r.Header.Get("X-Server") != "live" {
			t.Errorf("got %d from %q", r.StatusCode, r.Header.Get("X-Server"))
		}
		line := h.waitLog(`"GET /x HTTP/1.1"`, " 200 ", "be/live")
		if !regexp.MustCompile(` \d+/\d+/\d+/\d+/\+1 `).MatchString(line) {
			t.Errorf("redispatch not logged as +1: %s", line)
		}
		if b := h.p.Snapshot().Backends[0]; b.Redispatches != 1 || b.Retries != 1 {
			t.Errorf("backend redispatches %d retries %d", b.Redispatches, b.Retries)
		}
	})
	t.Run("http-request slowloris 408", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		cfg := h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1")})
		cfg.Frontends[0].Timeouts.HTTPRequest = 150 * time.Millisecond
		h.start(cfg)
		c := dial(t, h.addr("fe"))
		c.send("GET / HTTP/1.1\r\nHost: x\r\n")
		r := c.read("GET")
		if r.StatusCode != 408 || r.body != errorBodies[408] || !r.Close {
			t.Errorf("got %d %q close %v", r.StatusCode, r.body, r.Close)
		}
		h.waitLog(" 408 ", " cR-- ", "<BADREQ>")
	})
	t.Run("keep-alive timeout closes silently", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		cfg := h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1")})
		cfg.Frontends[0].Timeouts.HTTPKeepAlive = 100 * time.Millisecond
		h.start(cfg)
		c := dial(t, h.addr("fe"))
		c.get("/x")
		if !c.closed() {
			t.Error("idle keep-alive connection not closed")
		}
	})
	t.Run("client timeout in body 408", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		cfg := h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1")})
		cfg.Frontends[0].Timeouts.Client = 150 * time.Millisecond
		cfg.Frontends[0].Timeouts.HTTPRequest = 5 * time.Second
		h.start(cfg)
		c := dial(t, h.addr("fe"))
		c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
		r, err := c.tryRead("POST")
		if err != nil || r.StatusCode != 408 {
			h.mu.Lock()
			t.Errorf("got %v %v; logs %q", r.Response, err, h.logs)
			h.mu.Unlock()
		}
		h.waitLog(`"POST /echo HTTP/1.1"`, " 408 ", " cD-- ")
	})
}

func TestQueue(t *testing.T) {
	t.Parallel()
	t.Run("served in turn", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		srv := h.startBackends("g", "s1")
		srv[0].MaxConn = 1
		h.start(h.oneBackend(BackendConfig{Servers: srv, Timeouts: Timeouts{Queue: 5 * time.Second}}))
		c1, c2 := dial(t, h.addr("fe")), dial(t, h.addr("fe"))
		c1.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
		poll(t, "first request at the server", func() bool { return h.be["g/s1"].Blocked() == 1 })
		c2.send("GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
		poll(t, "second request queued", func() bool { return h.p.Snapshot().Backends[0].QueueCur == 1 })
		h.be["g/s1"].Unblock()
		if r := c1.read("GET"); r.StatusCode != 200 {
			t.Errorf("first: %d", r.StatusCode)
		}
		if r := c2.read("GET"); r.StatusCode != 200 {
			t.Errorf("queued: %d", r.StatusCode)
		}
		b := h.p.Snapshot().Backends[0]
		if b.QueueCur != 0 || b.QueueMax != 1 || b.Servers[0].SessMax != 1 {
			t.Errorf("queue cur %d max %d, server sessmax %d", b.QueueCur, b.QueueMax, b.Servers[0].SessMax)
		}
		h.waitLog(`"GET /second HTTP/1.1"`, " 200 ", "fe be/s1")
	})
	t.Run("queue timeout 503 sQ", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		srv := h.startBackends("g", "s1")
		srv[0].MaxConn = 1
		h.start(h.oneBackend(BackendConfig{Servers: srv, Timeouts: Timeouts{Queue: 150 * time.Millisecond}}))
		c1, c2 := dial(t, h.addr("fe")), dial(t, h.addr("fe"))
		c1.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
		poll(t, "first request at the server", func() bool { return h.be["g/s1"].Blocked() == 1 })
		r := c2.get("/second")
		if r.StatusCode != 503 || r.body != errorBodies[503] {
			t.Errorf("queued: %d %q", r.StatusCode, r.body)
		}
		h.waitLog(`"GET /second HTTP/1.1"`, " 503 ", " sQ-- ", "be/<NOSRV>")
		h.be["g/s1"].Unblock()
		if r := c1.read("GET"); r.StatusCode != 200 {
			t.Errorf("first: %d", r.StatusCode)
		}
	})
}

func TestServerFaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start(h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1")}))
	tests := []struct {
		path   string
		status int // seen by the client; 0: no complete response
		term   string
	}{
		{"/garbage", 502, " PH-- "},
		{"/reset", 502, " SH-- "},
		{"/close-after-headers", 0, " SD-- "},
	}
	for _, tc := range tests {
		c := dial(t, h.addr("fe"))
		c.send("GET " + tc.path + " HTTP/1.1\r\nHost: x\r\n\r\n")
		r, err := c.tryRead("GET")
		if tc.status == 0 {
			if err == nil {
				t.Errorf("%s: complete response %d", tc.path, r.StatusCode)
			}
		} else if err != nil || r.StatusCode != tc.status || r.body != errorBodies[tc.status] {
			t.Errorf("%s: %v %v", tc.path, r.Response, err)
		}
		h.waitLog(`"GET `+tc.path+` HTTP/1.1"`, tc.term, "be/s1")
	}
	if b := h.p.Snapshot().Backends[0]; b.ErrResp != 3 {
		t.Errorf("backend eresp %d, want 3", b.ErrResp)
	}
}

func TestNoServer(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	srv := h.startBackends("g", "s1", "s2")
	srv[0].Disabled, srv[1].Disabled = true, true
	cfg := h.oneBackend(BackendConfig{Servers: srv})
	cfg.Frontends = append(cfg.Frontends, FrontendConfig{Name: "nobackend", Timeouts: Timeouts{Client: time.Second}})
	h.start(cfg)
	c := dial(t, h.addr("fe"))
	if r := c.get("/x"); r.StatusCode != 503 || r.body != errorBodies[503] {
		t.Errorf("all servers disabled: %d %q", r.StatusCode, r.body)
	}
	h.waitLog(`"GET /x HTTP/1.1"`, " 503 ", " SC-- ", "fe be/<NOSRV>")
	c = dial(t, h.addr("nobackend"))
	if r := c.get("/y"); r.StatusCode != 503 {
		t.Errorf("no backend: %d", r.StatusCode)
	}
	h.waitLog(`"GET /y HTTP/1.1"`, " 503 ", "nobackend nobackend/<NOSRV>")
	if h.p.BackendSignal("be").Healthy() {
		t.Error("backend signal healthy with every server disabled")
	}
}

// Requests a backend could frame differently from tandem are refused with
// 400 (or the parser's status), logged PR--, and the connection closed.
func TestSmuggling(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start(h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1")}))
	tests := []struct {
		name   string
		raw    string
		status int
		term   string
	}{
		{"CL and TE", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "PR--"},
		{"differing CL", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400, "PR--"},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400, "PR--"},
		{"bare LF", "GET / HTTP/1.1\nHost: x\n\n", 400, "PR--"},
		{"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nabcde", 400, "PR--"},
		{"chunked twice", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400, "PR--"},
		{"TE on 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "PR--"},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400, "PR--"},
		{"bad CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nabcde", 400, "PR--"},
		{"bad version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "PR--"},
		{"bad chunk size", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400, "PD--"},
		{"head too large", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 20000) + "\r\n\r\n", 431, "PR--"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, h.addr("fe"))
			c.send(tc.raw)
			r, err := c.tryRead("GET")
			if err != nil || r.StatusCode != tc.status {
				t.Fatalf("got %v %v, want %d", r.Response, err, tc.status)
			}
			if !c.closed() {
				t.Error("connection left open")
			}
		})
	}
	for _, tc := range tests {
		h.waitLog(" "+itoa(tc.status)+" ", " "+tc.term+" ")
	}
	// Only the bad chunk request's head may have reached it (whether the
	// backend counted it before the proxy cut the connection is a race).
	if n := h.be["g/s1"].Requests(); n > 1 {
		t.Errorf("backend saw %d requests, want at most 1", n)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestGlobalMaxConn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1")})
	cfg.MaxConn = 1
	h.start(cfg)
	c1 := dial(t, h.addr("fe"))
	if r := c1.get("/x"); r.StatusCode != 200 {
		t.Fatalf("first: %d", r.StatusCode)
	}
	c2 := dial(t, h.addr("fe")) // completes in the kernel backlog
	c2.send("GET /y HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = c2.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c2.br.Peek(1); err == nil || !isTimeoutErr(err) {
		t.Fatalf("second connection served while at maxconn: %v", err)
	}
	_ = c1.c.Close()
	_ = c2.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if r := c2.read("GET"); r.StatusCode != 200 {
		t.Errorf("second after the first closed: %d", r.StatusCode)
	}
}
