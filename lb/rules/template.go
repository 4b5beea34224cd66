package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tandemlb/tandem/lb/acl"
)

// A value or replacement is a literal string with a small part of HAProxy's
// log-format: %% for a percent sign, a few %[sample] expressions, and in
// replacements \0..\9 for the regex groups. Anything else starting with %
// is refused rather than copied literally, so a line pasted from
// haproxy.cfg never silently means something else.

type segKind uint8

const (
	segLit segKind = iota
	segGroup
	segSrc
	segDstPort
	segSNI
	segPath
	segQuery
	segURL
	segMethod
	segHdr
)

type seg struct {
	kind segKind
	lit  []byte
	n    int    // group number
	name []byte // header name
}

// tmpl is a compiled value. A literal one has static set and its bytes in
// lit, so applying it does not allocate.
type tmpl struct {
	segs     []seg
	lit      []byte
	static   bool
	maxGroup int
}

var sampleSegs = map[string]segKind{
	"src": segSrc, "dst_port": segDstPort, "ssl_fc_sni": segSNI, "path": segPath,
	"query": segQuery, "url": segURL, "method": segMethod,
}

func parseTmpl(s string, backrefs bool) (tmpl, error) {
	var (
		t   = tmpl{maxGroup: -1}
		lit []byte
	)
	flush := func() {
		if len(lit) > 0 {
			t.segs = append(t.segs, seg{kind: segLit, lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+1 >= len(s) {
				return tmpl{}, errors.New("lone '%' at the end (write %% for a literal '%')")
			}
			switch n := s[i+1]; {
			case n == '%':
				lit = append(lit, '%')
				i++
			case n == '[':
				end := strings.IndexByte(s[i:], ']')
				if end < 0 {
					return tmpl{}, fmt.Errorf("missing ']' in '%s'", s[i:])
				}
				expr := s[i+2 : i+end]
				sg, err := parseSample(expr)
				if err != nil {
					return tmpl{}, err
				}
				flush()
				t.segs = append(t.segs, sg)
				i += end
			case n >= 'a' && n <= 'z' || n >= 'A' && n <= 'Z' || n == '{':
				j := i + 1
				for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] == '{' || s[j] == '}') {
					j++
				}
				return tmpl{}, fmt.Errorf("log-format variable '%s' is not supported yet (write %%%% for a literal '%%'; %%[src], %%[dst_port], %%[ssl_fc_sni], %%[path], %%[query], %%[url], %%[method] and %%[req.hdr(NAME)] are)", s[i:j])
			default:
				return tmpl{}, fmt.Errorf("'%%' followed by '%c' (write %%%% for a literal '%%')", n)
			}
		case c == '\\' && backrefs:
			if i+1 >= len(s) {
				return tmpl{}, errors.New("lone '\\' at the end (write \\\\ for a literal backslash)")
			}
			n := s[i+1]
			i++
			if n >= '0' && n <= '9' {
				flush()
				g := int(n - '0')
				t.segs = append(t.segs, seg{kind: segGroup, n: g})
				t.maxGroup = max(t.maxGroup, g)
				continue
			}
			lit = append(lit, n)
		default:
			lit = append(lit, c)
		}
	}
	flush()
	switch {
	case len(t.segs) == 0:
		t.static, t.lit = true, []byte{}
	case len(t.segs) == 1 && t.segs[0].kind == segLit:
		t.static, t.lit = true, t.segs[0].lit
	}
	return t, nil
}

func parseSample(expr string) (seg, error) {
	e := strings.TrimSpace(expr)
	if k, ok := sampleSegs[e]; ok {
		return seg{kind: k}, nil
	}
	for _, f := range []string{"req.hdr(", "hdr("} {
		if name, ok := strings.CutPrefix(e, f); ok {
			name, ok = strings.CutSuffix(name, ")")
			if !ok || name == "" || strings.ContainsAny(name, ",()") {
				break
			}
			return seg{kind: segHdr, name: []byte(strings.ToLower(name))}, nil
		}
	}
	return seg{}, fmt.Errorf("log-format expression '%%[%s]' is not supported yet (%%[src], %%[dst_port], %%[ssl_fc_sni], %%[path], %%[query], %%[url], %%[method] and %%[req.hdr(NAME)] are)", expr)
}

// expand appends the value for message m (a literal value with a nil dst
// is returned as is). src and match are the regex
// subject and FindSubmatchIndex result for replacements, nil otherwise.
func (t *tmpl) expand(dst []byte, m acl.Sample, src []byte, match []int) []byte {
	if t.static {
		if dst == nil {
			return t.lit // shared, never modified: no allocation
		}
		return append(dst, t.lit...)
	}
	for i := range t.segs {
		s := &t.segs[i]
		switch s.kind {
		case segLit:
			dst = append(dst, s.lit...)
		case segGroup:
			if 2*s.n+1 < len(match) && match[2*s.n] >= 0 {
				dst = append(dst, src[match[2*s.n]:match[2*s.n+1]]...)
			}
		case segSrc:
			if a := m.Src(); a.IsValid() {
				dst = a.Unmap().AppendTo(dst)
			}
		case segDstPort:
			dst = strconv.AppendInt(dst, int64(m.DstPort()), 10)
		case segSNI:
			dst = append(dst, m.SNI()...)
		case segPath:
			dst = append(dst, m.Path()...)
		case segQuery:
			dst = append(dst, m.Query()...)
		case segURL:
			dst = append(dst, m.URL()...)
		case segMethod:
			dst = append(dst, m.Method()...)
		case segHdr:
			dst = append(dst, lastHdrValue(m, s.name)...)
		}
	}
	return dst
}

// lastHdrValue is HAProxy's req.hdr(NAME) outside an ACL: the last
// comma-separated value of the last occurrence.
func lastHdrValue(m acl.Sample, name []byte) []byte {
	var last []byte
	for i := m.NumHeaders() - 1; i >= 0; i-- {
		n, v := m.HeaderAt(i)
		if !equalFold(n, name) {
			continue
		}
		for pos := 0; pos <= len(v); {
			var s, e int
			s, e, pos = acl.NextValue(v, pos)
			last = v[s:e]
		}
		return last
	}
	return nil
}

func equalFold(a, lowered []byte) bool {
	if len(a) != len(lowered) {
		return false
	}
	for i, c := range a {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lowered[i] {
			return false
		}
	}
	return true
}
