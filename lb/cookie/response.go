package cookie

// Response is the persistence state of a response being relayed.
type Response struct {
	// Server is the cookie value of the server that answered; "" when it
	// has none (insert mode then asks the client to drop the cookie).
	Server string
	// Direct: the request reached this server because its cookie named it
	// (Request.Status Valid, and no redispatch moved it since).
	Direct bool
	// Status is the operation done, for the log; RespNone until then.
	Status RespStatus
	found  bool // the server set the persistence cookie itself
}

// Reset prepares rs for a response from the server whose cookie value is
// server.
func (rs *Response) Reset(server string, direct bool) {
	*rs = Response{Server: server, Direct: direct, Status: RespNone}
}

// Action says what to do with a server's Set-Cookie header.
type Action uint8

// Actions of SetCookie.
const (
	Keep    Action = iota // forward it unchanged
	Delete                // remove the header
	Replace               // forward the returned value instead
)

// SetCookie handles one Set-Cookie header value of the server's response:
// the persistence cookie is deleted in insert mode (tandem inserts its
// own) and in indirect mode when the client came directly, has its value
// replaced by the server's cookie in rewrite mode, and gets "SRVID~"
// prefixed in prefix mode; with preserve it is left alone. Other cookies
// are kept. A replacement value is appended to dst.
func (p *Persist) SetCookie(dst, v []byte, rs *Response) ([]byte, Action) {
	name, valStart, valEnd, ok := setCookieValue(v)
	if !ok || string(name) != p.cfg.Name {
		return nil, Keep
	}
	rs.found = true
	rs.Status = RespPresent
	switch {
	case p.cfg.Preserve:
		return nil, Keep
	case p.cfg.Mode == Insert || (rs.Direct && p.cfg.Indirect):
		rs.Status = RespDeleted
		return nil, Delete
	case p.cfg.Mode == Rewrite && rs.Server != "":
		out := append(dst[:0], v[:valStart]...)
		out = append(out, rs.Server...)
		out = append(out, v[valEnd:]...)
		rs.Status = RespReplaced
		return out, Replace
	case p.cfg.Mode == Prefix && rs.Server != "":
		out := append(dst[:0], v[:valStart]...)
		out = append(out, rs.Server...)
		out = append(out, Delim)
		out = append(out, v[valStart:]...)
		rs.Status = RespReplaced
		return out, Replace
	}
	return nil, Keep
}

// setCookieValue finds the first name=value of a Set-Cookie value; the
// value spans v[start:end].
func setCookieValue(v []byte) (name []byte, start, end int, ok bool) {
	semi := indexByte(v, ';')
	if semi < 0 {
		semi = len(v)
	}
	eq := indexByte(v[:semi], '=')
	if eq < 0 {
		return nil, 0, 0, false
	}
	name = trim(v[:eq])
	start, end = eq+1, semi
	for start < end && (v[start] == ' ' || v[start] == '\t') {
		start++
	}
	for end > start && (v[end-1] == ' ' || v[end-1] == '\t') {
		end--
	}
	return name, start, end, len(name) > 0
}

// expiredValue is what a server without a cookie value gets inserted: the
// client forgets its cookie (HAProxy's answer for cookie-less backups).
const expiredValue = "=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/"

// Insert appends to dst the value of the Set-Cookie header insert mode adds
// to this response, and reports whether one is due: the client did not
// come directly to this server, or the dates maxidle/maxlife keep need
// refreshing; never when the server set the cookie itself and preserve is
// on, nor outside POST answers with postonly. post says the request was a
// POST; now is unix seconds. rs.Status becomes Inserted or Updated.
func (p *Persist) Insert(dst []byte, rs *Response, rq *Request, post bool, now int64) ([]byte, bool) {
	if p.cfg.Mode != Insert || (rs.found && p.cfg.Preserve) || (p.cfg.PostOnly && !post) {
		return dst, false
	}
	last, first := rq.Last, rq.First
	due := !rs.Direct ||
		((p.maxIdle > 0 || last != 0) && (last == 0 || last-now < 0)) ||
		(p.maxLife > 0 && first == 0) ||
		(p.maxLife == 0 && first != 0)
	if !due {
		return dst, false
	}
	dst = append(dst, p.cfg.Name...)
	if rs.Server == "" {
		dst = append(dst, expiredValue...)
	} else {
		dst = append(dst, '=')
		dst = append(dst, rs.Server...)
		if p.maxIdle > 0 || p.maxLife > 0 {
			dst = append(dst, DateDelim)
			dst = appendDate(dst, now)
			if p.maxLife > 0 {
				dst = append(dst, DateDelim)
				if first != 0 {
					dst = appendDate(dst, first)
				} else {
					dst = appendDate(dst, now)
				}
			}
		}
		dst = append(dst, p.attrs[:len("; path=/")]...)
	}
	dst = append(dst, p.attrs[len("; path=/"):]...)
	if rs.Server != "" && rs.Direct {
		rs.Status = RespUpdated
	} else {
		rs.Status = RespInserted
	}
	return dst, true
}

// NoCache reports whether an inserted cookie must come with
// "Cache-Control: private" on this response (nocache and a cacheable one).
func (p *Persist) NoCache(c *Cache) bool { return p.cfg.NoCache && c.Cacheable() }

const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// appendDate writes HAProxy's 5-character date: a 30-bit count of 4-second
// units since the epoch (rounded up), in base64 digits, high first.
func appendDate(dst []byte, unix int64) []byte {
	v := uint32((unix + 3) >> 2)
	for i := 0; i < 5; i++ {
		dst = append(dst, b64[(v>>24)&0x3f])
		v <<= 6
	}
	return dst
}

// decodeDate reads what appendDate wrote; false on a bad digit or zero.
func decodeDate(d []byte) (int64, bool) {
	var v int64
	for _, c := range d[:5] {
		var x byte
		switch {
		case c >= 'A' && c <= 'Z':
			x = c - 'A'
		case c >= 'a' && c <= 'z':
			x = c - 'a' + 26
		case c >= '0' && c <= '9':
			x = c - '0' + 52
		case c == '+':
			x = 62
		case c == '/':
			x = 63
		default:
			return 0, false
		}
		v = v<<6 | int64(x)
	}
	if v == 0 {
		return 0, false
	}
	return v << 2, true
}
