package lb

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// An idle keep-alive connection should cost what HAProxy's costs: a small
// struct, no buffer. A session therefore gives its I/O buffers and its
// per-request work back to pools while it waits for a request, and waits
// for readability through syscall.RawConn instead of a Read into a buffer
// (a blocked Read would pin 16 KiB per connection). The wait makes the
// same system calls as a plain Read: one read(2) that finds nothing
// (EAGAIN), the netpoller's wake-up, one read(2) that gets the request.
//
// The wait also runs in a shallow frame (serveHTTP → awaitRequest →
// idleReader.read), so that the garbage collector can shrink a parked
// goroutine's stack to its minimum size.

// works holds per-request state between requests: a short free list in
// front of a sync.Pool. The list makes reuse deterministic (the race
// detector's sync.Pool drops a quarter of what it is given, and a new work
// is a dozen allocations); the pool takes what a load peak leaves behind
// and lets the collector have it. Neither holds buffers of a Proxy's
// size, so one serves every generation.
var works = workCache{pool: sync.Pool{New: func() any {
	w := &work{
		out:   make([]byte, 0, 1024),
		timer: time.NewTimer(time.Hour),
	}
	w.timer.Stop()
	w.wt.ch = make(chan *server, 1)
	return w
}}}

// workListMax bounds the free list: beyond it, works go to the pool.
const workListMax = 256

type workCache struct {
	mu   sync.Mutex
	free []*work
	pool sync.Pool
}

func (c *workCache) get() *work {
	c.mu.Lock()
	if n := len(c.free); n > 0 {
		w := c.free[n-1]
		c.free[n-1] = nil
		c.free = c.free[:n-1]
		c.mu.Unlock()
		return w
	}
	c.mu.Unlock()
	return c.pool.Get().(*work)
}

func (c *workCache) put(w *work) {
	c.mu.Lock()
	if len(c.free) < workListMax {
		c.free = append(c.free, w)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.pool.Put(w)
}

// bufs is the same kind of free list for I/O buffers, in front of each
// Proxy's pool of BufSize buffers (a buffer of another size, from a
// generation configured differently, goes to its own Proxy's pool).
var bufs bufCache

type bufCache struct {
	mu   sync.Mutex
	free []*[]byte
}

func (c *bufCache) get(p *Proxy) *[]byte {
	c.mu.Lock()
	if n := len(c.free); n > 0 && len(*c.free[n-1]) == p.cfg.BufSize {
		b := c.free[n-1]
		c.free[n-1] = nil
		c.free = c.free[:n-1]
		c.mu.Unlock()
		return b
	}
	c.mu.Unlock()
	return p.bufs.Get().(*[]byte)
}

func (c *bufCache) put(p *Proxy, b *[]byte) {
	c.mu.Lock()
	if len(c.free) < workListMax && len(*b) == p.cfg.BufSize {
		c.free = append(c.free, b)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	p.bufs.Put(b)
}

// acquireWork takes the per-request state and the response buffer.
func (s *session) acquireWork() {
	if s.work != nil {
		return
	}
	w := works.get()
	w.rbufp = bufs.get(s.p)
	w.rbuf = *w.rbufp
	w.msg.sec = s.sec
	s.work = w
}

// releaseWork gives the per-request state back. Views into the request
// buffer it still holds are never read again: the next request parses
// into fresh ones.
func (s *session) releaseWork() {
	w := s.work
	if w == nil {
		return
	}
	s.work = nil
	bufs.put(s.p, w.rbufp)
	w.rbufp, w.rbuf, w.rr, w.rw = nil, nil, 0, 0
	works.put(w)
}

// acquireBuf takes a request buffer.
func (s *session) acquireBuf() {
	if s.bufp == nil {
		s.bufp = bufs.get(s.p)
		s.buf = *s.bufp
	}
}

// releaseBuf gives the request buffer back; it must hold nothing unread.
func (s *session) releaseBuf() {
	if s.bufp != nil {
		bufs.put(s.p, s.bufp)
		s.bufp, s.buf = nil, nil
	}
}

// awaitRequest waits for the first bytes of the next request with no
// buffer and no work held, then takes both and reads what arrived into
// s.buf. false: close the connection (a first request that never came has
// been answered 408 and logged).
func (s *session) awaitRequest(first bool) bool {
	t := &s.fe.timeouts
	s.r, s.w = 0, 0
	// timeout_http_request counts from the accept for the first request,
	// timeout_http_keep_alive between requests.
	deadline := s.accept.Add(t.HTTPRequest)
	if !first {
		deadline = s.p.now().Add(t.HTTPKeepAlive)
	}
	// A connection waiting for its first request is not idle: when
	// stopping (or retiring on reload) it still gets its answer, with
	// Connection: close, as HAProxy does; idle keep-alive ones close.
	s.idle.Store(!first)
	if !first && s.p.stopping.Load() {
		s.idle.Store(false)
		return false
	}
	s.releaseWork()
	_ = s.conn.SetReadDeadline(deadline)
	n, err := s.iw.read(s)
	s.idle.Store(false)
	if n == 0 {
		// Nothing received. Between requests, or when the client left,
		// close silently; a first request that never came is answered
		// 408 and logged, as HAProxy does without http-ignore-probes.
		if first && isTimeout(err) {
			s.acquireWork()
			s.tx = txn{start: s.accept, tq: -1, tw: -1, tc: -1, tr: -1, status: 408, term: [2]byte{'c', 'R'}}
			s.reqLine = s.reqLine[:0]
			s.fe.st.errReq.Add(1)
			s.sendError(408, true)
			s.finish()
		}
		return false
	}
	s.w = n
	s.acquireWork()
	return true
}

// idleReader reads the first bytes of a request from a plain TCP
// connection, holding the request buffer only while there is something to
// read.
type idleReader struct {
	rc     syscall.RawConn // nil: not a plain TCP connection (TLS, HTTP/2 stream)
	try    func(fd uintptr) bool
	s      *session
	parked bool // found nothing and gave the buffer back: wait, then Read
	n      int
	err    error
}

func (r *idleReader) init(c *net.TCPConn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	r.rc = rc
	r.try = r.tryRead // one closure per connection, none per request
}

// read returns what the connection has once it is readable, in s.buf.
func (r *idleReader) read(s *session) (int, error) {
	if r.rc == nil {
		s.acquireBuf()
		return s.conn.Read(s.buf)
	}
	r.s, r.parked, r.n, r.err = s, false, 0, nil
	s.acquireBuf()
	err := r.rc.Read(r.try)
	r.s = nil
	if err != nil {
		return 0, err // deadline, closed
	}
	if !r.parked {
		return r.n, r.err
	}
	// Woken up: readable, at EOF or failed. Read says which (and waits
	// again, with the buffer, on a rare spurious wake-up).
	s.acquireBuf()
	return s.conn.Read(s.buf)
}

// tryRead is the RawConn callback: true when done, false to wait for
// readability. The first call reads what is there; finding nothing, it
// gives the buffer back before the goroutine parks.
func (r *idleReader) tryRead(fd uintptr) bool {
	if r.parked {
		return true
	}
	for {
		n, err := syscall.Read(int(fd), r.s.buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			r.s.releaseBuf()
			r.parked = true
			return false
		case err != nil:
			r.n, r.err = 0, os.NewSyscallError("read", err)
		case n == 0:
			r.n, r.err = 0, io.EOF
		default:
			r.n, r.err = n, nil
		}
		return true
	}
}
