package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/internal/admin"
	"github.com/tandemlb/tandem/internal/config"
	"github.com/tandemlb/tandem/internal/privdrop"
	"github.com/tandemlb/tandem/internal/sdnotify"
	"github.com/tandemlb/tandem/internal/track"
	"github.com/tandemlb/tandem/lb"
	"github.com/tandemlb/tandem/stats"
	"github.com/tandemlb/tandem/vrrp"
)

// app is a running tandem: the current proxy generation and its health
// checker, the VRRP routers, the stats page and the admin socket. A reload
// (SIGHUP, `tandem ctl reload`) builds the next generation next to the
// current one and hands over (see lb.Proxy.Retire); a stop (SIGTERM,
// SIGINT) gives up VRRP first, then closes the listeners and lets the
// requests in flight finish.
type app struct {
	file    string
	log     zerolog.Logger
	traffic func([]byte)
	notify  *sdnotify.Notifier

	// mu serialises reloads and the stop; admin actions take it shared so
	// that none falls between a state hand-over and the switch.
	mu       sync.RWMutex
	cfg      *config.Config
	gen      int
	proxy    atomic.Pointer[lb.Proxy]
	stopping bool

	proxyCtx    context.Context // every generation's Run
	proxyCancel context.CancelFunc
	gens        sync.WaitGroup
	liveMu      sync.Mutex
	live        map[*lb.Proxy]struct{} // generations still running (draining ones too)

	checker *checkerRun

	vrrpCtx    context.Context
	vrrpCancel context.CancelFunc
	routers    []*routerRun       // in configuration order
	mirrors    map[string]*mirror // "frontend:NAME", "backend:NAME"

	bgCtx    context.Context // checker, stats, admin, mirrors
	bgCancel context.CancelFunc
	bg       sync.WaitGroup

	fatal chan error // a component that must run stopped on error

	peers *peerLink     // nil without [peers]
	stats *stats.Source // what the stats page and admin socket show
}

// checkerRun is one generation's health checker.
type checkerRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (c *checkerRun) stop() {
	if c == nil {
		return
	}
	c.cancel()
	<-c.done
}

// routerRun is one VRRP router: the instances of one sync group, or one
// instance without a group. Routers are separate so that a reload restarts
// only the instances whose configuration changed.
type routerRun struct {
	key    string
	cfgs   []vrrp.Config
	r      *vrrp.Router
	links  []*vrrp.LinkTracker
	cancel context.CancelFunc
	done   chan error
}

// mirror is a tracked proxy object as VRRP sees it: a Signal that lives as
// long as the process and copies the state of the current generation's
// object, so a reload that keeps the object's state changes nothing for
// VRRP.
type mirror struct {
	sig    *track.Signal
	cancel context.CancelFunc
	done   chan struct{}
}

