package http1

import (
	"bytes"
	"net/netip"
)

// Request is a parsed request head. Every []byte is a view into the buffer
// given to ParseRequest and is valid only as long as that buffer is.
type Request struct {
	Method, Target, Proto []byte // views into buf
	Major, Minor          int
	Headers               []Header // reused: parse appends to Headers[:0]
	Host                  []byte   // value of the Host header, nil if none
	ContentLength         int64    // -1 when absent
	Chunked               bool     // final transfer-coding is chunked
	KeepAlive             bool     // persistence after version + Connection rules (1.1 default on, 1.0 needs keep-alive)
	Upgrade               bool     // Connection: upgrade and an Upgrade header present
	Expect100             bool     // Expect: 100-continue
	HeadLen               int      // bytes of the head, including the final CRLFCRLF
}

// Reset clears r for reuse, keeping the Headers backing array.
func (r *Request) Reset() {
	hs := r.Headers[:0]
	*r = Request{Headers: hs, ContentLength: -1}
}

// Header returns the first value of the named field, case-insensitively, or
// nil if absent (an empty value is an empty, non-nil slice).
func (r *Request) Header(name string) []byte { return headerValue(r.Headers, name) }

// RequestLine returns the request line as received, without CRLF (a view
// into the parsed buffer), e.g. for the traffic log. It does not start at
// buf[0] when empty lines preceded it.
func (r *Request) RequestLine() []byte {
	if r.Method == nil {
		return nil
	}
	n := len(r.Method) + 1 + len(r.Target) + 1 + len(r.Proto)
	return r.Method[:n:n]
}

// Path returns the path of the target: for origin-form the target up to '?',
// for absolute-form the path after the authority (empty if there is none);
// nil for authority-form and asterisk-form.
func (r *Request) Path() []byte {
	t := r.Target
	if len(t) == 0 {
		return nil
	}
	if t[0] != '/' {
		i := bytes.Index(t, []byte("://"))
		if i < 0 {
			return nil
		}
		t = t[i+3:]
		j := 0
		for j < len(t) && t[j] != '/' && t[j] != '?' {
			j++
		}
		t = t[j:]
	}
	if q := bytes.IndexByte(t, '?'); q >= 0 {
		t = t[:q]
	}
	return t
}

// Query returns what follows the first '?' of the target, nil if none.
func (r *Request) Query() []byte {
	if q := bytes.IndexByte(r.Target, '?'); q >= 0 {
		return r.Target[q+1:]
	}
	return nil
}

// Authority returns the host the request is for: the authority of an
// absolute-form or authority-form target (which RFC 9112 §3.2.2 says takes
// precedence over Host), else the Host header.
func (r *Request) Authority() []byte {
	t := r.Target
	if len(t) == 0 || t[0] == '/' || t[0] == '*' {
		return r.Host
	}
	i := bytes.Index(t, []byte("://"))
	if i < 0 {
		return t // authority-form
	}
	t = t[i+3:]
	j := 0
	for j < len(t) && t[j] != '/' && t[j] != '?' {
		j++
	}
	return t[:j]
}

// BodyKind says how a message body is framed.
type BodyKind int

// Body framings.
const (
	BodyNone       BodyKind = iota // no body
	BodyLength                     // exactly n bytes
	BodyChunked                    // chunked framing; follow it with a ChunkScanner
	BodyUntilClose                 // everything until the server closes (responses only)
)

func (k BodyKind) String() string {
	switch k {
	case BodyNone:
		return "none"
	case BodyLength:
		return "length"
	case BodyChunked:
		return "chunked"
	case BodyUntilClose:
		return "until-close"
	}
	return "unknown"
}

// Body reports the request body framing: chunked → BodyChunked, CL>0 →
// BodyLength, else BodyNone (a request never reads until close).
func (r *Request) Body() (BodyKind, int64) {
	switch {
	case r.Chunked:
		return BodyChunked, -1
	case r.ContentLength > 0:
		return BodyLength, r.ContentLength
	}
	return BodyNone, 0
}

