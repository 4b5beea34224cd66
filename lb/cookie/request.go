package cookie

// Pair is one name=value of a Cookie header, views into the header value.
// A cookie without '=' has a nil Value and HasEq false.
type Pair struct {
	Name, Value []byte
	HasEq       bool
}

// Next returns the first cookie of a Cookie header value and what follows
// it. Cookies are separated by ';' and surrounding whitespace is not part
// of names or values; empty elements are skipped. ok is false when v holds
// no more cookies.
func Next(v []byte) (p Pair, rest []byte, ok bool) {
	for len(v) > 0 {
		end := len(v)
		for i, c := range v {
			if c == ';' {
				end = i
				break
			}
		}
		elem := trim(v[:end])
		if end < len(v) {
			v = v[end+1:]
		} else {
			v = v[len(v):]
		}
		if len(elem) == 0 {
			continue
		}
		for i, c := range elem {
			if c == '=' {
				return Pair{Name: trim(elem[:i]), Value: trim(elem[i+1:]), HasEq: true}, v, true
			}
		}
		return Pair{Name: elem}, v, true
	}
	return Pair{}, nil, false
}

// Get returns the value of the first cookie called name in a Cookie header
// value (the req.cook(NAME) fetch).
func Get(v []byte, name string) (value []byte, ok bool) {
	for {
		p, rest, more := Next(v)
		if !more {
			return nil, false
		}
		if p.HasEq && string(p.Name) == name {
			return p.Value, true
		}
		v = rest
	}
}

func trim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// Request is what the request's persistence cookie says. Reset it before
// each request, Scan every Cookie header value, then Lookup the server.
type Request struct {
	Status ReqStatus
	// ID is the server part of the cookie's value (a view into the header
	// value, valid while it is); nil when absent or ignored for its age.
	ID []byte
	// First and Last are the dates (unix seconds) insert mode keeps in the
	// cookie for maxlife and maxidle; 0 when absent.
	First, Last int64
	found       bool
}

// Reset prepares r for a new request.
func (r *Request) Reset() { *r = Request{Status: ReqNone} }

// Found reports whether the request carried the persistence cookie.
func (r *Request) Found() bool { return r.found }

// Scan looks for the persistence cookie in one Cookie header value. Only
// its first occurrence in the request counts, as in HAProxy: once found,
// later calls do nothing. now is the current unix time in seconds, for the
// maxidle and maxlife checks.
func (p *Persist) Scan(v []byte, now int64, r *Request) {
	if r.found {
		return
	}
	for {
		c, rest, ok := Next(v)
		if !ok {
			return
		}
		v = rest
		if !c.HasEq || string(c.Name) != p.cfg.Name {
			continue
		}
		r.found = true
		r.Status = ReqInvalid // until Lookup finds its server
		val := c.Value
		id := val
		if p.cfg.Mode == Prefix {
			for i, b := range val {
				if b == Delim {
					id = val[:i]
					break
				}
			}
		} else if i := indexByte(val, DateDelim); i >= 0 {
			id = val[:i]
			d := val[i+1:]
			if len(d) >= 5 {
				if t, ok := decodeDate(d[:5]); ok {
					r.Last = t
				}
			}
			if j := indexByte(d, DateDelim); j >= 0 && len(d)-j > 5 {
				if t, ok := decodeDate(d[j+1 : j+6]); ok {
					r.First = t
				}
			}
		}
		switch {
		case r.First != 0 && p.maxLife > 0 && (now-r.First > p.maxLife || r.First-now > 86400):
			// Dates more than a day in the future are treated as
			// expired too: a clock fix must not keep them for ever.
			r.Status, r.First, r.Last = ReqOld, 0, 0
			return
		case r.Last != 0 && p.maxIdle > 0 && (now-r.Last > p.maxIdle || r.Last-now > 86400):
			r.Status, r.First, r.Last = ReqExpired, 0, 0
			return
		}
		if len(id) > 0 {
			r.ID = id
		}
		return
	}
}

// Server is what Lookup needs of a server.
type Server interface {
	// PersistCookie is the server's cookie value; "" = none.
	PersistCookie() string
	// UsableForPersistence: up, and ready or draining (not in maintenance).
	UsableForPersistence() bool
}

// Lookup returns the index in servers of the first server the cookie names
// that can take the request, and sets r.Status: Valid when there is one,
// Down when the servers it names are all unusable (the caller balances as
// if there were no cookie), Invalid when it names none. -1 when no server
// is chosen. Several servers may share a cookie value.
func Lookup[S Server](r *Request, servers []S) int {
	if r.ID == nil {
		return -1
	}
	down := false
	for i, s := range servers {
		if c := s.PersistCookie(); c == "" || c != string(r.ID) {
			continue
		}
		if s.UsableForPersistence() {
			r.Status = ReqValid
			return i
		}
		down = true
	}
	if down {
		r.Status = ReqDown
	} else {
		r.Status = ReqInvalid
	}
	return -1
}

// StripsRequest reports whether StripRequest has anything to do in this
// mode: remove the cookie (insert + indirect) or its prefix (prefix mode).
func (p *Persist) StripsRequest() bool {
	return p.cfg.Mode == Prefix || (p.cfg.Mode == Insert && p.cfg.Indirect)
}

// StripRequest writes into dst the Cookie header value v as the server must
// see it: without the persistence cookie in insert + indirect mode, with
// the "SRVID~" prefix removed from its value in prefix mode. changed is
// false when v needs no change (out is then nil); an empty out with changed
// true means no cookie is left and the header is to be removed. Every
// occurrence is handled, so that no copy of the cookie leaks to the server.
func (p *Persist) StripRequest(dst, v []byte) (out []byte, changed bool) {
	if !p.StripsRequest() || !p.mentions(v) {
		return nil, false
	}
	out = dst[:0]
	rest := v
	for {
		c, r, ok := Next(rest)
		if !ok {
			break
		}
		rest = r
		val := c.Value
		if c.HasEq && string(c.Name) == p.cfg.Name {
			if p.cfg.Mode != Prefix {
				changed = true
				continue
			}
			if i := indexByte(val, Delim); i >= 0 {
				val = val[i+1:]
				changed = true
			}
		}
		if len(out) > 0 {
			out = append(out, "; "...)
		}
		out = append(out, c.Name...)
		if c.HasEq {
			out = append(out, '=')
			out = append(out, val...)
		}
	}
	if !changed {
		return nil, false
	}
	return out, true
}

// mentions is a quick test for the cookie name in v, to skip the rewrite
// of Cookie headers that cannot hold it.
func (p *Persist) mentions(v []byte) bool {
	n := p.name
	for i := 0; i+len(n) <= len(v); i++ {
		if v[i] == n[0] && string(v[i:i+len(n)]) == p.cfg.Name {
			return true
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
