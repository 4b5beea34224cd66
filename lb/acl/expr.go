package acl

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
)

// matchMethod is HAProxy's "-m" pattern matching method.
type matchMethod uint8

const (
	mNone matchMethod = iota
	mStr
	mBeg
	mEnd
	mSub
	mReg
	mDom
	mDir
	mLen
	mFound
	mInt
	mIP
	mBool
)

var methodNames = [...]string{"", "str", "beg", "end", "sub", "reg", "dom", "dir", "len", "found", "int", "ip", "bool"}

func (m matchMethod) String() string { return methodNames[m] }

func parseMethod(s string) (matchMethod, error) {
	for i, n := range methodNames {
		if n != "" && n == s {
			return matchMethod(i), nil
		}
	}
	switch s {
	case "bin", "hex":
		return mNone, fmt.Errorf("match method '%s' is not supported", s)
	}
	return mNone, fmt.Errorf("unknown match method '%s' (want str, beg, end, sub, reg, dom, dir, len, found, int, ip or bool)", s)
}

// intRange is one integer pattern: a value or a closed/open range.
type intRange struct{ min, max int64 }

func (r intRange) contains(v int64) bool { return v >= r.min && v <= r.max }

// expr is one compiled ACL definition: a fetch, how to match, the patterns.
// Several patterns are OR-ed.
type expr struct {
	fetch  fetchDef
	name   []byte // lowered header name, or url_param name
	delim  byte   // url_param delimiter
	method matchMethod
	icase  bool
	strs   [][]byte
	regs   []*regexp.Regexp
	ints   []intRange
	nets   []netip.Prefix
}

// parseExpr compiles "fetch [flags] [patterns...]" given as words.
func parseExpr(words []string) (*expr, error) {
	if len(words) == 0 {
		return nil, errors.New("empty definition (want 'FETCH [flags] [patterns...]')")
	}
	def, args, implied, err := parseFetch(words[0])
	if err != nil {
		return nil, err
	}
	e := &expr{fetch: def, method: implied}
	switch def.kind {
	case fkHdr, fkHdrCnt:
		if len(args) == 1 {
			e.name = lowerBytes([]byte(args[0]))
		}
	case fkURLParam:
		e.name = []byte(args[0])
		e.delim = '&'
		if len(args) == 2 {
			e.delim = args[1][0]
		}
	}

	i := 1
flags:
	for ; i < len(words); i++ {
		w := words[i]
		if len(w) < 2 || w[0] != '-' {
			break
		}
		switch w {
		case "--":
			i++
			break flags
		case "-i":
			e.icase = true
		case "-n":
			// HAProxy: forbid DNS resolution of patterns. tandem never
			// resolves names, so this is always in effect.
		case "-m":
			if implied != mNone {
				return nil, fmt.Errorf("'-m' cannot be used with '%s', which already matches with '-m %s'; use '%s -m ...' instead",
					words[0], implied, def.name)
			}
			if e.method != mNone {
				return nil, errors.New("only one '-m' match method may be given")
			}
			if i+1 >= len(words) {
				return nil, errors.New("'-m' needs a match method")
			}
			i++
			m, err := parseMethod(words[i])
			if err != nil {
				return nil, err
			}
			e.method = m
		case "-f":
			return nil, errors.New("loading patterns from a file ('-f') is not supported")
		case "-M":
			return nil, errors.New("map files ('-M') are not supported")
		case "-u":
			return nil, errors.New("unique ACL ids ('-u') are not supported")
		default:
			return nil, fmt.Errorf("unknown flag '%s' (put '--' before a pattern that starts with '-')", w)
		}
	}
	if e.method == mNone {
		switch def.typ {
		case tInt:
			e.method = mInt
		case tIP:
			e.method = mIP
		case tBool:
			e.method = mBool
		default:
			e.method = mStr
		}
	}
	if err := e.checkMethod(); err != nil {
		return nil, err
	}
	pats := words[i:]
	switch e.method {
	case mFound, mBool:
		if len(pats) > 0 {
			if e.method == mBool && def.typ == tBool {
				return nil, fmt.Errorf("'%s' is a boolean and takes no pattern", def.name)
			}
			return nil, fmt.Errorf("'-m %s' takes no pattern", e.method)
		}
		return e, nil
	}
	if len(pats) == 0 {
		return nil, errors.New("no pattern given (give at least one, or use '-m found' to test presence)")
	}
	return e, e.compilePatterns(pats)
}

func (e *expr) checkMethod() error {
	ok := true
	switch e.fetch.typ {
	case tStr:
		ok = e.method != mBool
	case tInt:
		ok = e.method == mInt || e.method == mFound || e.method == mBool
	case tIP:
		ok = e.method == mIP || e.method == mFound
	case tBool:
		ok = e.method == mBool || e.method == mFound
	}
	if !ok {
		return fmt.Errorf("match method '%s' cannot be used on %s fetch '%s'", e.method, e.fetch.typ, e.fetch.name)
	}
	return nil
}

