package lb

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TCP mode's event loops. A TCP-mode connection whose client and server
// are plain TCP sockets is handed, once the server is connected, to one of
// the proxy's event loops (one per CPU the runtime uses), as HAProxy runs
// its connections: both sockets are in the loop's epoll set, and the
// loop's goroutine relays whatever arrives with recvmsg (TCP_INQ says when
// the socket is drained) and a non-blocking send into the other socket.
// An idle connection pair holds no goroutine, no stack and no buffer: a
// tcpPair, a timer and the two net.TCPConns.
//
// Two things hand a direction to a goroutine of the pair's own: a read
// that fills the loop's whole buffer (bulk data: the goroutine splices, as
// relayState does, until the source has nothing more ready), and a send
// that the other socket cannot take at once (the goroutine writes the
// rest, waiting as long as the timeout allows). Then the goroutine hands
// the direction back to the loop and ends. Everything that touches a
// parked direction's descriptors holds the pair's mutex and checks the
// direction's state first, and a descriptor is taken out of the epoll set
// before its connection is closed, so a descriptor number is never used
// after the kernel could reuse it.

// tcpLoops are a proxy's event loops.
type tcpLoops struct {
	loops []*tcpLoop
	next  atomic.Uint32
	noInq bool // tests: behave as on a kernel without TCP_INQ
}

// tcpLoop is one epoll set and the goroutine that waits on it. The
// goroutine does not block in epoll_wait: the set's own descriptor is in
// Go's poller, so an idle loop is a parked goroutine, and a busy one never
// leaves the scheduler for a system call that blocks (each such call
// hands the P over and keeps the runtime's monitor polling every 20 µs).
type tcpLoop struct {
	p      *Proxy
	epfd   int
	ep     *os.File // epfd, in Go's poller
	evfd   int      // eventfd: written to stop the loop
	done   chan struct{}
	events []unix.EpollEvent
	err    error // why the loop stopped, if not asked to
	pollFn func(fd uintptr) bool

	mu    sync.Mutex
	pairs []*tcpPair // by slot
	free  []uint32
	gen   uint32

	// The loop goroutine's scratch: every read of every pair lands here.
	buf []byte
	m   inqMsg
}

// Event data: the pair's slot and direction in Fd, its generation in Pad
// (an event fetched in the same batch as its pair's end must not reach a
// pair that took the slot over).
const loopWake = -1

func newTCPLoops(p *Proxy) (*tcpLoops, error) {
	ls := &tcpLoops{noInq: p.testNoInq}
	for range runtime.GOMAXPROCS(0) {
		l, err := newTCPLoop(p)
		if err != nil {
			ls.close()
			return nil, err
		}
		ls.loops = append(ls.loops, l)
	}
	for _, l := range ls.loops {
		go l.run()
	}
	return ls, nil
}

func newTCPLoop(p *Proxy) (*tcpLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, errors.Join(errors.New("tcp event loop"), err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, errors.Join(errors.New("tcp event loop"), err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: loopWake}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, errors.Join(errors.New("tcp event loop"), err)
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, errors.Join(errors.New("tcp event loop"), err)
	}
	l := &tcpLoop{p: p, epfd: epfd, ep: os.NewFile(uintptr(epfd), "tcp-loop-epoll"), evfd: evfd, done: make(chan struct{}),
		events: make([]unix.EpollEvent, 128), buf: make([]byte, p.cfg.BufSize)}
	l.pollFn = l.poll
	return l, nil
}

// close stops the loops; every pair has ended before (Run waits for its
// connections first).
func (ls *tcpLoops) close() {
	for _, l := range ls.loops {
		var one = [8]byte{1}
		_, _ = unix.Write(l.evfd, one[:])
		<-l.done
		_ = l.ep.Close()
		unix.Close(l.evfd)
	}
}

func (l *tcpLoop) run() {
	defer close(l.done)
	rc, err := l.ep.SyscallConn()
	if err == nil {
		err = rc.Read(l.pollFn)
	}
	if err == nil {
		err = l.err
	}
	if err != nil {
		// Pairs still in the set would wait forever: say so loudly.
		l.p.log.Error().Err(err).Msg("tcp event loop stopped")
	}
}

// poll is the RawConn.Read callback: handle every event ready, and wait
// in Go's poller (false) once there are none. The outer registration is
// edge-triggered, so it returns false only after epoll_wait found the set
// empty. True: stop.
func (l *tcpLoop) poll(fd uintptr) bool {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), 0, 0, 0)
		switch {
		case e == syscall.EINTR:
			continue
		case e != 0:
			l.err = os.NewSyscallError("epoll_pwait", e)
			return true
		case n == 0:
			return false
		}
		for _, ev := range l.events[:n] {
			if ev.Fd == loopWake {
				return true
			}
			l.dispatch(ev)
		}
		// With GOMAXPROCS=1 a loop that always has events would keep the
		// accepting goroutines waiting for preemption.
		runtime.Gosched()
	}
}

