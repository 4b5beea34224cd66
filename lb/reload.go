package lb

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandemlb/tandem/health"
)

// A reload builds a new Proxy (a generation) next to the running one:
//
//	next, err := lb.New(cfg, lb.Options{Previous: cur, ...})
//	err = next.Listen()      // takes over cur's listeners with the same bind
//	checker := health.NewChecker(next.HealthTargets(), ...)
//	cur.Retire(next)         // cur stops accepting; next inherits state
//	go next.Run(ctx)         // next accepts on the listeners it took over
//
// Until Retire, cur is untouched: a failed New or Listen leaves it running
// as it was. Retire returns once cur's accept loops have stopped; cur's Run
// then lets its requests in flight finish (keep-alive connections close
// after their current response, idle ones at once), bounded by its
// hard_stop_after, and returns. A listener taken over is never closed, so
// connections arriving between the two accept loops wait in its backlog.

// reloadState is a Proxy's part in reloads.
type reloadState struct {
	prev    *Proxy                              // Options.Previous
	adopted map[*net.TCPListener]bool           // listeners Listen took over from prev
	kept    map[netip.AddrPort]*net.TCPListener // prev's listeners by bind, for Listen

	// chain serialises counter hand-overs across every generation of one
	// process (shared with the previous generation).
	chain *sync.Mutex
	next  atomic.Pointer[Proxy] // set by Retire
	base  map[*counters]counterVals

	retireOnce sync.Once
	retire     chan struct{} // closed by Retire: Run stops accepting
	running    atomic.Bool
	acceptDone chan struct{} // closed by Run once its accept loops ended
	drained    chan struct{} // closed by Run when it returns

	acceptLog acceptLimiter // accept errors (reload_accept.go)
}

func (rl *reloadState) init() {
	rl.retire = make(chan struct{})
	rl.acceptDone = make(chan struct{})
	rl.drained = make(chan struct{})
	rl.chain = new(sync.Mutex)
}

// withPrevious prepares what New takes from opts.Previous before building
// the backends: its stick tables, unless the caller chose others.
func (opts Options) withPrevious() Options {
	if opts.Previous != nil && opts.StickTables == nil {
		opts.StickTables = opts.Previous.StickTables()
	}
	return opts
}

// inherit records what Listen and Retire will take from prev. It changes
// nothing in prev.
func (p *Proxy) inherit(prev *Proxy) {
	p.rl.prev = prev
	p.rl.chain = prev.rl.chain
	p.rl.kept = make(map[netip.AddrPort]*net.TCPListener)
	for _, f := range prev.frontends {
		for i, ln := range f.lns {
			if i < len(f.cfg.Binds) {
				p.rl.kept[f.cfg.Binds[i]] = ln
			}
		}
	}
	// The same frontend keeps its "frontend:NAME" signal, so a VRRP
	// instance tracking it sees no change across the reload.
	for _, f := range p.frontends {
		if of := prev.feByName[f.name]; of != nil {
			f.signal = of.signal
		}
	}
}

// listenTCP opens the listener of bind a, or takes over the previous
// generation's one with the same address.
func (p *Proxy) listenTCP(a netip.AddrPort) (*net.TCPListener, error) {
	if ln := p.rl.kept[a]; ln != nil && a.Port() != 0 {
		delete(p.rl.kept, a)
		if p.rl.adopted == nil {
			p.rl.adopted = make(map[*net.TCPListener]bool)
		}
		p.rl.adopted[ln] = true
		return ln, nil
	}
	return net.ListenTCP("tcp", net.TCPAddrFromAddrPort(a))
}

// releaseListener undoes listenTCP after a failed Listen: a listener taken
// over stays open (it is still the previous generation's).
func (p *Proxy) releaseListener(ln *net.TCPListener) {
	if p.rl.adopted[ln] {
		delete(p.rl.adopted, ln)
		return
	}
	_ = ln.Close()
}

// Retire hands over to next, built with Options{Previous: p} and
// listening: p stops accepting (the listeners next took over stay open,
// the others close), next inherits the runtime state of the servers and
// backends that still exist (admin state, health, runtime weight, by
// backend and server name; health only at the same address) and the
// counters. It returns once p accepts no more; p's Run then drains and
// returns. Call it before next.Run. next nil retires p with no successor
// (every listener closes), like cancelling Run's context.
func (p *Proxy) Retire(next *Proxy) {
	if next != nil {
		p.rl.chain.Lock()
		p.handOver(next)
		p.rl.next.Store(next)
		p.rl.chain.Unlock()
	}
	p.rl.retireOnce.Do(func() { close(p.rl.retire) })
	if p.rl.running.Load() {
		<-p.rl.acceptDone
		return
	}
	// Never ran: nothing accepts; close what next does not keep.
	p.stopAccepting()
}

// Drained is closed when Run has returned (every connection finished).
func (p *Proxy) Drained() <-chan struct{} { return p.rl.drained }

