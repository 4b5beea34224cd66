package lb

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/lb/cookie"
	"github.com/tandemlb/tandem/lb/stick"
)

// appServer is an application server that keeps sessions in a cookie, as
// the servers behind HAProxy's rewrite and prefix modes do. Rewrite: it
// sets SRVCK on every response (tandem replaces the value). Prefix: it
// sets JSESSIONID when the request carries no session it knows. Every
// answer names the server (X-Server), says whether the session was known
// (X-Session) and echoes the Cookie header it received in the body.
type appServer struct {
	name     string
	addr     netip.AddrPort
	srv      *http.Server
	mu       sync.Mutex
	sessions map[string]bool
	n        atomic.Int64
}

func startApp(t *testing.T, name string) *appServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &appServer{name: name, addr: netip.MustParseAddrPort(ln.Addr().String()), sessions: map[string]bool{}}
	a.srv = &http.Server{Handler: a, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	t.Cleanup(a.stop)
	return a
}

func (a *appServer) stop() { _ = a.srv.Close() }

func (a *appServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Server", a.name)
	w.Header().Add("Set-Cookie", "SRVCK=app; Path=/")
	known := false
	if c, err := r.Cookie("JSESSIONID"); err == nil {
		a.mu.Lock()
		known = a.sessions[c.Value]
		a.mu.Unlock()
	}
	if !known {
		id := fmt.Sprintf("%s-%d", a.name, a.n.Add(1))
		a.mu.Lock()
		a.sessions[id] = true
		a.mu.Unlock()
		w.Header().Add("Set-Cookie", "JSESSIONID="+id+"; Path=/; HttpOnly")
	}
	w.Header().Set("X-Session", fmt.Sprint(known))
	_, _ = io.WriteString(w, strings.Join(r.Header.Values("Cookie"), "|"))
}

// fastCheck is a TCP check quick to see a server go.
var fastCheck = &health.CheckConfig{Type: "tcp", Inter: 20 * time.Millisecond, Rise: 1, Fall: 1, Timeout: 2 * time.Second}

// runChecks runs the health checker of h's proxy until the test ends.
func runChecks(t *testing.T, h *harness) {
	ctx, cancel := context.WithCancel(context.Background())
	chk := health.NewChecker(h.p.HealthTargets(), health.Options{Traffic: h.p.HealthTraffic})
	done := make(chan error, 1)
	go func() { done <- chk.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// browser is an HTTP client with a cookie jar, as a browser keeps cookies.
type browser struct {
	t   *testing.T
	c   *http.Client
	jar *cookiejar.Jar
	url string
}

func newBrowser(t *testing.T, addr string, local netip.Addr) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{Timeout: 5 * time.Second}
	if local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
	}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{t: t, c: &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second}, jar: jar, url: "http://" + addr}
}

type reply struct {
	server, body string
	hdr          http.Header
}

