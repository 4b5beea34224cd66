package acl

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Sample is the request view fetches read. The engine implements it over
// its in-place parsed head; no allocation.
type Sample interface {
	Method() []byte
	Path() []byte  // request path without query
	Query() []byte // after '?', nil if none
	URL() []byte   // the whole request target
	NumHeaders() int
	HeaderAt(i int) (name, value []byte)
	Src() netip.Addr // client address
	DstPort() int    // frontend port the connection arrived on
	SSL() bool       // connection arrived over TLS (ssl_fc)
	SNI() []byte     // ssl_fc_sni, nil if none
	// SSLProtocol is ssl_fc_protocol: the negotiated version as HAProxy
	// names it ("TLSv1.2", "TLSv1.3"), nil when the connection is plain.
	SSLProtocol() []byte
}

// acl is a named ACL: its definitions are OR-ed.
type acl struct {
	name  string
	exprs []*expr
}

func (a *acl) match(s Sample) bool {
	for _, e := range a.exprs {
		if e.match(s) {
			return true
		}
	}
	return false
}

// Set is the named ACLs of one frontend or backend (acl.NAME = "fetch
// [flags] patterns..." in TOML), plus HAProxy's predefined ACLs. It is
// immutable once built and safe for concurrent use.
type Set struct {
	acls map[string]*acl
}

// DefError is a bad ACL definition.
type DefError struct {
	Name string // the ACL's name
	Msg  string // what is wrong, without the name
}

func (e *DefError) Error() string { return fmt.Sprintf("ACL '%s': %s", e.Name, e.Msg) }

// DefErrors lists every bad definition given to NewSet, sorted by name.
type DefErrors []*DefError

func (e DefErrors) Error() string {
	msgs := make([]string, len(e))
	for i, d := range e {
		msgs[i] = d.Error()
	}
	return strings.Join(msgs, "; ")
}

