package lb

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/tandemlb/tandem/lb/http1"
	"github.com/tandemlb/tandem/lb/rules"
)

// coalesceMax is the largest body sent in the same write as its head.
const coalesceMax = 8192

// errFraming marks a body whose chunked framing is invalid.
type errFraming struct{ err error }

func (e errFraming) Error() string { return "body framing: " + e.err.Error() }

// dialServer connects to srv; with send_proxy it first sends the PROXY
// header for a client connection from src to dst.
func dialServer(srv *server, timeout time.Duration, src, dst netip.AddrPort) (netConn, error) {
	d := net.Dialer{Timeout: timeout}
	c, err := d.Dial("tcp", srv.addr.String())
	srv.observeConnect(err)
	if err != nil {
		return nil, fmt.Errorf("dial %s/%s %s: %w", srv.be.name, srv.name, srv.addr, err)
	}
	tc := c.(*net.TCPConn)
	_ = tc.SetNoDelay(true)
	if srv.cfg.SendProxy != 0 {
		if err := sendProxyHeader(tc, srv.cfg.SendProxy, src, dst, timeout); err != nil {
			_ = tc.Close()
			return nil, fmt.Errorf("send PROXY header to %s/%s %s: %w", srv.be.name, srv.name, srv.addr, err)
		}
	}
	return srv.clientTLS(tc)
}

// forward sends the request to srv (whose slot the caller took), retrying
// the connection as configured, and relays the response. It releases the
// slot. false: close the client connection.
func (s *session) forward(be *backend, srv *server, key []byte) bool {
	tx := &s.tx
	tx.srv = srv
	defer func() { be.release(tx.srv) }()
	defer s.srv.Store(nil)

	bodyKind, bodyLen := s.req.Body()
	s.out = s.appendReqHead(s.out[:0], be)
	coalesced := false
	if bodyKind == http1.BodyLength && bodyLen <= coalesceMax && int64(s.w-s.r) >= bodyLen && !s.req.Expect100 {
		s.out = append(s.out, s.buf[s.r:s.r+int(bodyLen)]...)
		coalesced = true
	}
	// A request can be replayed on a fresh connection when a reused one
	// turns out to be closed, as long as nothing of it was consumed from
	// the client beyond what s.out holds.
	replayable := bodyKind == http1.BodyNone || coalesced

	var sc *srvConn
	fresh := false
	for {
		now := s.p.now()
		reused := false
		if !fresh {
			if sc = tx.srv.idle.get(now); sc != nil {
				reused = true
				tx.tc = 0
			}
		}
		if sc == nil {
			c, err := dialServer(tx.srv, be.timeouts.Connect, s.client, s.local)
			if err != nil {
				tx.srv.st.errConn.Add(1)
				be.st.errConn.Add(1)
				s.p.log.Debug().Err(err).Msg("connect failed")
				if tx.retries >= be.retries {
					tx.tc = -1
					tx.term = [2]byte{'S', 'C'}
					return s.localError(503)
				}
				tx.retries++
				tx.srv.st.retries.Add(1)
				be.st.retries.Add(1)
				if be.redispatch && tx.retries == be.retries {
					s.redispatch(be, key)
				}
				continue
			}
			tx.tc = s.p.now().Sub(now)
			sc = &srvConn{c: c, srv: tx.srv}
			sc.dl.c = c
		}
		s.srv.Store(sc)
		sc.dl.write(s.p.now(), be.timeouts.Server)
		if _, err := sc.c.Write(s.out); err != nil {
			_ = sc.c.Close()
			sc = nil
			if reused && replayable {
				fresh = true
				continue
			}
			tx.srv.st.errConn.Add(1)
			be.st.errConn.Add(1)
			tx.term = [2]byte{'S', 'C'}
			return s.localError(503)
		}
		if coalesced {
			s.r += int(bodyLen)
			tx.bytesIn += bodyLen
		}
		res := s.exchange(be, sc, reused && replayable, bodyKind, bodyLen, coalesced)
		if res == exStale {
			_ = sc.c.Close()
			sc = nil
			if coalesced {
				s.r -= int(bodyLen)
				tx.bytesIn -= bodyLen
			}
			fresh = true
			continue
		}
		return res == exKeep
	}
}

// redispatch moves the request to another server for its last retry.
func (s *session) redispatch(be *backend, key []byte) {
	tx := &s.tx
	ns, _ := be.acquire(key, tx.srv)
	if ns == nil {
		return
	}
	if ns == tx.srv {
		be.release(ns)
		return
	}
	tx.srv.st.redispatches.Add(1)
	be.st.redispatches.Add(1)
	be.release(tx.srv)
	tx.srv = ns
	tx.redispatched = true
	ns.st.lbtot.Add(1)
}

type exResult int