func (b *browser) get(path string) reply {
	b.t.Helper()
	resp, err := b.c.Get(b.url + path)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		b.t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return reply{resp.Header.Get("X-Server"), string(body), resp.Header}
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.url)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// A browser sticks to one server for 100 requests in every cookie mode,
// and moves exactly once (then sticks again) when that server goes DOWN.
func TestCookieStickiness(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode  cookie.Mode
		name  string    // cookie name
		app   bool      // application servers that set their own cookie
		flags [3]string // log cookie flags: first request, sticky one, after the move
	}{
		{cookie.Insert, "HA_STICKY_ms1", false, [3]string{"NI", "VN", "DI"}},
		{cookie.Rewrite, "SRVCK", true, [3]string{"NR", "VR", "DR"}},
		{cookie.Prefix, "JSESSIONID", true, [3]string{"NR", "VN", "DR"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			stop := map[string]func(){}
			var servers []ServerConfig
			if tt.app {
				for _, n := range []string{"s1", "s2", "s3"} {
					a := startApp(t, n)
					stop[n] = a.stop
					servers = append(servers, ServerConfig{Name: n, Addr: a.addr, Weight: 1, Cookie: "c-" + n})
				}
			} else {
				servers = h.startBackends("g", "s1", "s2", "s3")
				for i := range servers {
					servers[i].Cookie = "c-" + servers[i].Name
					be := h.be["g/"+servers[i].Name]
					stop[servers[i].Name] = func() { _ = be.Close() }
				}
			}
			for i := range servers {
				servers[i].Check, servers[i].CheckConfig = true, fastCheck
			}
			ck := &cookie.Config{Name: tt.name, Mode: tt.mode}
			if tt.mode == cookie.Insert {
				ck.Indirect, ck.NoCache = true, true
			}
			h.start(h.oneBackend(BackendConfig{Servers: servers, Cookie: ck, Retries: 1, Redispatch: true}))
			runChecks(t, h)

			b := newBrowser(t, h.addr("fe"), netip.Addr{})
			first := b.get("/x")
			sticky := first.server
			if got := b.cookie(tt.name); !strings.HasPrefix(got, "c-"+sticky) {
				t.Fatalf("cookie %s = %q after the first answer from %s", tt.name, got, sticky)
			}
			if tt.mode == cookie.Insert && first.hdr.Get("Cache-Control") != "private" {
				t.Errorf("nocache insert: Cache-Control %q", first.hdr.Get("Cache-Control"))
			}
			for i := range 99 {
				r := b.get("/x")
				if r.server != sticky {
					t.Fatalf("request %d went to %s, not %s", i+2, r.server, sticky)
				}
				if tt.mode == cookie.Prefix && r.hdr.Get("X-Session") != "true" {
					t.Fatalf("request %d: the application lost its session (saw %q)", i+2, r.body)
				}
			}
			h.waitLog("fe be/"+sticky, " --"+tt.flags[0]+" ")
			h.waitLog("fe be/"+sticky, " --"+tt.flags[1]+" ")

			stop[sticky]()
			poll(t, sticky+" DOWN", func() bool { return !h.p.Server("be", sticky).UsableForPersistence() })
			var after []string
			for range 20 {
				after = append(after, b.get("/x").server)
			}
			moved := after[0]
			if moved == sticky {
				t.Fatal("still sent to the DOWN server")
			}
			allSame(t, after)
			if got := b.cookie(tt.name); !strings.HasPrefix(got, "c-"+moved) {
				t.Errorf("cookie %q after the move to %s", got, moved)
			}
			h.waitLog("fe be/"+moved, " --"+tt.flags[2]+" ")
		})
	}
}

// A server in maintenance loses its persistent clients; a draining one
// keeps them (and gets no new ones).
func TestCookieAdminStates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	servers := h.startBackends("g", "s1", "s2")
	h.start(h.oneBackend(BackendConfig{Servers: servers, Cookie: &cookie.Config{Name: "SRV", Mode: cookie.Insert}}))
	b := newBrowser(t, h.addr("fe"), netip.Addr{})
	sticky := b.get("/x").server
	other := map[string]string{"s1": "s2", "s2": "s1"}[sticky]

	h.p.Server("be", sticky).SetAdmin(health.Drain)
	for range 5 {
		if s := b.get("/x").server; s != sticky {
			t.Fatalf("draining server lost its persistent client to %s", s)
		}
	}
	fresh := newBrowser(t, h.addr("fe"), netip.Addr{})
	for range 4 {
		if s := fresh.get("/x").server; s != other {
			t.Fatalf("new client sent to the draining server")
		}
	}
	h.p.Server("be", sticky).SetAdmin(health.Maint)
	if s := b.get("/x").server; s != other {
		t.Fatalf("server in maintenance still got its persistent client")
	}
	h.waitLog("fe be/"+other, " --DI ")
	if s := b.get("/x").server; s != other {
		t.Fatalf("client did not stick to its new server")
	}
}

