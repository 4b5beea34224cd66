package config

import (
	"net/netip"
	"strings"
)

// Peers is the [peers] section: the link to the other node of the pair,
// which replicates stick tables and operators' server states and compares
// configurations (package peers).
type Peers struct {
	Local    string         // this node's name, e.g. "lb1"
	Bind     netip.AddrPort // where this node listens; "*:PORT" arrives as 0.0.0.0:PORT
	Peer     string         // the other node's name, e.g. "lb2"
	PeerAddr netip.AddrPort // where the other node listens
	// Secret keys the HMAC-SHA256 of every message; empty: messages are
	// checked against corruption only, not authenticated.
	Secret string
}

// minSecret is the length below which a secret is warned about: it would
// fall to a dictionary attack on a captured hello.
const minSecret = 16

// peers reads [peers]:
//
//	[peers]
//	local = "lb1"
//	bind = "192.0.2.11:10000"          # or port = 10000 (all addresses)
//	peer = { name = "lb2", address = "192.0.2.12:10000" }
//	secret = "long shared secret"      # optional
//
// Without bind or port, the node listens on all addresses at the peer's
// port, which is what a symmetric pair wants.
func (l *loader) peers(root *table) *Peers {
	t := root.sub("peers", "peers")
	if t == nil {
		return nil
	}
	p := &Peers{Local: t.str("local", ""), Secret: t.str("secret", "")}
	if p.Local == "" {
		t.errorf("", "needs local, this node's name")
	} else if !validPeerName(p.Local) {
		t.errorf("local", "name %q: use 1-64 letters, digits, '.', '_' or '-'", p.Local)
	}

	if pt := t.sub("peer", "peers: peer"); pt == nil {
		t.errorf("", "needs peer = { name = \"...\", address = \"IP:PORT\" }")
	} else {
		p.Peer = pt.str("name", "")
		switch {
		case p.Peer == "":
			pt.errorf("", "needs a name")
		case !validPeerName(p.Peer):
			pt.errorf("name", "name %q: use 1-64 letters, digits, '.', '_' or '-'", p.Peer)
		case p.Peer == p.Local:
			pt.errorf("name", "the peer's name must differ from local %q", p.Local)
		}
		if addr := pt.str("address", ""); addr == "" {
			pt.errorf("", "needs an address")
		} else if ap, err := parseServerAddr(addr); err != nil {
			pt.errorf("address", "%v", err)
		} else {
			p.PeerAddr = ap
		}
		pt.done()
	}

	bind := t.str("bind", "")
	port := t.integer("port", 0, 1, 65535)
	switch {
	case bind != "" && port != 0:
		t.errorf("port", "use either bind or port, not both")
	case bind != "":
		ap, err := parseBind(bind)
		if err != nil {
			t.errorf("bind", "%v", err)
			break
		}
		p.Bind = ap
	case port != 0:
		p.Bind = netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port))
	case p.PeerAddr.IsValid():
		p.Bind = netip.AddrPortFrom(netip.IPv4Unspecified(), p.PeerAddr.Port())
	}

	if _, ok := t.m["secret"].(string); ok && len(p.Secret) < minSecret {
		t.d.warnf(t.keyPath("secret"), "peers: secret: shorter than %d characters, easy to guess from a captured message", minSecret)
	}
	// No exception for ip_nonlocal_bind: the link must be reachable at its
	// address whoever holds the VIP.
	if l.opts.Host && p.Bind.IsValid() && !p.Bind.Addr().IsUnspecified() && !isLocalAddr(p.Bind.Addr()) {
		l.hostf(t.keyPath("bind"), "peers: bind address %s is not configured on this host", p.Bind.Addr())
	}
	t.done()
	return p
}

func validPeerName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) < 0
}
