package lb

import (
	"net"
	"net/netip"
	"slices"
)

// ResetLocal resets (TCP RST) every client connection made to one of
// addrs and returns how many. VRRP calls it just before a master gives up
// its virtual addresses: once an address is gone, the node can send
// nothing more from it, and the clients of those connections (their
// packets now reach the new master, which knows nothing of them) would
// wait for their own timeouts. Reset, they fail at once and can retry.
func (p *Proxy) ResetLocal(addrs []netip.Addr) int {
	if len(addrs) == 0 {
		return 0
	}
	n := 0
	var pairs []*tcpPair
	p.mu.Lock()
	for s := range p.sessions {
		if tc := onAddr(s.conn, addrs); tc != nil {
			_ = tc.SetLinger(0)
			_ = tc.Close()
			n++
		}
	}
	for t := range p.tcpConns {
		tc := onAddr(t.c, addrs)
		if tc == nil {
			continue
		}
		_ = tc.SetLinger(0)
		n++
		if t.pair != nil {
			pairs = append(pairs, t.pair)
			continue
		}
		_ = tc.Close()
	}
	p.mu.Unlock()
	// Outside p.mu: a pair that ends unregisters itself.
	for _, tp := range pairs {
		tp.kill()
	}
	return n
}

// onAddr returns the TCP connection under c (under TLS, or under an HTTP/2
// stream) when its local address is one of addrs, else nil.
func onAddr(c net.Conn, addrs []netip.Addr) *net.TCPConn {
	for c != nil {
		switch x := c.(type) {
		case *net.TCPConn:
			if slices.Contains(addrs, tcpAddrPort(x.LocalAddr()).Addr()) {
				return x
			}
			return nil
		case interface{ NetConn() net.Conn }:
			c = x.NetConn()
		default:
			return nil
		}
	}
	return nil
}
