package http1

import "bytes"

// Response is a parsed response head; the []byte fields are views into the
// buffer given to ParseResponse.
type Response struct {
	Proto         []byte
	Major, Minor  int
	Status        int
	Reason        []byte
	Headers       []Header
	ContentLength int64 // -1 when absent
	Chunked       bool
	KeepAlive     bool // version + Connection rules only; see Body for until-close framing
	HeadLen       int
}

// Reset clears r for reuse, keeping the Headers backing array.
func (r *Response) Reset() {
	hs := r.Headers[:0]
	*r = Response{Headers: hs, ContentLength: -1}
}

// Header returns the first value of the named field, case-insensitively, or
// nil if absent.
func (r *Response) Header(name string) []byte { return headerValue(r.Headers, name) }

// Body applies RFC 9112 §6.3 for a response to a request with the given
// method: HEAD requests, 1xx, 204, 304 and 2xx to CONNECT (a tunnel starts)
// have no body; then chunked; then Content-Length (BodyNone when it is 0);
// otherwise the body runs until the server closes, and the connection
// cannot be kept alive whatever KeepAlive says.
func (r *Response) Body(requestMethod []byte) (BodyKind, int64) {
	switch {
	case string(requestMethod) == "HEAD",
		r.Status < 200, r.Status == 204, r.Status == 304,
		r.Status < 300 && string(requestMethod) == "CONNECT":
		return BodyNone, 0
	case r.Chunked:
		return BodyChunked, -1
	case r.ContentLength == 0:
		return BodyNone, 0
	case r.ContentLength > 0:
		return BodyLength, r.ContentLength
	}
	return BodyUntilClose, -1
}

// ParseResponse parses the response head at the start of buf, with the same
// contract as ParseRequest; every *Error it returns has Status 502.
func ParseResponse(buf []byte, lim Limits, r *Response) error {
	r.Reset()
	limit := lim.headBytes()
	maxHeaders := lim.headers()
	fe := &respFieldErrs
	end := min(len(buf), limit)

	line, off, ok, err := nextLine(buf, 0, end, fe)
	if err != nil {
		return err
	}
	if !ok {
		if len(buf) >= limit {
			return errRespTooLarge
		}
		return ErrNeedMore
	}
	if err := r.parseStatusLine(line); err != nil {
		return err
	}

	var (
		clVal     []byte
		te        teState
		connClose bool
		connKA    bool
	)
	for {
		l, next, ok, err := nextLine(buf, off, end, fe)
		if err != nil {
			return err
		}
		if !ok {
			if len(buf) >= limit {
				return errRespTooLarge
			}
			return ErrNeedMore
		}
		off = next
		if len(l) == 0 {
			break
		}
		if len(r.Headers) >= maxHeaders {
			return errRespTooMany
		}
		h, err := parseField(l, fe)
		if err != nil {
			return err
		}
		r.Headers = append(r.Headers, h)
		switch len(h.Name) {
		case 10:
			if equalFold(h.Name, "connection") {
				c, k, _ := connTokens(h.Value)
				connClose = connClose || c
				connKA = connKA || k
			}
		case 14:
			if equalFold(h.Name, "content-length") {
				n, ok := parseContentLength(h.Value)
				if !ok {
					return errRespCL
				}
				if clVal != nil && !bytes.Equal(clVal, h.Value) {
					return errRespCLDiffer
				}
				clVal = h.Value
				r.ContentLength = n
			}
		case 17:
			if equalFold(h.Name, "transfer-encoding") {
				switch te.add(h.Value) {
				case teMalformed, teUnknown:
					return errRespTE
				case teTwice:
					return errRespTEChunked
				}
			}
		}
	}

	http11 := r.Minor == 1
	if te.seen {
		// RFC 9112 lets TE override CL in a response, but a server that
		// sends both is confused or attacked: do not guess.
		if !http11 {
			return errRespTE10
		}
		if clVal != nil {
			return errRespCLTE
		}
		r.Chunked = te.chunked
	}
	if http11 {
		r.KeepAlive = !connClose
	} else {
		r.KeepAlive = connKA && !connClose
	}
	r.HeadLen = off
	return nil
}

// parseStatusLine checks `HTTP/x.y SP 3DIGIT SP reason`; the SP before an
// empty reason may be missing (common in the wild and harmless).
func (r *Response) parseStatusLine(line []byte) error {
	if len(line) < 12 || line[8] != ' ' {
		return errStatusLine
	}
	major, minor, ok := parseVersion(line[:8])
	if !ok {
		return errStatusLine
	}
	if major != 1 || minor > 1 {
		return errRespVersion
	}
	s := line[9:12]
	status := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return errStatus
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 || status > 599 {
		return errStatus
	}
	reason := line[12:]
	if len(reason) > 0 {
		if reason[0] != ' ' {
			return errStatus
		}
		reason = reason[1:]
		for _, c := range reason {
			if !vchar[c] {
				if c == '\r' {
					return respFieldErrs.bareCR
				}
				return errReason
			}
		}
	}
	r.Proto, r.Major, r.Minor = line[:8], major, minor
	r.Status = status
	r.Reason = reason
	return nil
}