// handOver gives next p's server states and counters. Called with the
// chain lock held, before next runs.
func (p *Proxy) handOver(next *Proxy) {
	p.rl.base = make(map[*counters]counterVals)
	carry := func(dst, src *counters) {
		v := src.values()
		p.rl.base[src] = v
		dst.add(v)
	}
	for _, nf := range next.frontends {
		if of := p.feByName[nf.name]; of != nil {
			carry(&nf.st, &of.st)
		}
	}
	for _, nb := range next.backends {
		ob := p.beByName[nb.name]
		if ob == nil {
			continue
		}
		carry(&nb.st, &ob.st)
		for _, ns := range nb.servers {
			os := ob.srvByName[ns.name]
			if os == nil {
				continue
			}
			carry(&ns.st, &os.st)
			ns.health.Inherit(os.health, health.Inherit{
				Health: os.addr == ns.addr && (os.checkCfg == nil) == (ns.checkCfg == nil),
				Admin:  os.cfg.Disabled == ns.cfg.Disabled,
				Weight: os.cfg.Weight == ns.cfg.Weight,
			})
		}
	}
}

// stopAccepting ends p's accept loops: listeners next took over get a
// deadline in the past (cleared by acceptStopped), the others close. The
// frontend signals next shares stay as they are.
func (p *Proxy) stopAccepting() {
	next := p.rl.next.Load()
	for _, f := range p.frontends {
		shared := false
		if next != nil {
			if nf := next.feByName[f.name]; nf != nil && nf.signal == f.signal {
				shared = true
			}
		}
		if !shared {
			f.signal.Set(false)
		}
		for _, ln := range f.lns {
			if next != nil && next.rl.adopted[ln] {
				_ = ln.SetDeadline(time.Unix(1, 0))
				continue
			}
			_ = ln.Close()
		}
	}
}

// acceptStopped runs once p's accept loops have ended: the listeners next
// took over accept again (for next).
func (p *Proxy) acceptStopped() {
	if next := p.rl.next.Load(); next != nil {
		for _, f := range p.frontends {
			for _, ln := range f.lns {
				if next.rl.adopted[ln] {
					_ = ln.SetDeadline(time.Time{})
				}
			}
		}
	}
	close(p.rl.acceptDone)
}

// retired runs when p's Run returns: what p counted after handing over
// goes to the newest generation, so totals add up across reloads.
func (p *Proxy) retired() {
	defer close(p.rl.drained)
	if p.rl.next.Load() == nil {
		return
	}
	p.rl.chain.Lock()
	defer p.rl.chain.Unlock()
	latest := p.rl.next.Load()
	for n := latest.rl.next.Load(); n != nil; n = n.rl.next.Load() {
		latest = n
	}
	fold := func(dst, src *counters) {
		base, ok := p.rl.base[src]
		if !ok {
			return
		}
		v := src.values()
		v.sub(base)
		dst.add(v)
	}
	for _, f := range p.frontends {
		if lf := latest.feByName[f.name]; lf != nil {
			fold(&lf.st, &f.st)
		}
	}
	for _, b := range p.backends {
		lb := latest.beByName[b.name]
		if lb == nil {
			continue
		}
		fold(&lb.st, &b.st)
		for _, s := range b.servers {
			if ls := lb.srvByName[s.name]; ls != nil {
				fold(&ls.st, &s.st)
			}
		}
	}
}

// counterVals are the cumulative counters of a counters (not the gauges:
// current sessions and queue).
type counterVals struct {
	sessMax, sessTotal, requests  int64
	resp                          [6]int64
	bytesIn, bytesOut             int64
	errReq, errConn, errResp      int64
	retries, redispatches, denied int64
	lbtot, queueMax               int64
}

func (c *counters) values() counterVals {
	v := counterVals{
		sessMax: c.sessMax.Load(), sessTotal: c.sessTotal.Load(), requests: c.requests.Load(),
		bytesIn: c.bytesIn.Load(), bytesOut: c.bytesOut.Load(),
		errReq: c.errReq.Load(), errConn: c.errConn.Load(), errResp: c.errResp.Load(),
		retries: c.retries.Load(), redispatches: c.redispatches.Load(), denied: c.denied.Load(),
		lbtot: c.lbtot.Load(), queueMax: c.queueMax.Load(),
	}
	for i := range c.resp {
		v.resp[i] = c.resp[i].Load()
	}
	return v
}

// add adds v's totals and raises the maxima to v's.
func (c *counters) add(v counterVals) {
	storeMax(&c.sessMax, v.sessMax)
	storeMax(&c.queueMax, v.queueMax)
	c.sessTotal.Add(v.sessTotal)
	c.requests.Add(v.requests)
	for i := range c.resp {
		c.resp[i].Add(v.resp[i])
	}
	c.bytesIn.Add(v.bytesIn)
	c.bytesOut.Add(v.bytesOut)
	c.errReq.Add(v.errReq)
	c.errConn.Add(v.errConn)
	c.errResp.Add(v.errResp)
	c.retries.Add(v.retries)
	c.redispatches.Add(v.redispatches)
	c.denied.Add(v.denied)
	c.lbtot.Add(v.lbtot)
}

// sub leaves in v what was counted since base; maxima are kept.
func (v *counterVals) sub(base counterVals) {
	v.sessTotal -= base.sessTotal
	v.requests -= base.requests
	for i := range v.resp {
		v.resp[i] -= base.resp[i]
	}
	v.bytesIn -= base.bytesIn
	v.bytesOut -= base.bytesOut
	v.errReq -= base.errReq
	v.errConn -= base.errConn
	v.errResp -= base.errResp
	v.retries -= base.retries
	v.redispatches -= base.redispatches
	v.denied -= base.denied
	v.lbtot -= base.lbtot
}
