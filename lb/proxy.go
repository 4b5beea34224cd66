package lb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/internal/track"
	"github.com/tandemlb/tandem/lb/acl"
	"github.com/tandemlb/tandem/lb/http1"
	"github.com/tandemlb/tandem/lb/rules"
	"github.com/tandemlb/tandem/lb/stick"
)

// Options are the engine's injected dependencies.
type Options struct {
	// Logger receives events (listener errors, shutdown). Zero value: none.
	Logger zerolog.Logger
	// TrafficLog receives one HAProxy httplog/tcplog line per request or
	// TCP connection; the slice is reused after the call returns. The caller
	// sends it to syslog (facility local0, severity info). nil: no lines.
	TrafficLog func(line []byte)
	// Now is the clock; default time.Now.
	Now func() time.Time
	// StickTables are tables to keep, by backend name (from the previous
	// Proxy's StickTables on reload): a backend whose stick_table has the
	// same settings continues with its entries.
	StickTables map[string]*stick.Table
	// StickEvents receives every stick-table change (peer replication);
	// called without locks held, it must not block for long. nil: none.
	StickEvents func(backend string, ev stick.Event)
	// Previous is the running generation this one replaces on reload (see
	// Retire): Listen takes over its listeners with the same bind, the
	// same frontends keep their tracking signal, and its stick tables are
	// kept unless StickTables is set.
	Previous *Proxy
}

// Proxy is the forwarding engine: every frontend and backend of a Config.
type Proxy struct {
	cfg    Config
	log    zerolog.Logger
	traf   func([]byte)
	now    func() time.Time
	limits http1.Limits

	frontends []*frontend
	backends  []*backend
	feByName  map[string]*frontend
	beByName  map[string]*backend

	sem     chan struct{} // global maxconn; nil = unlimited
	actconn atomic.Int64

	listenOnce sync.Once
	listenErr  error

	stopping atomic.Bool
	stop     chan struct{}

	mu       sync.Mutex
	sessions map[*session]struct{} // HTTP
	tcpConns map[*tcpConn]struct{} // TCP mode
	killed   bool                  // killAll ran: no more pairs for the event loops
	conns    sync.WaitGroup
	loops    *tcpLoops // TCP mode's event loops; nil without TCP frontends

	testNoInq bool // tests: the event loops do without TCP_INQ

	bufs sync.Pool // *[]byte of BufSize

	rl reloadState
}

type useBackend struct {
	be   *backend
	cond *acl.Cond
}

// frontend is one configured frontend with its listeners.
type frontend struct {
	p        *Proxy
	name     string
	cfg      FrontendConfig
	maxconn  int
	sem      chan struct{}
	lns      []*net.TCPListener
	acls     *acl.Set
	reqRules *rules.List
	uses     []useBackend
	def      *backend
	timeouts Timeouts // resolved
	xff      *ForwardFor
	signal   *track.Signal
	tls      *feTLS // nil: plain TCP
	st       counters
	proxied  sync.Map // *net.TCPConn -> proxyproto.Header, with accept_proxy
}

// New builds the engine from cfg. It opens no socket (see Listen and Run).
func New(cfg Config, opts Options) (*Proxy, error) {
	if cfg.BufSize <= 0 {
		cfg.BufSize = DefaultBufSize
	}
	if cfg.MaxHeaders <= 0 {
		cfg.MaxHeaders = DefaultMaxHeaders
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("proxy configuration: %w", err)
	}
	opts = opts.withPrevious()
	p := &Proxy{
		cfg:      cfg,
		log:      opts.Logger,
		traf:     opts.TrafficLog,
		now:      opts.Now,
		limits:   http1.Limits{MaxHeadBytes: cfg.BufSize, MaxHeaders: cfg.MaxHeaders},
		feByName: make(map[string]*frontend),
		beByName: make(map[string]*backend),
		stop:     make(chan struct{}),
		sessions: make(map[*session]struct{}),
		tcpConns: make(map[*tcpConn]struct{}),
	}
	p.rl.init()
	if p.now == nil {
		p.now = time.Now
	}
	if cfg.MaxConn > 0 {
		p.sem = make(chan struct{}, cfg.MaxConn)
	}
	size := cfg.BufSize
	p.bufs.New = func() any { b := make([]byte, size); return &b }

	for _, bc := range cfg.Backends {
		b, err := newBackend(bc, p.now)
		if err != nil {
			return nil, err
		}
		if err := b.initPersist(bc, p.now, opts.StickTables[bc.Name], opts.StickEvents); err != nil {
			return nil, err
		}
		p.backends = append(p.backends, b)
		p.beByName[b.name] = b
	}
	for _, fc := range cfg.Frontends {
		f, err := p.newFrontend(fc)
		if err != nil {
			return nil, err
		}
		p.frontends = append(p.frontends, f)
		p.feByName[f.name] = f
	}
	if opts.Previous != nil {
		p.inherit(opts.Previous)
	}
	return p, nil
}

