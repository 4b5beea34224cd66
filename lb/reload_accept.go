package lb

import (
	"sync/atomic"
	"time"
)

// Accept errors other than a closed listener are resource shortages
// (EMFILE, ENFILE, ENOBUFS, ENOMEM): retrying at once would spin on a
// full core and flood the log. The accept loop backs off, doubling from
// acceptBackoffMin to acceptBackoffMax, and the proxy logs at most one
// line a second, saying how many failures it did not log. Connections
// meanwhile wait in the kernel's backlog, as at maxconn.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = 500 * time.Millisecond
	acceptLogEvery   = time.Second
)

// acceptBackoff is one accept loop's current delay.
type acceptBackoff struct{ delay time.Duration }

func (b *acceptBackoff) reset() { b.delay = 0 }

func (b *acceptBackoff) next() time.Duration {
	b.delay = min(max(2*b.delay, acceptBackoffMin), acceptBackoffMax)
	return b.delay
}

// acceptLimiter rate-limits accept error lines across a proxy's loops.
type acceptLimiter struct {
	last       atomic.Int64 // UnixNano of the last line
	suppressed atomic.Int64
}

// acceptFailed logs err (at most once a second per proxy) and waits the
// next backoff delay; false means the proxy is stopping.
func (f *frontend) acceptFailed(b *acceptBackoff, err error) bool {
	p := f.p
	d := b.next()
	now := time.Now()
	l := &p.rl.acceptLog
	last := l.last.Load()
	if now.UnixNano()-last >= int64(acceptLogEvery) && l.last.CompareAndSwap(last, now.UnixNano()) {
		p.log.Warn().Err(err).Str("frontend", f.name).Int64("not_logged", l.suppressed.Swap(0)).
			Dur("retry_in", d).Msg("accept failed (out of file descriptors or memory?): backing off; new connections wait in the backlog")
	} else {
		l.suppressed.Add(1)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.stop:
		return false
	}
}
