package syslog

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxLen bounds a datagram (header included). rsyslog 7 and 8 accept
// 8 KiB by default; HAProxy truncates at 1024. A longer message is cut, as
// HAProxy does, rather than dropped.
const DefaultMaxLen = 4096

// unixWriteTimeout bounds a write to a local datagram socket whose reader is
// stuck (a full /dev/log queue blocks the sender; UDP never does).
const unixWriteTimeout = 50 * time.Millisecond

// redialEvery limits how often a broken local socket is re-opened (rsyslog
// restarted: the old socket's peer is gone for good).
const redialEvery = time.Second

// Writer sends RFC 3164 datagrams. It is safe for concurrent use and never
// blocks its caller for long: a datagram that cannot be sent is counted and
// dropped, never retried.
type Writer struct {
	network, addr string
	maxLen        int
	now           func() time.Time
	hdrTail       []byte // " tag[pid]: "

	conn       atomic.Pointer[connBox]
	lastRedial atomic.Int64 // unix nanoseconds, wall clock
	stamp      atomic.Pointer[stamp]
	bufs       sync.Pool
	sent       atomic.Uint64
	dropped    atomic.Uint64
	closed     atomic.Bool
	redialMu   sync.Mutex
}

type connBox struct{ c net.Conn }

// stamp is the RFC 3164 timestamp of one second, formatted once and shared
// by every line of that second.
type stamp struct {
	sec int64
	b   [len(time.Stamp)]byte
}

// Option changes how Dial builds a Writer.
type Option func(*Writer)

// WithClock sets the clock used for the timestamps (tests pass a fixed one).
// The default is time.Now, in local time as syslog expects.
func WithClock(now func() time.Time) Option { return func(w *Writer) { w.now = now } }

// WithMaxLen sets the largest datagram sent, header included.
func WithMaxLen(n int) Option { return func(w *Writer) { w.maxLen = n } }

// WithPID replaces the process ID in the tag (tests use it for exact bytes).
func WithPID(pid int) Option { return func(w *Writer) { w.setTag(w.tag(), pid) } }

// Dial opens a Writer to target, "udp://HOST:PORT" (port 514 when omitted)
// or "unix:///dev/log"; tag names the program in every line (`tandem`).
// UDP needs no listener to be up: datagrams sent while rsyslog is away are
// counted as dropped.
func Dial(target, tag string, opts ...Option) (*Writer, error) {
	if tag == "" || strings.ContainsAny(tag, " :[]\t\r\n") {
		return nil, fmt.Errorf("open syslog %s: invalid tag %q", target, tag)
	}
	w := &Writer{maxLen: DefaultMaxLen, now: time.Now}
	w.setTag(tag, os.Getpid())
	switch {
	case strings.HasPrefix(target, "udp://"):
		w.network, w.addr = "udp", strings.TrimPrefix(target, "udp://")
		if _, _, err := net.SplitHostPort(w.addr); err != nil {
			w.addr = net.JoinHostPort(strings.Trim(w.addr, "[]"), "514")
		}
	case strings.HasPrefix(target, "unix://"):
		w.network, w.addr = "unixgram", strings.TrimPrefix(target, "unix://")
	default:
		return nil, fmt.Errorf("open syslog %q: target must be udp://HOST:PORT or unix:///PATH", target)
	}
	for _, o := range opts {
		o(w)
	}
	if w.maxLen < 64 {
		return nil, fmt.Errorf("open syslog %s: max length %d is below 64 bytes", target, w.maxLen)
	}
	c, err := net.Dial(w.network, w.addr)
	if err != nil {
		return nil, fmt.Errorf("open syslog %s: %w", target, err)
	}
	w.conn.Store(&connBox{c})
	w.bufs.New = func() any {
		b := make([]byte, 0, w.maxLen)
		return &b
	}
	return w, nil
}