func (l *tcpLoop) dispatch(ev unix.EpollEvent) {
	slot := uint32(ev.Fd) >> 1
	l.mu.Lock()
	var p *tcpPair
	if int(slot) < len(l.pairs) {
		p = l.pairs[slot]
	}
	l.mu.Unlock()
	if p == nil || p.gen != uint32(ev.Pad) {
		return
	}
	p.ready(int(ev.Fd & 1))
}

func (l *tcpLoop) add(p *tcpPair) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.gen++
	p.gen = l.gen
	if n := len(l.free); n > 0 {
		p.slot = l.free[n-1]
		l.free = l.free[:n-1]
		l.pairs[p.slot] = p
		return
	}
	p.slot = uint32(len(l.pairs))
	l.pairs = append(l.pairs, p)
}

func (l *tcpLoop) remove(p *tcpPair) {
	l.mu.Lock()
	l.pairs[p.slot] = nil
	l.free = append(l.free, p.slot)
	l.mu.Unlock()
}

// dirState is where a direction of a pair is.
type dirState uint8

const (
	dirParked dirState = iota // in the loop's epoll set
	dirSlow                   // its own goroutine runs it
	dirDone                   // ended (EOF relayed, or the pair failed)
)

// pairDir is one direction of a pair: src to dst.
type pairDir struct {
	state    dirState
	src, dst *net.TCPConn
	fd, dfd  int // their descriptors, valid while the pair has not finished
	to       time.Duration
	n        int64   // bytes relayed
	codes    [3]byte // termination codes: read timeout, read error, write error
	ev       uint32  // the epoll event data's Fd
}

// tcpPair is a TCP-mode connection relayed by a tcpLoop.
type tcpPair struct {
	l     *tcpLoop
	slot  uint32
	gen   uint32
	t     *tcpConn
	after func() // the accepting goroutine's cleanup
	act   activity
	timer *time.Timer

	mu       sync.Mutex
	dirs     [2]pairDir // client to server, server to client
	failed   bool
	term     [2]byte
	finished bool
}

// park hands t's relay to an event loop; false when it cannot (the
// connections are not both plain TCP, or the proxy is being killed), and
// the caller relays itself. after runs once the connection has ended.
func (ls *tcpLoops) park(t *tcpConn, cliTO, srvTO time.Duration, after func()) bool {
	cli, ok := t.c.(*net.TCPConn)
	srv, ok2 := t.sc.(*net.TCPConn)
	if !ok || !ok2 {
		return false
	}
	cfd, err1 := sysFD(cli)
	sfd, err2 := sysFD(srv)
	if err1 != nil || err2 != nil {
		return false
	}
	// Without TCP_INQ (Linux < 4.18: CentOS 7) every drained read costs
	// one more recvmsg, which says EAGAIN.
	if !ls.noInq {
		_ = unix.SetsockoptInt(cfd, unix.SOL_TCP, unix.TCP_INQ, 1)
		_ = unix.SetsockoptInt(sfd, unix.SOL_TCP, unix.TCP_INQ, 1)
	}

	l := ls.loops[int(ls.next.Add(1))%len(ls.loops)]
	p := &tcpPair{l: l, t: t, after: after, term: [2]byte{'-', '-'}}
	p.dirs[0] = pairDir{src: cli, dst: srv, fd: cfd, dfd: sfd, to: cliTO, codes: [3]byte{'c', 'C', 'S'}}
	p.dirs[1] = pairDir{src: srv, dst: cli, fd: sfd, dfd: cfd, to: srvTO, codes: [3]byte{'s', 'S', 'C'}}
	p.act.touch(l.p.now())
	l.add(p)
	p.dirs[0].ev, p.dirs[1].ev = p.slot<<1, p.slot<<1|1

	p.mu.Lock()
	defer p.mu.Unlock()
	// On the way back the caller relays: a handler that found the pair
	// before it left the table must find nothing to do.
	abandon := func() bool {
		p.dirs[0].state, p.dirs[1].state, p.finished = dirDone, dirDone, true
		l.remove(p)
		return false
	}
	if !l.p.adopt(t, p) {
		return abandon()
	}
	for d := range p.dirs {
		if err := p.epoll(unix.EPOLL_CTL_ADD, d); err != nil {
			if d == 1 {
				_ = p.epoll(unix.EPOLL_CTL_DEL, 0)
			}
			l.p.disown(t)
			return abandon()
		}
	}
	p.timer = time.AfterFunc(p.nextCheck(0), p.onTimer)
	return true
}

