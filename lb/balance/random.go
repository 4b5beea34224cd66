package balance

import (
	"math/rand/v2"
	"sync"
)

// random is HAProxy's random(draws): draw `draws` usable servers at random in
// proportion to their weight and keep the least loaded one (connections per
// unit of weight), which with two draws is the power of two choices. A draw
// that returns the server already held is drawn again (at most draws extra
// times) so that a comparison is not lost; ties keep the earlier draw.
type random struct {
	servers []Server
	draws   int

	mu  sync.Mutex // guards src
	src rand.Source
}

func newRandom(servers []Server, draws int, src rand.Source) *random {
	return &random{servers: servers, draws: draws, src: src}
}

func (r *random) uint64() uint64 {
	if r.src == nil {
		return rand.Uint64()
	}
	r.mu.Lock()
	v := r.src.Uint64()
	r.mu.Unlock()
	return v
}

// draw returns a usable server chosen with probability weight/total.
func (r *random) draw(total int) int {
	target := reduce(r.uint64(), total)
	last := -1
	for i, s := range r.servers {
		w := usable(s)
		if w == 0 {
			continue
		}
		if target < w {
			return i
		}
		target -= w
		last = i
	}
	return last // a server went away since total was summed
}

func (r *random) Pick([]byte) int {
	total := 0
	for _, s := range r.servers {
		total += usable(s)
	}
	if total == 0 {
		return -1
	}
	best, bc, bw := -1, 0, 0
	redraws := r.draws
	for d := 0; d < r.draws; d++ {
		i := r.draw(total)
		if i < 0 {
			continue
		}
		if i == best {
			if redraws > 0 {
				redraws--
				d--
			}
			continue
		}
		s := r.servers[i]
		w := usable(s)
		if w == 0 {
			continue
		}
		c := s.ActiveConns()
		if best < 0 || int64(c)*int64(bw) < int64(bc)*int64(w) {
			best, bc, bw = i, c, w
		}
	}
	return best
}
