package balance

import (
	"fmt"
	"math"
	"testing"
)

func sum(ws []int) int {
	s := 0
	for _, w := range ws {
		s += w
	}
	return s
}

// checkShares fails when a server's share of picks is off its share of the
// weights by more than tol (absolute, 0.02 = two percentage points).
func checkShares(t *testing.T, what string, counts, ws []int, tol float64) {
	t.Helper()
	n, w := sum(counts), sum(ws)
	for i := range ws {
		got, want := float64(counts[i])/float64(n), float64(ws[i])/float64(w)
		if math.Abs(got-want) > tol {
			t.Errorf("%s: server %d (weight %d) got %.4f of %d picks, want %.4f±%.3f (counts %v)", what, i, ws[i], got, n, want, tol, counts)
		}
	}
}

// Over 100k picks the shares follow the weights.
func TestDistributionFollowsWeights(t *testing.T) {
	t.Parallel()
	weightSets := [][]int{{1, 1}, {1, 2, 3, 4}, {5, 1, 1}, {256, 1, 64, 10, 3}}
	specs := []Spec{
		{Algorithm: Roundrobin},
		{Algorithm: StaticRR},
		{Algorithm: Random, Draws: 1},
		{Algorithm: Random, Draws: 2}, // all idle: the first draw wins
		{Algorithm: Random, Draws: 3},
	}
	const picks = 100_000
	for si, spec := range specs {
		for _, ws := range weightSets {
			t.Run(fmt.Sprintf("%s(%d)/%v", spec.Algorithm, spec.Draws, ws), func(t *testing.T) {
				t.Parallel()
				if spec.Algorithm == Random {
					// A source per balancer: sources are not safe for
					// concurrent use across balancers.
					spec.Rand = seeded(uint64(11 + si))
				}
				_, ss := weighted(ws...)
				b := mustNew(t, spec, ss)
				counts := make([]int, len(ws))
				for range picks {
					counts[b.Pick(nil)]++
				}
				checkShares(t, spec.Algorithm.String(), counts, ws, 0.02)
			})
		}
	}
}

// Smooth round-robin interleaves: while nothing changes, every window of
// sum(weights) consecutive picks (not only the aligned ones) gives each server
// exactly its weight, so no server ever gets a burst beyond its share.
func TestRoundrobinSmooth(t *testing.T) {
	t.Parallel()
	for _, alg := range []Algorithm{Roundrobin, StaticRR} {
		for _, ws := range [][]int{{5, 1, 1}, {1, 2, 3, 4}, {7, 3, 2, 1}, {256, 1, 1, 100}, {3, 3, 2}, {1, 1, 1, 1, 1, 1, 1, 9}} {
			_, ss := weighted(ws...)
			b := mustNew(t, Spec{Algorithm: alg}, ss)
			w := sum(ws)
			seq := make([]int, 4*w)
			for i := range seq {
				seq[i] = b.Pick(nil)
			}
			counts := make([]int, len(ws))
			for i, s := range seq {
				counts[s]++
				if i >= w {
					counts[seq[i-w]]--
				}
				if i < w-1 {
					continue
				}
				for j := range ws {
					if counts[j] != ws[j] {
						t.Fatalf("%s %v: window ending at pick %d gives server %d %d picks, want %d", alg, ws, i, j, counts[j], ws[j])
					}
				}
			}
		}
	}
}

func pickAll(b Balancer, ks [][]byte) []int {
	out := make([]int, len(ks))
	for i, k := range ks {
		out[i] = b.Pick(k)
	}
	return out
}

