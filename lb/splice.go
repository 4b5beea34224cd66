package lb

import (
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Large transfers between two plain TCP connections go through the kernel
// with splice(2): socket → pipe → socket, no copy into the process and one
// system call per direction for up to a pipe's worth of bytes (64 KiB)
// instead of one per 16 KiB buffer. HTTP bodies framed by Content-Length
// use it once the bytes already read are forwarded (forward.go's pipe);
// the TCP relay switches a direction to it when a read fills the whole
// buffer, as HAProxy's splice-auto does. Small messages stay on
// read/write, which costs the same number of calls without the pipe.

// spliceMin is the smallest remaining body worth a splice.
const spliceMin = 8192

// pipeCap is the pipe size asked for (the default on Linux).
const pipeCap = 64 << 10

// kpipe is a pipe used for splicing; n bytes sit in it.
type kpipe struct {
	r, w int
	n    int
}

// pipes keeps a few empty pipes for reuse; a pipe that still holds bytes
// (a failed transfer) is closed, never reused.
var pipes pipeCache

type pipeCache struct {
	mu   sync.Mutex
	free []*kpipe
}

const pipeCacheMax = 64

func (c *pipeCache) get() (*kpipe, error) {
	c.mu.Lock()
	if n := len(c.free); n > 0 {
		p := c.free[n-1]
		c.free = c.free[:n-1]
		c.mu.Unlock()
		return p, nil
	}
	c.mu.Unlock()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	return &kpipe{r: fds[0], w: fds[1]}, nil
}

func (c *pipeCache) put(p *kpipe) {
	if p.n == 0 {
		c.mu.Lock()
		if len(c.free) < pipeCacheMax {
			c.free = append(c.free, p)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
	}
	_ = unix.Close(p.r)
	_ = unix.Close(p.w)
}

// splicer moves bytes from one TCP connection to another through a pipe.
// Its callbacks are built once, so a transfer allocates nothing.
type splicer struct {
	src, dst syscall.RawConn
	p        *kpipe
	limit    int // bytes the next fill may take
	fillFn   func(fd uintptr) bool
	drainFn  func(fd uintptr) bool
	eof      bool
	err      error // of the last callback
	noWait   bool  // step returns (idle) instead of waiting for bytes
	idle     bool  // the last step found src drained and the pipe empty
}

// newSplicer returns a splicer from src to dst, or nil when one of them is
// not a plain TCP connection.
func newSplicer(src, dst netConn) *splicer {
	sr, dr := rawConn(src), rawConn(dst)
	if sr == nil || dr == nil {
		return nil
	}
	sp := &splicer{}
	sp.init(sr, dr)
	return sp
}

// init points sp at src and dst (both plain TCP connections).
func (sp *splicer) init(src, dst syscall.RawConn) {
	sp.src, sp.dst = src, dst
	if sp.fillFn == nil {
		sp.fillFn = sp.fill
		sp.drainFn = sp.drain
	}
}

// rawConn returns c's RawConn when c is a plain TCP connection, else nil.
func rawConn(c netConn) syscall.RawConn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// spliceBody moves the last n bytes of a body framed by Content-Length
// from src to dst with sp, which init pointed at them.
func spliceBody(sp *splicer, n int64, src, dst netConn, srcTO, dstTO time.Duration, now func() time.Time) (moved int64, rerr, werr error) {
	defer sp.close()
	rd, wd := deadlines{c: src}, deadlines{c: dst}
	for n > 0 {
		k, rerr, werr := sp.step(n, &rd, &wd, srcTO, dstTO, now)
		moved += int64(k)
		n -= int64(k)
		if werr != nil {
			return moved, nil, werr
		}
		if rerr == io.EOF {
			return moved, io.ErrUnexpectedEOF, nil
		}
		if rerr != nil {
			return moved, rerr, nil
		}
	}
	return moved, nil, nil
}

// close gives the pipe back.
func (sp *splicer) close() {
	if sp != nil && sp.p != nil {
		pipes.put(sp.p)
		sp.p = nil
	}
}

func (sp *splicer) fill(fd uintptr) bool {
	for {
		k, err := unix.Splice(int(fd), nil, sp.p.w, nil, sp.limit, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			sp.idle = sp.noWait
			return sp.noWait
		case err != nil:
			sp.err = os.NewSyscallError("splice", err)
		case k == 0:
			sp.eof = true
		default:
			sp.p.n += int(k)
		}
		return true
	}
}

func (sp *splicer) drain(fd uintptr) bool {
	for sp.p.n > 0 {
		k, err := unix.Splice(sp.p.r, nil, int(fd), nil, sp.p.n, unix.SPLICE_F_MOVE|unix.SPLICE_F_NONBLOCK)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false
		case err != nil:
			sp.err = os.NewSyscallError("splice", err)
			return true
		}
		sp.p.n -= int(k)
	}
	return true
}

// step moves one pipe's worth at most (limit bytes, ≤ 0 for pipeCap)
// from src to dst: it waits up to srcTO for bytes, then up to dstTO for
// room to deliver all of them, so the timeouts count inactivity, not a
// whole transfer. got is what reached dst; rerr is io.EOF when src ended.
func (sp *splicer) step(limit int64, src, dst *deadlines, srcTO, dstTO time.Duration, now func() time.Time) (got int, rerr, werr error) {
	if sp.p == nil {
		p, err := pipes.get()
		if err != nil {
			return 0, err, nil
		}
		sp.p = p
	}
	sp.limit = pipeCap
	if limit > 0 && limit < int64(sp.limit) {
		sp.limit = int(limit)
	}
	src.read(now(), srcTO)
	sp.eof, sp.err, sp.idle = false, nil, false
	if err := sp.src.Read(sp.fillFn); err != nil {
		return 0, err, nil
	}
	if sp.idle {
		return 0, nil, nil // the pipe is empty: the last step drained it
	}
	if sp.err != nil {
		return 0, sp.err, nil
	}
	if sp.eof {
		return 0, io.EOF, nil
	}
	in := sp.p.n
	dst.write(now(), dstTO)
	if err := sp.dst.Write(sp.drainFn); err != nil {
		return in - sp.p.n, nil, err
	}
	if sp.err != nil {
		return in - sp.p.n, nil, sp.err
	}
	return in, nil, nil
}

// deadlines sets a connection's read and write deadlines lazily: a
// deadline still at least the timeout away is left alone, so that a
// connection streaming many chunks re-arms its timers about once per
// deadlineSlack instead of once per read or write. The timeout then
// counts inactivity from up to deadlineSlack later than the last chunk.
type deadlines struct {
	c      netConn
	rd, wd time.Time // as set; zero: unknown, set on next use
}

// deadlineSlack bounds how late a lazily set deadline may be, relative to
// the timeout (at most an eighth of it).
const deadlineSlack = time.Second

func slack(to time.Duration) time.Duration { return min(deadlineSlack, to/8) }

func (d *deadlines) read(now time.Time, to time.Duration) {
	if at := now.Add(to); d.rd.IsZero() || at.After(d.rd) {
		d.rd = at.Add(slack(to))
		_ = d.c.SetReadDeadline(d.rd)
	}
}

func (d *deadlines) write(now time.Time, to time.Duration) {
	if at := now.Add(to); d.wd.IsZero() || at.After(d.wd) {
		d.wd = at.Add(slack(to))
		_ = d.c.SetWriteDeadline(d.wd)
	}
}

// forget says another party changed the deadlines (to stop a transfer):
// the next use sets them again.
func (d *deadlines) forget() { d.rd, d.wd = time.Time{}, time.Time{} }

// relayTCP is relay for TCP mode: the same contract (both directions until
// both ended or one failed; in, out and the termination state), with
// deadlines set lazily, buffers from bufs taken only while bytes move
// (tcprelay.go) and a direction switched to splice(2) once a read fills
// its whole buffer. The state is on the heap and the caller's goroutine
// runs the server-to-client direction from a small frame, so that an idle
// connection's two goroutines keep small stacks.
func relayTCP(cli, srv netConn, bufs *sync.Pool, cliTO, srvTO time.Duration, now func() time.Time) (in, out int64, term [2]byte) {
	r := startRelayTCP(cli, srv, bufs, cliTO, srvTO, now)
	r.down()
	return r.wait()
}

// tcpRelay is relayTCP's state.
type tcpRelay struct {
	act      activity
	first    atomic.Value // [2]byte: the side that failed first
	up, dn   *relayState
	upDone   chan struct{}
	in, out  int64
	cli, srv netConn
}

//go:noinline
func startRelayTCP(cli, srv netConn, bufs *sync.Pool, cliTO, srvTO time.Duration, now func() time.Time) *tcpRelay {
	r := &tcpRelay{cli: cli, srv: srv, upDone: make(chan struct{})}
	r.act.touch(now())
	r.up = newRelayState(cli, srv, bufs, cliTO, &r.act, now)
	r.dn = newRelayState(srv, cli, bufs, srvTO, &r.act, now)
	go r.upward()
	return r
}

// upward relays client to server.
func (r *tcpRelay) upward() {
	defer close(r.upDone)
	defer r.up.close()
	n, rerr, werr := r.up.loop()
	r.in = n
	if rerr != nil || werr != nil {
		r.ended(rerr, werr, [3]byte{'c', 'C', 'S'}, r.srv)
	}
}

// down relays server to client.
func (r *tcpRelay) down() {
	defer r.dn.close()
	n, rerr, werr := r.dn.loop()
	r.out = n
	if rerr != nil || werr != nil {
		r.ended(rerr, werr, [3]byte{'s', 'S', 'C'}, r.cli)
	}
}

// ended records a direction's failure (codes: read timeout, read error,
// write error, each with 'D') and stops the other direction by reading
// from other, its source.
//
//go:noinline
func (r *tcpRelay) ended(rerr, werr error, codes [3]byte, other netConn) {
	switch {
	case rerr != nil && isTimeout(rerr):
		r.first.CompareAndSwap(nil, [2]byte{codes[0], 'D'})
	case rerr != nil:
		r.first.CompareAndSwap(nil, [2]byte{codes[1], 'D'})
	case werr != nil:
		r.first.CompareAndSwap(nil, [2]byte{codes[2], 'D'})
	}
	r.act.stopped.Store(true)
	_ = other.SetReadDeadline(time.Unix(1, 0))
}

func (r *tcpRelay) wait() (in, out int64, term [2]byte) {
	<-r.upDone
	term = [2]byte{'-', '-'}
	if t, ok := r.first.Load().([2]byte); ok {
		term = t
	}
	return r.in, r.out, term
}

// newRelayState returns one direction of a relay: src to dst until EOF
// (then dst is half-closed) or an error. A read timeout is not one while
// the other direction moved bytes within the timeout (the tunnel is idle
// only when both directions are). Small messages go through an inqRelay
// when both sides are plain TCP, else through a buffer from bufs held
// until close.
//
//go:noinline
func newRelayState(src, dst netConn, bufs *sync.Pool, to time.Duration, act *activity, now func() time.Time) *relayState {
	d := &relayState{src: src, dst: dst, bufs: bufs, to: to, act: act, now: now}
	d.rd.c, d.wd.c = src, dst
	d.ir = newInqRelay(src, dst, bufs, &d.rd, &d.wd, to, act, now)
	if d.ir == nil {
		d.bp = bufs.Get().(*[]byte)
	}
	return d
}

// relayState is one direction of relayTCP. It lives on the heap and the
// loop's steps that need large frames (splice, plain read/write) are
// functions of their own, so that a direction waiting for bytes has a
// shallow stack, which the garbage collector can shrink.
type relayState struct {
	src, dst netConn
	bufs     *sync.Pool
	to       time.Duration
	act      *activity
	now      func() time.Time
	rd, wd   deadlines
	sp       *splicer
	ir       *inqRelay
	bp       *[]byte // the plain loop's buffer
	n        int64
}

//go:noinline
func (d *relayState) close() {
	d.sp.close()
	if d.bp != nil {
		d.bufs.Put(d.bp)
		d.bp = nil
	}
}

func (d *relayState) loop() (n int64, rerr, werr error) {
	for {
		var moved bool
		var err error
		switch {
		case d.sp != nil:
			moved, err, werr = d.spliceStep()
		case d.ir != nil:
			err, werr = d.inqStep()
		default:
			moved, err, werr = d.readStep()
		}
		if werr != nil {
			return d.n, nil, werr
		}
		if moved {
			d.act.touch(d.now())
			if err == nil {
				continue
			}
		}
		switch {
		case err == nil:
			continue
		case err == io.EOF:
			_ = d.dst.CloseWrite()
			return d.n, nil, nil
		case isTimeout(err) && !d.act.stopped.Load() && d.now().Sub(time.Unix(0, d.act.last.Load())) < d.to:
			d.rd.forget()
			continue
		}
		return d.n, err, nil
	}
}

// inqStep relays small messages until src ends, fills the buffer (then
// the direction splices) or fails. The callback touched act for each
// message.
func (d *relayState) inqStep() (rerr, werr error) {
	m, eof, full, rerr, werr := d.ir.step()
	d.n += m
	if full {
		d.sp = newSplicer(d.src, d.dst)
	}
	if eof && rerr == nil {
		rerr = io.EOF
	}
	return rerr, werr
}

//go:noinline
func (d *relayState) spliceStep() (moved bool, rerr, werr error) {
	k, rerr, werr := d.sp.step(0, &d.rd, &d.wd, d.to, d.to, d.now)
	d.n += int64(k)
	return k > 0, rerr, werr
}

//go:noinline
func (d *relayState) readStep() (moved bool, rerr, werr error) {
	buf := *d.bp
	d.rd.read(d.now(), d.to)
	k, err := d.src.Read(buf)
	if k > 0 {
		d.wd.write(d.now(), d.to)
		if _, werr := d.dst.Write(buf[:k]); werr != nil {
			return false, nil, werr
		}
		d.n += int64(k)
		if k == len(buf) {
			d.sp = newSplicer(d.src, d.dst) // nil unless both are plain TCP
		}
	}
	return k > 0, err, nil
}

// splicer returns the session's splicer for a request body (client to
// server) or a response body, pointed at the connections; nil when one of
// them is not a plain TCP connection.
func (s *session) splicer(request bool) *splicer {
	sc := s.srv.Load()
	if s.iw.rc == nil || sc == nil {
		return nil
	}
	srv := sc.raw()
	if srv == nil {
		return nil
	}
	if request {
		s.spReq.init(s.iw.rc, srv)
		return &s.spReq
	}
	s.spResp.init(srv, s.iw.rc)
	return &s.spResp
}
