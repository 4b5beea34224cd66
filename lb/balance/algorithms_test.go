package balance

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPickSequences(t *testing.T) {
	t.Parallel()
	up := func(w int) fakeState { return fakeState{w: w} }
	down := func(w int) fakeState { return fakeState{w: w, down: true} }
	busy := func(w, c int) fakeState { return fakeState{w: w, conns: c} }
	rr := Spec{Algorithm: Roundrobin}
	srr := Spec{Algorithm: StaticRR}
	lc := Spec{Algorithm: Leastconn}
	fst := Spec{Algorithm: First}
	tests := []struct {
		name    string
		spec    Spec
		servers []fakeState
		after   func(f []*fake) // applied after New, before picking
		key     []byte
		want    []int
	}{
		{name: "rr no servers", spec: rr, want: []int{-1, -1}},
		{name: "rr equal weights", spec: rr, servers: []fakeState{up(1), up(1), up(1)}, want: []int{0, 1, 2, 0, 1, 2}},
		{name: "rr smooth 5 1 1", spec: rr, servers: []fakeState{up(5), up(1), up(1)}, want: []int{0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0}},
		{name: "rr skips down", spec: rr, servers: []fakeState{up(1), down(1), up(1)}, want: []int{0, 2, 0, 2}},
		{name: "rr skips weight 0", spec: rr, servers: []fakeState{up(1), up(0), up(1)}, want: []int{0, 2, 0, 2}},
		{name: "rr all down", spec: rr, servers: []fakeState{down(1), down(3)}, want: []int{-1, -1}},
		{name: "rr clamps weight", spec: rr, servers: []fakeState{up(1000), up(256)}, want: []int{0, 1, 0, 1}},
		{
			name: "rr follows runtime weight", spec: rr, servers: []fakeState{up(1), up(1)},
			after: func(f []*fake) { f[0].weight.Store(3) },
			want:  []int{0, 0, 1, 0, 0, 0, 1, 0},
		},
		{
			name: "rr drains on weight 0", spec: rr, servers: []fakeState{up(1), up(1)},
			after: func(f []*fake) { f[1].weight.Store(0) },
			want:  []int{0, 0, 0},
		},
		{name: "static-rr 2 1", spec: srr, servers: []fakeState{up(2), up(1)}, want: []int{0, 1, 0, 0, 1, 0}},
		{
			name: "static-rr ignores runtime weight", spec: srr, servers: []fakeState{up(1), up(1)},
			after: func(f []*fake) { f[0].weight.Store(3) },
			want:  []int{0, 1, 0, 1},
		},
		{
			name: "static-rr drains on weight 0", spec: srr, servers: []fakeState{up(1), up(1)},
			after: func(f []*fake) { f[0].weight.Store(0) },
			want:  []int{1, 1},
		},
		{name: "static-rr skips down", spec: srr, servers: []fakeState{down(1), up(1), up(1)}, want: []int{1, 2, 1, 2}},
		{name: "leastconn fewest", spec: lc, servers: []fakeState{busy(1, 3), busy(1, 1), busy(1, 2)}, want: []int{1, 1, 1}},
		{name: "leastconn ties round-robin", spec: lc, servers: []fakeState{up(1), up(1), up(1)}, want: []int{0, 1, 2, 0, 1}},
		{name: "leastconn ties skip down evenly", spec: lc, servers: []fakeState{up(1), down(1), up(1)}, want: []int{0, 2, 0, 2}},
		{name: "leastconn per weight", spec: lc, servers: []fakeState{busy(1, 2), busy(2, 3)}, want: []int{1, 1}},
		{name: "leastconn per weight other way", spec: lc, servers: []fakeState{busy(1, 1), busy(3, 6)}, want: []int{0, 0}},
		{name: "leastconn idle beats weight", spec: lc, servers: []fakeState{busy(256, 1), busy(1, 0)}, want: []int{1, 1}},
		{name: "leastconn skips down", spec: lc, servers: []fakeState{{w: 1, down: true}, busy(1, 9)}, want: []int{1}},
		{name: "leastconn skips weight 0", spec: lc, servers: []fakeState{busy(0, 0), busy(1, 9)}, want: []int{1}},
		{name: "leastconn all down", spec: lc, servers: []fakeState{down(1)}, want: []int{-1}},
		{name: "leastconn no servers", spec: lc, want: []int{-1}},
		{name: "first takes first", spec: fst, servers: []fakeState{busy(1, 50), up(1)}, want: []int{0, 0}},
		{name: "first skips full", spec: fst, servers: []fakeState{down(1), up(1), up(1)}, want: []int{1, 1}},
		{name: "first skips weight 0", spec: fst, servers: []fakeState{up(0), up(1)}, want: []int{1}},
		{name: "first all down", spec: fst, servers: []fakeState{down(1), down(1)}, want: []int{-1}},
		{name: "random single", spec: Spec{Algorithm: Random, Rand: seeded(1)}, servers: []fakeState{down(1), up(1), up(0)}, want: []int{1, 1, 1, 1}},
		{name: "random all down", spec: Spec{Algorithm: Random, Rand: seeded(1)}, servers: []fakeState{down(1), up(0)}, want: []int{-1, -1}},
		{name: "random no servers", spec: Spec{Algorithm: Random}, want: []int{-1}},
	}
	for _, ht := range []HashType{MapBased, Consistent} {
		for _, alg := range []Algorithm{Source, URI, URLParam, Header} {
			spec := Spec{Algorithm: alg, HashType: ht}
			name := alg.String() + " " + ht.String()
			tests = append(tests,
				struct {
					name    string
					spec    Spec
					servers []fakeState
					after   func(f []*fake)
					key     []byte
					want    []int
				}{name: name + " empty key round-robin", spec: spec, servers: []fakeState{up(1), up(1), up(1)}, want: []int{0, 1, 2, 0}},
				struct {
					name    string
					spec    Spec
					servers []fakeState
					after   func(f []*fake)
					key     []byte
					want    []int
				}{name: name + " only one up", spec: spec, servers: []fakeState{down(1), up(1), up(0)}, key: []byte("k"), want: []int{1, 1}},
				struct {
					name    string
					spec    Spec
					servers []fakeState
					after   func(f []*fake)
					key     []byte
					want    []int
				}{name: name + " all down", spec: spec, servers: []fakeState{down(1), down(1)}, key: []byte("k"), want: []int{-1}},
				struct {
					name    string
					spec    Spec
					servers []fakeState
					after   func(f []*fake)
					key     []byte
					want    []int
				}{name: name + " no servers", spec: spec, key: []byte("k"), want: []int{-1}},
			)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs, ss := newFakes(tt.servers...)
			b := mustNew(t, tt.spec, ss)
			if tt.after != nil {
				tt.after(fs)
			}
			got := make([]int, len(tt.want))
			for i := range got {
				got[i] = b.Pick(tt.key)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("picks (-want +got):\n%s", diff)
			}
		})
	}
}

