package balance

import (
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
)

// fake is a Server whose state a test sets; atomic like the engine's.
type fake struct {
	down   atomic.Bool
	weight atomic.Int32
	conns  atomic.Int32
}

func (f *fake) Available() bool  { return !f.down.Load() }
func (f *fake) Weight() int      { return int(f.weight.Load()) }
func (f *fake) ActiveConns() int { return int(f.conns.Load()) }

// fakeState describes one fake server in a table.
type fakeState struct {
	w     int
	down  bool
	conns int
}

func newFakes(states ...fakeState) ([]*fake, []Server) {
	fs := make([]*fake, len(states))
	ss := make([]Server, len(states))
	for i, st := range states {
		f := &fake{}
		f.weight.Store(int32(st.w))
		f.down.Store(st.down)
		f.conns.Store(int32(st.conns))
		fs[i], ss[i] = f, f
	}
	return fs, ss
}

// weighted returns fakes that are up, idle, with the given weights.
func weighted(ws ...int) ([]*fake, []Server) {
	st := make([]fakeState, len(ws))
	for i, w := range ws {
		st[i] = fakeState{w: w}
	}
	return newFakes(st...)
}

// seeded is a deterministic randomness source for tests.
func seeded(seed uint64) rand.Source { return rand.NewPCG(seed, seed^0x9e3779b97f4a7c15) }

// ipKey returns the 4 bytes of an IPv4 address, as the HTTP layer gives
// `source`.
func ipKey(a, b, c, d byte) []byte {
	ip := netip.AddrFrom4([4]byte{a, b, c, d}).As4()
	return ip[:]
}

// keys returns n distinct keys shaped like URIs.
func keys(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte("/static/img/" + itoa(i) + ".png")
	}
	return out
}

func itoa(i int) string {
	var b [20]byte
	p := len(b)
	for {
		p--
		b[p] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	return string(b[p:])
}

func mustNew(t interface {
	Helper()
	Fatalf(string, ...any)
}, spec Spec, servers []Server) Balancer {
	t.Helper()
	b, err := New(spec, servers)
	if err != nil {
		t.Fatalf("New(%+v): %v", spec, err)
	}
	return b
}
