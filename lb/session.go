package lb

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tandemlb/tandem/lb/accesslog"
	"github.com/tandemlb/tandem/lb/balance"
	"github.com/tandemlb/tandem/lb/cookie"
	"github.com/tandemlb/tandem/lb/http1"
	"github.com/tandemlb/tandem/lb/rules"
)

// session is one client connection in HTTP mode: one goroutine handles its
// requests in turn. Everything a request needs is in its work, taken from a
// pool when a request arrives and given back while the connection waits for
// the next one, so that an idle keep-alive connection holds only this
// struct and a small goroutine stack (see idle.go), and the steady state
// allocates nothing.
type session struct {
	p       *Proxy
	fe      *frontend
	conn    netConn
	client  netip.AddrPort
	local   netip.AddrPort // address the client connected to (from PROXY with accept_proxy)
	dstPort int
	accept  time.Time

	buf  []byte // client side: request heads and bodies; nil while idle
	r, w int    // buf[r:w] is read but not yet consumed
	bufp *[]byte

	idle atomic.Bool             // waiting for a new request
	srv  atomic.Pointer[srvConn] // server connection in use, for hard stop
	sec  *connSec                // TLS state; nil for plain connections
	iw   idleReader              // waits for a request without a buffer
	cw   deadlines               // client write deadline, set lazily

	*work // nil while waiting for a request
}

// work is the state of the request being handled and its reused buffers.
type work struct {
	rbuf   []byte // server side: response heads and bodies
	rr, rw int
	rbufp  *[]byte

	out       []byte // rebuilt heads
	ckArena   []byte // header values persistence rewrote, this request
	ckScratch []byte
	skey      []byte // stick key scratch
	stk       stickTxn
	reqLine   []byte // copy of the request line, for the log
	logBuf    []byte
	keyBuf    [16]byte

	req        http1.Request
	resp       http1.Response
	msg        reqMsg
	rmsg       respMsg
	chunks     http1.ChunkScanner // request bodies
	respChunks http1.ChunkScanner // response bodies
	entry      accesslog.HTTP
	spReq      splicer // request bodies, client to server
	spResp     splicer // response bodies, server to client

	wt    waiter
	timer *time.Timer

	tx txn
}

// txn is the state of the request being handled, for the log line.
type txn struct {
	start        time.Time
	tq, tw, tc   time.Duration
	tr           time.Duration
	status       int
	bytesIn      int64
	bytesOut     int64
	term         [2]byte
	be           *backend
	srv          *server
	retries      int
	redispatched bool
	close        bool // close the client connection after this response
	srvQueue     int
	beQueue      int
	pinned       *server // server persistence chose; nil = balanced
	ckReq        cookie.Request
	ckResp       cookie.Response
}

func (f *frontend) serveHTTP(c netConn, sec *connSec) {
	p := f.p
	s := &session{
		p:      p,
		fe:     f,
		conn:   c,
		sec:    sec,
		accept: p.now(),
	}
	s.client, s.local = f.connAddrs(c)
	s.dstPort = int(s.local.Port())
	s.cw.c = c
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
		s.iw.init(tc)
	}
	p.register(s)
	defer func() {
		p.unregister(s)
		_ = c.Close()
		s.releaseWork()
		s.releaseBuf()
	}()
	for first := true; ; first = false {
		if s.r == s.w && !s.awaitRequest(first) {
			return
		}
		if !s.readHead(first) {
			return
		}
		if !s.handle() {
			return
		}
		if p.stopping.Load() {
			return
		}
	}
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// readHead reads and parses the next request head. false: close the
// connection (any error answer and log line are done).
func (s *session) readHead(first bool) bool {
	t := &s.fe.timeouts
	if s.r > 0 {
		s.w = copy(s.buf, s.buf[s.r:s.w])
		s.r = 0
	}
	start := s.accept
	if !first {
		start = s.p.now()
		_ = s.conn.SetReadDeadline(start.Add(t.HTTPRequest))
	}
	s.tx = txn{start: start, tq: -1, tw: -1, tc: -1, tr: -1, status: -1}
	for {
		err := http1.ParseRequest(s.buf[:s.w], s.p.limits, &s.req)
		if err == nil {
			break
		}
		if err == http1.ErrNeedMore && s.w < len(s.buf) {
			n, rerr := s.conn.Read(s.buf[s.w:])
			s.w += n
			if rerr != nil && n == 0 {
				s.fe.st.errReq.Add(1)
				s.reqLine = s.reqLine[:0]
				if isTimeout(rerr) {
					s.tx.status = 408
					s.tx.term = [2]byte{'c', 'R'}
					s.sendError(408, true)
				} else {
					// Client gone mid-head: nothing to answer.
					s.tx.status = 400
					s.tx.term = [2]byte{'C', 'R'}
				}
				s.finish()
				return false
			}
			continue
		}
		status := 400
		var he *http1.Error
		if errors.As(err, &he) {
			status = he.Status
		}
		s.fe.st.errReq.Add(1)
		s.reqLine = s.reqLine[:0]
		s.tx.status = status
		s.tx.term = [2]byte{'P', 'R'}
		s.p.log.Debug().Err(err).Str("frontend", s.fe.name).Stringer("client", s.client).Msg("bad request")
		s.sendError(status, true)
		s.finish()
		return false
	}
	now := s.p.now()
	s.tx.tq = now.Sub(start)
	l := append(s.reqLine[:0], s.req.Method...)
	l = append(l, ' ')
	l = append(l, s.req.Target...)
	l = append(l, ' ')
	s.reqLine = append(l, s.proto()...)
	s.r = s.req.HeadLen
	s.tx.bytesIn = int64(s.req.HeadLen)
	return true
}

