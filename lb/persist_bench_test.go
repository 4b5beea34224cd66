package lb

import (
	"testing"
	"time"

	"github.com/tandemlb/tandem/lb/cookie"
	"github.com/tandemlb/tandem/lb/stick"
)

// persistBenches are keep-alive requests through a backend with
// persistence: a sticky client (cookie found, stripped by indirect), a new
// client on every request (cookie inserted, Cache-Control: private added),
// and stick_on src (table matched and stored again).
var persistBenches = []struct {
	name    string
	edit    func(*BackendConfig)
	cookies string
}{
	{"cookie sticky", func(b *BackendConfig) {
		b.Cookie = &cookie.Config{Name: "HA_STICKY_ms1", Mode: cookie.Insert, Indirect: true, NoCache: true}
	}, "a=b; HA_STICKY_ms1=s1; theme=dark"},
	{"cookie insert", func(b *BackendConfig) {
		b.Cookie = &cookie.Config{Name: "HA_STICKY_ms1", Mode: cookie.Insert, Indirect: true, NoCache: true}
	}, "a=b"},
	{"stick on src", func(b *BackendConfig) {
		b.StickTable = &stick.Config{Type: stick.IP, Size: 1000, Expire: time.Minute}
		b.Stick = []StickRule{{Kind: StickOn, Fetch: "src"}}
	}, "a=b"},
}

func BenchmarkProxyPersist(b *testing.B) {
	for _, pb := range persistBenches {
		b.Run(pb.name, func(b *testing.B) {
			rt := benchProxyWith(b, pb.edit, pb.cookies)
			for range 100 {
				rt()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rt()
			}
		})
	}
}

// TestZeroAllocsPersist: persistence adds no allocation per request.
func TestZeroAllocsPersist(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count needs a quiet process")
	}
	for _, pb := range persistBenches {
		rt := benchProxyWith(t, pb.edit, pb.cookies)
		for range 100 {
			rt()
		}
		if n := testing.AllocsPerRun(300, rt); n > 0 {
			t.Errorf("%s: %.2f allocations per request, want 0", pb.name, n)
		}
	}
}