// Consistent hashing: taking one of N servers away moves only the keys that
// were on it (about 1/N of all keys), and bringing it back restores the
// original mapping exactly.
func TestConsistentRemoveMovesOnlyItsKeys(t *testing.T) {
	t.Parallel()
	for _, n := range []int{3, 10, 50} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			ws := make([]int, n)
			for i := range ws {
				ws[i] = 1
			}
			fs, ss := weighted(ws...)
			b := mustNew(t, Spec{Algorithm: URI, HashType: Consistent}, ss)
			ks := keys(50_000)
			before := pickAll(b, ks)
			for _, victim := range []int{0, n / 2, n - 1} {
				fs[victim].down.Store(true)
				during := pickAll(b, ks)
				moved := 0
				for i := range ks {
					if during[i] == victim {
						t.Fatalf("key %q still on removed server %d", ks[i], victim)
					}
					if during[i] != before[i] {
						moved++
						if before[i] != victim {
							t.Fatalf("key %q moved from %d to %d though server %d was removed", ks[i], before[i], during[i], victim)
						}
					}
				}
				// Each server's share of the ring varies (points are
				// random): accept 0.4/N..2/N.
				frac := float64(moved) / float64(len(ks))
				if lo, hi := 0.4/float64(n), 2/float64(n); frac < lo || frac > hi {
					t.Errorf("removing 1 of %d servers moved %.4f of keys, want %.4f..%.4f", n, frac, lo, hi)
				}
				// Weight 0 (drain) is a removal too.
				fs[victim].down.Store(false)
				fs[victim].weight.Store(0)
				drained := pickAll(b, ks)
				fs[victim].weight.Store(1)
				after := pickAll(b, ks)
				for i := range ks {
					if drained[i] != during[i] {
						t.Fatalf("key %q: down sends it to %d, drain to %d", ks[i], during[i], drained[i])
					}
					if after[i] != before[i] {
						t.Fatalf("key %q on %d before, on %d after server %d came back", ks[i], before[i], after[i], victim)
					}
				}
			}
		})
	}
}

