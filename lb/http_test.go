package lb

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The seed article's L7 example, end to end: ACL routing, round-robin
// between two servers per backend, X-Forwarded-For, one httplog line per
// request.
func TestSeedL7(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start(h.seedConfig())
	addr := h.addr("http-in")

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var got []string
	for _, path := range []string{"/ms1/demo.html", "/ms1/demo.html", "/ms2/demo.html", "/ms2/demo.html", "/demo.html", "/other/demo.html", "/MS1/demo.html"} {
		resp, err := hc.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		got = append(got, resp.Header.Get("X-Server"))
	}
	want := []string{"ms1.srv1", "ms1.srv2", "ms2.srv1", "ms2.srv2", "default.srv1", "default.srv2", "ms1.srv1"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("servers (-want +got):\n%s", d)
	}
	line := h.waitLog(`"GET /ms2/demo.html HTTP/1.1"`, "ms2/ms2.srv2")
	re := regexp.MustCompile(`^127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] http-in ms2/ms2\.srv2 \d+/\d+/\d+/\d+/\d+ 200 \d+ - - ---- \d+/\d+/\d+/\d+/0 0/0 "GET /ms2/demo.html HTTP/1.1"$`)
	if !re.MatchString(line) {
		t.Errorf("log line %q does not match %s", line, re)
	}

	c := dial(t, addr)
	r := c.get("/ms1/echo")
	_ = r
	r = c.get("/echo")
	if !strings.Contains(r.body, "X-Forwarded-For: 127.0.0.1\n") {
		t.Errorf("echo has no X-Forwarded-For:\n%s", r.body)
	}
	snap := h.p.Snapshot()
	if snap.Frontends[0].Requests < 9 || snap.Backends[0].Servers[0].LBTot < 2 {
		t.Errorf("counters not counting: %+v", snap.Frontends[0].Counters)
	}
	if snap.Backends[0].Responses[2] < 3 {
		t.Errorf("ms1 2xx = %d, want >= 3", snap.Backends[0].Responses[2])
	}
}

