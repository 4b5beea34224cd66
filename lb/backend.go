package lb

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/lb/acl"
	"github.com/tandemlb/tandem/lb/balance"
	"github.com/tandemlb/tandem/lb/cookie"
	"github.com/tandemlb/tandem/lb/rules"
)

// server is one configured server: its health (owned by the health
// package), its connection slots and idle pool, and its counters.
type server struct {
	be       *backend
	name     string
	addr     netip.AddrPort
	tcpAddr  *net.TCPAddr
	maxconn  int64
	backup   bool
	cfg      ServerConfig
	health   *health.Server
	now      func() time.Time
	cur      atomic.Int64 // connection slots in use
	st       counters
	idle     idlePool
	checkCfg *health.CheckConfig
	tls      *tls.Config // ssl towards the server; nil: plain
	id       int         // 1-based position in the backend (HAProxy's server id)
	cookie   string      // persistence cookie value
}

// Available implements balance.Server: usable by health and admin state,
// and below maxconn.
func (s *server) Available() bool {
	if !s.health.Usable() {
		return false
	}
	return s.maxconn == 0 || s.cur.Load() < s.maxconn
}

// Weight implements balance.Server.
func (s *server) Weight() int { return s.health.EffectiveWeight(s.now()) }

// ActiveConns implements balance.Server.
func (s *server) ActiveConns() int { return int(s.cur.Load()) }

// tryAcquire takes a connection slot if the server is below maxconn.
func (s *server) tryAcquire() bool {
	for {
		c := s.cur.Load()
		if s.maxconn > 0 && c >= s.maxconn {
			return false
		}
		if s.cur.CompareAndSwap(c, c+1) {
			s.st.sessionStart(c + 1)
			return true
		}
	}
}

// backend is one configured backend.
type backend struct {
	name       string
	cfg        BackendConfig
	servers    []*server
	active     []*server
	backups    []*server
	activeLB   balance.Balancer
	backupLB   balance.Balancer
	algo       balance.Algorithm
	algoArg    string
	acls       *acl.Set
	reqRules   *rules.List
	respRules  *rules.List
	timeouts   Timeouts // resolved with defaults
	retries    int
	redispatch bool
	xff        *ForwardFor
	health     *health.Backend
	st         counters

	ck        *cookie.Persist // cookie persistence; nil = none
	ckNoCache bool
	stk       *stickState // stick table and rules; nil = none
	srvByName map[string]*server

	// lastWeights are the effective weights the balancers were last
	// (re)built with; janitor-only.
	lastWeights []int

	qmu     sync.Mutex
	qhead   *waiter
	qtail   *waiter
	wanters int // queued waiters for one given server
	queued  atomic.Int64
}