// indirect: the server never sees the persistence cookie, other cookies
// pass unchanged; without indirect it does see it.
func TestCookieIndirect(t *testing.T) {
	t.Parallel()
	for _, indirect := range []bool{true, false} {
		t.Run(fmt.Sprint("indirect=", indirect), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.start(h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1", "s2"),
				Cookie: &cookie.Config{Name: "HA_STICKY", Mode: cookie.Insert, Indirect: indirect}}))
			c := dial(t, h.addr("fe"))
			for _, hdrs := range []string{
				"Cookie: theme=dark; HA_STICKY=s1; lang=fr\r\n",
				"Cookie: HA_STICKY=s1\r\nCookie: theme=dark; lang=fr\r\n",
				"Cookie: theme=dark\r\nCookie: HA_STICKY=s1; HA_STICKY=s2\r\nCookie: lang=fr\r\n",
			} {
				c.send("GET /echo HTTP/1.1\r\nHost: x\r\n" + hdrs + "\r\n")
				r := c.read("GET")
				if r.Header.Get("X-Server") != "s1" {
					t.Errorf("%q: went to %s", hdrs, r.Header.Get("X-Server"))
				}
				if strings.Contains(r.body, "HA_STICKY") == indirect {
					t.Errorf("%q: the server saw:\n%s", hdrs, r.body)
				}
				if !strings.Contains(r.body, "theme=dark") || !strings.Contains(r.body, "lang=fr") {
					t.Errorf("%q: other cookies lost:\n%s", hdrs, r.body)
				}
				if sc := r.Header.Get("Set-Cookie"); sc != "" {
					t.Errorf("%q: sticky client got Set-Cookie %q", hdrs, sc)
				}
			}
		})
	}
}

// Prefix mode hands the application its cookie back exactly as it set it.
func TestCookiePrefixRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := startApp(t, "s1")
	h.start(h.oneBackend(BackendConfig{Servers: []ServerConfig{{Name: "s1", Addr: a.addr, Weight: 1}},
		Cookie: &cookie.Config{Name: "JSESSIONID", Mode: cookie.Prefix}}))
	c := dial(t, h.addr("fe"))
	c.send("GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
	r := c.read("GET")
	var set string
	for _, v := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "JSESSIONID=") {
			set = v
		}
	}
	if set != "JSESSIONID=s1~s1-1; Path=/; HttpOnly" {
		t.Fatalf("Set-Cookie %q", set)
	}
	c.send("GET /x HTTP/1.1\r\nHost: x\r\nCookie: a=1; JSESSIONID=s1~s1-1\r\n\r\n")
	r = c.read("GET")
	if r.body != "a=1; JSESSIONID=s1-1" || r.Header.Get("X-Session") != "true" {
		t.Errorf("server saw %q (session known %s)", r.body, r.Header.Get("X-Session"))
	}
	h.waitLog(" --VN ")
}

// Rewrite mode replaces the value the server set; an unknown cookie is
// logged I and the request balanced.
func TestCookieRewrite(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := startApp(t, "s1")
	h.start(h.oneBackend(BackendConfig{Servers: []ServerConfig{{Name: "s1", Addr: a.addr, Weight: 1, Cookie: "one"}},
		Cookie: &cookie.Config{Name: "SRVCK", Mode: cookie.Rewrite}}))
	c := dial(t, h.addr("fe"))
	c.send("GET /x HTTP/1.1\r\nHost: x\r\nCookie: SRVCK=bogus\r\n\r\n")
	r := c.read("GET")
	if got := r.Header.Values("Set-Cookie"); len(got) == 0 || got[0] != "SRVCK=one; Path=/" {
		t.Errorf("Set-Cookie %q", got)
	}
	if r.body != "SRVCK=bogus" {
		t.Errorf("rewrite mode changed the request cookie: %q", r.body)
	}
	h.waitLog(" --IR ")
}

