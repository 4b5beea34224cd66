package lb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/lb/stick"
)

// gens runs successive generations of a Proxy as tandem's reload does.
type gens struct {
	t    *testing.T
	mu   sync.Mutex
	cur  *Proxy
	runs []chan error
	ctx  context.Context
}

func newGens(t *testing.T, cfg Config) *gens {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &gens{t: t, ctx: ctx}
	p, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(); err != nil {
		t.Fatal(err)
	}
	g.start(p)
	t.Cleanup(func() {
		cancel()
		for _, ch := range g.runs {
			select {
			case err := <-ch:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return")
			}
		}
	})
	return g
}

func (g *gens) start(p *Proxy) {
	ch := make(chan error, 1)
	g.runs = append(g.runs, ch)
	g.cur = p
	go func() { ch <- p.Run(g.ctx) }()
}

func (g *gens) current() *Proxy {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cur
}

// reload builds the next generation from cfg and hands over to it; before
// runs between Listen and Retire (where tandem builds the health checker).
func (g *gens) reload(cfg Config, before func(next *Proxy)) (*Proxy, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.cur
	next, err := New(cfg, Options{Previous: old})
	if err != nil {
		return nil, err
	}
	if err := next.Listen(); err != nil {
		return nil, err
	}
	if before != nil {
		before(next)
	}
	old.Retire(next)
	g.start(next)
	return old, nil
}

func freeTCPPort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return a
}

// TestReloadUnderLoad reloads 30 times while keep-alive clients and
// connection-per-request clients send requests: none may fail and no
// connection may be refused, since the listener is handed over open.
func TestReloadUnderLoad(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bind := freeTCPPort(t)
	srvs := h.startBackends("be", "s1", "s2")
	cfgFor := func(i int) Config {
		c := h.oneBackend(BackendConfig{Servers: srvs})
		c.Frontends[0].Binds = []netip.AddrPort{bind}
		c.HardStopAfter = 5 * time.Second
		// Change something each time: the balance algorithm.
		if i%2 == 1 {
			c.Backends[0].Balance = "leastconn"
		}
		return c
	}
	g := newGens(t, cfgFor(0))

	ctx, stop := context.WithCancel(context.Background())
	var ok, failed atomic.Int64
	var errMu sync.Mutex
	var errs []string
	fail := func(err error) {
		failed.Add(1)
		errMu.Lock()
		if len(errs) < 10 {
			errs = append(errs, err.Error())
		}
		errMu.Unlock()
	}
	var wg sync.WaitGroup
	url := "http://" + bind.String() + "/x"
	for i := range 6 {
		wg.Go(func() {
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableKeepAlives: i%2 == 1}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			for ctx.Err() == nil {
				resp, err := c.Get(url)
				if err != nil {
					fail(err)
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					fail(fmt.Errorf("status %d, body: %v", resp.StatusCode, err))
					continue
				}
				ok.Add(1)
			}
		})
	}
	// Raw dials: a refused connection would show here first.
	wg.Go(func() {
		for ctx.Err() == nil {
			c, err := net.DialTimeout("tcp", bind.String(), 2*time.Second)
			if err != nil {
				fail(fmt.Errorf("dial: %w", err))
				continue
			}
			_, _ = io.WriteString(c, "GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := io.ReadAll(c)
			c.Close()
			if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 200") {
				fail(fmt.Errorf("raw request: %v %.40q", err, b))
				continue
			}
			ok.Add(1)
		}
	})
	for i := 1; i <= 30; i++ {
		before := ok.Load()
		poll(t, "requests between reloads", func() bool { return ok.Load() >= before+5 })
		if _, err := g.reload(cfgFor(i), nil); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
	}
	stop()
	wg.Wait()
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed across 30 reloads: %s", failed.Load(), ok.Load()+failed.Load(), strings.Join(errs, "; "))
	}
	t.Logf("%d requests across 30 reloads", ok.Load())
}