func newBackend(cfg BackendConfig, now func() time.Time) (*backend, error) {
	b := &backend{
		name:       cfg.Name,
		cfg:        cfg,
		retries:    max(cfg.Retries, 0),
		redispatch: cfg.Redispatch,
		xff:        cfg.ForwardFor,
	}
	t := cfg.Timeouts
	t.Connect = orDefault(t.Connect, DefaultTimeout)
	t.Server = orDefault(t.Server, DefaultTimeout)
	t.Queue = orDefault(t.Queue, t.Connect) // HAProxy: timeout queue defaults to timeout connect
	t.Tunnel = orDefault(t.Tunnel, 0)
	b.timeouts = t

	bal := cfg.Balance
	if bal == "" {
		bal = "roundrobin"
	}
	algo, arg, err := balance.ParseAlgorithm(bal)
	if err != nil {
		return nil, fmt.Errorf("backend %q: balance %q: %w", cfg.Name, cfg.Balance, err)
	}
	ht, err := balance.ParseHashType(cfg.HashType)
	if err != nil {
		return nil, fmt.Errorf("backend %q: hash_type %q: %w", cfg.Name, cfg.HashType, err)
	}
	spec := balance.Spec{Algorithm: algo, HashType: ht}
	if algo == balance.Random && arg != "" {
		if _, err := fmt.Sscanf(arg, "%d", &spec.Draws); err != nil {
			return nil, fmt.Errorf("backend %q: balance %q: bad draws: %w", cfg.Name, cfg.Balance, err)
		}
	}
	b.algo, b.algoArg = algo, arg

	if b.acls, err = acl.NewSet(cfg.ACLs); err != nil {
		return nil, fmt.Errorf("backend %q: acl: %w", cfg.Name, err)
	}
	if b.reqRules, err = rules.Compile(cfg.HTTPRequest, b.acls); err != nil {
		return nil, fmt.Errorf("backend %q: http_request: %w", cfg.Name, err)
	}
	if b.respRules, err = rules.CompileResponse(cfg.HTTPResponse, b.acls); err != nil {
		return nil, fmt.Errorf("backend %q: http_response: %w", cfg.Name, err)
	}

	var act, bck []*health.Server
	var actB, bckB []balance.Server
	for _, sc := range cfg.Servers {
		w := sc.Weight
		hs := health.NewServer(cfg.Name+"/"+sc.Name, sc.Check, sc.Disabled, sc.Slowstart, w)
		s := &server{
			be:      b,
			name:    sc.Name,
			addr:    sc.Addr,
			tcpAddr: net.TCPAddrFromAddrPort(sc.Addr),
			maxconn: int64(max(sc.MaxConn, 0)),
			backup:  sc.Backup,
			cfg:     sc,
			health:  hs,
			now:     now,
			cookie:  sc.Cookie,
		}
		if sc.Check {
			cc := cfg.Check
			if sc.CheckConfig != nil {
				cc = sc.CheckConfig
			}
			if cc == nil {
				cc = &health.CheckConfig{Type: "tcp"}
			}
			s.checkCfg = cc
		}
		s.idle.max = defaultIdlePerServer
		if sc.SendProxy != 0 {
			// The PROXY header names one client: such a connection is
			// never handed to another one.
			s.idle.max = 0
		}
		if err := s.initTLS(); err != nil {
			return nil, fmt.Errorf("backend %q: server %q: %w", cfg.Name, sc.Name, err)
		}
		b.servers = append(b.servers, s)
		if sc.Backup {
			b.backups = append(b.backups, s)
			bck = append(bck, hs)
			bckB = append(bckB, s)
		} else {
			b.active = append(b.active, s)
			act = append(act, hs)
			actB = append(actB, s)
		}
	}
	b.health = health.NewBackend(cfg.Name, act, bck)
	if len(actB) > 0 {
		if b.activeLB, err = balance.New(spec, actB); err != nil {
			return nil, fmt.Errorf("backend %q: balancer: %w", cfg.Name, err)
		}
	}
	if len(bckB) > 0 {
		if b.backupLB, err = balance.New(spec, bckB); err != nil {
			return nil, fmt.Errorf("backend %q: balancer: %w", cfg.Name, err)
		}
	}
	return b, nil
}

// pickFrom asks lb for a server of group, and takes one of its slots. It
// tries a few times because another goroutine may take the last slot
// between Pick and the acquisition. avoid, when set, is skipped if another
// server is available (redispatch).
func pickFrom(lb balance.Balancer, group []*server, key []byte, avoid *server) *server {
	if lb == nil {
		return nil
	}
	var fallback *server
	for range 2*len(group) + 1 {
		i := lb.Pick(key)
		if i < 0 {
			break
		}
		s := group[i]
		if s == avoid {
			fallback = s
			if len(group) == 1 {
				break
			}
			continue
		}
		if s.tryAcquire() {
			return s
		}
	}
	if fallback != nil {
		// A deterministic balancer (first, leastconn, hashes) may answer
		// only the server to avoid: take another usable one if any.
		if s := pickOther(group, avoid); s != nil {
			return s
		}
		if fallback.tryAcquire() {
			return fallback
		}
	}
	return nil
}

func anyUsable(group []*server) bool {
	for _, s := range group {
		if s.health.Usable() && s.Weight() > 0 {
			return true
		}
	}
	return false
}

// acquire picks a server and takes one of its slots. It returns nil when
// none can take the request now; full then says the request may wait in
// the queue (usable servers exist, all at maxconn). Backups serve only when
// no active server is usable: the first usable backup, or all of them with
// allbackups, as HAProxy.
func (b *backend) acquire(key []byte, avoid *server) (s *server, full bool) {
	if s := pickFrom(b.activeLB, b.active, key, avoid); s != nil {
		return s, false
	}
	if anyUsable(b.active) {
		return nil, true
	}
	if len(b.backups) == 0 {
		return nil, false
	}
	if b.cfg.AllBackups {
		if s := pickFrom(b.backupLB, b.backups, key, avoid); s != nil {
			return s, false
		}
	} else {
		for _, s := range b.backups {
			if s.health.Usable() && s.Weight() > 0 {
				if s.tryAcquire() {
					return s, false
				}
				return nil, true
			}
		}
	}
	return nil, anyUsable(b.backups)
}