// runApp runs tandem on cfg until ctx ends (SIGTERM, SIGINT), reloading
// file on SIGHUP. It returns once everything has stopped; the error is the
// reason a start failed, or a component that failed while running.
func runApp(ctx context.Context, file string, cfg *config.Config, lg *logging) error {
	log := lg.log
	a := &app{
		file:    file,
		log:     log,
		traffic: lg.traffic,
		notify:  sdnotify.FromEnv(),
		cfg:     cfg,
		gen:     1,
		mirrors: make(map[string]*mirror),
		fatal:   make(chan error, 8),
	}
	a.proxyCtx, a.proxyCancel = context.WithCancel(context.Background())
	a.vrrpCtx, a.vrrpCancel = context.WithCancel(context.Background())
	a.bgCtx, a.bgCancel = context.WithCancel(context.Background())

	link, err := newPeerLink(cfg, proxyView{a}.Server, log)
	if err != nil {
		log.Error().Err(err).Msg("cannot start the peers link")
		return err
	}
	a.peers = link
	proxy, err := lb.New(cfg.Proxy, lb.Options{Logger: log, TrafficLog: lg.traffic, StickEvents: link.stickEvents()})
	if err != nil {
		log.Error().Err(err).Msg("cannot start the proxy")
		return err
	}
	// Listeners open before anything reports "started", so a bind error
	// stops the start and a client connecting right after never sees a refusal.
	if err := proxy.Listen(); err != nil {
		log.Error().Err(err).Msg("cannot open listeners")
		return err
	}
	fail := func(what string, err error) error {
		a.shutdown()
		log.Error().Err(err).Msg(what)
		return err
	}
	a.proxy.Store(proxy)
	a.startGeneration(proxy, nil, true)
	a.peers.follow(proxy, cfg)
	a.bg.Go(func() { _ = a.peers.run(a.bgCtx) })
	// VRRP starts once the frontends it may track accept, so that an
	// instance does not begin with a spurious FAULT.
	a.waitFrontends(cfg.Proxy, time.Second)
	if err := a.startVRRP(cfg.VRRP, true); err != nil {
		return fail("cannot start VRRP", err)
	}
	src := a.statsSource()
	a.stats = src
	if err := a.startStats(src); err != nil {
		return fail("cannot start the stats page", err)
	}
	if err := a.startAdmin(src); err != nil {
		return fail("cannot open the admin socket", err)
	}
	if err := a.startDebug(); err != nil {
		return fail("cannot open the debug endpoint", err)
	}
	// Everything that needs root is open: listeners, the admin socket.
	// VRRP's raw sockets and netlink keep working on the kept capabilities.
	if cfg.Global.User != "" {
		u, err := privdrop.Drop(cfg.Global.User)
		if err != nil {
			return fail("cannot drop privileges", err)
		}
		log.Info().Str("user", u.Name).Int("uid", u.UID).Int("gid", u.GID).Strs("capabilities", privdrop.Kept()).
			Msg("dropped privileges")
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	log.Info().Str("version", version).Str("config", file).Int("pid", os.Getpid()).
		Msgf("tandem started: %s", cfg.Summary())
	_ = a.notify.Ready(cfg.Summary())
	for {
		select {
		case <-ctx.Done():
			_ = a.notify.Stopping()
			log.Info().Msg("stopping: VRRP gives up first, then listeners close and requests in flight finish")
			a.shutdown()
			log.Info().Msg("tandem stopped")
			return nil
		case err := <-a.fatal:
			_ = a.notify.Stopping()
			a.shutdown()
			log.Error().Err(err).Msg("tandem stopped on error")
			return err
		case <-hup:
			_ = a.reload("SIGHUP")
		}
	}
}

// waitFrontends waits until every frontend of cfg reports accepting (Run
// sets it), or timeout.
func (a *app) waitFrontends(cfg lb.Config, timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for _, fc := range cfg.Frontends {
		sig := a.current().FrontendSignal(fc.Name)
		if sig == nil {
			continue
		}
		ch, cancel := sig.Subscribe()
		for !sig.Healthy() {
			select {
			case <-ch:
				continue
			case <-t.C:
				cancel()
				return
			}
		}
		cancel()
	}
}

// current returns the proxy generation that takes new connections.
func (a *app) current() *lb.Proxy { return a.proxy.Load() }

// startGeneration runs p (and its checker) under the proxy context. prev,
// when set, is retired in between: the checker must be built before the
// hand-over (health.Server.Inherit).
func (a *app) startGeneration(p *lb.Proxy, prev *lb.Proxy, first bool) {
	checker := health.NewChecker(p.HealthTargets(), health.Options{Logger: a.log, Traffic: p.HealthTraffic, Dialer: p.HealthDialer(nil)})
	if prev != nil {
		prev.Retire(p)
		a.proxy.Store(p)
	}
	gen := a.gen
	a.gens.Add(1)
	a.liveMu.Lock()
	if a.live == nil {
		a.live = map[*lb.Proxy]struct{}{}
	}
	a.live[p] = struct{}{}
	a.liveMu.Unlock()
	go func() {
		defer a.gens.Done()
		defer func() {
			a.liveMu.Lock()
			delete(a.live, p)
			a.liveMu.Unlock()
		}()
		err := p.Run(a.proxyCtx)
		if err != nil {
			if first {
				a.fatal <- err
			} else {
				a.log.Error().Err(err).Int("generation", gen).Msg("proxy generation stopped on error")
			}
			return
		}
		if gen < a.generation() {
			a.log.Info().Int("generation", gen).Msg("previous configuration drained: its last connection ended")
		}
	}()
	cctx, cancel := context.WithCancel(a.bgCtx)
	cr := &checkerRun{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(cr.done)
		if err := checker.Run(cctx); err != nil {
			a.log.Error().Err(err).Msg("health checks stopped")
			if first {
				a.fatal <- err
			}
		}
	}()
	a.checker = cr
}

func (a *app) generation() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.gen
}

