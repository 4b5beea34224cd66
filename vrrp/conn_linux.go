package vrrp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// rawConn is the production Conn: a raw IPv4 socket for protocol 112 bound
// to one interface, joined to 224.0.0.18 there.
type rawConn struct {
	ifi *net.Interface
	pc  *ipv4.PacketConn
}

// ListenRaw opens the VRRP socket of interface ifname (needs CAP_NET_RAW).
// It sends with TTL 255 and TOS 0xc0 (internetwork control), as RFC 3768 and
// keepalived do, and receives the TTL and destination of every advert.
func ListenRaw(ifname string) (Conn, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("find interface %s: %w", ifname, err)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			// Only this interface's adverts: the same VRID may exist on another link.
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifname)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pconn, err := lc.ListenPacket(context.Background(), "ip4:112", "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("open raw socket for VRRP on %s: %w", ifname, err)
	}
	pc := ipv4.NewPacketConn(pconn)
	fail := func(what string, err error) (Conn, error) {
		pc.Close()
		return nil, fmt.Errorf("VRRP socket on %s: %s: %w", ifname, what, err)
	}
	group := &net.IPAddr{IP: net.IPv4(224, 0, 0, 18)}
	if err := pc.JoinGroup(ifi, group); err != nil {
		return fail("join 224.0.0.18", err)
	}
	if err := pc.SetMulticastInterface(ifi); err != nil {
		return fail("set multicast interface", err)
	}
	if err := pc.SetMulticastLoopback(false); err != nil {
		return fail("disable multicast loopback", err)
	}
	if err := pc.SetMulticastTTL(255); err != nil {
		return fail("set multicast TTL", err)
	}
	if err := pc.SetTTL(255); err != nil {
		return fail("set TTL", err)
	}
	if err := pc.SetTOS(0xc0); err != nil {
		return fail("set TOS", err)
	}
	if err := pc.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
		return fail("enable control messages", err)
	}
	return &rawConn{ifi: ifi, pc: pc}, nil
}

func (c *rawConn) ReadFrom(b []byte) (int, RecvMeta, error) {
	for {
		n, cm, src, err := c.pc.ReadFrom(b)
		if err != nil {
			return 0, RecvMeta{}, err
		}
		meta := RecvMeta{At: time.Now()}
		if a, ok := src.(*net.IPAddr); ok {
			meta.Src, _ = netip.AddrFromSlice(a.IP)
			meta.Src = meta.Src.Unmap()
		}
		if cm != nil {
			if cm.IfIndex != 0 && cm.IfIndex != c.ifi.Index {
				continue
			}
			meta.TTL = cm.TTL
			meta.Dst, _ = netip.AddrFromSlice(cm.Dst)
			meta.Dst = meta.Dst.Unmap()
		}
		return n, meta, nil
	}
}

func (c *rawConn) WriteTo(b []byte, src, dst netip.Addr) error {
	cm := &ipv4.ControlMessage{IfIndex: c.ifi.Index, Src: src.AsSlice()}
	if _, err := c.pc.WriteTo(b, cm, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		return fmt.Errorf("send VRRP advert %v -> %v on %s: %w", src, dst, c.ifi.Name, err)
	}
	return nil
}

func (c *rawConn) Close() error { return c.pc.Close() }