// release gives a slot back and hands it to the oldest queued request.
func (b *backend) release(s *server) {
	n := s.cur.Add(-1)
	s.st.sessionEnd(n)
	if b.queued.Load() > 0 {
		b.dispatch()
	}
}

// waiter is a request waiting in the backend queue. Its channel has room
// for one server: the slot it is handed. want is the server persistence
// sent it to (a cookie or stick entry): it waits for that server only,
// as in a server's own queue in HAProxy.
type waiter struct {
	next   *waiter
	key    []byte
	want   *server
	ch     chan *server
	queued bool
}

// dispatch hands free slots to queued requests, oldest first. Without
// waiters for a given server it stops at the first that cannot be served;
// with some, it looks further, since a slot freed on their server serves
// them even when the others are full.
func (b *backend) dispatch() {
	b.qmu.Lock()
	defer b.qmu.Unlock()
	anyFull := false
	var prev *waiter
	for w := b.qhead; w != nil; {
		next := w.next
		var s *server
		switch {
		case w.want != nil:
			if w.want.tryAcquire() {
				s = w.want
			}
		case !anyFull:
			if s, _ = b.acquire(w.key, nil); s == nil {
				anyFull = true
			}
		}
		if s == nil {
			if anyFull && b.wanters == 0 {
				return
			}
			prev, w = w, next
			continue
		}
		if prev == nil {
			b.qhead = next
		} else {
			prev.next = next
		}
		if b.qtail == w {
			b.qtail = prev
		}
		if w.want != nil {
			b.wanters--
		}
		w.next, w.queued = nil, false
		b.queued.Add(-1)
		b.st.queueCur.Add(-1)
		w.ch <- s
		w = next
	}
}

func (b *backend) enqueue(w *waiter) {
	b.qmu.Lock()
	w.queued = true
	w.next = nil
	if w.want != nil {
		b.wanters++
	}
	if b.qtail == nil {
		b.qhead = w
	} else {
		b.qtail.next = w
	}
	b.qtail = w
	b.queued.Add(1)
	b.st.queueCur.Add(1)
	storeMax(&b.st.queueMax, b.st.queueCur.Load())
	b.qmu.Unlock()
	// A slot may have been freed between the failed pick and the enqueue.
	b.dispatch()
}

// dequeue removes w if it is still waiting; false means it was handed a
// server, which is (or will be) in w.ch.
func (b *backend) dequeue(w *waiter) bool {
	b.qmu.Lock()
	defer b.qmu.Unlock()
	if !w.queued {
		return false
	}
	var prev *waiter
	for c := b.qhead; c != nil; prev, c = c, c.next {
		if c != w {
			continue
		}
		if prev == nil {
			b.qhead = c.next
		} else {
			prev.next = c.next
		}
		if b.qtail == c {
			b.qtail = prev
		}
		break
	}
	if w.want != nil {
		b.wanters--
	}
	w.next, w.queued = nil, false
	b.queued.Add(-1)
	b.st.queueCur.Add(-1)
	return true
}

// wait queues the request until a slot is handed to it or timeout expires
// (nil). t is the caller's reusable timer.
func (b *backend) wait(w *waiter, t *time.Timer, timeout time.Duration) *server {
	b.enqueue(w)
	t.Reset(timeout)
	select {
	case s := <-w.ch:
		t.Stop()
		return s
	case <-t.C:
	}
	if b.dequeue(w) {
		return nil
	}
	return <-w.ch
}

// reweight rebuilds the balancers that precompute weights (the consistent
// hash ring) when an effective weight changed: runtime weight, slowstart.
// Called about once a second; dynamic algorithms read weights on each pick
// and need nothing.
func (b *backend) reweight() {
	changed := false
	if len(b.lastWeights) != len(b.servers) {
		b.lastWeights = make([]int, len(b.servers))
		for i, s := range b.servers {
			b.lastWeights[i] = s.cfg.Weight
		}
	}
	for i, s := range b.servers {
		if w := s.Weight(); w != b.lastWeights[i] {
			b.lastWeights[i] = w
			changed = true
		}
	}
	if !changed {
		return
	}
	for _, lb := range []balance.Balancer{b.activeLB, b.backupLB} {
		if r, ok := lb.(balance.Reweighter); ok {
			r.Reweight()
		}
	}
}
