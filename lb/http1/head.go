package http1

import "bytes"

// Limits bounds what a head may cost. The zero value means the defaults.
type Limits struct {
	MaxHeadBytes int // whole head incl. request line and final CRLFCRLF; 0 means 16384
	MaxHeaders   int // 0 means 100
}

const (
	defaultMaxHeadBytes = 16384
	defaultMaxHeaders   = 100
)

func (l Limits) headBytes() int {
	if l.MaxHeadBytes <= 0 {
		return defaultMaxHeadBytes
	}
	return l.MaxHeadBytes
}

func (l Limits) headers() int {
	if l.MaxHeaders <= 0 {
		return defaultMaxHeaders
	}
	return l.MaxHeaders
}

// Header is a view into the parsed buffer. Value has leading/trailing OWS trimmed.
type Header struct{ Name, Value []byte }

// Character classes (RFC 9110 §5.6.2, §5.5; RFC 3986 for targets).
var (
	tchar      [256]bool // token characters
	vchar      [256]bool // field-value bytes: HT, SP, VCHAR, obs-text
	targetChar [256]bool // request-target bytes: VCHAR except '#'
	hostChar   [256]bool // Host header bytes (as net/http's httpguts.ValidHostHeader)
	hexVal     [256]int8 // hex digit value or -1
)

func init() {
	for c := 0; c < 256; c++ {
		hexVal[c] = -1
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			tchar[c] = true
			hostChar[c] = true
		}
		if c > 0x20 && c < 0x7f {
			targetChar[c] = true
		}
		if c == '\t' || (c >= 0x20 && c != 0x7f) {
			vchar[c] = true
		}
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		tchar[c] = true
	}
	for _, c := range []byte("!$%&'()*+,-.:;=[]_~") {
		hostChar[c] = true
	}
	targetChar['#'] = false
	for c := '0'; c <= '9'; c++ {
		hexVal[c] = int8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		hexVal[c] = int8(c - 'a' + 10)
		hexVal[c-'a'+'A'] = int8(c - 'a' + 10)
	}
}

// lower returns c folded to ASCII lower case.
func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold reports whether b equals the lower-case ASCII string s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func isOWS(c byte) bool { return c == ' ' || c == '\t' }

func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// nextLine finds the line starting at buf[off] within buf[:limit].
// It returns the line content without CRLF and the offset after the LF.
// ok is false when no LF was found before limit (more data is needed, or the
// head is too large); err reports a bare LF.
func nextLine(buf []byte, off, limit int, fe *fieldErrs) (line []byte, next int, ok bool, err error) {
	win := buf[off:limit]
	i := bytes.IndexByte(win, '\n')
	if i < 0 {
		return nil, 0, false, nil
	}
	if i == 0 || win[i-1] != '\r' {
		return nil, 0, false, fe.bareLF
	}
	return win[:i-1], off + i + 1, true, nil
}

// parseField splits and validates one field line (RFC 9112 §5). Any CR left in
// the line is a bare CR and fails the character checks.
func parseField(line []byte, fe *fieldErrs) (Header, error) {
	if isOWS(line[0]) {
		return Header{}, fe.obsFold
	}
	colon := -1
	for i, c := range line {
		if c == ':' {
			colon = i
			break
		}
		if !tchar[c] {
			switch {
			case isOWS(c):
				// Either "Name :" or a field line with no colon at all.
				if bytes.IndexByte(line[i:], ':') >= 0 {
					return Header{}, fe.spaceBeforeColon
				}
				return Header{}, fe.noColon
			case c == '\r':
				return Header{}, fe.bareCR
			}
			return Header{}, fe.badName
		}
	}
	switch colon {
	case -1:
		return Header{}, fe.noColon
	case 0:
		return Header{}, fe.emptyName
	}
	val := line[colon+1:]
	if !validValue(val) {
		if bytes.IndexByte(val, '\r') >= 0 {
			return Header{}, fe.bareCR
		}
		return Header{}, fe.badValue
	}
	return Header{Name: line[:colon], Value: trimOWS(val)}, nil
}

// headerValue returns the first value of name in hs, case-insensitively.
func headerValue(hs []Header, name string) []byte {
	for i := range hs {
		if equalFold(hs[i].Name, name) {
			// Values are never nil (an empty value is an empty view), so
			// present-but-empty stays distinguishable from absent.
			return hs[i].Value
		}
	}
	return nil
}

// parseVersion parses exactly "HTTP/d.d".
func parseVersion(p []byte) (major, minor int, ok bool) {
	if len(p) != 8 || string(p[:5]) != "HTTP/" || p[6] != '.' {
		return 0, 0, false
	}
	if p[5] < '0' || p[5] > '9' || p[7] < '0' || p[7] > '9' {
		return 0, 0, false
	}
	return int(p[5] - '0'), int(p[7] - '0'), true
}

// parseContentLength parses 1*DIGIT into a non-negative int64.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 19 {
		// 19 digits hold every int64; longer is overflow (leading zeros
		// that long are not worth supporting).
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// connTokens scans a Connection field value for the tokens that matter.
func connTokens(v []byte) (close, keepAlive, upgrade bool) {
	for len(v) > 0 {
		var tok []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			tok, v = v, nil
		}
		tok = trimOWS(tok)
		switch {
		case equalFold(tok, "close"):
			close = true
		case equalFold(tok, "keep-alive"):
			keepAlive = true
		case equalFold(tok, "upgrade"):
			upgrade = true
		}
	}
	return
}

// teState accumulates Transfer-Encoding field lines.
type teState struct {
	seen    bool
	chunked bool
}

// teResult classifies one Transfer-Encoding field value.
type teResult int

const (
	teOK teResult = iota
	teMalformed
	teTwice
	teUnknown
)

// add takes one Transfer-Encoding field value. The only coding tandem frames
// is a single "chunked"; everything else is refused (see doc.go).
func (t *teState) add(v []byte) teResult {
	t.seen = true
	if len(v) == 0 {
		return teMalformed
	}
	for len(v) > 0 {
		var el []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			el, v = v[:i], v[i+1:]
			if len(trimOWS(v)) == 0 {
				return teMalformed // trailing comma
			}
		} else {
			el, v = v, nil
		}
		el = trimOWS(el)
		if len(el) == 0 {
			return teMalformed
		}
		if equalFold(el, "chunked") {
			if t.chunked {
				return teTwice
			}
			t.chunked = true
			continue
		}
		// A coding other than chunked, or chunked with parameters.
		name := el
		if i := bytes.IndexByte(el, ';'); i >= 0 {
			name = trimOWS(el[:i])
		}
		for _, c := range name {
			if !tchar[c] {
				return teMalformed
			}
		}
		if len(name) == 0 {
			return teMalformed
		}
		return teUnknown
	}
	return teOK
}

// AppendHeader appends "Name: value\r\n".
func AppendHeader(dst, name, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, ':', ' ')
	dst = append(dst, value...)
	return append(dst, '\r', '\n')
}