// errReloadInvalid: the new configuration has errors; nothing changed.
var errReloadInvalid = errors.New("configuration has errors; the running configuration is unchanged")

// reload loads the configuration file again and, if it is valid, switches
// to it. An invalid file changes nothing: each diagnostic is logged as a
// warning (file:line:col: message).
func (a *app) reload(who string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping {
		return errors.New("reload: tandem is stopping")
	}
	_ = a.notify.Reloading()
	defer func() { _ = a.notify.Ready(a.cfg.Summary()) }()
	start := time.Now()
	a.log.Info().Str("by", who).Str("config", a.file).Msg("reloading the configuration")

	cfg, ds, err := config.LoadFile(a.file, config.Options{Host: true, HostErrors: true})
	if err != nil {
		a.log.Warn().Err(err).Str("config", a.file).Msg("reload failed: the running configuration is unchanged")
		return fmt.Errorf("reload %s: %w", a.file, err)
	}
	for _, d := range ds {
		a.log.Warn().Str("config", a.file).Msg(d.String())
	}
	if cfg == nil {
		n := len(ds.Errors())
		a.log.Warn().Str("config", a.file).Int("errors", n).
			Msgf("reload failed: %s: %d %s; the running configuration is unchanged", a.file, n, pluralize(n, "error"))
		return fmt.Errorf("reload %s: %d %s: %w", a.file, n, pluralize(n, "error"), errReloadInvalid)
	}
	a.warnRestartOnly(cfg)
	if cfg.Global.MaxConn != a.cfg.Global.MaxConn {
		if err := raiseFileLimit(cfg.Global.MaxConn); err != nil {
			a.log.Warn().Err(err).Msg("reload: the open-file limit stays as it was")
		}
	}

	cur := a.current()
	next, err := lb.New(cfg.Proxy, lb.Options{Logger: a.log, TrafficLog: a.traffic, Previous: cur, StickEvents: a.peers.stickEvents()})
	if err != nil {
		a.log.Warn().Err(err).Msg("reload failed: the running configuration is unchanged")
		return fmt.Errorf("reload %s: build the proxy: %w", a.file, err)
	}
	plan, err := a.planVRRP(cfg.VRRP, next)
	if err != nil {
		a.log.Warn().Err(err).Msg("reload failed: the running configuration is unchanged")
		return fmt.Errorf("reload %s: %w", a.file, err)
	}
	if err := next.Listen(); err != nil {
		for _, rr := range plan.start {
			rr.closeLinks()
		}
		a.log.Warn().Err(err).Msg("reload failed: the running configuration is unchanged")
		return fmt.Errorf("reload %s: %w", a.file, err)
	}

	// Commit. The old checker stops first so that no check result falls
	// between the state hand-over and the new checker.
	a.checker.stop()
	a.gen++
	a.startGeneration(next, cur, false)
	a.cfg = cfg
	if a.stats != nil {
		a.stats.SetConfig(cfg.Proxy)
	}
	a.peers.follow(next, cfg)
	a.follow()
	a.applyVRRP(plan)

	a.log.Info().Str("by", who).Int("generation", a.gen).Dur("took", time.Since(start)).
		Msgf("reloaded: %s", cfg.Summary())
	return nil
}

// warnRestartOnly says which changed settings a reload does not apply.
func (a *app) warnRestartOnly(cfg *config.Config) {
	old := a.cfg
	note := func(what string) {
		a.log.Warn().Str("setting", what).Msgf("reload: %s changed; it takes effect at the next restart", what)
	}
	if old.Global.AdminSocket != cfg.Global.AdminSocket {
		note("[global] admin_socket")
	}
	if old.Global.User != cfg.Global.User {
		note("[global] user")
	}
	if !reflect.DeepEqual(old.Log, cfg.Log) {
		note("[log]")
	}
	if !reflect.DeepEqual(old.Stats, cfg.Stats) {
		note("[stats]")
	}
	if !reflect.DeepEqual(old.Peers, cfg.Peers) {
		note("[peers]")
	}
}

// shutdown stops everything in order: VRRP gives up its addresses first
// (priority-0 adverts, so the peer takes over within its skew time), then
// the listeners close and requests in flight finish (up to each
// generation's hard_stop_after), then checks, stats and the admin socket.
func (a *app) shutdown() {
	a.mu.Lock()
	a.stopping = true
	a.mu.Unlock()
	a.vrrpCancel()
	for _, rr := range a.routers {
		<-rr.done
	}
	a.proxyCancel()
	a.gens.Wait()
	a.bgCancel()
	a.bg.Wait()
	if a.checker != nil {
		<-a.checker.done
	}
	for _, m := range a.mirrors {
		<-m.done
	}
}

