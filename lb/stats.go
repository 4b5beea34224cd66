package lb

import (
	"sync/atomic"

	"github.com/tandemlb/tandem/health"
)

// counters are the atomics kept per frontend, backend and server. Each is
// written on the hot path without locks and read by Snapshot.
type counters struct {
	sessCur, sessMax, sessTotal atomic.Int64
	requests                    atomic.Int64
	resp                        [6]atomic.Int64 // other, 1xx, 2xx, 3xx, 4xx, 5xx
	bytesIn, bytesOut           atomic.Int64
	errReq, errConn, errResp    atomic.Int64
	retries, redispatches       atomic.Int64
	denied                      atomic.Int64
	lbtot                       atomic.Int64
	queueCur, queueMax          atomic.Int64
}

func storeMax(m *atomic.Int64, v int64) {
	for {
		c := m.Load()
		if v <= c || m.CompareAndSwap(c, v) {
			return
		}
	}
}

// sessionStart counts a new session given the current count after it.
func (c *counters) sessionStart(cur int64) {
	c.sessTotal.Add(1)
	storeMax(&c.sessMax, cur)
}

func (c *counters) sessionEnd(int64) {}

func (c *counters) open() int64 {
	n := c.sessCur.Add(1)
	c.sessionStart(n)
	return n
}

func (c *counters) close() { c.sessCur.Add(-1) }

func (c *counters) status(code int) {
	i := code / 100
	if i < 1 || i > 5 {
		i = 0
	}
	c.resp[i].Add(1)
}

// Counters is a copy of one proxy object's counters, HAProxy's stats
// columns by meaning.
type Counters struct {
	// Sessions: current, highest seen, total since start, configured limit
	// (0 = none). For servers "current" is connection slots in use.
	SessCur, SessMax, SessTotal, SessLimit int64
	Requests                               int64
	// Responses by class: index 0 other, 1 for 1xx … 5 for 5xx.
	Responses [6]int64
	// BytesIn is received from clients, BytesOut sent to clients.
	BytesIn, BytesOut int64
	// ErrReq: bad requests; ErrConn: failed connections to servers;
	// ErrResp: bad or aborted responses.
	ErrReq, ErrConn, ErrResp int64
	Retries, Redispatches    int64
	Denied                   int64
	// LBTot is the number of times a server was picked.
	LBTot              int64
	QueueCur, QueueMax int64
}

func (c *counters) snapshot(limit int64) Counters {
	s := Counters{
		SessCur:      c.sessCur.Load(),
		SessMax:      c.sessMax.Load(),
		SessTotal:    c.sessTotal.Load(),
		SessLimit:    limit,
		Requests:     c.requests.Load(),
		BytesIn:      c.bytesIn.Load(),
		BytesOut:     c.bytesOut.Load(),
		ErrReq:       c.errReq.Load(),
		ErrConn:      c.errConn.Load(),
		ErrResp:      c.errResp.Load(),
		Retries:      c.retries.Load(),
		Redispatches: c.redispatches.Load(),
		Denied:       c.denied.Load(),
		LBTot:        c.lbtot.Load(),
		QueueCur:     c.queueCur.Load(),
		QueueMax:     c.queueMax.Load(),
	}
	for i := range c.resp {
		s.Responses[i] = c.resp[i].Load()
	}
	return s
}

// Snapshot is a consistent-enough copy of every counter, for stats pages.
type Snapshot struct {
	ActConn   int64 // connections open on all frontends
	Frontends []FrontendSnapshot
	Backends  []BackendSnapshot
}

// FrontendSnapshot is one frontend's counters.
type FrontendSnapshot struct {
	Name string
	Mode Mode
	// Open is true while its listeners are open and accepting.
	Open bool
	Counters
}

// BackendSnapshot is one backend's counters and servers.
type BackendSnapshot struct {
	Name string
	Mode Mode
	// ActiveUp and BackupUp count usable servers (health.Backend.Counts).
	ActiveUp, BackupUp int
	Counters
	Servers []ServerSnapshot
}

// ServerSnapshot is one server's counters and state.
type ServerSnapshot struct {
	Name    string
	Addr    string
	Backup  bool
	Weight  int // effective weight now
	MaxConn int
	Counters
	Health health.ServerSnapshot
}

// Snapshot copies every counter.
func (p *Proxy) Snapshot() Snapshot {
	snap := Snapshot{ActConn: p.actconn.Load()}
	for _, f := range p.frontends {
		snap.Frontends = append(snap.Frontends, FrontendSnapshot{
			Name:     f.name,
			Mode:     f.cfg.Mode,
			Open:     f.signal.Healthy(),
			Counters: f.st.snapshot(int64(f.maxconn)),
		})
	}
	for _, b := range p.backends {
		bs := BackendSnapshot{Name: b.name, Mode: b.cfg.Mode, Counters: b.st.snapshot(0)}
		bs.ActiveUp, bs.BackupUp = b.health.Counts()
		for _, s := range b.servers {
			c := s.st.snapshot(s.maxconn)
			c.SessCur = s.cur.Load()
			bs.Servers = append(bs.Servers, ServerSnapshot{
				Name:     s.name,
				Addr:     s.addr.String(),
				Backup:   s.backup,
				Weight:   s.Weight(),
				MaxConn:  int(s.maxconn),
				Counters: c,
				Health:   s.health.Snapshot(),
			})
		}
		snap.Backends = append(snap.Backends, bs)
	}
	return snap
}