// ParseRequest parses the head at the start of buf.
// Returns ErrNeedMore when buf holds no complete head yet and len(buf) < limit,
// or a *Error for anything malformed, ambiguous or too large.
// Lines that are complete are checked as they come, so garbage is refused
// before the whole head has arrived.
func ParseRequest(buf []byte, lim Limits, r *Request) error {
	r.Reset()
	limit := lim.headBytes()
	maxHeaders := lim.headers()
	fe := &reqFieldErrs
	end := min(len(buf), limit)

	// Request line, after any empty lines (RFC 9112 §2.2).
	off := 0
	var line []byte
	for {
		l, next, ok, err := nextLine(buf, off, end, fe)
		if err != nil {
			return err
		}
		if !ok {
			if len(buf) >= limit {
				return errURITooLong
			}
			return ErrNeedMore
		}
		off = next
		if len(l) > 0 {
			line = l
			break
		}
	}
	if err := r.parseRequestLine(line); err != nil {
		return err
	}

	var (
		hostCount int
		clVal     []byte
		te        teState
		connClose bool
		connKA    bool
		connUpg   bool
		upgrade   bool
		expect    bool
	)
	for {
		l, next, ok, err := nextLine(buf, off, end, fe)
		if err != nil {
			return err
		}
		if !ok {
			if len(buf) >= limit {
				return errReqTooLarge
			}
			return ErrNeedMore
		}
		off = next
		if len(l) == 0 {
			break
		}
		if len(r.Headers) >= maxHeaders {
			return errReqTooMany
		}
		h, err := parseField(l, fe)
		if err != nil {
			return err
		}
		r.Headers = append(r.Headers, h)
		switch len(h.Name) {
		case 4:
			if equalFold(h.Name, "host") {
				hostCount++
				if hostCount > 1 {
					return errManyHost
				}
				for _, c := range h.Value {
					if !hostChar[c] {
						return errBadHost
					}
				}
				r.Host = h.Value
			}
		case 6:
			if equalFold(h.Name, "expect") && equalFold(h.Value, "100-continue") {
				expect = true
			}
		case 7:
			if equalFold(h.Name, "upgrade") {
				upgrade = true
			}
		case 10:
			if equalFold(h.Name, "connection") {
				c, k, u := connTokens(h.Value)
				connClose = connClose || c
				connKA = connKA || k
				connUpg = connUpg || u
			}
		case 14:
			if equalFold(h.Name, "content-length") {
				n, ok := parseContentLength(h.Value)
				if !ok {
					return errCL
				}
				if clVal != nil && !bytes.Equal(clVal, h.Value) {
					return errCLDiffer
				}
				clVal = h.Value
				r.ContentLength = n
			}
		case 17:
			if equalFold(h.Name, "transfer-encoding") {
				switch te.add(h.Value) {
				case teMalformed:
					return errTEList
				case teTwice:
					return errTEChunkedTwice
				case teUnknown:
					return errTEUnknown
				}
			}
		}
	}

	http11 := r.Minor == 1
	if http11 && hostCount != 1 {
		return errNoHost
	}
	if te.seen {
		if !http11 {
			return errTE10
		}
		if clVal != nil {
			return errCLTE
		}
		r.Chunked = te.chunked
	}
	if http11 {
		r.KeepAlive = !connClose
		r.Upgrade = connUpg && upgrade
		r.Expect100 = expect
	} else {
		r.KeepAlive = connKA && !connClose
	}
	r.HeadLen = off
	return nil
}

// parseRequestLine checks `METHOD SP target SP HTTP/x.y` exactly.
func (r *Request) parseRequestLine(line []byte) error {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return errReqLine
	}
	method := line[:sp]
	for _, c := range method {
		if !tchar[c] {
			if c == '\r' {
				return reqFieldErrs.bareCR
			}
			return errMethod
		}
	}
	rest := line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return errReqLine
	}
	target, proto := rest[:sp], rest[sp+1:]
	major, minor, ok := parseVersion(proto)
	if !ok {
		if bytes.IndexByte(proto, '\r') >= 0 {
			return reqFieldErrs.bareCR
		}
		return errVersion
	}
	if major != 1 || minor > 1 {
		return errVersionReq
	}
	if err := checkTarget(method, target); err != nil {
		return err
	}
	r.Method, r.Target, r.Proto = method, target, proto
	r.Major, r.Minor = major, minor
	return nil
}