func TestKeepAliveReuse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start(h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1")}))
	c := dial(t, h.addr("fe"))
	var remotes []string
	for range 5 {
		r := c.get("/x")
		if r.StatusCode != 200 || r.Close {
			t.Fatalf("status %d close %v", r.StatusCode, r.Close)
		}
		remotes = append(remotes, r.Header.Get("X-Remote-Addr"))
	}
	for _, r := range remotes[1:] {
		if r != remotes[0] {
			t.Errorf("server connection not reused: %v", remotes)
			break
		}
	}
	if n := h.be["g/s1"].Conns(); n != 1 {
		t.Errorf("backend saw %d connections, want 1", n)
	}
	// A second client reuses the same idle server connection, once the
	// proxy has put it back in the pool (it does so after the client has
	// its response).
	pool := &h.p.backends[0].servers[0].idle
	deadline := time.Now().Add(5 * time.Second)
	for {
		pool.mu.Lock()
		n := len(pool.idle)
		pool.mu.Unlock()
		if n == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	c2 := dial(t, h.addr("fe"))
	if r := c2.get("/x"); r.Header.Get("X-Remote-Addr") != remotes[0] {
		t.Errorf("second client used a new server connection")
	}
	// Pipelined requests are answered in order.
	c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	if a, b := c.read("GET"), c.read("GET"); !strings.Contains(a.body, " /a") || !strings.Contains(b.body, " /b") {
		t.Errorf("pipelined answers %q %q", a.body, b.body)
	}
}

func TestBodies(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start(h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1")}))
	addr := h.addr("fe")

	t.Run("chunked request", func(t *testing.T) {
		c := dial(t, addr)
		c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n")
		r := c.read("POST")
		if !strings.Contains(r.body, "body 11 bytes\nhello world") {
			t.Errorf("echo body:\n%s", r.body)
		}
		// connection still usable
		if r := c.get("/x"); r.StatusCode != 200 {
			t.Errorf("after chunked: %d", r.StatusCode)
		}
	})
	t.Run("chunked response", func(t *testing.T) {
		c := dial(t, addr)
		r := c.get("/chunked/50000")
		if len(r.body) != 50000 || r.TransferEncoding == nil {
			t.Errorf("got %d bytes, TE %v", len(r.body), r.TransferEncoding)
		}
		if r := c.get("/size/70000"); len(r.body) != 70000 {
			t.Errorf("size: %d bytes", len(r.body))
		}
	})
	t.Run("content-length request", func(t *testing.T) {
		c := dial(t, addr)
		body := strings.Repeat("x", 100000)
		c.send(fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
		r := c.read("POST")
		if !strings.Contains(r.body, "body 100000 bytes\n") {
			t.Errorf("echo: %.200s", r.body)
		}
		c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
		if r := c.read("POST"); !strings.Contains(r.body, "body 3 bytes\nabc") {
			t.Errorf("small body: %s", r.body)
		}
	})
	t.Run("HTTP/1.0", func(t *testing.T) {
		c := dial(t, addr)
		c.send("GET /x HTTP/1.0\r\n\r\n")
		r := c.read("GET")
		if r.StatusCode != 200 || !r.Close {
			t.Errorf("1.0: status %d close %v", r.StatusCode, r.Close)
		}
		if !c.closed() {
			t.Error("connection not closed after HTTP/1.0 response")
		}
		c = dial(t, addr)
		c.send("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		r = c.read("GET")
		if r.Header.Get("Connection") != "keep-alive" {
			t.Errorf("1.0 keep-alive: Connection %q", r.Header.Get("Connection"))
		}
		c.send("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		if r := c.read("GET"); r.StatusCode != 200 {
			t.Errorf("second 1.0 request: %d", r.StatusCode)
		}
	})
	t.Run("response until close", func(t *testing.T) {
		c := dial(t, addr)
		r := c.get("/http10")
		if !strings.Contains(r.body, "until close") || !r.Close {
			t.Errorf("body %q close %v", r.body, r.Close)
		}
	})
	t.Run("expect 100-continue", func(t *testing.T) {
		c := dial(t, addr)
		c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		line, err := c.br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
			t.Fatalf("interim line %q, %v", line, err)
		}
		if l, _ := c.br.ReadString('\n'); l != "\r\n" {
			t.Fatalf("interim head not empty: %q", l)
		}
		c.send("hello")
		r := c.read("POST")
		if !strings.Contains(r.body, "body 5 bytes\nhello") {
			t.Errorf("echo: %s", r.body)
		}
		if r := c.get("/x"); r.StatusCode != 200 {
			t.Errorf("after expect: %d", r.StatusCode)
		}
	})
	t.Run("expect answered without 100", func(t *testing.T) {
		c := dial(t, addr)
		c.send("POST /status/403 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		r := c.read("POST")
		if r.StatusCode != 403 || !r.Close {
			t.Errorf("got %d close %v", r.StatusCode, r.Close)
		}
		if !c.closed() {
			t.Error("connection with an unread body left open")
		}
	})
	t.Run("HEAD 204 304", func(t *testing.T) {
		c := dial(t, addr)
		c.send("HEAD /size/100 HTTP/1.1\r\nHost: x\r\n\r\n")
		if r := c.read("HEAD"); r.StatusCode != 200 || r.body != "" || r.ContentLength != 100 {
			t.Errorf("HEAD: %d %q CL %d", r.StatusCode, r.body, r.ContentLength)
		}
		for _, code := range []int{204, 304} {
			if r := c.get(fmt.Sprintf("/status/%d", code)); r.StatusCode != code || r.body != "" {
				t.Errorf("%d: %d %q", code, r.StatusCode, r.body)
			}
		}
		if r := c.get("/x"); r.StatusCode != 200 {
			t.Errorf("after HEAD/204/304: %d", r.StatusCode)
		}
	})
	t.Run("upgrade tunnel", func(t *testing.T) {
		c := dial(t, addr)
		c.send("GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nearly")
		r, err := http.ReadResponse(c.br, &http.Request{Method: "GET"})
		if err != nil || r.StatusCode != 101 {
			t.Fatalf("upgrade: %v %v", r, err)
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c.br, buf); err != nil || string(buf) != "early" {
			t.Fatalf("echo of early bytes: %q %v", buf, err)
		}
		c.send("ping!")
		if _, err := io.ReadFull(c.br, buf); err != nil || string(buf) != "ping!" {
			t.Fatalf("tunnel echo: %q %v", buf, err)
		}
		_ = c.c.(interface{ CloseWrite() error }).CloseWrite()
		if !c.closed() {
			t.Error("tunnel not closed after client half-close")
		}
		h.waitLog(`"GET /upgrade HTTP/1.1"`, " 101 ")
	})
}
