package health

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// Dialer opens a check's connection. *net.Dialer satisfies it; tests pass
// fakes.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Infos HAProxy-like, for results with no OS error to report.
const (
	infoEmpty    = "Empty response"
	infoNoBody   = "HTTP content check could not find a response body"
	infoNoMatch  = "HTTP content check did not match"
	maxInfoBytes = 128
)

// probe is one server's check, ready to run: the address and, for HTTP,
// the request bytes, built once.
type probe struct {
	addr string
	cfg  CheckConfig
	req  []byte
}

// newProbe builds the check of a server at srv; cfg has its defaults.
func newProbe(srv netip.AddrPort, cfg CheckConfig) *probe {
	addr, port := srv.Addr(), srv.Port()
	if cfg.Addr.IsValid() {
		addr = cfg.Addr
	}
	if cfg.Port != 0 {
		port = uint16(cfg.Port)
	}
	ap := netip.AddrPortFrom(addr, port)
	p := &probe{addr: ap.String(), cfg: cfg}
	if cfg.Type == "http" {
		p.req = buildRequest(cfg, ap.String())
	}
	return p
}

func buildRequest(cfg CheckConfig, defHost string) []byte {
	var b bytes.Buffer
	b.WriteString(cfg.Method + " " + cfg.Path + " " + cfg.Version + "\r\n")
	hasHost, hasConn := false, false
	for _, h := range cfg.Headers {
		hasHost = hasHost || strings.EqualFold(h[0], "Host")
		hasConn = hasConn || strings.EqualFold(h[0], "Connection")
	}
	switch {
	case hasHost:
	case cfg.Host != "":
		b.WriteString("Host: " + cfg.Host + "\r\n")
	case cfg.Version == "HTTP/1.1":
		b.WriteString("Host: " + defHost + "\r\n")
	}
	for _, h := range cfg.Headers {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	if !hasConn {
		// The server closes after answering, so reading to EOF ends.
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// run performs one check, bounded by cfg.Timeout and by ctx. Duration is
// left for the caller, which owns the clock.
func (p *probe) run(ctx context.Context, d Dialer) Result {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return Result{Status: StatusL4TOut}
		}
		return Result{Status: StatusL4Con, Info: errInfo(err)}
	}
	defer conn.Close()
	if p.cfg.Type != "http" {
		return Result{Status: StatusL4OK}
	}
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return Result{Status: StatusSockErr, Info: errInfo(err)}
		}
	}
	// Cancelling ctx (shutdown) or its timeout unblocks any I/O at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := conn.Write(p.req); err != nil {
		if isTimeout(err) {
			return Result{Status: StatusL7TOut}
		}
		return Result{Status: StatusSockErr, Info: errInfo(err)}
	}
	buf := make([]byte, 0, 4096)
	for {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(2*cap(buf), maxHead+maxBody))
			copy(nb, buf)
			buf = nb
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		full := len(buf) >= maxHead+maxBody
		if res, done := evalHTTP(buf, err == io.EOF || full, &p.cfg); done {
			return res
		}
		switch {
		case err == nil:
		case isTimeout(err):
			return Result{Status: StatusL7TOut}
		default:
			// Connected, then an I/O error before a verdict: HAProxy's
			// SOCKERR (a reset lands here).
			return Result{Status: StatusSockErr, Info: errInfo(err)}
		}
	}
}

// evalHTTP judges the response read so far. final says no more bytes will
// come (EOF, or the read limit). done is false while more bytes could
// change the verdict.
func evalHTTP(buf []byte, final bool, cfg *CheckConfig) (res Result, done bool) {
	eol := bytes.IndexByte(buf, '\n')
	if eol < 0 {
		switch {
		case len(buf) >= maxHead:
			return Result{Status: StatusL7Rsp, Info: firstLine(buf)}, true
		case !final:
			return Result{}, false
		case len(buf) == 0:
			return Result{Status: StatusL7Rsp, Info: infoEmpty}, true
		}
		return Result{Status: StatusL7Rsp, Info: firstLine(buf)}, true
	}
	line := bytes.TrimSuffix(buf[:eol], []byte("\r"))
	code, reason, ok := parseStatusLine(line)
	if !ok {
		return Result{Status: StatusL7Rsp, Info: firstLine(line)}, true
	}
	if !inRanges(cfg.ExpectStatus, code) {
		return Result{Status: StatusL7Sts, Code: code, Info: firstLine(reason)}, true
	}
	if cfg.ExpectString == "" && cfg.ExpectRegex == nil {
		return Result{Status: StatusL7OK, Code: code}, true
	}
	headEnd, bodyStart := bytes.Index(buf, []byte("\r\n\r\n")), 4
	if i := bytes.Index(buf, []byte("\n\n")); i >= 0 && (headEnd < 0 || i < headEnd) {
		headEnd, bodyStart = i, 2
	}
	if headEnd < 0 {
		if final || len(buf) >= maxHead {
			return Result{Status: StatusL7Rsp, Code: code, Info: infoNoBody}, true
		}
		return Result{}, false
	}
	body := buf[headEnd+bodyStart:]
	if len(body) > maxBody {
		body = body[:maxBody]
	}
	matched := (cfg.ExpectString == "" || bytes.Contains(body, []byte(cfg.ExpectString))) &&
		(cfg.ExpectRegex == nil || cfg.ExpectRegex.Match(body))
	if matched {
		return Result{Status: StatusL7OK, Code: code}, true
	}
	cl, hasCL := contentLength(buf[:headEnd])
	if final || len(body) >= maxBody || (hasCL && len(body) >= cl) {
		return Result{Status: StatusL7Rsp, Code: code, Info: infoNoMatch}, true
	}
	return Result{}, false
}

// parseStatusLine reads "HTTP/1.x NNN reason" (HAProxy accepts HTTP/1.*).
func parseStatusLine(line []byte) (code int, reason []byte, ok bool) {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, nil, false
	}
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, nil, false
		}
		code = code*10 + int(c-'0')
	}
	if len(line) > 12 && line[12] != ' ' {
		return 0, nil, false
	}
	if len(line) > 13 {
		reason = line[13:]
	}
	return code, reason, true
}

func inRanges(rs []StatusRange, code int) bool {
	if len(rs) == 0 {
		rs = defaultExpect
	}
	for _, r := range rs {
		if r.Contains(code) {
			return true
		}
	}
	return false
}

func contentLength(head []byte) (int, bool) {
	for line := range bytes.SplitSeq(head, []byte("\n")) {
		name, val, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")) {
			continue
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(val)))
		if err != nil || n < 0 {
			return 0, false
		}
		return n, true
	}
	return 0, false
}

// firstLine cuts b at its first CR or LF and bounds it, for an info field.
func firstLine(b []byte) string {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	if len(b) > maxInfoBytes {
		b = b[:maxInfoBytes]
	}
	return string(b)
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errInfo renders an I/O error as HAProxy does, with strerror: "Connection
// refused", "Connection reset by peer".
func errInfo(err error) string {
	var errno syscall.Errno
	s := err.Error()
	if errors.As(err, &errno) {
		s = errno.Error()
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
