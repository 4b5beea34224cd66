package cookie

// Cache decides whether a response may be stored by a shared cache, as
// HAProxy does for nocache (and for its own cache): the request must be a
// GET or HEAD without Authorization or "Cache-Control: no-store", and the
// response one of the cacheable statuses without a Cache-Control (or, when
// there is none, a Pragma) that forbids it. Feed it the request and
// response heads; the zero value is ready for a request.
type Cache struct {
	notCacheable bool
	ccFound      bool // response had Cache-Control
	pragma       bool // response had Pragma: no-cache
}

// Request records the request's method.
func (c *Cache) Request(method []byte) {
	*c = Cache{}
	if string(method) != "GET" && string(method) != "HEAD" {
		c.notCacheable = true
	}
}

// RequestHeader records one request header.
func (c *Cache) RequestHeader(name, value []byte) {
	switch {
	case equalFold(name, "authorization"):
		c.notCacheable = true
	case equalFold(name, "cache-control"):
		for d := range directives(value) {
			if equalFold(d, "no-store") {
				c.notCacheable = true
			}
		}
	}
}

// Response records the response status.
func (c *Cache) Response(status int) {
	switch status {
	case 200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501:
	default:
		c.notCacheable = true
	}
}

// ResponseHeader records one response header.
func (c *Cache) ResponseHeader(name, value []byte) {
	switch {
	case equalFold(name, "pragma"):
		if len(value) >= 8 && equalFold(value[:8], "no-cache") {
			c.pragma = true
		}
	case equalFold(name, "cache-control"):
		c.ccFound = true
		for d := range directives(value) {
			switch {
			case equalFold(d, "private"), equalFold(d, "no-cache"), equalFold(d, "no-store"),
				equalFold(d, "max-age=0"), equalFold(d, "s-maxage=0"):
				c.notCacheable = true
			}
		}
	}
}

// Cacheable is the verdict once both heads were fed.
func (c *Cache) Cacheable() bool {
	// Pragma counts only when there is no Cache-Control (RFC 7234 5.4).
	return !c.notCacheable && (c.ccFound || !c.pragma)
}

// directives yields the comma-separated elements of a header value,
// trimmed.
func directives(v []byte) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(v) > 0 {
			i := indexByte(v, ',')
			var d []byte
			if i < 0 {
				d, v = v, nil
			} else {
				d, v = v[:i], v[i+1:]
			}
			if d = trim(d); len(d) > 0 && !yield(d) {
				return
			}
		}
	}
}

func equalFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