func (e *expr) compilePatterns(pats []string) error {
	switch e.method {
	case mStr, mBeg, mEnd, mSub:
		for _, p := range pats {
			b := []byte(p)
			if e.icase {
				b = lowerBytes(b)
			}
			e.strs = append(e.strs, b)
		}
	case mDir, mDom:
		for _, p := range pats {
			t := strings.TrimFunc(p, func(r rune) bool { return r < 0x80 && isDelim(byte(r), e.method == mDom) })
			if t == "" {
				return fmt.Errorf("pattern '%s' is only delimiters and can never match", p)
			}
			b := []byte(t)
			if e.icase {
				b = lowerBytes(b)
			}
			e.strs = append(e.strs, b)
		}
	case mReg:
		for _, p := range pats {
			re, err := compileRegex(p, e.icase)
			if err != nil {
				return err
			}
			e.regs = append(e.regs, re)
		}
	case mInt, mLen:
		r, err := parseIntPatterns(pats)
		if err != nil {
			return err
		}
		e.ints = r
	case mIP:
		for _, p := range pats {
			n, err := parseNet(p)
			if err != nil {
				return err
			}
			e.nets = append(e.nets, n)
		}
	}
	return nil
}

// compileRegex compiles a pattern once, telling PCRE users why a construct
// Go's RE2 engine lacks does not compile.
func compileRegex(p string, icase bool) (*regexp.Regexp, error) {
	src := p
	if icase {
		src = "(?i)" + p
	}
	re, err := regexp.Compile(src)
	if err == nil {
		return re, nil
	}
	var se *syntax.Error
	if errors.As(err, &se) {
		switch se.Code {
		case syntax.ErrInvalidPerlOp, syntax.ErrInvalidEscape, syntax.ErrInvalidRepeatOp, syntax.ErrInvalidNamedCapture:
			return nil, fmt.Errorf("invalid regex '%s': %s (regexes use Go's RE2 syntax: PCRE-only lookarounds, backreferences, possessive quantifiers and atomic groups are not available)", p, se.Code)
		}
		return nil, fmt.Errorf("invalid regex '%s': %s: '%s'", p, se.Code, se.Expr)
	}
	return nil, fmt.Errorf("invalid regex '%s': %w", p, err)
}

var intOps = map[string]bool{"eq": true, "ge": true, "gt": true, "le": true, "lt": true}

// parseIntPatterns reads integer patterns as HAProxy does: values, ranges
// "min:max" (either side may be omitted), and operators eq/ge/gt/le/lt that
// apply to every following value until the next operator.
func parseIntPatterns(pats []string) ([]intRange, error) {
	var out []intRange
	op := "eq"
	pendingOp := false
	for _, p := range pats {
		if intOps[p] {
			if pendingOp {
				return nil, fmt.Errorf("operator '%s' follows operator '%s' without a value", p, op)
			}
			op, pendingOp = p, true
			continue
		}
		pendingOp = false
		if lo, hi, isRange := strings.Cut(p, ":"); isRange {
			if op != "eq" {
				return nil, fmt.Errorf("operator '%s' cannot be combined with range '%s'", op, p)
			}
			r := intRange{math.MinInt64, math.MaxInt64}
			var err error
			if lo == "" && hi == "" {
				return nil, fmt.Errorf("invalid integer range '%s'", p)
			}
			if lo != "" {
				if r.min, err = strconv.ParseInt(lo, 10, 64); err != nil {
					return nil, fmt.Errorf("invalid integer range '%s'", p)
				}
			}
			if hi != "" {
				if r.max, err = strconv.ParseInt(hi, 10, 64); err != nil {
					return nil, fmt.Errorf("invalid integer range '%s'", p)
				}
			}
			if r.min > r.max {
				return nil, fmt.Errorf("integer range '%s' is empty (min > max)", p)
			}
			out = append(out, r)
			continue
		}
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid integer '%s'", p)
		}
		r := intRange{v, v}
		switch op {
		case "ge":
			r.max = math.MaxInt64
		case "gt":
			if v == math.MaxInt64 {
				return nil, fmt.Errorf("'gt %s' can never match", p)
			}
			r = intRange{v + 1, math.MaxInt64}
		case "le":
			r.min = math.MinInt64
		case "lt":
			if v == math.MinInt64 {
				return nil, fmt.Errorf("'lt %s' can never match", p)
			}
			r = intRange{math.MinInt64, v - 1}
		}
		out = append(out, r)
	}
	if pendingOp {
		return nil, fmt.Errorf("operator '%s' needs a value after it", op)
	}
	if len(out) == 0 {
		return nil, errors.New("no integer pattern given")
	}
	return out, nil
}