func (p *Proxy) newFrontend(fc FrontendConfig) (*frontend, error) {
	f := &frontend{
		p:      p,
		name:   fc.Name,
		cfg:    fc,
		xff:    fc.ForwardFor,
		signal: track.NewSignal("frontend:"+fc.Name, false),
	}
	f.maxconn = fc.MaxConn
	if f.maxconn <= 0 {
		f.maxconn = p.cfg.MaxConn
	}
	if fc.MaxConn > 0 {
		f.sem = make(chan struct{}, fc.MaxConn)
	}
	t := fc.Timeouts
	t.Client = orDefault(t.Client, DefaultTimeout)
	t.HTTPRequest = orDefault(t.HTTPRequest, t.Client)
	t.HTTPKeepAlive = orDefault(t.HTTPKeepAlive, t.HTTPRequest)
	f.timeouts = t
	var err error
	if f.acls, err = acl.NewSet(fc.ACLs); err != nil {
		return nil, fmt.Errorf("frontend %q: acl: %w", fc.Name, err)
	}
	if f.reqRules, err = rules.Compile(fc.HTTPRequest, f.acls); err != nil {
		return nil, fmt.Errorf("frontend %q: http_request: %w", fc.Name, err)
	}
	for _, u := range fc.UseBackends {
		be := p.beByName[u.Backend]
		var cond *acl.Cond
		switch {
		case u.If != "":
			cond, err = f.acls.Compile(u.If, false)
		case u.Unless != "":
			cond, err = f.acls.Compile(u.Unless, true)
		}
		if err != nil {
			return nil, fmt.Errorf("frontend %q: use_backend %q: %w", fc.Name, u.Backend, err)
		}
		f.uses = append(f.uses, useBackend{be: be, cond: cond})
	}
	if fc.DefaultBackend != "" {
		f.def = p.beByName[fc.DefaultBackend]
	}
	if err := f.initTLS(fc); err != nil {
		return nil, err
	}
	return f, nil
}

// Listen opens every frontend's listeners, so that the caller can report
// bind errors before declaring itself ready. Run calls it if needed.
func (p *Proxy) Listen() error {
	p.listenOnce.Do(func() {
		var errs []error
		for _, f := range p.frontends {
			for _, a := range f.cfg.Binds {
				ln, err := p.listenTCP(a)
				if err != nil {
					errs = append(errs, fmt.Errorf("frontend %s: listen on %s: %w", f.name, a, err))
					continue
				}
				f.lns = append(f.lns, ln)
			}
		}
		if len(errs) > 0 {
			for _, f := range p.frontends {
				for _, ln := range f.lns {
					p.releaseListener(ln)
				}
				f.lns = nil
			}
			p.listenErr = errors.Join(errs...)
		}
	})
	return p.listenErr
}

// Addrs returns the addresses frontend name listens on (after Listen), with
// the ports the kernel chose for port 0.
func (p *Proxy) Addrs(name string) []netip.AddrPort {
	f := p.feByName[name]
	if f == nil {
		return nil
	}
	var out []netip.AddrPort
	for _, ln := range f.lns {
		out = append(out, ln.Addr().(*net.TCPAddr).AddrPort())
	}
	return out
}