// The seed's configuration: the log line carries the cookie flags and an
// inserted cookie is refreshed with maxidle.
func TestCookieMaxIdle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start(h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1"),
		Cookie: &cookie.Config{Name: "SRV", Mode: cookie.Insert, MaxIdle: time.Hour, MaxLife: 24 * time.Hour, HTTPOnly: true}}))
	b := newBrowser(t, h.addr("fe"), netip.Addr{})
	r := b.get("/x")
	sc := r.hdr.Get("Set-Cookie")
	if !strings.HasPrefix(sc, "SRV=s1|") || !strings.HasSuffix(sc, "; path=/; HttpOnly") {
		t.Fatalf("Set-Cookie %q", sc)
	}
	b.get("/x")
	h.waitLog(" --V")
	// A cookie whose last-seen date is a day old is ignored (E) and
	// replaced.
	c := dial(t, h.addr("fe"))
	old := time.Now().Add(-25 * time.Hour).Unix()
	var d []byte
	v := uint32((old + 3) >> 2)
	for range 5 {
		d = append(d, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(v>>24)&0x3f])
		v <<= 6
	}
	c.send("GET /x HTTP/1.1\r\nHost: x\r\nCookie: SRV=s1|" + string(d) + "\r\n\r\n")
	if r := c.read("GET"); !strings.HasPrefix(r.Header.Get("Set-Cookie"), "SRV=s1|") {
		t.Errorf("expired cookie not replaced: %q", r.Header.Get("Set-Cookie"))
	}
	h.waitLog(" --EI ")
}

// loopbackAddrs are client source addresses on 127/8; skip when the host
// cannot bind them.
func loopbackAddrs(t *testing.T, n int) []netip.Addr {
	t.Helper()
	var out []netip.Addr
	for i := range n {
		a := netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)})
		ln, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
		if err != nil {
			t.Skipf("cannot use %s as a source address: %v", a, err)
		}
		_ = ln.Close()
		out = append(out, a)
	}
	return out
}

// balance source and stick_on src keep each client address on one server
// across connections, in HTTP and TCP mode, while spreading addresses.
func TestSourcePersistence(t *testing.T) {
	t.Parallel()
	srcs := loopbackAddrs(t, 6)
	table := &stick.Config{Type: stick.IP, Size: 100, Expire: time.Minute}
	onSrc := []StickRule{{Kind: StickOn, Fetch: "src"}}
	tests := []struct {
		name    string
		mode    Mode
		balance string
		table   *stick.Config
		rules   []StickRule
	}{
		{"http balance source", ModeHTTP, "source", nil, nil},
		{"http stick_on src", ModeHTTP, "roundrobin", table, onSrc},
		{"tcp balance source", ModeTCP, "source", nil, nil},
		{"tcp stick_on src", ModeTCP, "roundrobin", table, onSrc},
		{"tcp stick_match + store", ModeTCP, "roundrobin", table, []StickRule{{Kind: StickMatch, Fetch: "src"}, {Kind: StickStoreRequest, Fetch: "src"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			cfg := h.oneBackend(BackendConfig{Balance: tt.balance, Servers: h.startBackends("g", "s1", "s2", "s3"),
				StickTable: tt.table, Stick: tt.rules})
			cfg.Frontends[0].Mode, cfg.Backends[0].Mode = tt.mode, tt.mode
			h.start(cfg)
			used := map[string]bool{}
			first := map[string]string{}
			for round := range 4 {
				for _, src := range srcs {
					d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}, Timeout: 5 * time.Second}
					nc, err := d.Dial("tcp", h.addr("fe"))
					if err != nil {
						t.Fatal(err)
					}
					c := &client{t: t, c: nc}
					c.br = bufio.NewReader(nc)
					_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
					c.send("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
					got := c.read("GET").Header.Get("X-Server")
					_ = nc.Close()
					key := src.String()
					if round == 0 {
						used[got] = true
						first[key] = got
						continue
					}
					if want := first[key]; got != want {
						t.Fatalf("round %d: %s went to %s, first to %s", round, key, got, want)
					}
				}
			}
			if len(used) < 2 {
				t.Errorf("%d source addresses all went to %v", len(srcs), used)
			}
			if tt.table != nil {
				dump, ok := h.p.ShowTable(nil, "be")
				if !ok || !strings.Contains(string(dump), "# table: be, type: ip, size:100, used:6\n") ||
					!strings.Contains(string(dump), "key=127.0.0.2 use=0 exp=") {
					t.Errorf("show table:\n%s", dump)
				}
			}
		})
	}
}

