package lb

import (
	"net"
	"net/netip"
	"time"

	"github.com/tandemlb/tandem/lb/proxyproto"
)

// acceptProxy reads the PROXY header an accept_proxy frontend's clients
// send first (within timeout_client) and keeps it for connAddrs. false:
// no valid header, close the connection.
func (f *frontend) acceptProxy(c *net.TCPConn) bool {
	_ = c.SetReadDeadline(f.p.now().Add(f.timeouts.Client))
	h, err := proxyproto.Read(c)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		f.st.errReq.Add(1)
		f.p.log.Debug().Err(err).Str("frontend", f.name).Stringer("peer", c.RemoteAddr()).Msg("PROXY header refused")
		return false
	}
	if !h.Local {
		f.proxied.Store(c, h)
	}
	return true
}

// connAddrs are the client's address and the address it connected to: the
// connection's own, or those of its PROXY header with accept_proxy.
func (f *frontend) connAddrs(c net.Conn) (client, local netip.AddrPort) {
	client, local = tcpAddrPort(c.RemoteAddr()), tcpAddrPort(c.LocalAddr())
	if !f.cfg.AcceptProxy {
		return client, local
	}
	// Find the TCP connection under TLS (or anything else exposing it).
	for c != nil {
		if tc, ok := c.(*net.TCPConn); ok {
			if v, ok := f.proxied.Load(tc); ok {
				h := v.(proxyproto.Header)
				return unmapAP(h.Src), unmapAP(h.Dst)
			}
			break
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = u.NetConn()
	}
	return client, local
}

func tcpAddrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return unmapAP(ta.AddrPort())
	}
	return netip.AddrPort{}
}

func unmapAP(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// sendProxyHeader writes the PROXY header (version 1 or 2) for a client
// connection from src to dst as the first bytes to a server.
func sendProxyHeader(c *net.TCPConn, version int, src, dst netip.AddrPort, timeout time.Duration) error {
	var b [128]byte
	var hdr []byte
	if version == 2 {
		hdr = proxyproto.AppendV2(b[:0], src, dst)
	} else {
		hdr = proxyproto.AppendV1(b[:0], src, dst)
	}
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.Write(hdr)
	_ = c.SetWriteDeadline(time.Time{})
	return err
}