// TestReloadCarriesState: admin state, runtime weight, health, stick
// entries and counters follow the servers and backends that still exist;
// the configuration wins where it changed.
func TestReloadCarriesState(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	srvs := h.startBackends("be", "a", "b", "c", "d")
	tbl := &stick.Config{Type: stick.IP, Size: 100, Expire: time.Minute}
	cfg := h.oneBackend(BackendConfig{Servers: srvs, StickTable: tbl, Stick: []StickRule{{Kind: StickOn, Fetch: "src"}}})
	cfg.Frontends[0].Binds = []netip.AddrPort{freeTCPPort(t)}
	g := newGens(t, cfg)
	p1 := g.current()
	addr := p1.Addrs("fe")[0].String()

	c := dial(t, addr)
	for range 3 {
		if r := c.get("/"); r.StatusCode != 200 {
			t.Fatalf("status %d", r.StatusCode)
		}
	}
	p1.Server("be", "a").SetAdmin(health.Drain)
	_ = p1.Server("be", "b").SetWeight(7)
	p1.Server("be", "c").SetAdmin(health.Maint)
	_ = p1.Server("be", "d").SetWeight(9)
	if n := p1.StickTable("be").Len(); n != 1 {
		t.Fatalf("stick table has %d entries before reload, want 1", n)
	}

	// Next: d's configured weight changed (the file wins over the runtime
	// weight), a moved to another address (admin state kept, health
	// restarts).
	cfg2 := cfg
	cfg2.Backends = append([]BackendConfig(nil), cfg.Backends...)
	s2 := append([]ServerConfig(nil), srvs...)
	s2[3].Weight = 3
	s2[0].Addr = h.startBackends("be2", "a")[0].Addr
	cfg2.Backends[0].Servers = s2
	if _, err := g.reload(cfg2, nil); err != nil {
		t.Fatal(err)
	}
	p2 := g.current()
	type st struct {
		Admin  health.AdminState
		Weight int
	}
	got := map[string]st{}
	for _, n := range []string{"a", "b", "c", "d"} {
		s := p2.Server("be", n)
		got[n] = st{s.Admin(), s.Weight()}
	}
	want := map[string]st{
		"a": {health.Drain, 1},
		"b": {health.Ready, 7},
		"c": {health.Maint, 1},
		"d": {health.Ready, 3},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("server state after reload (-want +got):\n%s", d)
	}
	if p2.StickTable("be") != p1.StickTable("be") {
		t.Error("stick table not handed over")
	}
	if n := p2.StickTable("be").Len(); n != 1 {
		t.Errorf("stick table has %d entries after reload, want 1", n)
	}

	// The old keep-alive connection is closed by the old generation; a
	// new one is served by the new one and counted on top of the old.
	if !c.closed() {
		t.Error("idle keep-alive connection of the old generation still open")
	}
	c2 := dial(t, addr)
	for range 2 {
		if r := c2.get("/"); r.StatusCode != 200 {
			t.Fatalf("status %d after reload", r.StatusCode)
		}
	}
	select {
	case <-p1.Drained():
	case <-time.After(5 * time.Second):
		t.Fatal("old generation did not drain")
	}
	// The last log line (and its counting) may follow the response.
	poll(t, "5 responses counted", func() bool { return p2.Snapshot().Backends[0].Responses[2] >= 5 })
	snap := p2.Snapshot()
	if got := snap.Frontends[0].Requests; got != 5 {
		t.Errorf("frontend requests after reload = %d, want 5 (3 before, 2 after)", got)
	}
	if got := snap.Backends[0].Responses[2]; got != 5 {
		t.Errorf("backend 2xx after reload = %d, want 5", got)
	}
	if got := snap.Frontends[0].SessTotal; got != 2 {
		t.Errorf("frontend sessions after reload = %d, want 2", got)
	}
}

