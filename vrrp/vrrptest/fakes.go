package vrrptest

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tandemlb/tandem/vrrp"
)

// ErrClosed is returned by a closed Conn.
var ErrClosed = errors.New("vrrptest: conn closed")

// Sent is one advert written by a Conn.
type Sent struct {
	Src, Dst netip.Addr
	Payload  []byte
}

type datagram struct {
	b    []byte
	meta vrrp.RecvMeta
}

// Net is an in-memory link: what one attached Conn writes to 224.0.0.18
// reaches every other Conn, what it writes to a unicast address reaches the
// Conn with that address. Delivery is with TTL 255, stamped with Clock's
// time when Clock is set.
type Net struct {
	Clock vrrp.Clock

	mu    sync.Mutex
	conns []*Conn
}

// Attach returns a Conn on n whose unicast address is addr.
func (n *Net) Attach(addr netip.Addr) *Conn {
	c := NewConn(addr)
	n.mu.Lock()
	n.conns = append(n.conns, c)
	n.mu.Unlock()
	c.net = n
	if clk, ok := n.Clock.(*Clock); ok {
		clk.attach(c)
	}
	return c
}

// Conn is a fake vrrp.Conn. Unattached (NewConn) it only records what is
// written; Inject feeds it datagrams.
type Conn struct {
	addr netip.Addr
	net  *Net
	in   chan datagram
	done chan struct{}
	once sync.Once

	mu                 sync.Mutex
	sent               []Sent
	down               bool
	delivered, handled int // datagrams queued for the reader, and acted on
}

// NewConn returns an unattached Conn.
func NewConn(addr netip.Addr) *Conn {
	return &Conn{addr: addr, in: make(chan datagram, 256), done: make(chan struct{})}
}

// ReadFrom implements vrrp.Conn.
func (c *Conn) ReadFrom(b []byte) (int, vrrp.RecvMeta, error) {
	select {
	case d := <-c.in:
		return copy(b, d.b), d.meta, nil
	case <-c.done:
		return 0, vrrp.RecvMeta{}, ErrClosed
	}
}

// WriteTo implements vrrp.Conn.
func (c *Conn) WriteTo(b []byte, src, dst netip.Addr) error {
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	c.mu.Lock()
	c.sent = append(c.sent, Sent{Src: src, Dst: dst, Payload: slices.Clone(b)})
	down := c.down
	c.mu.Unlock()
	if c.net == nil || down {
		return nil
	}
	c.net.mu.Lock()
	peers := slices.Clone(c.net.conns)
	c.net.mu.Unlock()
	for _, p := range peers {
		if p == c || (dst != vrrp.MulticastGroup && dst != p.addr) {
			continue
		}
		meta := vrrp.RecvMeta{Src: src, Dst: dst, TTL: 255}
		if c.net.Clock != nil {
			meta.At = c.net.Clock.Now()
		}
		p.Inject(b, meta)
	}
	return nil
}

// Close implements vrrp.Conn.
func (c *Conn) Close() error {
	c.once.Do(func() { close(c.done) })
	c.mu.Lock()
	c.handled = c.delivered // nobody will read what is left
	c.mu.Unlock()
	return nil
}

// Handled implements vrrp.HandledNotifier.
func (c *Conn) Handled() {
	c.mu.Lock()
	c.handled++
	c.mu.Unlock()
}

// quiet reports whether every datagram delivered has been handled.
func (c *Conn) quiet() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handled >= c.delivered
}

// SetDown makes the Conn stop delivering what it writes (a cut cable on
// the sending side); it still records it.
func (c *Conn) SetDown(down bool) {
	c.mu.Lock()
	c.down = down
	c.mu.Unlock()
}

// Inject delivers a datagram to the Conn's reader (dropped if the Conn is
// closed or its queue is full).
func (c *Conn) Inject(b []byte, meta vrrp.RecvMeta) {
	c.mu.Lock()
	down := c.down
	c.mu.Unlock()
	if down {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		return // closed: a select with both ready might still queue it
	default:
	}
	select {
	case c.in <- datagram{b: slices.Clone(b), meta: meta}:
		c.delivered++
	default:
	}
}

// Sent returns a copy of everything written so far.
func (c *Conn) Sent() []Sent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sent)
}

// Adverts parses everything written so far (v2 and v3).
func (c *Conn) Adverts(t testing.TB) []*vrrp.Packet {
	t.Helper()
	var ps []*vrrp.Packet
	for _, s := range c.Sent() {
		p, err := vrrp.Parse(s.Payload, s.Src, s.Dst)
		if err != nil {
			t.Fatalf("vrrptest: written advert does not parse: %v", err)
		}
		ps = append(ps, p)
	}
	return ps
}

// Addresser is a fake vrrp.Addresser: a set of addresses per interface.
type Addresser struct {
	mu      sync.Mutex
	primary map[string]netip.Addr
	addrs   map[string]map[netip.Prefix]string // prefix -> label
	log     []string
}

// NewAddresser returns an Addresser where ifname has primary address addr.
func NewAddresser(ifname string, addr netip.Addr) *Addresser {
	return &Addresser{
		primary: map[string]netip.Addr{ifname: addr},
		addrs:   make(map[string]map[netip.Prefix]string),
	}
}

// PrimaryAddr implements vrrp.Addresser.
func (a *Addresser) PrimaryAddr(ifname string, _ []netip.Addr) (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.primary[ifname]
	if !ok {
		return netip.Addr{}, errors.New("vrrptest: no such interface " + ifname)
	}
	return p, nil
}

// AddVIP implements vrrp.Addresser.
func (a *Addresser) AddVIP(ifname string, v vrrp.VIP) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.addrs[ifname] == nil {
		a.addrs[ifname] = make(map[netip.Prefix]string)
	}
	a.addrs[ifname][v.Prefix] = v.Label
	a.log = append(a.log, "add "+ifname+" "+v.Prefix.String())
	return nil
}

// DelVIP implements vrrp.Addresser.
func (a *Addresser) DelVIP(ifname string, v vrrp.VIP) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.addrs[ifname][v.Prefix]; ok {
		a.log = append(a.log, "del "+ifname+" "+v.Prefix.String())
	}
	delete(a.addrs[ifname], v.Prefix)
	return nil
}

// Has reports whether ifname holds the address of p.
func (a *Addresser) Has(ifname string, p netip.Prefix) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.addrs[ifname][p]
	return ok
}

// Log returns the adds and removes that changed something, in order.
func (a *Addresser) Log() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.log)
}

// GARP is one gratuitous ARP sent through ARPSender.
type GARP struct {
	Interface string
	IP        netip.Addr
	At        time.Time
}

// ARPSender is a fake vrrp.ARPSender recording each GARP with the time of
// its Clock.
type ARPSender struct {
	Clock vrrp.Clock
	mu    sync.Mutex
	sent  []GARP
}

// GratuitousARP implements vrrp.ARPSender.
func (s *ARPSender) GratuitousARP(ifname string, ip netip.Addr) error {
	var at time.Time
	if s.Clock != nil {
		at = s.Clock.Now()
	}
	s.mu.Lock()
	s.sent = append(s.sent, GARP{Interface: ifname, IP: ip, At: at})
	s.mu.Unlock()
	return nil
}

// Sent returns the GARPs sent so far.
func (s *ARPSender) Sent() []GARP {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}