const (
	exKeep  exResult = iota // done, client connection stays open
	exClose                 // done, close the client connection
	exStale                 // reused server connection was dead: replay
)

type bodyResult struct{ rerr, werr error }

// exchange sends the request body, reads the response and relays it.
func (s *session) exchange(be *backend, sc *srvConn, canReplay bool, bodyKind http1.BodyKind, bodyLen int64, coalesced bool) exResult {
	tx := &s.tx
	srvTO := be.timeouts.Server
	cliTO := s.fe.timeouts.Client
	reqBodyDone := bodyKind == http1.BodyNone || coalesced

	var bodyc chan bodyResult
	if !reqBodyDone {
		if s.req.Expect100 {
			// The client waits for 100 Continue before sending its body:
			// read the response while the body (if any) is forwarded.
			bodyc = s.startBody(bodyKind, bodyLen, sc.c, cliTO, srvTO)
		} else {
			n, rerr, werr := s.pipe(bodyKind, bodyLen, s.conn, cliTO, s.buf, &s.r, &s.w, sc.c, srvTO, true)
			tx.bytesIn += n
			if r := s.reqBodyError(be, sc, rerr, werr); r >= 0 {
				return r
			}
			reqBodyDone = true
		}
	}

	// Response head, skipping (and relaying) interim 1xx responses.
	trStart := s.p.now()
	sc.dl.read(trStart, srvTO)
	s.rr, s.rw = 0, 0
	sent100 := false
	for {
		err := http1.ParseResponse(s.rbuf[s.rr:s.rw], s.p.limits, &s.resp)
		if err == http1.ErrNeedMore && s.rw < len(s.rbuf) {
			if s.rr > 0 {
				s.rw = copy(s.rbuf, s.rbuf[s.rr:s.rw])
				s.rr = 0
			}
			n, rerr := sc.c.Read(s.rbuf[s.rw:])
			s.rw += n
			if n == 0 && rerr != nil {
				if s.rw == 0 && canReplay && bodyc == nil {
					return exStale
				}
				s.abortBody(bodyc)
				tx.srv.st.errResp.Add(1)
				be.st.errResp.Add(1)
				_ = sc.c.Close()
				tx.close = true
				tx.srv.observeHeadError(rerr)
				if isTimeout(rerr) {
					tx.term = [2]byte{'s', 'H'}
					return s.serverError(504)
				}
				tx.term = [2]byte{'S', 'H'}
				return s.serverError(502)
			}
			continue
		}
		if err != nil {
			s.abortBody(bodyc)
			tx.srv.st.errResp.Add(1)
			be.st.errResp.Add(1)
			_ = sc.c.Close()
			tx.close = true
			tx.term = [2]byte{'P', 'H'}
			tx.srv.observeInvalidHead()
			s.p.log.Debug().Err(err).Str("server", be.name+"/"+tx.srv.name).Msg("invalid response")
			return s.serverError(502)
		}
		st := s.resp.Status
		if st >= 100 && st < 200 && st != 101 {
			if s.req.Major == 1 && s.req.Minor >= 1 {
				if err := s.writeClient(s.rbuf[s.rr : s.rr+s.resp.HeadLen]); err != nil {
					s.abortBody(bodyc)
					_ = sc.c.Close()
					tx.term = [2]byte{'C', 'H'}
					tx.close = true
					s.finish()
					return exClose
				}
				if st == 100 {
					sent100 = true
				}
			}
			s.rr += s.resp.HeadLen
			continue
		}
		break
	}
	tx.tr = s.p.now().Sub(trStart)
	tx.status = s.resp.Status
	tx.srv.observeStatus(tx.status)
	stickStore(be, tx.srv, &s.stk)

	if bodyc != nil {
		if !sent100 {
			// Final answer without 100 Continue: the client may never send
			// the body. Stop reading it and close afterwards.
			s.abortBody(bodyc)
			tx.close = true
			bodyc = nil
			reqBodyDone = false
		} else {
			r := <-bodyc
			bodyc = nil
			if res := s.reqBodyError(be, sc, r.rerr, r.werr); res >= 0 {
				return res
			}
			reqBodyDone = true
		}
	}

	s.rmsg.reset(&s.msg, &s.resp)
	if v := be.respRules.Apply(&s.rmsg); v.Kind != rules.Continue {
		_ = sc.c.Close()
		if v.Kind == rules.Deny {
			tx.srv.st.denied.Add(1)
			be.st.denied.Add(1)
			tx.term = [2]byte{'P', 'H'}
			tx.close = true
			return s.serverError(502)
		}
		s.verdict(v, nil)
		return exClose
	}

	if s.resp.Status == 101 {
		if !s.req.Upgrade {
			_ = sc.c.Close()
			tx.term = [2]byte{'P', 'H'}
			tx.close = true
			return s.serverError(502)
		}
		s.tunnel(be, sc)
		return exClose
	}

	if be.ck != nil {
		s.persistResponse(be)
	}
	rk, rn := s.resp.Body(s.req.Method)
	closeClient := tx.close || !s.req.KeepAlive || rk == http1.BodyUntilClose || s.p.stopping.Load()
	tx.close = closeClient
	s.out = s.appendRespHead(s.out[:0], closeClient)
	s.rr += s.resp.HeadLen
	if rk == http1.BodyLength && rn <= coalesceMax && int64(s.rw-s.rr) >= rn {
		s.out = append(s.out, s.rbuf[s.rr:s.rr+int(rn)]...)
		s.rr += int(rn)
		rk = http1.BodyNone
	}
	if err := s.writeClient(s.out); err != nil {
		_ = sc.c.Close()
		tx.close = true
		tx.term = [2]byte{'C', 'D'}
		if isTimeout(err) {
			tx.term[0] = 'c'
		}
		s.finish()
		return exClose
	}
	if rk != http1.BodyNone {
		n, rerr, werr := s.pipe(rk, rn, sc.c, srvTO, s.rbuf, &s.rr, &s.rw, s.conn, cliTO, false)
		tx.bytesOut += n
		if rk == http1.BodyUntilClose && rerr == nil && werr == nil {
			_ = sc.c.Close()
			s.finish()
			return exClose
		}
		if rerr != nil || werr != nil {
			_ = sc.c.Close()
			tx.close = true
			switch {
			case werr != nil && isTimeout(werr):
				tx.term = [2]byte{'c', 'D'}
			case werr != nil:
				tx.term = [2]byte{'C', 'D'}
			case isTimeout(rerr):
				tx.term = [2]byte{'s', 'D'}
				tx.srv.st.errResp.Add(1)
				be.st.errResp.Add(1)
			default:
				var fe errFraming
				if errors.As(rerr, &fe) {
					tx.term = [2]byte{'P', 'D'}
				} else {
					tx.term = [2]byte{'S', 'D'}
				}
				tx.srv.st.errResp.Add(1)
				be.st.errResp.Add(1)
			}
			s.finish()
			return exClose
		}
	}
	// The server connection is reusable when both messages were framed
	// completely and nothing extra arrived.
	if s.resp.KeepAlive && reqBodyDone && s.rr == s.rw && !s.p.stopping.Load() && tx.srv.idle.put(sc, s.p.now()) {
		// kept
	} else {
		_ = sc.c.Close()
	}
	s.srv.Store(nil)
	s.finish()
	if closeClient {
		return exClose
	}
	return exKeep
}

