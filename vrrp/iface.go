package vrrp

import (
	"net/netip"
	"time"
)

// Conn sends and receives VRRP adverts (IP protocol 112) on one interface.
// The real one is a raw IPv4 socket (ListenRaw); vrrptest has a fake.
type Conn interface {
	// ReadFrom blocks until a datagram arrives and copies its IP payload
	// into b. It returns an error once the Conn is closed.
	ReadFrom(b []byte) (n int, meta RecvMeta, err error)
	// WriteTo sends the advert b from src to dst (224.0.0.18 or a unicast
	// peer) with TTL 255 and TOS 0xc0.
	WriteTo(b []byte, src, dst netip.Addr) error
	// Close unblocks ReadFrom.
	Close() error
}

// HandledNotifier is implemented by a Conn that wants to know when each
// datagram it returned from ReadFrom has been fully handled by the Router
// (vrrptest's fake clock steps time only when every Router is quiet).
type HandledNotifier interface {
	Handled()
}

// RecvMeta is what the IP header said about a received advert.
type RecvMeta struct {
	Src, Dst netip.Addr
	TTL      int
	// At is when the advert arrived (zero: when the driver handles it).
	// Timers restarted by an advert count from its arrival.
	At time.Time
}

// Addresser adds and removes the virtual addresses (netlink in production).
type Addresser interface {
	// PrimaryAddr returns the first IPv4 address of ifname that is not one
	// of vips: the source of adverts and the tie-breaker between equal
	// priorities.
	PrimaryAddr(ifname string, vips []netip.Addr) (netip.Addr, error)
	// AddVIP adds v to ifname; already present is not an error.
	AddVIP(ifname string, v VIP) error
	// DelVIP removes v from ifname; already absent is not an error.
	DelVIP(ifname string, v VIP) error
}

// ARPSender sends gratuitous ARP for an address this router now holds.
type ARPSender interface {
	GratuitousARP(ifname string, ip netip.Addr) error
}

// Clock is the time source of the driver; vrrptest has a fake.
type Clock interface {
	Now() time.Time
	// NewTimer returns a stopped timer.
	NewTimer() Timer
}

// Timer is a resettable one-shot timer.
type Timer interface {
	C() <-chan time.Time
	// Reset arms the timer to fire after d, discarding any pending fire.
	Reset(d time.Duration)
	Stop()
}

// SystemClock is the real Clock.
type SystemClock struct{}

// Now implements Clock.
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer implements Clock.
func (SystemClock) NewTimer() Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return sysTimer{t}
}

type sysTimer struct{ t *time.Timer }

func (s sysTimer) C() <-chan time.Time   { return s.t.C }
func (s sysTimer) Reset(d time.Duration) { s.t.Reset(d) } // Go ≥1.23: Reset drops a pending fire
func (s sysTimer) Stop()                 { s.t.Stop() }
