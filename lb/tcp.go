package lb

import (
	"net"
	"net/netip"
	"time"

	"github.com/tandemlb/tandem/lb/accesslog"
	"github.com/tandemlb/tandem/lb/balance"
)

// tcpSample is what ACLs can see of a TCP-mode connection: addresses only.
type tcpSample struct {
	src     netip.Addr
	dstPort int
	sec     *connSec
}

func (t *tcpSample) Method() []byte                    { return nil }
func (t *tcpSample) Path() []byte                      { return nil }
func (t *tcpSample) Query() []byte                     { return nil }
func (t *tcpSample) URL() []byte                       { return nil }
func (t *tcpSample) NumHeaders() int                   { return 0 }
func (t *tcpSample) HeaderAt(int) (name, value []byte) { return nil, nil }
func (t *tcpSample) Src() netip.Addr                   { return t.src }
func (t *tcpSample) DstPort() int                      { return t.dstPort }

// tcpTxn is one TCP-mode connection's log state.
type tcpTxn struct {
	client       netip.AddrPort
	accept       time.Time
	be           *backend
	srv          *server
	tw, tc       time.Duration
	in, out      int64
	term         [2]byte
	retries      int
	redispatched bool
	beQueue      int
	sec          *connSec
}

// tcpConn is one TCP-mode connection's state from accept to the log line.
type tcpConn struct {
	f        *frontend
	c, sc    netConn  // sc: set under p.mu (killAll closes it)
	pair     *tcpPair // the event loop's, once parked; guarded by p.mu
	reg      bool     // in p.tcpConns
	tx       tcpTxn
	beOpen   bool // tx.be's session count was taken
	acquired bool // tx.srv's slot was taken
}

// serveTCP handles one TCP-mode connection: pick a server (source hashing
// on the client address for `balance source`), connect with retries, then
// copy both ways until both sides closed; one tcplog line at the end.
// The server choice and connection run in tcpConnect, whose large frame
// is off the stack while the relay waits: a goroutine stack that is
// mostly unused while parked is halved by the garbage collector, so an
// idle connection keeps a 4 KiB stack instead of 8 KiB.
//
// With plain TCP on both sides an event loop (tcploop.go) takes the relay
// over, and serveTCP returns true at once: the loop finishes the
// connection and gives back what acceptLoop took (connEnded).
func (f *frontend) serveTCP(c netConn, sec *connSec) (parked bool) {
	t := newTCPConn(f, c)
	if !f.tcpConnect(t, sec) {
		t.finish()
		return false
	}
	if ls := f.p.loops; ls != nil && sec == nil {
		if tc, ok := c.(*net.TCPConn); ok && ls.park(t, f.timeouts.Client, t.tx.be.timeouts.Server, func() { f.connEnded(tc) }) {
			return true
		}
	}
	t.tx.in, t.tx.out, t.tx.term = relayTCP(c, t.sc, &f.p.bufs, f.timeouts.Client, t.tx.be.timeouts.Server, f.p.now)
	t.finish()
	return false
}

// newTCPConn puts the connection's state on the heap (not in serveTCP's
// frame, which stays on the stack for the connection's lifetime).
//
//go:noinline
func newTCPConn(f *frontend, c netConn) *tcpConn { return &tcpConn{f: f, c: c} }

// finish undoes what tcpConnect did, in reverse order, and logs.
//
//go:noinline
func (t *tcpConn) finish() {
	tx := &t.tx
	if t.sc != nil {
		_ = t.sc.Close()
	}
	if t.acquired {
		tx.be.release(tx.srv)
	}
	if t.beOpen {
		tx.be.st.close()
	}
	if t.reg {
		t.f.tcpLog(tx)
		t.f.p.unregisterTCP(t)
	}
	_ = t.c.Close()
}