// stick_on with HTTP fetches: a header, a URL parameter, a cookie. The key
// sticks across connections whatever the balancer would say; requests
// without the key are balanced.
func TestStickHTTPFetches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fetch string
		typ   stick.Type
		req   func(k string) string // extra request line(s) and path for key k
	}{
		{"hdr(X-User)", stick.String, func(k string) string { return "/x HTTP/1.1\r\nX-User: other, " + k }},
		{"url_param(sid)", stick.String, func(k string) string { return "/x?a=1&sid=" + k + " HTTP/1.1\r\nX-A: 1" }},
		{"req.cook(SID)", stick.String, func(k string) string { return "/x HTTP/1.1\r\nCookie: a=1; SID=" + k }},
		{"hdr(X-Real-IP)", stick.IP, func(k string) string { return "/x HTTP/1.1\r\nX-Real-IP: 192.0.2." + k[1:] }},
	}
	for _, tt := range tests {
		t.Run(tt.fetch, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.start(h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1", "s2", "s3"),
				StickTable: &stick.Config{Type: tt.typ, Size: 10, Expire: time.Minute},
				Stick:      []StickRule{{Kind: StickOn, Fetch: tt.fetch}}}))
			first := map[string]string{}
			for round := range 3 {
				for _, k := range []string{"u1", "u2", "u3", "u4"} {
					c := dial(t, h.addr("fe"))
					c.send("GET " + tt.req(k) + "\r\nHost: x\r\nConnection: close\r\n\r\n")
					got := c.read("GET").Header.Get("X-Server")
					if round == 0 {
						first[k] = got
					} else if got != first[k] {
						t.Fatalf("round %d: key %s went to %s, first to %s", round, k, got, first[k])
					}
				}
			}
			if dump, _ := h.p.ShowTable(nil, "be"); !strings.Contains(string(dump), "used:4") {
				t.Errorf("table:\n%s", dump)
			}
			// Without the key: round-robin.
			c := dial(t, h.addr("fe"))
			var got []string
			for range 3 {
				got = append(got, c.get("/x").Header.Get("X-Server"))
			}
			if got[0] == got[1] && got[1] == got[2] {
				t.Errorf("requests without a key all went to %s", got[0])
			}
		})
	}
}

// An entry naming a server that went away (maintenance) is not followed;
// the new server is stored instead.
func TestStickServerDown(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.start(h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1", "s2"),
		StickTable: &stick.Config{Type: stick.IP, Size: 10, Expire: time.Minute},
		Stick:      []StickRule{{Kind: StickOn, Fetch: "src"}}}))
	c := dial(t, h.addr("fe"))
	sticky := c.get("/x").Header.Get("X-Server")
	for range 3 {
		if s := c.get("/x").Header.Get("X-Server"); s != sticky {
			t.Fatalf("went to %s, not %s", s, sticky)
		}
	}
	h.p.Server("be", sticky).SetAdmin(health.Maint)
	moved := c.get("/x").Header.Get("X-Server")
	if moved == sticky {
		t.Fatal("sent to a server in maintenance")
	}
	h.p.Server("be", sticky).SetAdmin(health.Ready)
	for range 3 {
		if s := c.get("/x").Header.Get("X-Server"); s != moved {
			t.Fatalf("went back to %s instead of staying on %s", s, moved)
		}
	}
	es := h.p.StickTable("be").Entries()
	if len(es) != 1 || es[0].Server.Name != moved {
		t.Errorf("entries %+v", es)
	}
}