// ---- VRRP ----

// groupKey is the router an instance runs in.
func groupKey(c vrrp.Config) string {
	if c.SyncGroup != "" {
		return "group:" + c.SyncGroup
	}
	return "instance:" + c.Name
}

// vrrpPlan is what a reload does to the routers: keep the unchanged ones,
// stop the changed and removed ones, start the new ones (built, not run).
type vrrpPlan struct {
	keep  []*routerRun
	stop  []*routerRun
	start []*routerRun
	order []string // keys in configuration order
}

// planVRRP builds the routers a reload needs without starting anything.
// Tracked proxy objects resolve in p, the generation about to run.
func (a *app) planVRRP(cfgs []vrrp.Config, p *lb.Proxy) (*vrrpPlan, error) {
	groups := make(map[string][]vrrp.Config)
	var order []string
	for _, c := range cfgs {
		k := groupKey(c)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], c)
	}
	plan := &vrrpPlan{order: order}
	running := make(map[string]*routerRun)
	for _, rr := range a.routers {
		running[rr.key] = rr
	}
	for _, k := range order {
		if rr := running[k]; rr != nil && reflect.DeepEqual(rr.cfgs, groups[k]) {
			plan.keep = append(plan.keep, rr)
			delete(running, k)
			continue
		}
		rr, err := a.newRouter(k, groups[k], p)
		if err != nil {
			for _, s := range plan.start {
				s.closeLinks()
			}
			return nil, err
		}
		plan.start = append(plan.start, rr)
	}
	for _, rr := range a.routers {
		if running[rr.key] != nil {
			plan.stop = append(plan.stop, rr)
		}
	}
	return plan, nil
}

// applyVRRP carries out a plan: changed instances stop cleanly (a master
// sends its priority-0 advert and removes its addresses) before their new
// version starts; unchanged ones keep running with no transition.
func (a *app) applyVRRP(plan *vrrpPlan) {
	for _, rr := range plan.stop {
		rr.cancel()
		<-rr.done
		a.log.Info().Str("router", rr.key).Msg("vrrp: instances stopped for the new configuration")
	}
	for _, rr := range plan.start {
		a.runRouter(rr, false)
		a.log.Info().Str("router", rr.key).Msg("vrrp: instances started with the new configuration")
	}
	byKey := make(map[string]*routerRun)
	for _, rr := range append(plan.keep, plan.start...) {
		byKey[rr.key] = rr
	}
	a.routers = a.routers[:0:0]
	for _, k := range plan.order {
		a.routers = append(a.routers, byKey[k])
	}
}

// startVRRP starts the routers of the first configuration.
func (a *app) startVRRP(cfgs []vrrp.Config, first bool) error {
	plan, err := a.planVRRP(cfgs, a.current())
	if err != nil {
		return err
	}
	for _, rr := range plan.start {
		a.runRouter(rr, first)
	}
	a.routers = plan.start
	return nil
}

// newRouter resolves the tracked objects of one group's instances (proxy
// objects through their mirrors, interfaces watched directly) and builds
// its router.
func (a *app) newRouter(key string, cfgs []vrrp.Config, p *lb.Proxy) (*routerRun, error) {
	rr := &routerRun{key: key, cfgs: cfgs, done: make(chan error, 1)}
	specs := make([]vrrp.InstanceSpec, 0, len(cfgs))
	for _, c := range cfgs {
		spec := vrrp.InstanceSpec{Config: c}
		for _, t := range c.Track {
			tracked := vrrp.Tracked{Weight: t.Weight}
			switch t.Kind {
			case "frontend", "backend":
				tracked.Tracker = a.mirrorFor(t.Kind+":"+t.Name, p)
			case "interface":
				lt, err := vrrp.WatchLink(t.Name)
				if err != nil {
					rr.closeLinks()
					return nil, fmt.Errorf("vrrp instance %s: %w", c.Name, err)
				}
				rr.links = append(rr.links, lt)
				tracked.Tracker = lt
			}
			if tracked.Tracker == nil {
				rr.closeLinks()
				return nil, fmt.Errorf("vrrp instance %s: track %s %q: no such object", c.Name, t.Kind, t.Name)
			}
			spec.Trackers = append(spec.Trackers, tracked)
		}
		specs = append(specs, spec)
	}
	opts := vrrp.DefaultOptions(a.log)
	opts.Releasing = a.releasing
	r, err := vrrp.NewRouter(specs, opts)
	if err != nil {
		rr.closeLinks()
		return nil, err
	}
	rr.r = r
	return rr, nil
}

