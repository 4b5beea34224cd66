package cookie

import "testing"

func BenchmarkScanLookup(b *testing.B) {
	p := mustNew(b, Config{Name: "HA_STICKY_ms1", Mode: Insert, Indirect: true})
	servers := []*fakeServer{{"ms1.srv1", true}, {"ms1.srv2", true}, {"ms1.srv3", true}}
	hdr := []byte("_ga=GA1.2.3456; theme=dark; HA_STICKY_ms1=ms1.srv3; session=0123456789abcdef")
	b.ReportAllocs()
	var r Request
	for b.Loop() {
		r.Reset()
		p.Scan(hdr, 1_800_000_000, &r)
		if Lookup(&r, servers) != 2 {
			b.Fatal("not found")
		}
	}
}

func BenchmarkStripRequest(b *testing.B) {
	p := mustNew(b, Config{Name: "HA_STICKY_ms1", Mode: Insert, Indirect: true})
	hdr := []byte("_ga=GA1.2.3456; theme=dark; HA_STICKY_ms1=ms1.srv3; session=0123456789abcdef")
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := p.StripRequest(dst, hdr); !ok {
			b.Fatal("not stripped")
		}
	}
}

func BenchmarkInsert(b *testing.B) {
	p := mustNew(b, Config{Name: "HA_STICKY_ms1", Mode: Insert, Indirect: true, MaxIdle: 1800e9, HTTPOnly: true})
	dst := make([]byte, 0, 256)
	b.ReportAllocs()
	var rs Response
	var rq Request
	for b.Loop() {
		rs.Reset("ms1.srv1", false)
		rq.Reset()
		if _, ok := p.Insert(dst[:0], &rs, &rq, false, 1_800_000_000); !ok {
			b.Fatal("no insert")
		}
	}
}