// sysFD is c's descriptor. The pair keeps c open, and takes the descriptor
// out of its epoll set before anything closes c.
func sysFD(c *net.TCPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return -1, err
	}
	return fd, nil
}

// epoll adds direction d's source to the loop's set or takes it out.
func (p *tcpPair) epoll(op, d int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(p.dirs[d].ev), Pad: int32(p.gen)}
	return unix.EpollCtl(p.l.epfd, op, p.dirs[d].fd, &ev)
}

// ready runs in the loop goroutine when direction d's source became
// readable: relay until it is drained, ended or failed, or until the
// direction needs a goroutine.
func (p *tcpPair) ready(d int) {
	p.mu.Lock()
	dir := &p.dirs[d]
	if dir.state != dirParked {
		p.mu.Unlock()
		return
	}
	l := p.l
	for {
		k, inq, errno := l.m.recv(uintptr(dir.fd), l.buf)
		if errno == syscall.EINTR {
			continue
		}
		if errno == syscall.EAGAIN {
			break
		}
		if errno != 0 {
			p.failLocked([2]byte{dir.codes[1], 'D'})
			break
		}
		if k == 0 {
			_ = dir.dst.CloseWrite()
			p.retireLocked(d)
			break
		}
		w, errno := sendNow(dir.dfd, l.buf[:k])
		if errno != 0 && errno != syscall.EAGAIN {
			p.failLocked([2]byte{dir.codes[2], 'D'})
			break
		}
		dir.n += int64(w)
		p.act.touch(l.p.now())
		if w < k {
			// The other side cannot take it all now: a goroutine waits.
			bp := l.p.bufs.Get().(*[]byte)
			rest := copy(*bp, l.buf[w:k])
			p.slowLocked(d, bp, rest, false)
			break
		}
		if k == len(l.buf) {
			p.slowLocked(d, nil, 0, true) // bulk: splice
			break
		}
		if inq == 0 {
			break
		}
	}
	fin := p.settleLocked()
	p.mu.Unlock()
	if fin {
		p.finish()
	}
}

// sendNow sends b to the non-blocking socket fd without waiting: the
// bytes taken (0 with EAGAIN when none could be).
func sendNow(fd int, b []byte) (int, syscall.Errno) {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), 0
	}
}

// retireLocked ends direction d (its source's descriptor leaves the set).
func (p *tcpPair) retireLocked(d int) {
	if p.dirs[d].state == dirParked {
		_ = p.epoll(unix.EPOLL_CTL_DEL, d)
	}
	p.dirs[d].state = dirDone
}

// slowLocked hands direction d to a goroutine: to write the rest of a
// message (bp holds k bytes of it), or to splice (bulk).
func (p *tcpPair) slowLocked(d int, bp *[]byte, k int, bulk bool) {
	_ = p.epoll(unix.EPOLL_CTL_DEL, d)
	p.dirs[d].state = dirSlow
	go p.slow(d, bp, k, bulk)
}

// slow runs direction d outside the loop until it is quiet again (then
// the loop takes it back), ends or fails; the direction's fields other
// than state are its own while it is dirSlow.
func (p *tcpPair) slow(d int, bp *[]byte, k int, bulk bool) {
	dir := &p.dirs[d]
	var eof bool
	var rerr, werr error
	if bp != nil {
		werr = p.writeRest(dir, (*bp)[:k])
		p.l.p.bufs.Put(bp)
	}
	if bulk && werr == nil {
		eof, rerr, werr = p.splice(dir)
	}
	if !eof && rerr == nil && werr == nil {
		p.repark(d)
		return
	}
	p.mu.Lock()
	switch {
	case rerr != nil && isTimeout(rerr):
		p.failLocked([2]byte{dir.codes[0], 'D'})
	case rerr != nil:
		p.failLocked([2]byte{dir.codes[1], 'D'})
	case werr != nil:
		p.failLocked([2]byte{dir.codes[2], 'D'})
	default:
		_ = dir.dst.CloseWrite()
	}
	dir.state = dirDone
	fin := p.settleLocked()
	p.mu.Unlock()
	if fin {
		p.finish()
	}
}

// writeRest writes b, what the loop could not send, waiting up to the
// direction's timeout for the other side to take it.
func (p *tcpPair) writeRest(dir *pairDir, b []byte) error {
	_ = dir.dst.SetWriteDeadline(p.l.p.now().Add(dir.to))
	w, err := dir.dst.Write(b)
	dir.n += int64(w)
	if err != nil {
		return err
	}
	_ = dir.dst.SetWriteDeadline(time.Time{})
	p.act.touch(p.l.p.now())
	return nil
}

