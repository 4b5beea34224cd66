package vrrptest

import (
	"sync"
	"testing"
	"time"

	"github.com/tandemlb/tandem/vrrp"
)

// Clock is a fake vrrp.Clock. Time moves only in Advance, which fires the
// due timers in deadline order and, after each fire, waits (in real time,
// bounded) until the owner of the timer re-arms or stops it: the driver
// always does so once it has handled the fire, so when Advance returns the
// driver has acted on everything due.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
	gen    uint64 // bumped by every Reset and Stop
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
		gen := c.gen
		next.fire(c.now)
		c.mu.Unlock()
		c.waitGen(tb, gen)
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

func (c *Clock) waitGen(tb testing.TB, gen uint64) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		moved := c.gen != gen
		c.mu.Unlock()
		if moved {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("vrrptest: timer fired at %v was not handled within 5s", c.Now())
		}
		time.Sleep(100 * time.Microsecond)
	}
}

type timer struct {
	c        *Clock
	ch       chan time.Time
	armed    bool
	deadline time.Time
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
	t.c.gen++
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
	t.c.gen++
	t.armed = false
	select {
	case <-t.ch:
	default:
	}
}