// Adding weight to one server with Reweight moves keys only onto that
// server; removing it again restores the mapping.
func TestConsistentReweight(t *testing.T) {
	t.Parallel()
	fs, ss := weighted(1, 1, 1, 1, 1)
	b := mustNew(t, Spec{Algorithm: Header, HashType: Consistent}, ss)
	rw, ok := b.(Reweighter)
	if !ok {
		t.Fatalf("consistent balancer %T does not implement Reweighter", b)
	}
	ks := keys(50_000)
	before := pickAll(b, ks)
	fs[2].weight.Store(3)
	if got := pickAll(b, ks); !equal(got, before) {
		t.Fatal("mapping changed before Reweight")
	}
	rw.Reweight()
	heavier := pickAll(b, ks)
	onTwo := 0
	for i := range ks {
		if heavier[i] == 2 {
			onTwo++
		}
		if heavier[i] != before[i] && heavier[i] != 2 {
			t.Fatalf("key %q moved from %d to %d, want moves only onto server 2", ks[i], before[i], heavier[i])
		}
	}
	if share := float64(onTwo) / float64(len(ks)); share < 0.3 || share > 0.6 {
		t.Errorf("server 2 at weight 3 of 7 has %.3f of keys, want about 0.43", share)
	}
	fs[2].weight.Store(1)
	rw.Reweight()
	if got := pickAll(b, ks); !equal(got, before) {
		t.Error("mapping not restored after weight went back")
	}
	// A server configured at weight 0 joins the ring once it has weight.
	fs2, ss2 := weighted(1, 0)
	b2 := mustNew(t, Spec{Algorithm: Source, HashType: Consistent}, ss2)
	if got := pickAll(b2, ks[:100]); count(got, 1) != 0 {
		t.Fatal("weight 0 server got keys")
	}
	fs2[1].weight.Store(1)
	b2.(Reweighter).Reweight()
	if got := count(pickAll(b2, ks), 1); got < len(ks)/4 {
		t.Errorf("after weight 0 -> 1, server 1 has %d of %d keys", got, len(ks))
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func count(xs []int, v int) int {
	c := 0
	for _, x := range xs {
		if x == v {
			c++
		}
	}
	return c
}

// Hashing spreads keys in proportion to weights. Map-based is exact up to
// the hash's quality; consistent depends on where points fall on the ring.
func TestHashSpread(t *testing.T) {
	t.Parallel()
	ks := keys(100_000)
	tests := []struct {
		ht  HashType
		ws  []int
		tol float64
	}{
		{MapBased, []int{1, 1}, 0.02},
		{MapBased, []int{1, 2, 3, 4}, 0.02},
		{MapBased, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 0.01},
		{MapBased, []int{256, 1, 64, 10, 3}, 0.02},
		{Consistent, []int{1, 1}, 0.06},
		{Consistent, []int{1, 2, 3, 4}, 0.04},
		{Consistent, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 0.03},
	}
	for _, tt := range tests {
		_, ss := weighted(tt.ws...)
		b := mustNew(t, Spec{Algorithm: URLParam, HashType: tt.ht}, ss)
		counts := make([]int, len(tt.ws))
		for _, k := range ks {
			counts[b.Pick(k)]++
		}
		checkShares(t, fmt.Sprintf("%s %v", tt.ht, tt.ws), counts, tt.ws, tt.tol)
	}
}

// Map-based counts only the servers available now: with one down, its keys
// spread over the others and the shares still follow the weights.
func TestMapBasedAvailableOnly(t *testing.T) {
	t.Parallel()
	fs, ss := weighted(1, 2, 3, 4)
	b := mustNew(t, Spec{Algorithm: URI}, ss)
	fs[1].down.Store(true)
	counts := make([]int, 4)
	for _, k := range keys(100_000) {
		counts[b.Pick(k)]++
	}
	checkShares(t, "map-based one down", counts, []int{1, 0, 3, 4}, 0.02)
	// Map-based weights are static: a runtime change other than to 0 has
	// no effect, as HAProxy's map.
	fs[1].down.Store(false)
	fs[0].weight.Store(100)
	counts = make([]int, 4)
	for _, k := range keys(100_000) {
		counts[b.Pick(k)]++
	}
	checkShares(t, "map-based static weights", counts, []int{1, 2, 3, 4}, 0.02)
}

// `source` keys are client addresses, often in one small subnet: they must
// still spread evenly.
func TestSourceSpread(t *testing.T) {
	t.Parallel()
	var subnet, slash16 [][]byte
	for d := range 256 {
		subnet = append(subnet, ipKey(127, 0, 0, byte(d)))
	}
	for c := range 256 {
		for d := range 256 {
			slash16 = append(slash16, ipKey(127, 0, byte(c), byte(d)))
		}
	}
	tests := []struct {
		name string
		ks   [][]byte
		n    int
		ht   HashType
		tol  float64
	}{
		{"127.0.0.x over 2", subnet, 2, MapBased, 0.07},
		{"127.0.0.x over 3", subnet, 3, MapBased, 0.07},
		{"127.0.0.x over 10", subnet, 10, MapBased, 0.05},
		{"127.0.x.y over 2", slash16, 2, MapBased, 0.01},
		{"127.0.x.y over 10", slash16, 10, MapBased, 0.01},
		{"127.0.x.y over 7", slash16, 7, MapBased, 0.01},
		{"127.0.0.x over 2 consistent", subnet, 2, Consistent, 0.1},
		{"127.0.x.y over 10 consistent", slash16, 10, Consistent, 0.03},
	}
	for _, tt := range tests {
		ws := make([]int, tt.n)
		for i := range ws {
			ws[i] = 1
		}
		_, ss := weighted(ws...)
		b := mustNew(t, Spec{Algorithm: Source, HashType: tt.ht}, ss)
		counts := make([]int, tt.n)
		for _, k := range tt.ks {
			counts[b.Pick(k)]++
		}
		checkShares(t, tt.name, counts, ws, tt.tol)
	}
}

// The ring stays bounded in memory for the biggest groups.
func TestRingBounded(t *testing.T) {
	t.Parallel()
	tests := []struct{ n, wantScale int }{
		{1, 100}, {2, 100}, {40, 100}, {100, 40}, {256, 16}, {5000, 1},
	}
	for _, tt := range tests {
		if got := ringScale(tt.n); got != tt.wantScale {
			t.Errorf("ringScale(%d) = %d, want %d", tt.n, got, tt.wantScale)
		}
	}
	ws := make([]int, 256)
	for i := range ws {
		ws[i] = MaxWeight
	}
	_, ss := weighted(ws...)
	b := mustNew(t, Spec{Algorithm: URI, HashType: Consistent}, ss)
	if got := len(*b.(*consistent).ring.Load()); got > maxRing {
		t.Errorf("256 servers at weight 256: %d ring points, want at most %d", got, maxRing)
	}
}