// Run serves until ctx is done, then closes the listeners, closes idle
// client connections, lets requests in flight finish for up to
// HardStopAfter (0: as long as they take) and returns.
func (p *Proxy) Run(ctx context.Context) error {
	if err := p.Listen(); err != nil {
		close(p.rl.drained)
		return err
	}
	p.rl.running.Store(true)
	defer p.retired()
	if p.hasTCPMode() {
		ls, err := newTCPLoops(p)
		if err != nil {
			// Not fatal: TCP mode then relays with goroutines.
			p.log.Warn().Err(err).Msg("no event loops for TCP mode")
		}
		p.loops = ls
	}
	var loops sync.WaitGroup
	for _, f := range p.frontends {
		f.signal.Set(true)
		for _, ln := range f.lns {
			loops.Add(1)
			go func() {
				defer loops.Done()
				f.acceptLoop(ln)
			}()
		}
	}
	loops.Add(1)
	go func() {
		defer loops.Done()
		p.janitor()
	}()
	p.log.Info().Int("frontends", len(p.frontends)).Int("backends", len(p.backends)).Msg("proxy started")

	select {
	case <-ctx.Done():
	case <-p.rl.retire:
	}
	p.stopping.Store(true)
	close(p.stop)
	p.stopAccepting()
	loops.Wait()
	p.acceptStopped()
	p.wakeIdle()

	done := make(chan struct{})
	go func() {
		p.conns.Wait()
		close(done)
	}()
	var hard <-chan time.Time
	if p.cfg.HardStopAfter > 0 {
		t := time.NewTimer(p.cfg.HardStopAfter)
		defer t.Stop()
		hard = t.C
	}
	select {
	case <-done:
	case <-hard:
		p.log.Warn().Dur("hard_stop_after", p.cfg.HardStopAfter).Msg("hard-stop-after expired, closing remaining connections")
		p.killAll()
		<-done
	}
	if p.loops != nil {
		p.loops.close()
	}
	for _, b := range p.backends {
		for _, s := range b.servers {
			s.idle.purge(p.now(), true)
		}
	}
	p.log.Info().Msg("proxy stopped")
	return nil
}

// janitor closes idle server connections that have grown old, rebuilds
// weighted balancers and purges expired stick-table entries.
func (p *Proxy) janitor() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			now := p.now()
			for _, b := range p.backends {
				for _, s := range b.servers {
					s.idle.purge(now, false)
				}
				b.reweight()
				if b.stk != nil {
					b.stk.table.Purge()
				}
			}
		}
	}
}

func (p *Proxy) wakeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for s := range p.sessions {
		if s.idle.Load() {
			_ = s.conn.SetReadDeadline(time.Unix(1, 0))
		}
	}
}

func (p *Proxy) killAll() {
	p.mu.Lock()
	p.killed = true
	for s := range p.sessions {
		_ = s.conn.Close()
		if c := s.srv.Load(); c != nil {
			_ = c.c.Close()
		}
	}
	var pairs []*tcpPair
	for t := range p.tcpConns {
		if t.pair != nil {
			pairs = append(pairs, t.pair)
			continue
		}
		_ = t.c.Close()
		if t.sc != nil {
			_ = t.sc.Close()
		}
	}
	p.mu.Unlock()
	// Outside p.mu: a pair that ends unregisters its session.
	for _, tp := range pairs {
		tp.kill()
	}
}

// adopt records that an event loop relays t (killAll must end it through
// the pair); false once killAll ran.
func (p *Proxy) adopt(t *tcpConn, tp *tcpPair) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.killed {
		return false
	}
	t.pair = tp
	return true
}

func (p *Proxy) disown(t *tcpConn) {
	p.mu.Lock()
	t.pair = nil
	p.mu.Unlock()
}

func (p *Proxy) registerTCP(t *tcpConn) {
	p.mu.Lock()
	p.tcpConns[t] = struct{}{}
	t.reg = true
	p.mu.Unlock()
}

func (p *Proxy) unregisterTCP(t *tcpConn) {
	p.mu.Lock()
	delete(p.tcpConns, t)
	p.mu.Unlock()
}

// setServerConn records t's server connection for killAll; false when
// killAll already ran (the caller closes sc).
func (p *Proxy) setServerConn(t *tcpConn, sc netConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.killed {
		return false
	}
	t.sc = sc
	return true
}

// hasTCPMode reports whether a frontend relays TCP mode without TLS (the
// connections the event loops take).
func (p *Proxy) hasTCPMode() bool {
	for _, f := range p.frontends {
		if f.cfg.Mode == ModeTCP && f.tls == nil {
			return true
		}
	}
	return false
}

func (p *Proxy) register(s *session) {
	p.mu.Lock()
	p.sessions[s] = struct{}{}
	p.mu.Unlock()
}