// releasing resets the client connections to virtual addresses this node
// is about to give up (vrrp.Options.Releasing), in every running
// generation.
func (a *app) releasing(addrs []netip.Addr) {
	a.liveMu.Lock()
	gens := make([]*lb.Proxy, 0, len(a.live))
	for p := range a.live {
		gens = append(gens, p)
	}
	a.liveMu.Unlock()
	n := 0
	for _, p := range gens {
		n += p.ResetLocal(addrs)
	}
	if n > 0 {
		a.log.Info().Int("connections", n).Str("addresses", fmt.Sprint(addrs)).
			Msg("vrrp: reset the client connections to the virtual addresses given up")
	}
}

func (rr *routerRun) closeLinks() {
	for _, l := range rr.links {
		_ = l.Close()
	}
}

func (a *app) runRouter(rr *routerRun, first bool) {
	ctx, cancel := context.WithCancel(a.vrrpCtx)
	rr.cancel = cancel
	go func() {
		defer rr.closeLinks()
		err := rr.r.Run(ctx)
		if err != nil {
			a.log.Error().Err(err).Str("router", rr.key).Msg("vrrp stopped on error")
			if first {
				a.fatal <- err
			}
		}
		rr.done <- err
		close(rr.done)
	}()
}

// mirrorFor returns the process-long signal for a proxy object, pointing
// it at the current generation the first time.
func (a *app) mirrorFor(name string, p *lb.Proxy) track.Tracker {
	if m := a.mirrors[name]; m != nil {
		return m.sig
	}
	target := targetIn(p, name)
	if target == nil {
		return nil
	}
	m := &mirror{sig: track.NewSignal(name, target.Healthy())}
	a.mirrors[name] = m
	m.follow(a.bgCtx, target)
	return m.sig
}

// targetIn is generation p's object behind a mirror name.
func targetIn(p *lb.Proxy, name string) track.Tracker {
	var kind, obj string
	for i := range len(name) {
		if name[i] == ':' {
			kind, obj = name[:i], name[i+1:]
			break
		}
	}
	switch kind {
	case "frontend":
		if s := p.FrontendSignal(obj); s != nil {
			return s
		}
	case "backend":
		return p.BackendSignal(obj)
	}
	return nil
}

// follow points every mirror at the current generation. An object the new
// configuration dropped reads as failed.
func (a *app) follow() {
	for name, m := range a.mirrors {
		target := targetIn(a.current(), name)
		if target == nil {
			a.log.Warn().Str("tracked", name).Msg("reload: a tracked object no longer exists; it counts as failed")
			m.follow(a.bgCtx, nil)
			continue
		}
		m.follow(a.bgCtx, target)
	}
}

// follow copies target's state into the mirror until the next follow.
func (m *mirror) follow(ctx context.Context, target track.Tracker) {
	if m.cancel != nil {
		m.cancel()
		<-m.done
	}
	ctx, m.cancel = context.WithCancel(ctx)
	m.done = make(chan struct{})
	if target == nil {
		m.sig.Set(false)
		close(m.done)
		return
	}
	ch, unsubscribe := target.Subscribe()
	m.sig.Set(target.Healthy())
	go func() {
		defer close(m.done)
		defer unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				m.sig.Set(target.Healthy())
			}
		}
	}()
}

// vrrpView is stats.VRRP over the current routers.
type vrrpView struct{ a *app }

func (v vrrpView) Instances() []stats.VRRPInstance {
	v.a.mu.RLock()
	routers := v.a.routers
	v.a.mu.RUnlock()
	var out []stats.VRRPInstance
	for _, rr := range routers {
		out = append(out, stats.RouterVRRP(rr.r, rr.cfgs).Instances()...)
	}
	return out
}

func (v vrrpView) Failover(name string) error {
	v.a.mu.RLock()
	routers := v.a.routers
	v.a.mu.RUnlock()
	for _, rr := range routers {
		if rr.r.Instance(name) != nil {
			return stats.RouterVRRP(rr.r, rr.cfgs).Failover(name)
		}
	}
	return fmt.Errorf("vrrp failover %s: %w", name, stats.ErrNoInstance)
}