// checkTarget validates the request-target and its form (RFC 9112 §3.2).
func checkTarget(method, t []byte) error {
	if !validTarget(t) {
		for _, c := range t {
			if !targetChar[c] {
				switch c {
				case '#':
					return errTargetFragment
				case '\r':
					return reqFieldErrs.bareCR
				}
				return errTarget
			}
		}
	}
	connect := string(method) == "CONNECT"
	switch {
	case connect:
		if !validAuthority(t, true) {
			return errTargetHost
		}
		return nil
	case t[0] == '/':
		return checkPath(t)
	case len(t) == 1 && t[0] == '*':
		if string(method) != "OPTIONS" {
			return errTargetForm
		}
		return nil
	}
	// absolute-form: scheme "://" authority path-abempty [ "?" query ]
	i := 0
	for i < len(t) && isSchemeChar(t[i], i == 0) {
		i++
	}
	if i == 0 || len(t) < i+3 || string(t[i:i+3]) != "://" {
		return errTargetForm
	}
	rest := t[i+3:]
	j := 0
	for j < len(rest) && rest[j] != '/' && rest[j] != '?' {
		j++
	}
	auth := rest[:j]
	if bytes.IndexByte(auth, '@') >= 0 {
		return errTargetUserinfo
	}
	if !validAuthority(auth, false) {
		return errTargetHost
	}
	return checkPath(rest[j:])
}

func isSchemeChar(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return true
	case first:
		return false
	case c >= '0' && c <= '9', c == '+', c == '-', c == '.':
		return true
	}
	return false
}

// checkPath checks the percent-encoding of the path part (up to '?'); the
// query is forwarded as it came, like HAProxy and net/http do.
func checkPath(p []byte) error {
	if q := bytes.IndexByte(p, '?'); q >= 0 {
		p = p[:q]
	}
	for i := bytes.IndexByte(p, '%'); i >= 0; i = bytes.IndexByte(p, '%') {
		if i+2 >= len(p) || hexVal[p[i+1]] < 0 || hexVal[p[i+2]] < 0 {
			return errTargetPct
		}
		p = p[i+3:]
	}
	return nil
}

// validAuthority checks host [":" port] where host is a reg-name or an
// IP-literal without zone; userinfo is refused. needPort is for CONNECT.
func validAuthority(a []byte, needPort bool) bool {
	if len(a) == 0 {
		return false
	}
	var host, port []byte
	hasPort := false
	if a[0] == '[' {
		end := bytes.IndexByte(a, ']')
		if end < 2 {
			return false
		}
		// Only on absolute/authority-form targets, so the string
		// conversion's allocation stays off the common path.
		ip, err := netip.ParseAddr(string(a[1:end]))
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return false
		}
		rest := a[end+1:]
		if len(rest) > 0 {
			if rest[0] != ':' {
				return false
			}
			port, hasPort = rest[1:], true
		}
	} else {
		host = a
		if i := bytes.IndexByte(a, ':'); i >= 0 {
			host, port, hasPort = a[:i], a[i+1:], true
		}
		if len(host) == 0 {
			return false
		}
		for i := 0; i < len(host); i++ {
			c := host[i]
			switch {
			case c == '%':
				if i+2 >= len(host) || hexVal[host[i+1]] < 0 || hexVal[host[i+2]] < 0 {
					return false
				}
				i += 2
			case c == ':' || c == '[' || c == ']' || c == '@' || !hostChar[c]:
				return false
			}
		}
	}
	if !hasPort {
		return !needPort
	}
	if len(port) == 0 || len(port) > 5 {
		return false
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
