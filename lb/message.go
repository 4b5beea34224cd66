package lb

import (
	"bytes"
	"net/netip"

	"github.com/tandemlb/tandem/lb/http1"
)

// field is one header of a message being edited: views into the parsed
// buffer, or into the edit arena for values rules set.
type field struct{ name, value []byte }

// headers is an editable header list over a parsed head. Edits are recorded
// here and applied when the head is written out; later fetches see them.
type headers struct {
	list []field
}

func (h *headers) reset(src []http1.Header) {
	h.list = h.list[:0]
	for _, f := range src {
		h.list = append(h.list, field{f.Name, f.Value})
	}
}

// keep returns b for storing in the list. rules.Message promises that
// slices passed to edit methods are never modified afterwards, so no copy
// is needed; this is the one place to add one if that ever changes.
func (h *headers) keep(b []byte) []byte { return b }

func (h *headers) getString(name string) []byte {
	for _, f := range h.list {
		if equalFoldString(f.name, name) {
			return f.value
		}
	}
	return nil
}

func (h *headers) del(name []byte) {
	out := h.list[:0]
	for _, f := range h.list {
		if !equalFold(f.name, name) {
			out = append(out, f)
		}
	}
	h.list = out
}

func (h *headers) add(name, value []byte) {
	h.list = append(h.list, field{h.keep(name), h.keep(value)})
}

func (h *headers) set(name, value []byte) {
	h.del(name)
	h.add(name, value)
}

func (h *headers) setAt(i int, value []byte) {
	if i >= 0 && i < len(h.list) {
		h.list[i].value = h.keep(value)
	}
}

func equalFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func equalFoldString(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hopByHop reports headers the proxy never forwards: it manages the
// connection on each side itself.
func hopByHop(name []byte) bool {
	switch len(name) {
	case 10:
		return equalFoldString(name, "connection") || equalFoldString(name, "keep-alive")
	case 16:
		return equalFoldString(name, "proxy-connection")
	}
	return false
}

// reqMsg is the request as ACLs and rules see it (acl.Sample and
// rules.Message), over the in-place parsed head.
type reqMsg struct {
	req     *http1.Request
	h       headers
	path    []byte // edited path; nil = original
	query   []byte // edited query when querySet
	pathSet bool
	qSet    bool
	url     []byte // scratch for URL() after edits
	src     netip.Addr
	dstPort int
	sec     *connSec // TLS state (ssl_fc, ssl_fc_sni); nil when plain
}

func (m *reqMsg) reset(req *http1.Request, src netip.Addr, dstPort int) {
	m.req = req
	m.h.reset(req.Headers)
	m.path, m.query, m.pathSet, m.qSet = nil, nil, false, false
	m.src, m.dstPort = src, dstPort
}

func (m *reqMsg) Method() []byte { return m.req.Method }

func (m *reqMsg) Path() []byte {
	if m.pathSet {
		return m.path
	}
	return m.req.Path()
}

func (m *reqMsg) Query() []byte {
	if m.qSet {
		return m.query
	}
	return m.req.Query()
}

// URL is the request target, rebuilt when a rule changed path or query.
func (m *reqMsg) URL() []byte {
	if !m.pathSet && !m.qSet {
		return m.req.Target
	}
	m.url = m.appendTarget(m.url[:0])
	return m.url
}

// appendTarget writes the (possibly edited) request target. Edits replace
// the path of an absolute-form target too; the scheme and authority are
// kept.
func (m *reqMsg) appendTarget(dst []byte) []byte {
	if !m.pathSet && !m.qSet {
		return append(dst, m.req.Target...)
	}
	t := m.req.Target
	orig := m.req.Path()
	if i := bytes.Index(t, orig); len(orig) > 0 && i > 0 {
		dst = append(dst, t[:i]...) // scheme://authority of absolute-form
	}
	dst = append(dst, m.Path()...)
	if q := m.Query(); q != nil {
		dst = append(dst, '?')
		dst = append(dst, q...)
	}
	return dst
}

func (m *reqMsg) NumHeaders() int { return len(m.h.list) }

func (m *reqMsg) HeaderAt(i int) (name, value []byte) {
	f := m.h.list[i]
	return f.name, f.value
}

func (m *reqMsg) Src() netip.Addr { return m.src }
func (m *reqMsg) DstPort() int    { return m.dstPort }

func (m *reqMsg) SetHeader(name, value []byte) { m.h.set(name, value) }
func (m *reqMsg) AddHeader(name, value []byte) { m.h.add(name, value) }
func (m *reqMsg) DelHeader(name []byte)        { m.h.del(name) }
func (m *reqMsg) SetHeaderAt(i int, v []byte)  { m.h.setAt(i, v) }

func (m *reqMsg) SetPath(p []byte) {
	m.path = m.h.keep(p)
	if m.path == nil {
		m.path = []byte{}
	}
	m.pathSet = true
}

func (m *reqMsg) SetQuery(q []byte) {
	m.query = m.h.keep(q)
	m.qSet = true
}

func (m *reqMsg) Host() []byte {
	if h := m.h.getString("host"); h != nil {
		return h
	}
	return m.req.Host
}

var schemeHTTP = []byte("http")

// respMsg is the response as http_response rules see it. Request fetches
// (method, path, src…) answer from the request, as in HAProxy.
type respMsg struct {
	*reqMsg
	resp *http1.Response
	h    headers
}

func (m *respMsg) reset(req *reqMsg, resp *http1.Response) {
	m.reqMsg = req
	m.resp = resp
	m.h.reset(resp.Headers)
}

func (m *respMsg) NumHeaders() int { return len(m.h.list) }

func (m *respMsg) HeaderAt(i int) (name, value []byte) {
	f := m.h.list[i]
	return f.name, f.value
}

func (m *respMsg) SetHeader(name, value []byte) { m.h.set(name, value) }
func (m *respMsg) AddHeader(name, value []byte) { m.h.add(name, value) }
func (m *respMsg) DelHeader(name []byte)        { m.h.del(name) }
func (m *respMsg) SetHeaderAt(i int, v []byte)  { m.h.setAt(i, v) }
func (m *respMsg) SetPath([]byte)               {}
func (m *respMsg) SetQuery([]byte)              {}
