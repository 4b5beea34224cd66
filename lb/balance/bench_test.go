package balance

import (
	"strconv"
	"testing"
)

type namedSpec struct {
	name string
	spec Spec
}

func benchSpecs() []namedSpec {
	return []namedSpec{
		{"roundrobin", Spec{Algorithm: Roundrobin}},
		{"static-rr", Spec{Algorithm: StaticRR}},
		{"leastconn", Spec{Algorithm: Leastconn}},
		{"first", Spec{Algorithm: First}},
		{"source-map", Spec{Algorithm: Source}},
		{"source-consistent", Spec{Algorithm: Source, HashType: Consistent}},
		{"uri-map", Spec{Algorithm: URI}},
		{"uri-consistent", Spec{Algorithm: URI, HashType: Consistent}},
		{"url_param-map", Spec{Algorithm: URLParam}},
		{"hdr-consistent", Spec{Algorithm: Header, HashType: Consistent}},
		{"random", Spec{Algorithm: Random}},
		{"random-seeded", Spec{Algorithm: Random, Rand: seeded(1)}},
	}
}

func BenchmarkPick(b *testing.B) {
	for _, ns := range benchSpecs() {
		for _, n := range []int{2, 10, 100} {
			b.Run(ns.name+"/"+strconv.Itoa(n), func(b *testing.B) {
				st := make([]fakeState, n)
				for i := range st {
					st[i] = fakeState{w: 1 + i%4, conns: i % 7}
				}
				_, ss := newFakes(st...)
				bal := mustNew(b, ns.spec, ss)
				ks := make([][]byte, 256)
				for i := range ks {
					ks[i] = ipKey(192, 0, 2, byte(i))
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					if bal.Pick(ks[i&255]) < 0 {
						b.Fatal("no server picked")
					}
				}
			})
		}
	}
}

func BenchmarkPickParallel(b *testing.B) {
	for _, ns := range benchSpecs() {
		b.Run(ns.name+"/10", func(b *testing.B) {
			_, ss := weighted(1, 2, 3, 4, 1, 2, 3, 4, 1, 2)
			bal := mustNew(b, ns.spec, ss)
			key := []byte("/index.html")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					bal.Pick(key)
				}
			})
		})
	}
}