// startBody forwards the request body in its own goroutine (only for
// Expect: 100-continue, where the response may come first).
func (s *session) startBody(kind http1.BodyKind, n int64, dst netConn, cliTO, srvTO time.Duration) chan bodyResult {
	c := make(chan bodyResult, 1)
	go func() {
		moved, rerr, werr := s.pipe(kind, n, s.conn, cliTO, s.buf, &s.r, &s.w, dst, srvTO, true)
		s.tx.bytesIn += moved
		c <- bodyResult{rerr, werr}
	}()
	return c
}

// reqBodyError handles a failure while forwarding the request body; -1 if
// there was none.
func (s *session) reqBodyError(be *backend, sc *srvConn, rerr, werr error) exResult {
	tx := &s.tx
	if rerr == nil && werr == nil {
		return -1
	}
	_ = sc.c.Close()
	tx.close = true
	var fe errFraming
	switch {
	case rerr != nil && errors.As(rerr, &fe):
		s.fe.st.errReq.Add(1)
		tx.term = [2]byte{'P', 'D'}
		tx.status = 400
		s.sendError(400, true)
	case rerr != nil && isTimeout(rerr):
		tx.term = [2]byte{'c', 'D'}
		tx.status = 408
		s.sendError(408, true)
	case rerr != nil:
		tx.term = [2]byte{'C', 'D'}
	default:
		tx.srv.st.errResp.Add(1)
		be.st.errResp.Add(1)
		tx.term = [2]byte{'S', 'H'}
		tx.status = 502
		s.sendError(502, true)
	}
	s.finish()
	return exClose
}

// abortBody stops a concurrent request body copy and waits for it.
func (s *session) abortBody(bodyc chan bodyResult) {
	if bodyc == nil {
		return
	}
	_ = s.conn.SetReadDeadline(time.Unix(1, 0))
	<-bodyc
}

// serverError answers status after a server-side failure and logs.
func (s *session) serverError(status int) exResult {
	s.tx.status = status
	s.sendError(status, true)
	s.finish()
	return exClose
}

