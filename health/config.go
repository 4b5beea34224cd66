package health

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Defaults, HAProxy's where HAProxy has one.
const (
	DefaultInter   = 2 * time.Second
	DefaultRise    = 2
	DefaultFall    = 3
	DefaultPath    = "/"
	DefaultVersion = "HTTP/1.0"
	// DefaultMethod is GET, not HAProxy's OPTIONS: many applications answer
	// OPTIONS with 405 or route it differently from the page being served,
	// and the seed checks "/" expecting a page. Set Method = "OPTIONS" for
	// HAProxy's exact request.
	DefaultMethod = "GET"

	// DefaultErrorLimit is HAProxy's error-limit for observe.
	DefaultErrorLimit = 10

	// MaxWeight is the largest runtime weight, as in HAProxy.
	MaxWeight = 256

	// maxBody is how much of a response body an HTTP check reads, at most
	// (HAProxy's tune.chksize is 16 KiB); maxHead bounds the status line and
	// headers.
	maxBody = 16 << 10
	maxHead = 8 << 10
)

// CheckConfig is one server's active check, as the configuration loader
// fills it. Zero fields take the defaults documented on each; call
// WithDefaults then Validate (NewChecker does both).
type CheckConfig struct {
	// Type is "tcp" (connect only; the default) or "http".
	Type string
	// Method defaults to GET (see DefaultMethod).
	Method string
	// Path defaults to "/".
	Path string
	// Version is "HTTP/1.0" (default) or "HTTP/1.1". With HTTP/1.1 a Host
	// header is always sent: Host, or the checked address when empty.
	Version string
	// Host, when set, is sent as the Host header (with either version).
	Host    string
	Headers [][2]string
	// ExpectStatus lists the passing status codes; empty means 200-399
	// (HAProxy: 2xx and 3xx pass).
	ExpectStatus []StatusRange
	// ExpectString, when set, must appear in the first 16 KiB of the body.
	ExpectString string
	// ExpectRegex, when set, must match the first 16 KiB of the body.
	ExpectRegex *regexp.Regexp
	// Timeout bounds one whole check (connect, send, receive). Default Inter.
	Timeout time.Duration
	// Inter is the interval between checks of a server that is fully UP.
	// Default 2s.
	Inter time.Duration
	// FastInter is used while in a transition (UP but failing, or DOWN but
	// passing). Default Inter.
	FastInter time.Duration
	// DownInter is used while fully DOWN. Default Inter.
	DownInter time.Duration
	// Rise is the number of consecutive passes that bring a DOWN server UP
	// (default 2); Fall the number of consecutive failures that bring an UP
	// server DOWN (default 3).
	Rise, Fall int
	// Port, when non-zero, replaces the server's port for the check.
	Port int
	// Addr, when valid, replaces the server's address for the check.
	Addr netip.Addr

	// Observe ("layer4", "layer7" or "" for none) makes live traffic,
	// reported by lb through Server.ReportTraffic, count too: ErrorLimit
	// consecutive errors (default 10) trigger OnError: "fastinter" (the
	// default: check again soon), "fail-check" (count a failed check),
	// "sudden-death" (leave one failed check before DOWN) or "mark-down".
	Observe    string
	ErrorLimit int
	OnError    string
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Lo, Hi int }

// Contains reports whether code is in the range.
func (r StatusRange) Contains(code int) bool { return code >= r.Lo && code <= r.Hi }

// String formats the range as ParseExpectStatus reads it.
func (r StatusRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(r.Lo)
	}
	return strconv.Itoa(r.Lo) + "-" + strconv.Itoa(r.Hi)
}

var defaultExpect = []StatusRange{{200, 399}}

// ParseExpectStatus reads a list of status codes and ranges such as
// "200-399" or "200,204,301-302". Codes must lie in 100..599.
func ParseExpectStatus(s string) ([]StatusRange, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("parse expect_status: empty list")
	}
	var out []StatusRange
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		if !isRange {
			hi = lo
		}
		l, err := parseCode(lo)
		if err != nil {
			return nil, fmt.Errorf("parse expect_status %q: %w", item, err)
		}
		h, err := parseCode(hi)
		if err != nil {
			return nil, fmt.Errorf("parse expect_status %q: %w", item, err)
		}
		if l > h {
			return nil, fmt.Errorf("parse expect_status %q: range runs backwards", item)
		}
		out = append(out, StatusRange{l, h})
	}
	return out, nil
}