// ---- stats, admin, debug ----

// proxyView is stats.Proxy over the current generation.
type proxyView struct{ a *app }

func (v proxyView) Snapshot() lb.Snapshot { return v.a.current().Snapshot() }

func (v proxyView) Server(backend, name string) *health.Server {
	v.a.mu.RLock()
	defer v.a.mu.RUnlock()
	return v.a.current().Server(backend, name)
}

// ShowTable is `show table` on the current generation.
func (v proxyView) ShowTable(dst []byte, name string) ([]byte, bool) {
	return v.a.current().ShowTable(dst, name)
}

// ClearTable empties a stick table of the current generation (shared
// with the generations still draining).
func (v proxyView) ClearTable(name string) bool { return v.a.current().ClearTable(name) }

// statsSource is what the stats page and the admin socket show: always
// the current generation. Its configuration (proxy ids, algorithms,
// initial weights) follows each reload (SetConfig).
func (a *app) statsSource() *stats.Source {
	node, _ := os.Hostname()
	o := stats.SourceOptions{
		Proxy:  proxyView{a},
		Config: a.cfg.Proxy,
		Process: stats.Process{
			Name:    "tandem",
			Version: version,
			Commit:  commit,
			PID:     os.Getpid(),
			Start:   processStart,
			MaxConn: a.cfg.Global.MaxConn,
			Node:    node,
		},
		Logger:         a.log,
		OnServerChange: a.peers.publish,
	}
	if len(a.cfg.VRRP) > 0 {
		o.VRRP = vrrpView{a}
	}
	src := stats.NewSource(o)
	a.bg.Go(func() { _ = src.Run(a.bgCtx) })
	return src
}

func (a *app) startStats(src *stats.Source) error {
	if a.cfg.Stats == nil {
		return nil
	}
	srv, err := stats.NewServer(*a.cfg.Stats, src, a.log)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	for _, ad := range srv.Addrs() {
		a.log.Info().Str("addr", ad.String()).Msgf("stats page on http://%s%s", ad, a.cfg.Stats.URI)
	}
	a.bg.Go(func() { _ = srv.Serve(a.bgCtx) })
	return nil
}

// adminSource is the admin socket's view, with the reload command.
type adminSource struct {
	*stats.Source
	a *app
}

// Reload reloads the configuration file (`tandem ctl reload`).
func (s adminSource) Reload(who string) error { return s.a.reload(who) }

// ShowPeers is `tandem ctl show peers`.
func (s adminSource) ShowPeers() (string, error) { return s.a.peers.show() }

func (a *app) startAdmin(src *stats.Source) error {
	path := a.cfg.Global.AdminSocket
	if path == "" {
		return nil
	}
	srv := admin.NewServer(adminSource{Source: src, a: a}, a.log)
	if err := srv.Listen(path); err != nil {
		return err
	}
	a.log.Info().Str("socket", srv.Path()).Msg("admin socket open")
	a.bg.Go(func() { _ = srv.Serve(a.bgCtx) })
	return nil
}

// debugInfo is what TANDEM_DEBUG_ADDR serves at /debug/tandem, for the
// soak test and for looking at a leak: goroutines, heap, open files.
type debugInfo struct {
	Goroutines int    `json:"goroutines"`
	HeapAlloc  uint64 `json:"heap_alloc"`
	Sys        uint64 `json:"sys"`
	FDs        int    `json:"fds"`
	Generation int    `json:"generation"`
}

// startDebug serves /debug/tandem on TANDEM_DEBUG_ADDR (a loopback
// address) when it is set.
func (a *app) startDebug() error {
	addr := os.Getenv("TANDEM_DEBUG_ADDR")
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("debug endpoint %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/tandem", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("gc") != "" {
			runtime.GC()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fds, _ := os.ReadDir("/proc/self/fd")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(debugInfo{
			Goroutines: runtime.NumGoroutine(), HeapAlloc: ms.HeapAlloc, Sys: ms.Sys,
			FDs: len(fds), Generation: a.generation(),
		})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	a.log.Info().Str("addr", ln.Addr().String()).Msg("debug endpoint open")
	a.bg.Go(func() { _ = srv.Serve(ln) })
	a.bg.Go(func() {
		<-a.bgCtx.Done()
		_ = srv.Close()
	})
	return nil
}
