package balance

import (
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
)

// hashKey hashes a balancing key: FNV-1a 64 over the bytes, then the
// MurmurHash3 64-bit finalizer. FNV-1a alone leaves inputs that differ in one
// late byte (127.0.0.1, 127.0.0.2, ... as `source` keys) close together in the
// low bits; the finalizer spreads every input bit over the whole word, so both
// the modulo of map-based and the ring of consistent see uniform values.
// It does not allocate.
func hashKey(key []byte) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for _, c := range key {
		h ^= uint64(c)
		h *= prime64
	}
	return fmix64(h)
}

// fmix64 is MurmurHash3's 64-bit finalizer (full avalanche).
func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// reduce maps a uniform 64-bit h onto 0..n-1 without division (Lemire).
func reduce(h uint64, n int) int {
	hi, _ := bits.Mul64(h, uint64(n))
	return int(hi)
}

// mapBased is HAProxy's map-based hashing: the key's hash modulo the total
// weight of the servers usable now, each owning a run of that range in
// proportion to its weight. Weights are those at New (HAProxy's map is static:
// runtime weight changes have no effect, except that weight 0 drains).
type mapBased struct {
	servers []Server
	weights []int
	rr      *swrr // for an empty key
}

func newMapBased(servers []Server) *mapBased {
	m := &mapBased{servers: servers, weights: make([]int, len(servers)), rr: newSWRR(servers, true)}
	for i, s := range servers {
		m.weights[i] = clampWeight(s.Weight())
	}
	return m
}

func (m *mapBased) weight(i int) int {
	if m.weights[i] == 0 || usable(m.servers[i]) == 0 {
		return 0
	}
	return m.weights[i]
}

func (m *mapBased) Pick(key []byte) int {
	if len(key) == 0 {
		return m.rr.Pick(nil)
	}
	total := 0
	for i := range m.servers {
		total += m.weight(i)
	}
	if total == 0 {
		return -1
	}
	target := reduce(hashKey(key), total)
	last := -1
	for i := range m.servers {
		w := m.weight(i)
		if w == 0 {
			continue
		}
		if target < w {
			return i
		}
		target -= w
		last = i
	}
	// A server went away between the two passes: take the last usable
	// one rather than failing the request.
	return last
}

// Ring sizing. Each unit of weight puts pointsPerWeight points on the ring so
// that shares are even with the default weight of 1; the count shrinks for big
// groups so that a ring of servers all at weight 256 holds at most maxRing
// points (8 bytes each, 8 MiB) up to maxServers. With 256 servers that is 16
// points per unit, HAProxy's own figure; such groups spread evenly only with
// higher weights (e.g. all at 100), as in HAProxy. The scale depends on the
// group size only, never on weights, so Reweight keeps every other server's
// points where they were.
const (
	pointsPerWeight = 100
	maxRing         = 1 << 20
)

func ringScale(n int) int {
	if n == 0 {
		return pointsPerWeight
	}
	return max(1, min(pointsPerWeight, maxRing/(n*MaxWeight)))
}

type ringPoint struct {
	hash uint32
	srv  uint32
}

// consistent is ketama-style consistent hashing: server i with weight w owns
// the points pointHash(i, 0..w*scale-1) of a 32-bit ring; a key goes to the
// first point clockwise from its hash whose server is usable now. A server
// that goes away hands only its own keys to its ring neighbours, and gets them
// back when it returns. A server's points depend only on its index and
// weight, so Reweight moves only the keys of the servers whose weight changed.
type consistent struct {
	servers []Server
	scale   int
	ring    atomic.Pointer[[]ringPoint]
	mu      sync.Mutex // serialises Reweight
	rr      *swrr      // for an empty key
}

func newConsistent(servers []Server) *consistent {
	c := &consistent{servers: servers, scale: ringScale(len(servers)), rr: newSWRR(servers, false)}
	c.Reweight()
	return c
}

func pointHash(srv, j int) uint32 {
	return uint32(fmix64(uint64(srv)<<32|uint64(j)) >> 32)
}

// Reweight rebuilds the ring from the servers' current weights.
func (c *consistent) Reweight() {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.servers {
		n += clampWeight(s.Weight()) * c.scale
	}
	ring := make([]ringPoint, 0, n)
	for i, s := range c.servers {
		for j := range clampWeight(s.Weight()) * c.scale {
			ring = append(ring, ringPoint{hash: pointHash(i, j), srv: uint32(i)})
		}
	}
	slices.SortFunc(ring, func(a, b ringPoint) int {
		if a.hash != b.hash {
			if a.hash < b.hash {
				return -1
			}
			return 1
		}
		return int(a.srv) - int(b.srv)
	})
	c.ring.Store(&ring)
}

func (c *consistent) Pick(key []byte) int {
	if len(key) == 0 {
		return c.rr.Pick(nil)
	}
	ring := *c.ring.Load()
	n := len(ring)
	if n == 0 {
		return -1
	}
	h := uint32(hashKey(key) >> 32)
	// First point with hash >= h.
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if ring[mid].hash < h {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	for k := range n {
		i := lo + k
		if i >= n {
			i -= n
		}
		srv := int(ring[i].srv)
		if usable(c.servers[srv]) != 0 {
			return srv
		}
	}
	return -1
}
