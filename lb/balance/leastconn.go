package balance

import "sync/atomic"

// leastconn picks the usable server with the lowest load per unit of weight.
// As HAProxy's fwlc, an idle server has load 0 whatever its weight, and a busy
// one (c connections, weight w) has load (c+1)/w, so that weights matter as
// soon as servers have work. Ties go round-robin: the scan starts after the
// last server picked.
type leastconn struct {
	servers []Server
	next    atomic.Uint32
}

// lessLoaded reports whether c1 connections at weight w1 is a strictly lower
// load than c2 at w2 (weights > 0).
func lessLoaded(c1, w1, c2, w2 int) bool {
	if c1 <= 0 || c2 <= 0 {
		return c1 <= 0 && c2 > 0
	}
	return int64(c1+1)*int64(w2) < int64(c2+1)*int64(w1)
}

func (l *leastconn) Pick([]byte) int {
	n := len(l.servers)
	if n == 0 {
		return -1
	}
	start := int(l.next.Load() % uint32(n))
	best, bc, bw := -1, 0, 0
	for k := range n {
		i := start + k
		if i >= n {
			i -= n
		}
		s := l.servers[i]
		w := usable(s)
		if w == 0 {
			continue
		}
		c := s.ActiveConns()
		if best < 0 || lessLoaded(c, w, bc, bw) {
			best, bc, bw = i, c, w
			if c <= 0 {
				break // nothing beats an idle server
			}
		}
	}
	if best >= 0 {
		// Racing stores only skew which tied server goes next.
		l.next.Store(uint32(best + 1))
	}
	return best
}

// first is HAProxy's `first`: the first usable server in declared order.
// Available already says whether the server is below its maxconn, so the next
// one is used only once this one is full.
type first []Server

func (f first) Pick([]byte) int {
	for i, s := range f {
		if usable(s) != 0 {
			return i
		}
	}
	return -1
}
