package acl

import (
	"net/netip"
	"strings"
)

// fake is a parsed request for tests. It keeps []byte fields so that the
// benchmarks measure the matcher, not the fake.
type fake struct {
	method, path, query, url, sni []byte
	protocol                      []byte // ssl_fc_protocol
	hdrs                          [][2][]byte
	src                           netip.Addr
	port                          int
	ssl                           bool
}

// req builds a fake from "METHOD TARGET" and "Name: value" headers, from
// 192.0.2.200 to port 80 over plain TCP.
func req(line string, hdrs ...string) *fake {
	m, target, _ := strings.Cut(line, " ")
	f := &fake{method: []byte(m), url: []byte(target), src: netip.MustParseAddr("192.0.2.200"), port: 80}
	p, q, hasQ := strings.Cut(target, "?")
	if strings.Contains(p, "://") { // absolute form: keep the path only
		rest := p[strings.Index(p, "://")+3:]
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			p = rest[i:]
		} else {
			p = "/"
		}
	}
	f.path = []byte(p)
	if hasQ {
		f.query = []byte(q)
	}
	for _, h := range hdrs {
		n, v, _ := strings.Cut(h, ":")
		f.hdrs = append(f.hdrs, [2][]byte{[]byte(n), []byte(strings.TrimSpace(v))})
	}
	return f
}

func (f *fake) from(a string) *fake { f.src = netip.MustParseAddr(a); return f }
func (f *fake) to(port int) *fake   { f.port = port; return f }
func (f *fake) tls(sni string) *fake {
	f.ssl = true
	f.protocol = []byte("TLSv1.3")
	if sni != "" {
		f.sni = []byte(sni)
	}
	return f
}

func (f *fake) Method() []byte  { return f.method }
func (f *fake) Path() []byte    { return f.path }
func (f *fake) Query() []byte   { return f.query }
func (f *fake) URL() []byte     { return f.url }
func (f *fake) NumHeaders() int { return len(f.hdrs) }
func (f *fake) HeaderAt(i int) (name, value []byte) {
	return f.hdrs[i][0], f.hdrs[i][1]
}
func (f *fake) Src() netip.Addr { return f.src }
func (f *fake) DstPort() int    { return f.port }
func (f *fake) SSL() bool       { return f.ssl }
func (f *fake) SNI() []byte     { return f.sni }
func (f *fake) SSLProtocol() []byte {
	return f.protocol
}

// proto sets the negotiated TLS version ssl_fc_protocol reads.
func (f *fake) proto(v string) *fake { f.protocol = []byte(v); return f }
