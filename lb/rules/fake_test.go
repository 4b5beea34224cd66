package rules

import (
	"fmt"
	"net/netip"
	"strings"
)

// msg is a fake Message: it reads a parsed request and records each edit
// as a line, so tests can compare the edits a rule list made.
type msg struct {
	method, path, query, url, sni []byte
	hdrs                          [][2][]byte
	src                           netip.Addr
	port                          int
	ssl                           bool
	edits                         []string
	record                        bool
}

func newMsg(line string, hdrs ...string) *msg {
	m, target, _ := strings.Cut(line, " ")
	f := &msg{method: []byte(m), url: []byte(target), src: netip.MustParseAddr("192.0.2.200"), port: 80, record: true}
	p, q, hasQ := strings.Cut(target, "?")
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

func (f *msg) tls(sni string) *msg { f.ssl = true; f.sni = []byte(sni); return f }

func (f *msg) Method() []byte  { return f.method }
func (f *msg) Path() []byte    { return f.path }
func (f *msg) Query() []byte   { return f.query }
func (f *msg) URL() []byte     { return f.url }
func (f *msg) NumHeaders() int { return len(f.hdrs) }
func (f *msg) HeaderAt(i int) (name, value []byte) {
	return f.hdrs[i][0], f.hdrs[i][1]
}
func (f *msg) Src() netip.Addr     { return f.src }
func (f *msg) DstPort() int        { return f.port }
func (f *msg) SSL() bool           { return f.ssl }
func (f *msg) SNI() []byte         { return f.sni }
func (f *msg) SSLProtocol() []byte { return nil }

func (f *msg) Host() []byte {
	for _, h := range f.hdrs {
		if strings.EqualFold(string(h[0]), "host") {
			return h[1]
		}
	}
	return nil
}

func (f *msg) Scheme() []byte {
	if f.ssl {
		return []byte("https")
	}
	return []byte("http")
}

func (f *msg) log(format string, a ...any) {
	f.edits = append(f.edits, fmt.Sprintf(format, a...))
}

// The edit methods test record first: boxing the arguments for log would
// allocate and spoil the benchmarks.
func (f *msg) SetHeader(name, value []byte) {
	if f.record {
		f.log("set-header %s: %s", name, value)
	}
}

func (f *msg) AddHeader(name, value []byte) {
	if f.record {
		f.log("add-header %s: %s", name, value)
	}
}

func (f *msg) DelHeader(name []byte) {
	if f.record {
		f.log("del-header %s", name)
	}
}

func (f *msg) SetHeaderAt(i int, v []byte) {
	if f.record {
		f.log("set-header-at %d: %s", i, v)
	}
}

func (f *msg) SetPath(p []byte) {
	if f.record {
		f.log("set-path %s", p)
	}
}

func (f *msg) SetQuery(q []byte) {
	if !f.record {
		return
	}
	if q == nil {
		f.log("del-query")
		return
	}
	f.log("set-query %q", q)
}