// sendError writes HAProxy's page for status; close adds connection: close.
func (s *session) sendError(status int, close bool) {
	page := errorResponse(status, close)
	s.writeClient(page)
	if close {
		s.tx.close = true
	}
}

// writeClient writes b to the client within timeout_client and counts it.
func (s *session) writeClient(b []byte) error {
	s.cw.write(s.p.now(), s.fe.timeouts.Client)
	n, err := s.conn.Write(b)
	s.tx.bytesOut += int64(n)
	return err
}

// handle serves one parsed request. false: close the client connection.
func (s *session) handle() bool {
	s.fe.st.requests.Add(1)
	s.msg.reset(&s.req, s.client.Addr(), s.dstPort)
	s.tx.close = !s.req.KeepAlive

	if v := s.fe.reqRules.Apply(&s.msg); v.Kind != rules.Continue {
		return s.verdict(v, nil)
	}
	var be *backend
	for _, u := range s.fe.uses {
		if u.cond.Match(&s.msg) {
			be = u.be
			break
		}
	}
	if be == nil {
		be = s.fe.def
	}
	if be == nil {
		s.tx.term = [2]byte{'S', 'C'}
		return s.localError(503)
	}
	s.tx.be = be
	be.st.requests.Add(1)
	be.st.open()
	defer be.st.close()
	if v := be.reqRules.Apply(&s.msg); v.Kind != rules.Continue {
		return s.verdict(v, be)
	}

	var pinned *server
	if be.ck != nil || be.stk != nil {
		pinned = s.persistHTTP(be)
	}
	key := s.hashKey(be)
	t0 := s.p.now()
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
			s.tx.term = [2]byte{'S', 'C'}
			s.tx.tw = s.p.now().Sub(t0)
			return s.localError(503)
		}
		s.wt.key, s.wt.want = key, pinned
		s.tx.beQueue = int(be.queued.Load())
		srv = be.wait(&s.wt, s.timer, be.timeouts.Queue)
		s.wt.key, s.wt.want = nil, nil
		if srv == nil {
			s.tx.term = [2]byte{'s', 'Q'}
			s.tx.tw = s.p.now().Sub(t0)
			return s.localError(503)
		}
	}
	s.tx.tw = s.p.now().Sub(t0)
	srv.st.lbtot.Add(1)
	be.st.lbtot.Add(1)
	keep := s.forward(be, srv, key)
	return keep
}

// localError answers status without a server, logs, and says whether the
// client connection can stay open.
func (s *session) localError(status int) bool {
	s.tx.status = status
	s.sendError(status, s.tx.close || s.bodyPending())
	s.finish()
	return !s.tx.close
}

func (s *session) bodyPending() bool {
	k, _ := s.req.Body()
	if k != http1.BodyNone {
		s.tx.close = true
		return true
	}
	return false
}

// verdict answers a final rule verdict (deny, redirect, return).
func (s *session) verdict(v rules.Verdict, be *backend) bool {
	closing := s.tx.close || s.bodyPending()
	switch {
	case v.Kind == rules.Deny && len(v.Body) == 0:
		s.fe.st.denied.Add(1)
		if be != nil {
			be.st.denied.Add(1)
		}
		st := v.Status
		if st == 0 {
			st = 403
		}
		s.tx.status = st
		s.tx.term = [2]byte{'P', 'R'}
		s.sendError(st, closing)
	default: // Redirect, Return, Deny with a body
		if v.Kind == rules.Deny {
			s.fe.st.denied.Add(1)
			if be != nil {
				be.st.denied.Add(1)
			}
		}
		st := v.Status
		if st == 0 {
			st = 302
			if v.Kind == rules.Return {
				st = 200
			}
		}
		s.tx.status = st
		s.tx.term = [2]byte{'L', 'R'}
		if v.Kind == rules.Deny {
			s.tx.term = [2]byte{'P', 'R'}
		}
		o := append(s.out[:0], "HTTP/1.1 "...)
		o = strconv.AppendInt(o, int64(st), 10)
		o = append(o, ' ')
		o = append(o, statusText(st)...)
		o = append(o, "\r\ncontent-length: "...)
		o = strconv.AppendInt(o, int64(len(v.Body)), 10)
		o = append(o, "\r\n"...)
		if len(v.Location) > 0 {
			o = append(o, "location: "...)
			o = append(o, v.Location...)
			o = append(o, "\r\n"...)
		}
		if len(v.ContentType) > 0 {
			o = append(o, "content-type: "...)
			o = append(o, v.ContentType...)
			o = append(o, "\r\n"...)
		}
		if v.Kind == rules.Redirect {
			o = append(o, "cache-control: no-cache\r\n"...)
		}
		if closing {
			o = append(o, "connection: close\r\n"...)
		}
		o = append(o, "\r\n"...)
		o = append(o, v.Body...)
		s.out = o
		s.writeClient(o)
	}
	if closing {
		s.tx.close = true
	}
	s.finish()
	return !s.tx.close
}

