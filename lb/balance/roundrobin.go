package balance

import "sync"

// swrr is smooth weighted round-robin (nginx's scheme): each pick adds every
// usable server's weight to its current value, takes the largest and lowers
// it by the total. Weights interleave (5,1,1 gives a a b a c a a) instead of
// coming in bursts, and over every run of sum(weights) picks each server gets
// exactly its weight.
type swrr struct {
	servers []Server
	// static holds the weights read at New for static-rr; nil for
	// roundrobin, which reads Weight at each pick so that runtime weight
	// changes and slowstart apply at once.
	static []int

	mu  sync.Mutex
	cur []int64
}

func newSWRR(servers []Server, static bool) *swrr {
	r := &swrr{servers: servers, cur: make([]int64, len(servers))}
	if static {
		r.static = make([]int, len(servers))
		for i, s := range servers {
			r.static[i] = clampWeight(s.Weight())
		}
	}
	return r
}

func (r *swrr) Pick([]byte) int {
	r.mu.Lock()
	best, total := -1, int64(0)
	for i, s := range r.servers {
		w := usable(s)
		if w != 0 && r.static != nil {
			// static-rr keeps its build weights, but a weight set to 0 at
			// runtime still drains the server, as in HAProxy.
			w = r.static[i]
		}
		if w == 0 {
			// A server that comes back starts afresh rather than with
			// whatever credit or debt it left with.
			r.cur[i] = 0
			continue
		}
		r.cur[i] += int64(w)
		total += int64(w)
		if best < 0 || r.cur[i] > r.cur[best] {
			best = i
		}
	}
	if best >= 0 {
		r.cur[best] -= total
	}
	r.mu.Unlock()
	return best
}