// A key always goes to the same server while nothing changes.
func TestHashStable(t *testing.T) {
	t.Parallel()
	for _, ht := range []HashType{MapBased, Consistent} {
		_, ss := weighted(1, 2, 3, 1, 1)
		b := mustNew(t, Spec{Algorithm: URI, HashType: ht}, ss)
		for _, k := range keys(1000) {
			first := b.Pick(k)
			for range 3 {
				if got := b.Pick(k); got != first {
					t.Fatalf("%s: key %q went to %d then %d", ht, k, first, got)
				}
			}
		}
	}
}

// random(2) sends new work to the less loaded of two draws.
func TestRandomPrefersLessLoaded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		draws    int
		minShare float64 // of picks going to the idle server
		maxShare float64
	}{
		{draws: 1, minShare: 0.45, maxShare: 0.55}, // plain weighted random
		{draws: 2, minShare: 0.90, maxShare: 1},
		{draws: 4, minShare: 0.99, maxShare: 1},
	}
	for _, tt := range tests {
		_, ss := newFakes(fakeState{w: 1, conns: 10}, fakeState{w: 1})
		b := mustNew(t, Spec{Algorithm: Random, Draws: tt.draws, Rand: seeded(7)}, ss)
		const n = 10000
		idle := 0
		for range n {
			if b.Pick(nil) == 1 {
				idle++
			}
		}
		if share := float64(idle) / n; share < tt.minShare || share > tt.maxShare {
			t.Errorf("random(%d): idle server got %.3f of picks, want %.2f..%.2f", tt.draws, share, tt.minShare, tt.maxShare)
		}
	}
}

// Load is compared per unit of weight: 4 connections at weight 4 is lighter
// than 2 at weight 1.
func TestRandomLoadPerWeight(t *testing.T) {
	t.Parallel()
	_, ss := newFakes(fakeState{w: 1, conns: 2}, fakeState{w: 4, conns: 4})
	b := mustNew(t, Spec{Algorithm: Random, Draws: 2, Rand: seeded(3)}, ss)
	counts := [2]int{}
	for range 10000 {
		counts[b.Pick(nil)]++
	}
	if counts[1] < 9000 {
		t.Errorf("picks %v: want the weight-4 server (lighter per weight) nearly always", counts)
	}
}

func TestZeroAllocs(t *testing.T) {
	// Not parallel: AllocsPerRun counts the whole process's allocations.
	key := []byte("/index.html")
	for _, spec := range benchSpecs() {
		_, ss := weighted(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
		b := mustNew(t, spec.spec, ss)
		if n := testing.AllocsPerRun(1000, func() { b.Pick(key) }); n != 0 {
			t.Errorf("%s: Pick allocates %.1f times", spec.name, n)
		}
		if n := testing.AllocsPerRun(1000, func() { b.Pick(nil) }); n != 0 {
			t.Errorf("%s: Pick(nil) allocates %.1f times", spec.name, n)
		}
	}
}