func (w *Writer) setTag(tag string, pid int) {
	b := append([]byte(" "), tag...)
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(pid), 10)
	w.hdrTail = append(b, ']', ':', ' ')
}

func (w *Writer) tag() string {
	t := string(w.hdrTail[1:])
	return t[:strings.IndexByte(t, '[')]
}

// Write sends msg as one datagram with the given facility and severity.
// Trailing newlines are removed and a message too long for the datagram is
// cut. On failure the datagram is dropped and counted; Write does not retry.
func (w *Writer) Write(fac Facility, sev Severity, msg []byte) error {
	if fac < 0 || fac > Local7 || sev < 0 || sev > Debug {
		w.dropped.Add(1)
		return fmt.Errorf("write syslog: facility %d / severity %d out of range", int(fac), int(sev))
	}
	for len(msg) > 0 && (msg[len(msg)-1] == '\n' || msg[len(msg)-1] == '\r') {
		msg = msg[:len(msg)-1]
	}
	bp := w.bufs.Get().(*[]byte)
	b := append((*bp)[:0], '<')
	b = strconv.AppendInt(b, int64(fac)<<3|int64(sev), 10)
	b = append(b, '>')
	b = append(b, w.timestamp()...)
	b = append(b, w.hdrTail...)
	if room := w.maxLen - len(b); len(msg) > room {
		msg = msg[:room]
	}
	b = append(b, msg...)
	err := w.send(b)
	*bp = b
	w.bufs.Put(bp)
	return err
}

func (w *Writer) timestamp() []byte {
	t := w.now()
	sec := t.Unix()
	if s := w.stamp.Load(); s != nil && s.sec == sec {
		return s.b[:]
	}
	s := &stamp{sec: sec}
	t.AppendFormat(s.b[:0], time.Stamp)
	w.stamp.Store(s)
	return s.b[:]
}

func (w *Writer) send(b []byte) error {
	if w.closed.Load() {
		w.dropped.Add(1)
		return fmt.Errorf("write syslog %s %s: %w", w.network, w.addr, net.ErrClosed)
	}
	c := w.conn.Load().c
	if w.network == "unixgram" {
		// Deadline on the wall clock: it bounds a real kernel wait.
		_ = c.SetWriteDeadline(time.Now().Add(unixWriteTimeout))
	}
	_, err := c.Write(b)
	if err == nil {
		w.sent.Add(1)
		return nil
	}
	w.dropped.Add(1)
	if w.network == "unixgram" && !errors.Is(err, net.ErrClosed) {
		w.redial(c)
	}
	return fmt.Errorf("write syslog %s %s: %w", w.network, w.addr, err)
}

// redial replaces a local socket whose daemon went away. UDP needs no such
// care: a connected UDP socket reports the refusals and keeps working once
// the daemon is back.
func (w *Writer) redial(old net.Conn) {
	now := time.Now().UnixNano()
	if last := w.lastRedial.Load(); now-last < int64(redialEvery) || !w.lastRedial.CompareAndSwap(last, now) {
		return
	}
	w.redialMu.Lock()
	defer w.redialMu.Unlock()
	if w.closed.Load() || w.conn.Load().c != old {
		return
	}
	c, err := net.Dial(w.network, w.addr)
	if err != nil {
		return
	}
	w.conn.Store(&connBox{c})
	_ = old.Close()
}

// Sent is the number of datagrams handed to the kernel.
func (w *Writer) Sent() uint64 { return w.sent.Load() }

// Dropped is the number of datagrams that could not be sent.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// Close closes the socket; later writes fail and count as dropped.
func (w *Writer) Close() error {
	w.redialMu.Lock()
	defer w.redialMu.Unlock()
	if w.closed.Swap(true) {
		return nil
	}
	if err := w.conn.Load().c.Close(); err != nil {
		return fmt.Errorf("close syslog %s %s: %w", w.network, w.addr, err)
	}
	return nil
}
