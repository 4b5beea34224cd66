package lb

import (
	"io"
	"sync/atomic"
	"time"
)

// tunnelTimeout is timeout_tunnel, else the larger of client and server
// timeouts (HAProxy uses them when no tunnel timeout is set).
func tunnelTimeout(fe *frontend, be *backend) time.Duration {
	if be.timeouts.Tunnel > 0 {
		return be.timeouts.Tunnel
	}
	if fe.timeouts.Tunnel > 0 {
		return fe.timeouts.Tunnel
	}
	return max(fe.timeouts.Client, be.timeouts.Server)
}

// activity is the last time bytes moved in either direction of a tunnel:
// the tunnel timeout is inactivity of the whole tunnel, so a direction
// that is quiet while the other one streams is not cut.
type activity struct {
	last    atomic.Int64
	stopped atomic.Bool // one direction failed: the other must end too
}

func (a *activity) touch(now time.Time) { a.last.Store(now.UnixNano()) }

// copyDir copies src to dst until EOF (then half-closes dst) or an error.
// Read timeouts are re-armed while the other direction is active.
func copyDir(src, dst netConn, buf []byte, to time.Duration, act *activity, now func() time.Time) (n int64, rerr, werr error) {
	for {
		_ = src.SetReadDeadline(now().Add(to))
		k, err := src.Read(buf)
		if k > 0 {
			act.touch(now())
			_ = dst.SetWriteDeadline(now().Add(to))
			if _, err := dst.Write(buf[:k]); err != nil {
				return n, nil, err
			}
			n += int64(k)
			continue
		}
		if err == nil {
			continue
		}
		if err == io.EOF {
			_ = dst.CloseWrite()
			return n, nil, nil
		}
		if isTimeout(err) && !act.stopped.Load() && now().Sub(time.Unix(0, act.last.Load())) < to {
			continue
		}
		return n, err, nil
	}
}

// tunnel relays bytes both ways after a 101 Switching Protocols, until
// both sides closed, one failed, or the tunnel was idle for its timeout.
func (s *session) tunnel(be *backend, sc *srvConn) {
	tx := &s.tx
	tx.close = true
	defer func() {
		_ = sc.c.Close()
		s.finish()
	}()
	to := tunnelTimeout(s.fe, be)
	s.out = s.appendRespHead(s.out[:0], false)
	s.rr += s.resp.HeadLen
	s.out = append(s.out, s.rbuf[s.rr:s.rw]...)
	s.rr = s.rw
	if err := s.writeClient(s.out); err != nil {
		tx.term = [2]byte{'C', 'D'}
		return
	}
	if s.r < s.w {
		_ = sc.c.SetWriteDeadline(s.p.now().Add(to))
		n, err := sc.c.Write(s.buf[s.r:s.w])
		tx.bytesIn += int64(n)
		if err != nil {
			tx.term = [2]byte{'S', 'D'}
			return
		}
	}
	s.r, s.w = 0, 0
	in, out, term := relay(s.conn, sc.c, s.buf, s.rbuf, to, to, s.p.now)
	tx.bytesIn += in
	tx.bytesOut += out
	tx.term = term
}

// relay copies both ways between a client and a server connection until
// both directions ended (each EOF is passed on as a half-close) or one
// failed. It returns the bytes from the client (in) and to it (out), and
// the termination state of whichever side failed first ("--" if none).
func relay(cli, srv netConn, cbuf, sbuf []byte, cliTO, srvTO time.Duration, now func() time.Time) (in, out int64, term [2]byte) {
	var act activity
	act.touch(now())
	// first records which side failed first: the other direction is then
	// stopped on purpose and its error says nothing.
	var first atomic.Value // [2]byte
	up := make(chan int64, 1)
	go func() {
		n, rerr, werr := copyDir(cli, srv, cbuf, cliTO, &act, now)
		switch {
		case rerr != nil && isTimeout(rerr):
			first.CompareAndSwap(nil, [2]byte{'c', 'D'})
		case rerr != nil:
			first.CompareAndSwap(nil, [2]byte{'C', 'D'})
		case werr != nil:
			first.CompareAndSwap(nil, [2]byte{'S', 'D'})
		}
		if rerr != nil || werr != nil {
			act.stopped.Store(true)
			_ = srv.SetReadDeadline(time.Unix(1, 0)) // stop the other direction
		}
		up <- n
	}()
	out, rerr, werr := copyDir(srv, cli, sbuf, srvTO, &act, now)
	switch {
	case rerr != nil && isTimeout(rerr):
		first.CompareAndSwap(nil, [2]byte{'s', 'D'})
	case rerr != nil:
		first.CompareAndSwap(nil, [2]byte{'S', 'D'})
	case werr != nil:
		first.CompareAndSwap(nil, [2]byte{'C', 'D'})
	}
	if rerr != nil || werr != nil {
		act.stopped.Store(true)
		_ = cli.SetReadDeadline(time.Unix(1, 0))
	}
	in = <-up
	term = [2]byte{'-', '-'}
	if t, ok := first.Load().([2]byte); ok {
		term = t
	}
	return in, out, term
}