func parseCode(s string) (int, error) {
	s = strings.TrimSpace(s)
	if len(s) != 3 {
		return 0, fmt.Errorf("status %q is not a three-digit code", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 || n > 599 {
		return 0, fmt.Errorf("status %q is not a code in 100-599", s)
	}
	return n, nil
}

// WithDefaults returns c with every unset field given its default.
func (c CheckConfig) WithDefaults() CheckConfig {
	if c.Type == "" {
		c.Type = "tcp"
	}
	if c.Inter == 0 {
		c.Inter = DefaultInter
	}
	if c.FastInter == 0 {
		c.FastInter = c.Inter
	}
	if c.DownInter == 0 {
		c.DownInter = c.Inter
	}
	if c.Timeout == 0 {
		c.Timeout = c.Inter
	}
	if c.Rise == 0 {
		c.Rise = DefaultRise
	}
	if c.Fall == 0 {
		c.Fall = DefaultFall
	}
	if c.Observe != "" {
		if c.ErrorLimit == 0 {
			c.ErrorLimit = DefaultErrorLimit
		}
		if c.OnError == "" {
			c.OnError = "fastinter"
		}
	}
	if c.Type == "http" {
		if c.Method == "" {
			c.Method = DefaultMethod
		}
		if c.Path == "" {
			c.Path = DefaultPath
		}
		if c.Version == "" {
			c.Version = DefaultVersion
		}
		if len(c.ExpectStatus) == 0 {
			c.ExpectStatus = defaultExpect
		}
	}
	return c
}

// Validate reports every impossible value in c (after WithDefaults), joined.
func (c CheckConfig) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch c.Type {
	case "tcp", "http":
	default:
		bad("check type %q: want \"tcp\" or \"http\"", c.Type)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"inter", c.Inter}, {"fastinter", c.FastInter}, {"downinter", c.DownInter}, {"timeout", c.Timeout}} {
		if d.v <= 0 {
			bad("check %s %v: must be positive", d.name, d.v)
		}
	}
	if c.Rise < 1 {
		bad("check rise %d: must be at least 1", c.Rise)
	}
	if c.Fall < 1 {
		bad("check fall %d: must be at least 1", c.Fall)
	}
	if c.Port < 0 || c.Port > 65535 {
		bad("check port %d: out of range", c.Port)
	}
	switch c.Observe {
	case "", "layer4", "layer7":
	default:
		bad("check observe %q: want \"layer4\" or \"layer7\"", c.Observe)
	}
	switch c.OnError {
	case "", "fastinter", "fail-check", "sudden-death", "mark-down":
	default:
		bad("check on_error %q: want fastinter, fail-check, sudden-death or mark-down", c.OnError)
	}
	if c.ErrorLimit < 0 {
		bad("check error_limit %d: must not be negative", c.ErrorLimit)
	}
	if c.Type != "http" {
		return errors.Join(errs...)
	}
	if !isToken(c.Method) {
		bad("check method %q: not an HTTP token", c.Method)
	}
	if c.Path == "" || strings.ContainsAny(c.Path, " \t\r\n") || (c.Path[0] != '/' && c.Path != "*") {
		bad("check path %q: must start with / and contain no spaces", c.Path)
	}
	if c.Version != "HTTP/1.0" && c.Version != "HTTP/1.1" {
		bad("check version %q: want HTTP/1.0 or HTTP/1.1", c.Version)
	}
	if strings.ContainsAny(c.Host, " \t\r\n") {
		bad("check host %q: contains white space", c.Host)
	}
	for _, h := range c.Headers {
		if !isToken(h[0]) {
			bad("check header name %q: not an HTTP token", h[0])
		}
		if strings.ContainsAny(h[1], "\r\n\x00") {
			bad("check header %s value: contains CR, LF or NUL", h[0])
		}
	}
	for _, r := range c.ExpectStatus {
		if r.Lo < 100 || r.Hi > 599 || r.Lo > r.Hi {
			bad("check expect_status %s: not a range within 100-599", r)
		}
	}
	return errors.Join(errs...)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
