package lb

import (
	"sync"
	"syscall"
	"time"
)

const (
	// defaultIdlePerServer bounds the idle keep-alive connections kept per
	// server.
	defaultIdlePerServer = 256
	// idleMaxAge is how long an idle server connection is kept. Servers
	// close idle connections on their own schedule (Apache: 5 s); one
	// closed under us is detected and the request replayed (see
	// session.forward), but keeping the age short makes that rare.
	idleMaxAge = 4 * time.Second
)

// srvConn is one connection to a server.
type srvConn struct {
	c     netConn
	srv   *server
	since time.Time // when it went idle
	rc    syscall.RawConn
	// dl sets the deadlines of requests and response heads lazily; body
	// copies set theirs directly, always later, which dl then re-arms.
	// Nothing sets an earlier one on a connection that goes back to the
	// pool.
	dl deadlines
}

// raw returns the connection's RawConn (for splice), nil unless it is a
// plain TCP connection.
func (c *srvConn) raw() syscall.RawConn {
	if c.rc == nil {
		c.rc = rawConn(c.c)
	}
	return c.rc
}

// idlePool is a server's idle keep-alive connections, most recent last
// (LIFO keeps the fewest connections warm).
type idlePool struct {
	mu   sync.Mutex
	max  int
	idle []*srvConn
}

// get returns the most recently used idle connection younger than
// idleMaxAge, closing older ones.
func (p *idlePool) get(now time.Time) *srvConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	for n := len(p.idle); n > 0; n = len(p.idle) {
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		if now.Sub(c.since) < idleMaxAge {
			return c
		}
		_ = c.c.Close()
	}
	return nil
}

// put keeps c for reuse; false means the pool is full (caller closes).
func (p *idlePool) put(c *srvConn, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= p.max {
		return false
	}
	c.since = now
	p.idle = append(p.idle, c)
	return true
}

// purge closes connections idle for longer than idleMaxAge, or all of them
// when all is set.
func (p *idlePool) purge(now time.Time, all bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	keep := p.idle[:0]
	for _, c := range p.idle {
		if all || now.Sub(c.since) >= idleMaxAge {
			_ = c.c.Close()
			continue
		}
		keep = append(keep, c)
	}
	for i := len(keep); i < len(p.idle); i++ {
		p.idle[i] = nil
	}
	p.idle = keep
}
