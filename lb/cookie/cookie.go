package cookie

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Mode is how the persistence cookie is kept, as HAProxy's `cookie` modes.
type Mode uint8

// The modes. Insert: tandem sets the cookie itself. Rewrite: the server
// sets it and tandem replaces its value with the server's cookie. Prefix:
// tandem prefixes "SRVID~" onto the application's own cookie and strips it
// on the way back in.
const (
	Insert Mode = iota + 1
	Rewrite
	Prefix
)

// ParseMode reads a configuration mode name.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "insert":
		return Insert, nil
	case "rewrite":
		return Rewrite, nil
	case "prefix":
		return Prefix, nil
	}
	return 0, fmt.Errorf("unknown cookie mode %q (want insert, rewrite or prefix)", s)
}

func (m Mode) String() string {
	switch m {
	case Insert:
		return "insert"
	case Rewrite:
		return "rewrite"
	case Prefix:
		return "prefix"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Delim separates the server's id from the application's value in prefix
// mode; DateDelim separates the dates insert mode adds for maxidle and
// maxlife (HAProxy's COOKIE_DELIM and COOKIE_DELIM_DATE).
const (
	Delim     = '~'
	DateDelim = '|'
)

// Config is one backend's `cookie` setting.
type Config struct {
	Name     string
	Mode     Mode
	Indirect bool // the server never sees the persistence cookie (nor sets it when reached directly)
	NoCache  bool // "Cache-Control: private" on cacheable responses that get an inserted cookie
	PostOnly bool // insert only in answers to POST
	Preserve bool // a server setting the cookie itself keeps its value and gets no inserted one
	HTTPOnly bool
	Secure   bool
	Domains  []string
	Attrs    []string
	MaxIdle  time.Duration // insert mode: the cookie is ignored once unused for this long
	MaxLife  time.Duration // insert mode: the cookie is ignored once this old
}

// Persist applies one backend's cookie configuration. It is immutable and
// safe for concurrent use.
type Persist struct {
	cfg     Config
	name    []byte
	attrs   []byte // "; path=/; domain=...; HttpOnly; Secure; attr" for inserted cookies
	maxIdle int64  // seconds
	maxLife int64
}

// New checks cfg and prepares what the request path needs.
func New(cfg Config) (*Persist, error) {
	var errs []error
	if cfg.Name == "" {
		errs = append(errs, errors.New("cookie name is empty"))
	} else if !isToken(cfg.Name) {
		errs = append(errs, fmt.Errorf("cookie name %q is not a valid token", cfg.Name))
	}
	switch cfg.Mode {
	case Insert, Rewrite, Prefix:
	case 0:
		errs = append(errs, errors.New("cookie mode is not set (want insert, rewrite or prefix)"))
	default:
		errs = append(errs, fmt.Errorf("unknown cookie mode %d", cfg.Mode))
	}
	if cfg.Mode != Insert && cfg.Mode != 0 {
		// HAProxy accepts and ignores these outside insert mode; tandem
		// says so instead.
		for _, o := range []struct {
			set  bool
			name string
		}{
			{cfg.NoCache, "nocache"}, {cfg.PostOnly, "postonly"}, {cfg.HTTPOnly, "httponly"},
			{cfg.Secure, "secure"}, {len(cfg.Domains) > 0, "domain"}, {len(cfg.Attrs) > 0, "attr"},
			{cfg.MaxIdle > 0, "maxidle"}, {cfg.MaxLife > 0, "maxlife"},
		} {
			if o.set {
				errs = append(errs, fmt.Errorf("cookie option %s only applies to insert mode, not %s", o.name, cfg.Mode))
			}
		}
	}
	if cfg.Preserve && cfg.Mode != Insert && !cfg.Indirect {
		errs = append(errs, errors.New("cookie option preserve requires insert mode or indirect"))
	}
	if cfg.MaxIdle < 0 || cfg.MaxLife < 0 {
		errs = append(errs, errors.New("cookie maxidle and maxlife must not be negative"))
	}
	for _, d := range cfg.Domains {
		if d == "" || !isAttrValue(d) || strings.ContainsAny(d, " \t") {
			errs = append(errs, fmt.Errorf("cookie domain %q is not valid", d))
		}
	}
	for _, a := range cfg.Attrs {
		if a == "" || !isAttrValue(a) {
			errs = append(errs, fmt.Errorf("cookie attr %q is not valid (no control characters or ';')", a))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	p := &Persist{
		cfg:     cfg,
		name:    []byte(cfg.Name),
		maxIdle: int64(cfg.MaxIdle / time.Second),
		maxLife: int64(cfg.MaxLife / time.Second),
	}
	if cfg.MaxIdle > 0 && p.maxIdle == 0 {
		p.maxIdle = 1
	}
	if cfg.MaxLife > 0 && p.maxLife == 0 {
		p.maxLife = 1
	}
	a := []byte("; path=/")
	for _, d := range cfg.Domains {
		a = append(a, "; domain="...)
		a = append(a, d...)
	}
	if cfg.HTTPOnly {
		a = append(a, "; HttpOnly"...)
	}
	if cfg.Secure {
		a = append(a, "; Secure"...)
	}
	for _, at := range cfg.Attrs {
		a = append(a, "; "...)
		a = append(a, at...)
	}
	p.attrs = a
	return p, nil
}

// Config returns the configuration p was built from.
func (p *Persist) Config() Config { return p.cfg }

// Name is the cookie's name.
func (p *Persist) Name() string { return p.cfg.Name }

// CheckServerValue reports whether v can be a server's cookie value in this
// mode: cookie-octets only, and none of the delimiters the mode parses.
func (p *Persist) CheckServerValue(v string) error {
	if v == "" {
		return errors.New("server cookie value is empty")
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isCookieOctet(c) {
			return fmt.Errorf("server cookie value %q: byte %q not allowed in a cookie", v, c)
		}
		if c == Delim && p.cfg.Mode == Prefix {
			return fmt.Errorf("server cookie value %q: %q is prefix mode's delimiter", v, Delim)
		}
		if c == DateDelim && p.cfg.Mode == Insert {
			return fmt.Errorf("server cookie value %q: %q is insert mode's date delimiter", v, DateDelim)
		}
	}
	return nil
}

// ReqStatus is the 3rd character of the termination state: what became of
// the persistence cookie the client sent (HAProxy manual 8.5).
type ReqStatus byte

// Request cookie states.
const (
	ReqNone    ReqStatus = 'N' // no persistence cookie in the request
	ReqInvalid ReqStatus = 'I' // it names no server (or is empty)
	ReqDown    ReqStatus = 'D' // it names a server that is down: redispatched
	ReqValid   ReqStatus = 'V' // it named a usable server, which took the request
	ReqExpired ReqStatus = 'E' // unused for longer than maxidle: ignored
	ReqOld     ReqStatus = 'O' // older than maxlife: ignored
	ReqUnused  ReqStatus = 'U' // present but another rule chose the server
)

// RespStatus is the 4th character of the termination state: what tandem
// did with the persistence cookie in the response.
type RespStatus byte

// Response cookie operations.
const (
	RespNone     RespStatus = 'N' // nothing
	RespInserted RespStatus = 'I' // tandem inserted a cookie (insert mode)
	RespUpdated  RespStatus = 'U' // re-inserted to refresh its dates (maxidle/maxlife)
	RespPresent  RespStatus = 'P' // the server set it and it was left alone
	RespReplaced RespStatus = 'R' // the server's cookie was rewritten or prefixed
	RespDeleted  RespStatus = 'D' // the server's cookie was removed
)

// Flags are the two cookie characters of the log's termination state, '-'
// for both when the backend has no cookie persistence.
func Flags(rq ReqStatus, rs RespStatus) [2]byte {
	if rq == 0 {
		rq = '-'
	}
	if rs == 0 {
		rs = '-'
	}
	return [2]byte{byte(rq), byte(rs)}
}

// isToken reports an RFC 7230 token (cookie names are tokens).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// isCookieOctet is RFC 6265's cookie-octet.
func isCookieOctet(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) || (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e)
}

func isAttrValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c == 0x7f || c == ';' {
			return false
		}
	}
	return true
}
