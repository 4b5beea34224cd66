package lb

import (
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The TCP relay's small-message path. A plain loop of conn.Read and
// conn.Write costs three system calls per message and direction: the read,
// the write, and a read that fails with EAGAIN before the goroutine parks
// in the poller. HAProxy makes two: after a short read it knows the socket
// is drained (epoll tells it whether the peer's FIN came too) and waits.
//
// Go's poller does not say whether a FIN came, and a short read alone does
// not prove the socket drained of it: data and FIN arriving together give
// one wake-up, the read returns the data and the FIN would go unseen. The
// TCP_INQ socket option (Linux 4.18) closes that gap: recvmsg then reports
// how many bytes are still queued after the read, and reports 1 when the
// queue is empty but the FIN arrived, so that the reader reads again. So a
// direction does its whole read-write loop inside one RawConn.Read
// callback: read with recvmsg, write to the other side, and when nothing
// is left (inq == 0) return false, which waits for the poller without a
// read that would fail. Staying inside the one RawConn.Read call matters:
// each new call resets the poller's readiness for the descriptor, and a
// wake-up for bytes that arrived after the last read would be lost.
//
// A read that fills the whole buffer returns to relayState.loop, which switches
// the direction to splice(2) as before. Anything else (not plain TCP, a
// kernel without TCP_INQ) uses relayState's plain read/write loop.

// inqRelay is one direction of a TCP relay driven by src's RawConn.Read.
// Its buffer comes from the proxy's pool on each wake-up and goes back
// before the direction waits again, so an idle connection holds none.
type inqRelay struct {
	src    syscall.RawConn
	dst    netConn
	bufs   *sync.Pool // *[]byte
	rd, wd *deadlines
	to     time.Duration
	act    *activity
	now    func() time.Time
	fn     func(fd uintptr) bool

	n    int64
	full bool // a read filled the buffer: the direction should splice
	eof  bool
	rerr error
	werr error

	m inqMsg
}

// inqMsg is recvmsg's argument block for reads that ask for TCP_INQ.
type inqMsg struct {
	msg unix.Msghdr
	iov unix.Iovec
	oob [24]byte // unix.CmsgSpace(4)
}

// enableInq turns TCP_INQ on for c; false when c is not plain TCP or the
// kernel does not know the option.
func enableInq(rc syscall.RawConn) bool {
	var err error
	if cerr := rc.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.SOL_TCP, unix.TCP_INQ, 1)
	}); cerr != nil {
		return false
	}
	return err == nil
}

// newInqRelay returns the relay for src → dst, or nil when src or dst is
// not a plain TCP connection or TCP_INQ cannot be enabled on src.
func newInqRelay(src, dst netConn, bufs *sync.Pool, rd, wd *deadlines, to time.Duration, act *activity, now func() time.Time) *inqRelay {
	if _, ok := dst.(*net.TCPConn); !ok {
		return nil
	}
	rc := rawConn(src)
	if rc == nil || !enableInq(rc) {
		return nil
	}
	r := &inqRelay{src: rc, dst: dst, bufs: bufs, rd: rd, wd: wd, to: to, act: act, now: now}
	r.fn = r.run
	return r
}

// recv reads once into buf with recvmsg from the non-blocking socket fd:
// k bytes, and inq, the bytes left queued (≥ 1 also when only the FIN is;
// 1 when the kernel said nothing).
func (r *inqMsg) recv(fd uintptr, buf []byte) (k, inq int, errno syscall.Errno) {
	r.iov.Base = &buf[0]
	r.iov.SetLen(len(buf))
	r.msg.Iov = &r.iov
	r.msg.Iovlen = 1
	r.msg.Control = &r.oob[0]
	r.msg.SetControllen(len(r.oob))
	// The socket is non-blocking: the call cannot block, so it need not
	// tell the scheduler (as syscall.Syscall does).
	n, _, e := unix.RawSyscall(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&r.msg)), 0)
	if e != 0 {
		return 0, 0, e
	}
	inq = 1
	if r.msg.Controllen >= unix.SizeofCmsghdr+4 {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&r.oob[0]))
		if h.Level == unix.SOL_TCP && h.Type == unix.TCP_CM_INQ {
			inq = int(*(*int32)(unsafe.Pointer(&r.oob[unix.SizeofCmsghdr])))
		}
	}
	return int(n), inq, 0
}

// run is the RawConn.Read callback: relay messages until the socket is
// drained (false: wait for readability) or something ends the loop.
func (r *inqRelay) run(fd uintptr) bool {
	bp := r.bufs.Get().(*[]byte)
	defer r.bufs.Put(bp)
	buf := *bp
	for {
		k, inq, errno := r.m.recv(fd, buf)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			return r.wait(r.now())
		case errno != 0:
			r.rerr = os.NewSyscallError("recvmsg", errno)
			return true
		case k == 0:
			r.eof = true
			return true
		}
		r.wd.write(r.now(), r.to)
		if _, err := r.dst.Write(buf[:k]); err != nil {
			r.werr = err
			return true
		}
		r.n += int64(k)
		now := r.now() // after the write, which may have waited
		r.act.touch(now)
		if k == len(buf) {
			r.full = true
			return true
		}
		if inq == 0 {
			return r.wait(now)
		}
	}
}

// wait arms the read deadline for the wait to come and says whether to
// wait (false) or stop because the other direction failed (true, with
// rerr set). The check comes after arming: the other direction sets
// stopped before it moves the deadline into the past.
func (r *inqRelay) wait(now time.Time) bool {
	r.rd.read(now, r.to)
	if r.act.stopped.Load() {
		r.rerr = os.ErrDeadlineExceeded
		return true
	}
	return false
}

// step relays until src ends, a read fills the buffer (full), or an error:
// rerr is io.EOF-free (eof says src ended), the RawConn's error (a timeout
// included) or a read error; werr a write error.
func (r *inqRelay) step() (k int64, eof, full bool, rerr, werr error) {
	r.n, r.full, r.eof, r.rerr, r.werr = 0, false, false, nil, nil
	r.rd.read(r.now(), r.to)
	if err := r.src.Read(r.fn); err != nil {
		return r.n, false, false, err, nil
	}
	return r.n, r.eof, r.full, r.rerr, r.werr
}
