package stick

import (
	"net/netip"
	"testing"
	"time"
)

func benchTable(b *testing.B, size int) *Table {
	tb, err := New(Config{Type: IP, Size: size, Expire: 30 * time.Minute}, Options{OnEvent: func(Event) {}})
	if err != nil {
		b.Fatal(err)
	}
	return tb
}

// BenchmarkGet matches an existing entry (and refreshes it): 0 allocs.
func BenchmarkGet(b *testing.B) {
	for _, size := range []int{1000, 100000} {
		b.Run(map[int]string{1000: "1k", 100000: "100k"}[size], func(b *testing.B) {
			tb := benchTable(b, size)
			src := netip.MustParseAddr("192.0.2.77")
			var kb [16]byte
			k, _ := tb.KeyAddr(kb[:0], src)
			tb.Put(k, Server{1, "ms1.srv1"})
			b.ReportAllocs()
			for b.Loop() {
				k, _ := tb.KeyAddr(kb[:0], src)
				if _, ok := tb.Get(k); !ok {
					b.Fatal("miss")
				}
			}
		})
	}
}

// BenchmarkPutExisting stores again a key already present (what stick on
// does on every request): 0 allocs, event hook included.
func BenchmarkPutExisting(b *testing.B) {
	tb := benchTable(b, 100000)
	var kb [16]byte
	k, _ := tb.KeyAddr(kb[:0], netip.MustParseAddr("192.0.2.77"))
	tb.Put(k, Server{1, "ms1.srv1"})
	b.ReportAllocs()
	for b.Loop() {
		tb.Put(k, Server{1, "ms1.srv1"})
	}
}

// BenchmarkPutNew creates entries in a full table (eviction each time).
func BenchmarkPutNew(b *testing.B) {
	tb := benchTable(b, 1000)
	var kb [16]byte
	i := uint32(0)
	b.ReportAllocs()
	for b.Loop() {
		i++
		k, _ := tb.KeyAddr(kb[:0], netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
		tb.Put(k, Server{1, "ms1.srv1"})
	}
}

func BenchmarkGetParallel(b *testing.B) {
	tb := benchTable(b, 100000)
	for i := range 1000 {
		k, _ := tb.KeyAddr(nil, netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
		tb.Put(k, Server{1, "s"})
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var kb [16]byte
		i := 0
		for pb.Next() {
			i++
			k, _ := tb.KeyAddr(kb[:0], netip.AddrFrom4([4]byte{10, 0, byte(i % 1000 >> 8), byte(i % 1000)}))
			tb.Get(k)
		}
	})
}