// pipe forwards one body framed as kind (n bytes for BodyLength) from src
// to dst; buf[*r:*w] holds bytes already read from src. Bytes read past the
// end of the body stay in buf[*r:*w]. rerr is a read-side failure (or
// errFraming), werr a write-side one.
func (s *session) pipe(kind http1.BodyKind, n int64, src netConn, srcTO time.Duration, buf []byte, r, w *int, dst netConn, dstTO time.Duration, request bool) (moved int64, rerr, werr error) {
	fill := func(limit int64) error {
		*r, *w = 0, 0
		_ = src.SetReadDeadline(s.p.now().Add(srcTO))
		b := buf
		if limit > 0 && limit < int64(len(b)) {
			b = b[:limit]
		}
		k, err := src.Read(b)
		*w = k
		if k > 0 {
			return nil
		}
		if err == nil || err == io.EOF {
			return io.EOF
		}
		return err
	}
	send := func(b []byte) error {
		_ = dst.SetWriteDeadline(s.p.now().Add(dstTO))
		_, err := dst.Write(b)
		return err
	}
	switch kind {
	case http1.BodyLength:
		for n > 0 {
			if *r == *w && n >= spliceMin {
				if sp := s.splicer(request); sp != nil {
					k, rerr, werr := spliceBody(sp, n, src, dst, srcTO, dstTO, s.p.now)
					return moved + k, rerr, werr
				}
			}
			if *r == *w {
				if err := fill(n); err != nil {
					if err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return moved, err, nil
				}
			}
			m := int(min(int64(*w-*r), n))
			if err := send(buf[*r : *r+m]); err != nil {
				return moved, nil, err
			}
			*r += m
			n -= int64(m)
			moved += int64(m)
		}
	case http1.BodyChunked:
		cs := &s.respChunks
		if request {
			cs = &s.chunks
		}
		cs.Reset()
		for {
			if *r == *w {
				if err := fill(0); err != nil {
					if err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return moved, err, nil
				}
			}
			k, done, err := cs.Scan(buf[*r:*w])
			if k > 0 {
				if werr := send(buf[*r : *r+k]); werr != nil {
					return moved, nil, werr
				}
				*r += k
				moved += int64(k)
			}
			if err != nil {
				return moved, errFraming{err}, nil
			}
			if done {
				return moved, nil, nil
			}
		}
	case http1.BodyUntilClose:
		for {
			if *r == *w {
				if err := fill(0); err != nil {
					if err == io.EOF {
						return moved, nil, nil
					}
					return moved, err, nil
				}
			}
			if err := send(buf[*r:*w]); err != nil {
				return moved, nil, err
			}
			moved += int64(*w - *r)
			*r = *w
		}
	}
	return moved, nil, nil
}

// appendReqHead writes the request head for the server: the (edited)
// request line and headers, minus hop-by-hop ones, plus X-Forwarded-For
// and the connection header tandem wants towards the server (keep-alive).
func (s *session) appendReqHead(dst []byte, be *backend) []byte {
	m := &s.msg
	dst = append(dst, s.req.Method...)
	dst = append(dst, ' ')
	dst = m.appendTarget(dst)
	dst = append(dst, ' ')
	dst = append(dst, s.req.Proto...)
	dst = append(dst, "\r\n"...)
	for _, f := range m.h.list {
		if hopByHop(f.name) {
			continue
		}
		dst = http1.AppendHeader(dst, f.name, f.value)
	}
	xff := be.xff
	if xff == nil {
		xff = s.fe.xff
	}
	if xff != nil && !excepted(xff, s.client) {
		name := xff.Header
		if name == "" {
			name = DefaultXFF
		}
		dst = append(dst, name...)
		dst = append(dst, ": "...)
		dst = s.client.Addr().AppendTo(dst)
		dst = append(dst, "\r\n"...)
	}
	switch {
	case s.req.Upgrade:
		dst = append(dst, "Connection: upgrade\r\n"...)
	case s.req.Minor == 0:
		dst = append(dst, "Connection: keep-alive\r\n"...)
	}
	return append(dst, "\r\n"...)
}

func excepted(x *ForwardFor, c netip.AddrPort) bool {
	a := c.Addr()
	for _, p := range x.Except {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// appendRespHead writes the response head for the client.
func (s *session) appendRespHead(dst []byte, closeClient bool) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(s.resp.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, s.resp.Reason...)
	dst = append(dst, "\r\n"...)
	for _, f := range s.rmsg.h.list {
		if hopByHop(f.name) {
			continue
		}
		dst = http1.AppendHeader(dst, f.name, f.value)
	}
	switch {
	case s.resp.Status == 101:
		dst = append(dst, "Connection: upgrade\r\n"...)
	case closeClient:
		dst = append(dst, "Connection: close\r\n"...)
	case s.req.Minor == 0:
		dst = append(dst, "Connection: keep-alive\r\n"...)
	}
	return append(dst, "\r\n"...)
}
