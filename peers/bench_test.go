package peers

import (
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/tandemlb/tandem/lb/stick"
)

// BenchmarkTableEvent is the cost a stick-table store adds on the request
// path while the link is up: a lock and a map store, no allocation once
// the key is queued (stores of the same clients between two flushes).
func BenchmarkTableEvent(b *testing.B) {
	n, err := New(Config{Local: "lb1", Peer: "lb2", Bind: netip.MustParseAddrPort("127.0.0.1:0"),
		PeerAddr: netip.MustParseAddrPort("127.0.0.1:1")}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	n.sess = newSession(c1) // up, with nobody draining the queue
	n.resync = false
	n.up.Store(true)
	evs := make([]stick.Event, 1000)
	for i := range evs {
		evs[i] = stick.Event{Kind: stick.Updated, Key: "key" + strconv.Itoa(i), Server: stick.Server{ID: 1, Name: "srv1"},
			Expire: time.Now().Add(time.Hour)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		n.TableEvent("ms1", evs[i%len(evs)])
	}
}