// hashKey computes the balancing key of a hashing algorithm; nil for the
// others (and when the parameter or header is missing: round-robin).
func (s *session) hashKey(be *backend) []byte {
	switch be.algo {
	case balance.Source:
		a := s.client.Addr()
		if a.Is4() {
			v := a.As4()
			copy(s.keyBuf[:], v[:])
			return s.keyBuf[:4]
		}
		v := a.As16()
		copy(s.keyBuf[:], v[:])
		return s.keyBuf[:16]
	case balance.URI:
		var u []byte
		if be.cfg.URIWhole {
			u = s.msg.URL()
		} else {
			u = s.msg.Path()
		}
		if d := be.cfg.URIDepth; d > 0 {
			n := 0
			for i, c := range u {
				if c == '/' {
					n++
					if n > d {
						u = u[:i]
						break
					}
				}
			}
		}
		if l := be.cfg.URILen; l > 0 && len(u) > l {
			u = u[:l]
		}
		return u
	case balance.URLParam:
		return urlParam(s.msg.Query(), be.algoArg)
	case balance.Header:
		return s.msg.h.getString(be.algoArg)
	}
	return nil
}

// urlParam returns the value of the first name=value in a query string.
func urlParam(q []byte, name string) []byte {
	for len(q) > 0 {
		var kv []byte
		if i := indexAny2(q, '&', ';'); i >= 0 {
			kv, q = q[:i], q[i+1:]
		} else {
			kv, q = q, nil
		}
		if len(kv) > len(name) && kv[len(name)] == '=' && string(kv[:len(name)]) == name {
			return kv[len(name)+1:]
		}
	}
	return nil
}

func indexAny2(b []byte, c1, c2 byte) int {
	for i, c := range b {
		if c == c1 || c == c2 {
			return i
		}
	}
	return -1
}

func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	}
	if t := httpStatusText(code); t != "" {
		return t
	}
	return "Unknown"
}

// finish counts the response and emits the log line.
func (s *session) finish() {
	tx := &s.tx
	now := s.p.now()
	fe := s.fe
	if tx.status > 0 {
		fe.st.status(tx.status)
	}
	fe.st.bytesIn.Add(tx.bytesIn)
	fe.st.bytesOut.Add(tx.bytesOut)
	if be := tx.be; be != nil {
		if tx.status > 0 {
			be.st.status(tx.status)
		}
		be.st.bytesIn.Add(tx.bytesIn)
		be.st.bytesOut.Add(tx.bytesOut)
	}
	if srv := tx.srv; srv != nil {
		if tx.status > 0 {
			srv.st.status(tx.status)
		}
		srv.st.bytesIn.Add(tx.bytesIn)
		srv.st.bytesOut.Add(tx.bytesOut)
	}
	if s.p.traf == nil {
		return
	}
	e := &s.entry
	*e = accesslog.HTTP{
		Client:       s.client,
		Accept:       tx.start,
		Frontend:     fe.logName(s.sec),
		Tq:           tx.tq,
		Tw:           tx.tw,
		Tc:           tx.tc,
		Tr:           tx.tr,
		Ta:           now.Sub(tx.start),
		Status:       tx.status,
		Bytes:        tx.bytesOut,
		Term:         [4]byte{tx.term[0], tx.term[1], '-', '-'},
		Actconn:      int(s.p.actconn.Load()),
		Feconn:       int(fe.st.sessCur.Load()),
		Retries:      tx.retries,
		Redispatched: tx.redispatched,
		SrvQueue:     tx.srvQueue,
		BackendQueue: tx.beQueue,
		RequestLine:  s.reqLine,
	}
	if e.Term[0] == 0 {
		e.Term[0] = '-'
	}
	if e.Term[1] == 0 {
		e.Term[1] = '-'
	}
	if be := tx.be; be != nil && be.ck != nil {
		e.Term[2] = cookieFlag(byte(tx.ckReq.Status))
		e.Term[3] = cookieFlag(byte(tx.ckResp.Status))
	}
	if be := tx.be; be != nil {
		e.Backend = be.name
		e.Beconn = int(be.st.sessCur.Load())
	}
	if srv := tx.srv; srv != nil {
		e.Server = srv.name
		e.Srvconn = int(srv.cur.Load())
	}
	s.logBuf = accesslog.AppendHTTP(s.logBuf[:0], e)
	s.p.traf(s.logBuf)
}