func (p *Proxy) unregister(s *session) {
	p.mu.Lock()
	delete(p.sessions, s)
	p.mu.Unlock()
}

// acceptLoop takes a global and a frontend slot before each Accept, so at
// maxconn new connections wait in the kernel's backlog, as HAProxy does.
func (f *frontend) acceptLoop(ln *net.TCPListener) {
	p := f.p
	var bo acceptBackoff
	for {
		if p.sem != nil {
			select {
			case p.sem <- struct{}{}:
			case <-p.stop:
				return
			}
		}
		if f.sem != nil {
			select {
			case f.sem <- struct{}{}:
			case <-p.stop:
				p.releaseSlot(nil)
				return
			}
		}
		c, err := ln.AcceptTCP()
		if err != nil {
			p.releaseSlot(f)
			if errors.Is(err, net.ErrClosed) || p.stopping.Load() {
				return
			}
			// EMFILE and friends: back off instead of spinning, log once
			// a second (reload_accept.go).
			if !f.acceptFailed(&bo, err) {
				return
			}
			continue
		}
		bo.reset()
		p.actconn.Add(1)
		f.st.open()
		p.conns.Add(1)
		go f.serveAccepted(c)
	}
}

// serveAccepted runs an accepted connection and, once it ended, gives
// back what acceptLoop took for it; a TCP-mode connection relayed by an
// event loop ends after this returns, and the loop gives them back.
func (f *frontend) serveAccepted(c *net.TCPConn) {
	parked := false
	defer func() {
		if !parked {
			f.connEnded(c)
		}
	}()
	if f.cfg.AcceptProxy && !f.acceptProxy(c) {
		_ = c.Close()
		return
	}
	parked = f.serveConn(c)
}

// connEnded gives back the slots and counts acceptLoop took for c.
func (f *frontend) connEnded(c *net.TCPConn) {
	p := f.p
	if f.cfg.AcceptProxy {
		f.proxied.Delete(c)
	}
	p.actconn.Add(-1)
	f.st.close()
	p.releaseSlot(f)
	p.conns.Done()
}

func (p *Proxy) releaseSlot(f *frontend) {
	if f != nil && f.sem != nil {
		<-f.sem
	}
	if p.sem != nil {
		<-p.sem
	}
}

// FrontendSignal is "frontend:NAME", healthy while its listeners are open
// and accepting; nil if there is no such frontend.
func (p *Proxy) FrontendSignal(name string) *track.Signal {
	if f := p.feByName[name]; f != nil {
		return f.signal
	}
	return nil
}

// BackendSignal is "backend:NAME", healthy while at least one server is
// usable; nil if there is no such backend.
func (p *Proxy) BackendSignal(name string) track.Tracker {
	if b := p.beByName[name]; b != nil {
		return b.health.Signal()
	}
	return nil
}

// Server returns a server's health and admin state, for admin commands;
// nil if unknown.
func (p *Proxy) Server(backend, server string) *health.Server {
	b := p.beByName[backend]
	if b == nil {
		return nil
	}
	for _, s := range b.servers {
		if s.name == server {
			return s.health
		}
	}
	return nil
}

// HealthTargets lists the servers with active checks, for health.NewChecker.
func (p *Proxy) HealthTargets() []health.Target {
	var out []health.Target
	for _, b := range p.backends {
		for _, s := range b.servers {
			if s.checkCfg == nil {
				continue
			}
			out = append(out, health.Target{
				Server:  s.health,
				Backend: b.name,
				Name:    s.name,
				Addr:    s.addr,
				Check:   *s.checkCfg,
			})
		}
	}
	return out
}

// HealthTraffic is health.Options.Traffic: the figures for a server's state
// change line. A server coming UP takes requests waiting in its backend's
// queue at once (counted as requeued).
func (p *Proxy) HealthTraffic(backend, server string, up bool) health.Traffic {
	b := p.beByName[backend]
	if b == nil {
		return health.Traffic{}
	}
	var t health.Traffic
	for _, s := range b.servers {
		if s.name == server {
			t.Active = int(s.cur.Load())
		}
	}
	if up {
		before := b.queued.Load()
		if before > 0 {
			b.dispatch()
		}
		t.Requeued = int(before - b.queued.Load())
	}
	t.Queued = int(b.queued.Load())
	return t
}