// NewSet compiles named ACL definitions. A name defined here hides a
// predefined ACL of the same name, as in HAProxy. On error it returns
// DefErrors naming every bad ACL.
func NewSet(defs map[string]string) (*Set, error) {
	names := make([]string, 0, len(defs))
	for n := range defs {
		names = append(names, n)
	}
	sort.Strings(names)
	s := &Set{acls: make(map[string]*acl, len(defs))}
	var errs DefErrors
	for _, n := range names {
		if msg := checkName(n); msg != "" {
			errs = append(errs, &DefError{Name: n, Msg: msg})
			continue
		}
		e, err := compileDef(defs[n])
		if err != nil {
			errs = append(errs, &DefError{Name: n, Msg: err.Error()})
			continue
		}
		s.acls[n] = &acl{name: n, exprs: []*expr{e}}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

func compileDef(def string) (*expr, error) {
	words, err := splitWords(def)
	if err != nil {
		return nil, err
	}
	return parseExpr(words)
}

// checkName applies HAProxy's rule for ACL names: letters, digits, '-',
// '_', '.' and ':'.
func checkName(n string) string {
	if n == "" {
		return "empty ACL name"
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == ':' {
			continue
		}
		return fmt.Sprintf("invalid character %q in ACL name (allowed: letters, digits, '-', '_', '.', ':')", c)
	}
	return ""
}

// predefined are HAProxy's built-in ACLs that make sense here.
var predefined = map[string]string{
	"TRUE":           "always_true",
	"FALSE":          "always_false",
	"HTTP":           "req.proto_http",
	"LOCALHOST":      "src 127.0.0.1/8",
	"METH_CONNECT":   "method CONNECT",
	"METH_DELETE":    "method DELETE",
	"METH_GET":       "method GET HEAD",
	"METH_HEAD":      "method HEAD",
	"METH_OPTIONS":   "method OPTIONS",
	"METH_POST":      "method POST",
	"METH_PUT":       "method PUT",
	"METH_TRACE":     "method TRACE",
	"HTTP_URL_ABS":   "url_reg ^[^/:]*://",
	"HTTP_URL_SLASH": "url_beg /",
	"HTTP_URL_STAR":  "url *",
}

var predefinedUnsupported = map[string]bool{
	"HTTP_1.0": true, "HTTP_1.1": true, "HTTP_2.0": true, "HTTP_3.0": true,
	"HTTP_CONTENT": true, "REQ_CONTENT": true, "RDP_COOKIE": true, "WAIT_END": true,
}

// lookup finds an ACL by name: the set's own first, then the predefined,
// then a boolean fetch of that name.
func (s *Set) lookup(name string) (*acl, error) {
	if s != nil {
		if a, ok := s.acls[name]; ok {
			return a, nil
		}
	}
	if def, ok := predefined[name]; ok {
		e, err := compileDef(def)
		if err != nil {
			return nil, fmt.Errorf("predefined ACL '%s': %w", name, err)
		}
		return &acl{name: name, exprs: []*expr{e}}, nil
	}
	// tandem extension: a boolean fetch may be named directly, so the
	// DESIGN's `unless = "ssl_fc"` works without `acl.is_ssl = "ssl_fc"`
	// (HAProxy would want "{ ssl_fc }").
	if def, ok := baseFetches[name]; ok && def.typ == tBool {
		return &acl{name: name, exprs: []*expr{{fetch: def, method: mBool}}}, nil
	}
	if predefinedUnsupported[name] {
		return nil, fmt.Errorf("predefined ACL '%s' is not supported", name)
	}
	return nil, fmt.Errorf("unknown ACL '%s'", name)
}

// match evaluates one definition against the sample. A fetch that finds
// nothing (no such header, no query) never matches, even with -m found.
func (e *expr) match(s Sample) bool {
	switch e.fetch.kind {
	case fkTrue:
		return true
	case fkFalse:
		return false
	case fkProtoHTTP:
		return e.method == mFound || len(s.Method()) > 0
	case fkPath:
		return e.matchStr(s.Path())
	case fkURL:
		return e.matchStr(s.URL())
	case fkMethod:
		return e.matchStr(s.Method())
	case fkQuery:
		q := s.Query()
		return q != nil && e.matchStr(q)
	case fkSNI:
		v := s.SNI()
		return v != nil && e.matchStr(v)
	case fkSSLProtocol:
		v := s.SSLProtocol()
		return v != nil && e.matchStr(v)
	case fkURLParam:
		return e.matchURLParam(s.Query())
	case fkHdr:
		return e.matchHdr(s)
	case fkHdrCnt:
		return e.matchInt(e.countHdr(s))
	case fkSrc:
		a := s.Src()
		return a.IsValid() && e.matchIP(a)
	case fkDstPort:
		return e.matchInt(int64(s.DstPort()))
	case fkSSLFC:
		return e.method == mFound || s.SSL()
	}
	return false
}

// matchHdr tries every comma-separated value of every occurrence of the
// header, as HAProxy's hdr() does in an ACL.
func (e *expr) matchHdr(s Sample) bool {
	n := s.NumHeaders()
	for i := 0; i < n; i++ {
		name, v := s.HeaderAt(i)
		if e.name != nil && !equalFold(name, e.name) {
			continue
		}
		for pos := 0; pos <= len(v); {
			var val []byte
			val, pos = nextValue(v, pos)
			if e.matchStr(val) {
				return true
			}
		}
	}
	return false
}

// countHdr counts the comma-separated values of the named header (HAProxy's
// hdr_cnt), or the header fields when no name is given.
func (e *expr) countHdr(s Sample) int64 {
	n := s.NumHeaders()
	if e.name == nil {
		return int64(n)
	}
	var c int64
	for i := 0; i < n; i++ {
		name, v := s.HeaderAt(i)
		if !equalFold(name, e.name) {
			continue
		}
		for pos := 0; pos <= len(v); {
			_, pos = nextValue(v, pos)
			c++
		}
	}
	return c
}

// nextValue returns the value starting at pos in a header's comma-separated
// list, with surrounding blanks trimmed, and where the next one starts.
func nextValue(v []byte, pos int) ([]byte, int) {
	s, e, next := NextValue(v, pos)
	return v[s:e], next
}

// NextValue finds the element starting at pos in a comma-separated header
// value: its bounds [s, e) with blanks trimmed, and where the next element
// starts (past len(v) after the last one). Commas inside double-quoted
// strings do not separate. The rules package edits values with it too.
func NextValue(v []byte, pos int) (s, e, next int) {
	i := pos
	inQuote := false
	for ; i < len(v); i++ {
		c := v[i]
		if inQuote {
			switch c {
			case '\\':
				i++
			case '"':
				inQuote = false
			}
			continue
		}
		if c == '"' {
			inQuote = true
		} else if c == ',' {
			break
		}
	}
	end := min(i, len(v))
	s, e = pos, end
	for s < e && (v[s] == ' ' || v[s] == '\t') {
		s++
	}
	for e > s && (v[e-1] == ' ' || v[e-1] == '\t') {
		e--
	}
	return s, e, i + 1
}

// matchURLParam tries the value of every occurrence of the parameter.
func (e *expr) matchURLParam(q []byte) bool {
	for len(q) > 0 {
		var seg []byte
		if i := indexByte(q, e.delim); i >= 0 {
			seg, q = q[:i], q[i+1:]
		} else {
			seg, q = q, nil
		}
		if len(seg) > len(e.name) && seg[len(e.name)] == '=' && string(seg[:len(e.name)]) == string(e.name) {
			if e.matchStr(seg[len(e.name)+1:]) {
				return true
			}
		}
	}
	return false
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