// tcpConnect registers t, picks a server and connects to it; false: the
// connection ends (t.tx says why).
//
//go:noinline
func (f *frontend) tcpConnect(t *tcpConn, sec *connSec) bool {
	p := f.p
	c := t.c
	tx := &t.tx
	// Registered so that hard-stop-after can close it.
	p.registerTCP(t)
	*tx = tcpTxn{accept: p.now(), tw: -1, tc: -1, term: [2]byte{'-', '-'}, sec: sec}
	var local netip.AddrPort
	tx.client, local = f.connAddrs(c)
	smp := tcpSample{src: tx.client.Addr(), sec: sec, dstPort: int(local.Port())}

	var be *backend
	for _, u := range f.uses {
		if u.cond.Match(&smp) {
			be = u.be
			break
		}
	}
	if be == nil {
		be = f.def
	}
	if be == nil {
		tx.term = [2]byte{'S', 'C'}
		return false
	}
	tx.be = be
	be.st.open()
	t.beOpen = true

	var key []byte
	var kb [16]byte
	if be.algo == balance.Source {
		a := tx.client.Addr()
		if a.Is4() {
			v := a.As4()
			key = append(kb[:0], v[:]...)
		} else {
			v := a.As16()
			key = append(kb[:0], v[:]...)
		}
	}
	var pinned *server
	var stk stickTxn
	if be.stk != nil {
		var sk [16]byte
		pinned, _ = stickMatch(be, &smp, nil, &stk, sk[:0])
	}
	t0 := p.now()
	var srv *server
	full := true
	if be.queued.Load() == 0 {
		if pinned == nil {
			srv, full = be.acquire(key, nil)
		} else if pinned.tryAcquire() {
			srv = pinned
		}
	}
	if srv == nil {
		if !full {
			tx.term = [2]byte{'S', 'C'}
			return false
		}
		w := waiter{key: key, want: pinned, ch: make(chan *server, 1)}
		t := time.NewTimer(time.Hour)
		tx.beQueue = int(be.queued.Load())
		srv = be.wait(&w, t, be.timeouts.Queue)
		t.Stop()
		if srv == nil {
			tx.tw = p.now().Sub(t0)
			tx.term = [2]byte{'s', 'Q'}
			return false
		}
	}
	tx.tw = p.now().Sub(t0)
	tx.srv = srv
	srv.st.lbtot.Add(1)
	be.st.lbtot.Add(1)
	t.acquired = true

	var sc netConn
	for {
		t1 := p.now()
		conn, err := dialServer(tx.srv, be.timeouts.Connect, tx.client, local)
		if err == nil {
			tx.tc = p.now().Sub(t1)
			sc = conn
			break
		}
		tx.srv.st.errConn.Add(1)
		be.st.errConn.Add(1)
		if tx.retries >= be.retries {
			tx.term = [2]byte{'S', 'C'}
			return false
		}
		tx.retries++
		tx.srv.st.retries.Add(1)
		be.st.retries.Add(1)
		if be.redispatch && tx.retries == be.retries {
			if ns, _ := be.acquire(key, tx.srv); ns != nil {
				if ns == tx.srv {
					be.release(ns)
				} else {
					tx.srv.st.redispatches.Add(1)
					be.st.redispatches.Add(1)
					be.release(tx.srv)
					tx.srv = ns
					tx.redispatched = true
				}
			}
		}
	}
	if !p.setServerConn(t, sc) {
		_ = sc.Close()
		tx.term = [2]byte{'K', 'C'}
		return false
	}
	stickStore(be, tx.srv, &stk)
	return true
}

func (f *frontend) tcpLog(tx *tcpTxn) {
	p := f.p
	f.st.bytesIn.Add(tx.in)
	f.st.bytesOut.Add(tx.out)
	if tx.be != nil {
		tx.be.st.bytesIn.Add(tx.in)
		tx.be.st.bytesOut.Add(tx.out)
	}
	if tx.srv != nil {
		tx.srv.st.bytesIn.Add(tx.in)
		tx.srv.st.bytesOut.Add(tx.out)
	}
	if p.traf == nil {
		return
	}
	e := accesslog.TCP{
		Client:       tx.client,
		Accept:       tx.accept,
		Frontend:     f.logName(tx.sec),
		Tw:           tx.tw,
		Tc:           tx.tc,
		Tt:           p.now().Sub(tx.accept),
		Bytes:        tx.out,
		Term:         [4]byte{tx.term[0], tx.term[1], '-', '-'},
		Actconn:      int(p.actconn.Load()),
		Feconn:       int(f.st.sessCur.Load()),
		Retries:      tx.retries,
		Redispatched: tx.redispatched,
		BackendQueue: tx.beQueue,
	}
	if tx.be != nil {
		e.Backend = tx.be.name
		e.Beconn = int(tx.be.st.sessCur.Load())
	} else {
		e.Backend = f.name
	}
	if tx.srv != nil {
		e.Server = tx.srv.name
		e.Srvconn = int(tx.srv.cur.Load())
	} else {
		e.Server = accesslog.NoServer
	}
	var buf [512]byte
	p.traf(accesslog.AppendTCP(buf[:0], &e))
}