// TestReloadInFlightOldConfig: a request in flight when the reload happens
// finishes on the configuration it started with, and its keep-alive
// connection closes after the response; the next connection is served by
// the new configuration. A bind removed by the reload stops accepting.
func TestReloadInFlightOldConfig(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bind, gone := freeTCPPort(t), freeTCPPort(t)
	old := h.startBackends("old", "s")
	cfg := h.oneBackend(BackendConfig{Servers: old})
	cfg.Frontends[0].Binds = []netip.AddrPort{bind, gone}
	cfg.HardStopAfter = 5 * time.Second
	g := newGens(t, cfg)

	c := dial(t, bind.String())
	c.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	poll(t, "request blocked in the backend", func() bool { return h.be["old/s"].Blocked() == 1 })

	cfg2 := h.oneBackend(BackendConfig{Servers: h.startBackends("new", "s")})
	cfg2.Frontends[0].Binds = []netip.AddrPort{bind}
	p1, err := g.reload(cfg2, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.be["old/s"].Unblock()
	r := c.read("GET")
	if r.StatusCode != 200 || r.Header.Get("X-Group") != "old" {
		t.Errorf("in-flight request: status %d group %q, want 200 from old", r.StatusCode, r.Header.Get("X-Group"))
	}
	if !r.Close {
		t.Error("response of the retiring generation does not say Connection: close")
	}
	if r := dial(t, bind.String()).get("/"); r.Header.Get("X-Group") != "new" {
		t.Errorf("new connection served by %q, want new", r.Header.Get("X-Group"))
	}
	select {
	case <-p1.Drained():
	case <-time.After(5 * time.Second):
		t.Fatal("old generation did not drain")
	}
	if _, err := net.DialTimeout("tcp", gone.String(), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial removed bind: %v, want connection refused", err)
	}
}

// TestReloadListenFailureKeepsOld: when the next generation cannot open a
// new bind, the running one keeps serving on its listeners, untouched.
func TestReloadListenFailureKeepsOld(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bind := freeTCPPort(t)
	srvs := h.startBackends("be", "s")
	cfg := h.oneBackend(BackendConfig{Servers: srvs})
	cfg.Frontends[0].Binds = []netip.AddrPort{bind}
	g := newGens(t, cfg)

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg2 := cfg
	cfg2.Frontends = []FrontendConfig{cfg.Frontends[0]}
	cfg2.Frontends[0].Binds = []netip.AddrPort{bind, busy.Addr().(*net.TCPAddr).AddrPort()}
	if _, err := g.reload(cfg2, nil); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("reload with a busy bind: %v, want address already in use", err)
	}
	for range 3 {
		if r := dial(t, bind.String()).get("/"); r.StatusCode != 200 {
			t.Fatalf("old generation after failed reload: status %d", r.StatusCode)
		}
	}
	if !g.current().FrontendSignal("fe").Healthy() {
		t.Error("frontend signal unhealthy after a failed reload")
	}
}

// TestReloadKeepsHealth: a server the checks took DOWN stays DOWN in the
// next generation (no traffic sent to it), and the frontend signal a VRRP
// instance tracks is the same object and never flaps.
func TestReloadKeepsHealth(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	srvs := h.startBackends("be", "up")
	dead := freeTCPPort(t) // nothing listens
	chk := &health.CheckConfig{Type: "tcp", Inter: 20 * time.Millisecond, Rise: 2, Fall: 2, Timeout: time.Second}
	srvs = append(srvs, ServerConfig{Name: "dead", Addr: dead, Weight: 1, Check: true, CheckConfig: chk})
	srvs[0].Check, srvs[0].CheckConfig = true, chk
	cfg := h.oneBackend(BackendConfig{Servers: srvs})
	cfg.Frontends[0].Binds = []netip.AddrPort{freeTCPPort(t)}
	g := newGens(t, cfg)
	p1 := g.current()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runChecker := func(p *Proxy) (stop func()) {
		c := health.NewChecker(p.HealthTargets(), health.Options{})
		cctx, ccancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = c.Run(cctx); close(done) }()
		return func() { ccancel(); <-done }
	}
	stop1 := runChecker(p1)
	poll(t, "dead server DOWN", func() bool { return p1.Server("be", "dead").Op() == health.Down })
	stop1()

	sig := p1.FrontendSignal("fe")
	flaps := 0
	ch, unsub := sig.Subscribe()
	defer unsub()

	var checker *health.Checker
	_, err := g.reload(cfg, func(next *Proxy) {
		checker = health.NewChecker(next.HealthTargets(), health.Options{})
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = checker
	p2 := g.current()
	if got := p2.Server("be", "dead").Op(); got != health.Down {
		t.Errorf("dead server after reload: %v, want DOWN", got)
	}
	if got := p2.Server("be", "up").Op(); got != health.Up {
		t.Errorf("live server after reload: %v, want UP", got)
	}
	if p2.FrontendSignal("fe") != sig {
		t.Error("frontend signal not handed over")
	}
	for range 10 {
		if r := dial(t, p2.Addrs("fe")[0].String()).get("/"); r.StatusCode != 200 || r.Header.Get("X-Server") != "up" {
			t.Fatalf("after reload: status %d from %q", r.StatusCode, r.Header.Get("X-Server"))
		}
	}
	select {
	case <-ch:
		flaps++
	default:
	}
	if flaps != 0 || !sig.Healthy() {
		t.Errorf("frontend signal changed across the reload (healthy now: %v)", sig.Healthy())
	}
}