// splice moves bulk data with splice(2) for as long as src has bytes
// ready; eof when src ended.
func (p *tcpPair) splice(dir *pairDir) (eof bool, rerr, werr error) {
	sp := newSplicer(dir.src, dir.dst)
	sp.noWait = true
	defer sp.close()
	rd, wd := deadlines{c: dir.src}, deadlines{c: dir.dst}
	for {
		k, rerr, werr := sp.step(0, &rd, &wd, dir.to, dir.to, p.l.p.now)
		dir.n += int64(k)
		if k > 0 {
			p.act.touch(p.l.p.now())
		}
		switch {
		case rerr == io.EOF:
			return true, nil, werr
		case rerr != nil || werr != nil:
			return false, rerr, werr
		case sp.idle:
			_ = dir.src.SetReadDeadline(time.Time{})
			_ = dir.dst.SetWriteDeadline(time.Time{})
			return false, nil, nil
		}
	}
}

// repark hands direction d back to the loop, or ends it when the pair
// failed meanwhile.
func (p *tcpPair) repark(d int) {
	p.mu.Lock()
	if p.failed || p.epoll(unix.EPOLL_CTL_ADD, d) != nil {
		// Adding fails only when the kernel is out of memory: treat it as
		// a failure of this direction.
		if !p.failed {
			p.failLocked([2]byte{p.dirs[d].codes[1], 'D'})
		}
		p.dirs[d].state = dirDone
		fin := p.settleLocked()
		p.mu.Unlock()
		if fin {
			p.finish()
		}
		return
	}
	// Edge-triggered: adding a readable socket reports it at once.
	p.dirs[d].state = dirParked
	p.mu.Unlock()
}

// failLocked records the first failure and ends the pair: parked
// directions leave the set, directions in a goroutine are woken by
// deadlines in the past.
func (p *tcpPair) failLocked(term [2]byte) {
	if !p.failed {
		p.failed = true
		p.term = term
	}
	p.act.stopped.Store(true)
	for d := range p.dirs {
		switch p.dirs[d].state {
		case dirParked:
			p.retireLocked(d)
		case dirSlow:
			_ = p.dirs[d].src.SetReadDeadline(time.Unix(1, 0))
			_ = p.dirs[d].dst.SetWriteDeadline(time.Unix(1, 0))
		}
	}
}

// settleLocked reports whether the pair has just ended: both directions
// done, and nobody finished it before.
func (p *tcpPair) settleLocked() bool {
	if p.finished || p.dirs[0].state != dirDone || p.dirs[1].state != dirDone {
		return false
	}
	p.finished = true
	return true
}

// nextCheck is when the timer should look at the pair again, idle for
// idle: at the first parked direction's timeout. Directions in a goroutine
// have deadlines of their own; the timer still looks in at their pace.
func (p *tcpPair) nextCheck(idle time.Duration) time.Duration {
	next := time.Duration(-1)
	for d := range p.dirs {
		to := p.dirs[d].to
		if p.dirs[d].state == dirDone || to <= 0 {
			continue
		}
		wait := to
		if p.dirs[d].state == dirParked {
			wait = to - idle
		}
		if next < 0 || wait < next {
			next = wait
		}
	}
	if next < 0 {
		return time.Hour // no timeouts: look in now and then anyway
	}
	return max(next, time.Millisecond)
}

// onTimer ends the pair when a parked direction has been idle (the whole
// tunnel idle, as in relayTCP) for its timeout.
func (p *tcpPair) onTimer() {
	p.mu.Lock()
	if p.finished {
		p.mu.Unlock()
		return
	}
	idle := p.l.p.now().Sub(time.Unix(0, p.act.last.Load()))
	for d := range p.dirs {
		dir := &p.dirs[d]
		if dir.state == dirParked && dir.to > 0 && idle >= dir.to {
			p.failLocked([2]byte{dir.codes[0], 'D'})
			break
		}
	}
	if !p.failed {
		p.timer.Reset(p.nextCheck(idle))
	}
	fin := p.settleLocked()
	p.mu.Unlock()
	if fin {
		p.finish()
	}
}

// kill ends the pair at once (hard-stop-after).
func (p *tcpPair) kill() {
	p.mu.Lock()
	p.failLocked([2]byte{'K', 'D'})
	fin := p.settleLocked()
	p.mu.Unlock()
	if fin {
		p.finish()
	}
}

// finish runs once, after both directions ended: what serveTCP does after
// its relay, then the accepting goroutine's cleanup.
func (p *tcpPair) finish() {
	p.timer.Stop()
	p.l.remove(p)
	tx := &p.t.tx
	tx.in, tx.out, tx.term = p.dirs[0].n, p.dirs[1].n, p.term
	p.t.finish()
	p.after()
}