// A stick table survives a new Proxy built with the old one's tables (the
// reload hand-over).
func TestStickTableHandOver(t *testing.T) {
	t.Parallel()
	cfg := Config{
		Frontends: []FrontendConfig{{Name: "fe", Binds: loop0(), DefaultBackend: "be"}},
		Backends: []BackendConfig{{Name: "be", Servers: []ServerConfig{{Name: "s1", Addr: deadAddr(t)}},
			StickTable: &stick.Config{Type: stick.String, Size: 10}, Stick: []StickRule{{Kind: StickOn, Fetch: "hdr(X)"}}}},
	}
	p1, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p1.StickTable("be").Put([]byte("k"), stick.Server{ID: 1, Name: "s1"})
	p2, err := New(cfg, Options{StickTables: p1.StickTables()})
	if err != nil {
		t.Fatal(err)
	}
	if p2.StickTable("be") != p1.StickTable("be") {
		t.Error("table not handed over")
	}
	cfg.Backends[0].StickTable = &stick.Config{Type: stick.String, Size: 20}
	p3, err := New(cfg, Options{StickTables: p1.StickTables()})
	if err != nil {
		t.Fatal(err)
	}
	if p3.StickTable("be") == p1.StickTable("be") || p3.StickTable("be").Len() != 0 {
		t.Error("table with other settings reused")
	}
	if !p1.ClearTable("be") || p1.StickTable("be").Len() != 0 || p1.ClearTable("nope") {
		t.Error("ClearTable")
	}
}

// mysqlish is a server-speaks-first TCP protocol with a long-lived
// connection: a greeting, then one answer line per query line, naming the
// server.
func mysqlish(t *testing.T, name string) netip.AddrPort {
	t.Helper()
	return rawServer(t, func(c net.Conn) {
		defer c.Close()
		if _, err := fmt.Fprintf(c, "HELLO %s\n", name); err != nil {
			return
		}
		br := bufio.NewReader(c)
		for {
			q, err := br.ReadString('\n')
			if err != nil {
				// Client done sending: a last word, then close.
				_, _ = fmt.Fprintf(c, "BYE %s\n", name)
				return
			}
			if _, err := fmt.Fprintf(c, "%s: %s", name, q); err != nil {
				return
			}
		}
	}).Addr
}

// TCP mode carries a long-lived, server-speaks-first session with many
// exchanges, and the server's answer after the client half-closed; every
// connection of the client sticks to one server through stick_on src.
func TestTCPLongLivedStick(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	servers := []ServerConfig{
		{Name: "db1", Addr: mysqlish(t, "db1"), Weight: 1},
		{Name: "db2", Addr: mysqlish(t, "db2"), Weight: 1},
	}
	cfg := tcpConfig(servers, "roundrobin")
	cfg.Backends[0].StickTable = &stick.Config{Type: stick.IP, Size: 10, Expire: time.Minute}
	cfg.Backends[0].Stick = []StickRule{{Kind: StickOn, Fetch: "src"}}
	h.start(cfg)
	var first string
	for conn := range 3 {
		c := dial(t, h.addr("tcp-in"))
		hello, err := c.br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(hello, "HELLO "), "\n")
		if conn == 0 {
			first = name
		} else if name != first {
			t.Fatalf("connection %d went to %s, first to %s", conn, name, first)
		}
		for i := range 200 {
			q := fmt.Sprintf("SELECT %d\n", i)
			c.send(q)
			a, err := c.br.ReadString('\n')
			if err != nil || a != name+": "+q {
				t.Fatalf("query %d: %q %v", i, a, err)
			}
		}
		_ = c.c.(*net.TCPConn).CloseWrite()
		rest, err := io.ReadAll(c.br)
		if err != nil || string(rest) != "BYE "+name+"\n" {
			t.Fatalf("after half-close: %q %v", rest, err)
		}
	}
	h.waitLog("tcp-in be/"+first, " -- ")
}