// parseNet reads an address, a CIDR, or an IPv4 network with a dotted mask
// (192.0.2.0/255.255.255.0), as HAProxy accepts them. Host bits are masked.
func parseNet(p string) (netip.Prefix, error) {
	addr, mask, hasMask := strings.Cut(p, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid address '%s' (names are not resolved; want an IPv4/IPv6 address or CIDR)", p)
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("invalid address '%s': zones are not supported", p)
	}
	bits := a.BitLen()
	if hasMask {
		if a.Is4() && strings.Contains(mask, ".") {
			m, err := netip.ParseAddr(mask)
			if err != nil || !m.Is4() {
				return netip.Prefix{}, fmt.Errorf("invalid netmask in '%s'", p)
			}
			b := m.As4()
			v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			ones := 0
			for v&0x80000000 != 0 {
				ones++
				v <<= 1
			}
			if v != 0 {
				return netip.Prefix{}, fmt.Errorf("netmask in '%s' is not contiguous", p)
			}
			bits = ones
		} else {
			n, err := strconv.Atoi(mask)
			if err != nil || n < 0 || n > a.BitLen() {
				return netip.Prefix{}, fmt.Errorf("invalid prefix length in '%s'", p)
			}
			bits = n
		}
	}
	pfx, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid network '%s': %w", p, err)
	}
	return pfx, nil
}

func isDelim(c byte, dom bool) bool {
	return c == '/' || c == '?' || dom && (c == '.' || c == ':')
}

// matchWord is HAProxy's dir/dom match: the pattern must appear in s as a
// whole run of words, bounded by delimiters or the ends of s.
func matchWord(s, p []byte, icase, dom bool) bool {
	pl := len(p)
	if pl == 0 || pl > len(s) {
		return false
	}
	may := true
	end := len(s) - pl
	for c := 0; c <= end; c++ {
		if isDelim(s[c], dom) {
			may = true
			continue
		}
		if !may {
			continue
		}
		var eq bool
		if icase {
			eq = equalFold(s[c:c+pl], p)
		} else {
			eq = bytes.Equal(s[c:c+pl], p)
		}
		if eq && (c == end || isDelim(s[c+pl], dom)) {
			return true
		}
		may = false
	}
	return false
}

// matchStr matches one string sample against the patterns.
func (e *expr) matchStr(v []byte) bool {
	switch e.method {
	case mFound:
		return true
	case mStr:
		for _, p := range e.strs {
			if e.icase && equalFold(v, p) || !e.icase && bytes.Equal(v, p) {
				return true
			}
		}
	case mBeg:
		for _, p := range e.strs {
			if len(v) >= len(p) && (e.icase && equalFold(v[:len(p)], p) || !e.icase && bytes.Equal(v[:len(p)], p)) {
				return true
			}
		}
	case mEnd:
		for _, p := range e.strs {
			if len(v) >= len(p) {
				t := v[len(v)-len(p):]
				if e.icase && equalFold(t, p) || !e.icase && bytes.Equal(t, p) {
					return true
				}
			}
		}
	case mSub:
		for _, p := range e.strs {
			if e.icase && indexFold(v, p) >= 0 || !e.icase && bytes.Contains(v, p) {
				return true
			}
		}
	case mDir, mDom:
		for _, p := range e.strs {
			if matchWord(v, p, e.icase, e.method == mDom) {
				return true
			}
		}
	case mReg:
		for _, re := range e.regs {
			if re.Match(v) {
				return true
			}
		}
	case mLen:
		return e.matchInt(int64(len(v)))
	case mInt:
		n, ok := parseIntSample(v)
		return ok && e.matchInt(n)
	case mIP:
		a, err := netip.ParseAddr(string(v))
		return err == nil && e.matchIP(a)
	}
	return false
}

func (e *expr) matchInt(v int64) bool {
	switch e.method {
	case mFound:
		return true
	case mBool:
		return v != 0
	}
	for _, r := range e.ints {
		if r.contains(v) {
			return true
		}
	}
	return false
}

func (e *expr) matchIP(a netip.Addr) bool {
	if e.method == mFound {
		return true
	}
	a = a.WithZone("")
	a4 := a.Unmap()
	var a6 netip.Addr
	if a4.Is4() {
		a6 = netip.AddrFrom16(a4.As16()) // ::ffff:a.b.c.d, for IPv6 patterns
	}
	for _, n := range e.nets {
		if n.Addr().Is4() {
			if a4.Is4() && n.Contains(a4) {
				return true
			}
		} else if n.Contains(a) || a6.IsValid() && n.Contains(a6) {
			return true
		}
	}
	return false
}

// parseIntSample converts a string sample to an integer as HAProxy's
// str-to-int cast does: an optional sign and the leading digits, the rest
// ignored. An empty sample does not convert.
func parseIntSample(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	neg := false
	i := 0
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		i++
	}
	var n int64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := int64(b[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + d
	}
	if neg {
		n = -n
	}
	return n, true
}
