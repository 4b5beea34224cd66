package vrrptest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tandemlb/tandem/vrrp"
)

// Clock is a fake vrrp.Clock. Time moves only in Advance, which fires the
// due timers in deadline order. Before each step it waits (in real time,
// bounded) until the routers are quiet: the owner of the timer it fired last
// has re-armed or stopped it (a Router does so once it has handled the
// fire), and every Conn attached to a Net on this Clock has had each
// datagram it delivered handled. So an advert sent at one instant is acted
// on before any later timer fires, and when Advance returns every router has
// acted on everything due.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
	conns  []*Conn // attached to a Net whose Clock is this one
}

// NewClock returns a Clock reading t0.
func NewClock(t0 time.Time) *Clock { return &Clock{now: t0} }

// Now implements vrrp.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer implements vrrp.Clock.
func (c *Clock) NewTimer() vrrp.Timer {
	t := &timer{c: c, ch: make(chan time.Time, 1)}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	return t
}

// Advance moves the clock forward by d, firing every timer that falls due
// on the way, at its own deadline.
func (c *Clock) Advance(tb testing.TB, d time.Duration) {
	tb.Helper()
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.settle(tb)
		c.mu.Lock()
		var next *timer
		for _, t := range c.timers {
			if t.armed && !t.deadline.After(target) && (next == nil || t.deadline.Before(next.deadline)) {
				next = t
			}
		}
		if next == nil {
			c.now = target
			c.mu.Unlock()
			return
		}
		if next.deadline.After(c.now) {
			c.now = next.deadline
		}
		touches := next.touches
		next.fire(c.now)
		c.mu.Unlock()
		c.waitTouched(tb, next, touches)
	}
}

// WaitArmed waits until n timers are armed (n drivers have started).
func (c *Clock) WaitArmed(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		armed := 0
		for _, t := range c.timers {
			if t.armed {
				armed++
			}
		}
		c.mu.Unlock()
		if armed >= n {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("vrrptest: %d of %d timers armed after 5s", armed, n)
		}
		time.Sleep(time.Millisecond) // polling another goroutine in real time, not waiting out protocol time
	}
}

// waitTouched waits until t's owner has re-armed or stopped it since it
// fired.
func (c *Clock) waitTouched(tb testing.TB, t *timer, touches uint64) {
	tb.Helper()
	c.poll(tb, "timer fired at "+c.Now().Format(time.RFC3339Nano)+" was not handled", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return t.touches != touches
	})
}

// settle waits until every attached Conn's datagrams have been handled.
func (c *Clock) settle(tb testing.TB) {
	tb.Helper()
	c.mu.Lock()
	conns := slices.Clone(c.conns)
	c.mu.Unlock()
	c.poll(tb, "datagrams were not handled", func() bool {
		for _, cn := range conns {
			if !cn.quiet() {
				return false
			}
		}
		return true
	})
}

// poll waits, in real time and at most 5 s, for cond: it watches other
// goroutines, it does not wait out protocol time.
func (c *Clock) poll(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("vrrptest: %s within 5s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func (c *Clock) attach(cn *Conn) {
	c.mu.Lock()
	c.conns = append(c.conns, cn)
	c.mu.Unlock()
}

type timer struct {
	c        *Clock
	ch       chan time.Time
	armed    bool
	deadline time.Time
	touches  uint64 // Reset and Stop calls
}

// fire is called with c.mu held.
func (t *timer) fire(now time.Time) {
	t.armed = false
	select {
	case t.ch <- now:
	default:
	}
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Reset(d time.Duration) {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.touches++
	select {
	case <-t.ch:
	default:
	}
	t.deadline = t.c.now.Add(d)
	t.armed = true
	if d <= 0 {
		t.fire(t.c.now)
	}
}

func (t *timer) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	t.touches++
	t.armed = false
	select {
	case <-t.ch:
	default:
	}
}
