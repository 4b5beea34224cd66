package lb

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tandemlb/tandem/internal/testbackend"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness runs a Proxy on loopback with testbackend servers.
type harness struct {
	t    *testing.T
	p    *Proxy
	mu   sync.Mutex
	logs []string
	be   map[string]*testbackend.Server // "backend/server"

	noInq bool // the proxy's TCP event loops do without TCP_INQ
}

func loop0() []netip.AddrPort { return []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")} }

// startBackends starts one testbackend per server name and returns the
// server configs pointing at them.
func (h *harness) startBackends(group string, names ...string) []ServerConfig {
	h.t.Helper()
	var out []ServerConfig
	for _, n := range names {
		s, err := testbackend.Start(group, n, "127.0.0.1:0")
		if err != nil {
			h.t.Fatal(err)
		}
		h.t.Cleanup(func() { _ = s.Close() })
		h.be[group+"/"+n] = s
		out = append(out, ServerConfig{Name: n, Addr: s.Addr, Weight: 1})
	}
	return out
}

func newHarness(t *testing.T) *harness {
	return &harness{t: t, be: map[string]*testbackend.Server{}}
}

// start builds and runs the proxy; it stops at test cleanup.
func (h *harness) start(cfg Config) {
	h.t.Helper()
	for i := range cfg.Frontends {
		if len(cfg.Frontends[i].Binds) == 0 {
			cfg.Frontends[i].Binds = loop0()
		}
	}
	if cfg.HardStopAfter == 0 {
		cfg.HardStopAfter = 2 * time.Second
	}
	p, err := New(cfg, Options{TrafficLog: func(line []byte) {
		h.mu.Lock()
		h.logs = append(h.logs, string(line))
		h.mu.Unlock()
	}})
	if err != nil {
		h.t.Fatal(err)
	}
	p.testNoInq = h.noInq
	if err := p.Listen(); err != nil {
		h.t.Fatal(err)
	}
	h.p = p
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			h.t.Error("Run did not return")
		}
	})
}

func (h *harness) addr(fe string) string {
	a := h.p.Addrs(fe)
	if len(a) == 0 {
		h.t.Fatalf("frontend %s has no address", fe)
	}
	return a[0].String()
}

// waitLog waits for a traffic log line containing every substring.
func (h *harness) waitLog(subs ...string) string {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.mu.Lock()
		for _, l := range h.logs {
			ok := true
			for _, s := range subs {
				if !strings.Contains(l, s) {
					ok = false
					break
				}
			}
			if ok {
				h.mu.Unlock()
				return l
			}
		}
		logs := append([]string(nil), h.logs...)
		h.mu.Unlock()
		if time.Now().After(deadline) {
			h.t.Fatalf("no log line with %q; lines:\n%s", subs, strings.Join(logs, "\n"))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// poll waits until cond is true.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// client is a raw HTTP/1.x client on one connection.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

func (c *client) send(raw string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, raw); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

type response struct {
	*http.Response
	body string
}

// read reads one response (for a request with the given method).
func (c *client) read(method string) response {
	c.t.Helper()
	r, err := c.tryRead(method)
	if err != nil {
		c.t.Fatalf("reading response: %v", err)
	}
	return r
}

func (c *client) tryRead(method string) (response, error) {
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		return response{}, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return response{}, fmt.Errorf("body: %w", err)
	}
	return response{resp, string(b)}, nil
}

func (c *client) get(path string) response {
	c.t.Helper()
	c.send("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n")
	return c.read("GET")
}

// closed reports whether the server closed the connection (EOF soon).
func (c *client) closed() bool {
	_ = c.c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err := c.br.ReadByte()
	return err == io.EOF || (err != nil && !isTimeoutErr(err))
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// seedConfig is the seed article's L7 example: http-in routes /ms1/ and
// /ms2/ by ACL, everything else to default_servers.
func (h *harness) seedConfig() Config {
	return Config{
		MaxConn: 100,
		Frontends: []FrontendConfig{{
			Name:           "http-in",
			ACLs:           map[string]string{"url_ms1": "path_beg -i /ms1/", "url_ms2": "path_beg -i /ms2/"},
			UseBackends:    []UseBackend{{Backend: "ms1", If: "url_ms1"}, {Backend: "ms2", If: "url_ms2"}},
			DefaultBackend: "default_servers",
			ForwardFor:     &ForwardFor{},
			Timeouts:       Timeouts{Client: 5 * time.Second},
		}},
		Backends: []BackendConfig{
			{Name: "ms1", Retries: 3, Redispatch: true, Servers: h.startBackends("ms1", "ms1.srv1", "ms1.srv2"), Timeouts: Timeouts{Connect: time.Second, Server: 5 * time.Second}},
			{Name: "ms2", Retries: 3, Redispatch: true, Servers: h.startBackends("ms2", "ms2.srv1", "ms2.srv2"), Timeouts: Timeouts{Connect: time.Second, Server: 5 * time.Second}},
			{Name: "default_servers", Retries: 3, Redispatch: true, Servers: h.startBackends("default", "default.srv1", "default.srv2"), Timeouts: Timeouts{Connect: time.Second, Server: 5 * time.Second}},
		},
	}
}

// oneBackend is a frontend "fe" sending everything to backend "be".
func (h *harness) oneBackend(be BackendConfig) Config {
	if be.Name == "" {
		be.Name = "be"
	}
	if be.Timeouts.Connect == 0 {
		be.Timeouts.Connect = time.Second
	}
	if be.Timeouts.Server == 0 {
		be.Timeouts.Server = 5 * time.Second
	}
	return Config{
		Frontends: []FrontendConfig{{Name: "fe", DefaultBackend: be.Name, Timeouts: Timeouts{Client: 5 * time.Second}}},
		Backends:  []BackendConfig{be},
	}
}
