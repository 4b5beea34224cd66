package lb

import (
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

// serveTCP handles one TCP-mode connection: pick a server (source hashing
// on the client address for `balance source`), connect with retries, then
// copy both ways until both sides closed; one tcplog line at the end.
func (f *frontend) serveTCP(c netConn, sec *connSec) {
	p := f.p
	defer func() { _ = c.Close() }()
	// Registered so that hard-stop-after can close it.
	reg := &session{conn: c}
	p.register(reg)
	defer p.unregister(reg)
	tx := tcpTxn{accept: p.now(), tw: -1, tc: -1, term: [2]byte{'-', '-'}, sec: sec}
	var local netip.AddrPort
	tx.client, local = f.connAddrs(c)
	smp := tcpSample{src: tx.client.Addr(), sec: sec, dstPort: int(local.Port())}
	defer func() { f.tcpLog(&tx) }()

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
		return
	}
	tx.be = be
	be.st.open()
	defer be.st.close()

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
			return
		}
		w := waiter{key: key, want: pinned, ch: make(chan *server, 1)}
		t := time.NewTimer(time.Hour)
		tx.beQueue = int(be.queued.Load())
		srv = be.wait(&w, t, be.timeouts.Queue)
		t.Stop()
		if srv == nil {
			tx.tw = p.now().Sub(t0)
			tx.term = [2]byte{'s', 'Q'}
			return
		}
	}
	tx.tw = p.now().Sub(t0)
	tx.srv = srv
	srv.st.lbtot.Add(1)
	be.st.lbtot.Add(1)
	defer func() { be.release(tx.srv) }()

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
			return
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
	defer func() { _ = sc.Close() }()
	stickStore(be, tx.srv, &stk)
	reg.srv.Store(&srvConn{c: sc, srv: tx.srv})

	tx.in, tx.out, tx.term = relayTCP(c, sc, &p.bufs, f.timeouts.Client, be.timeouts.Server, p.now)
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
