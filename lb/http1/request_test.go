package http1

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// reqSum is the comparable digest of a parsed Request.
type reqSum struct {
	Method, Target, Proto string
	Major, Minor          int
	Host                  *string
	Headers               []string
	ContentLength         int64
	Chunked               bool
	KeepAlive             bool
	Upgrade               bool
	Expect100             bool
	HeadLen               int
}

func sp(s string) *string { return &s }

func summarizeReq(r *Request) reqSum {
	s := reqSum{
		Method: string(r.Method), Target: string(r.Target), Proto: string(r.Proto),
		Major: r.Major, Minor: r.Minor,
		ContentLength: r.ContentLength, Chunked: r.Chunked, KeepAlive: r.KeepAlive,
		Upgrade: r.Upgrade, Expect100: r.Expect100, HeadLen: r.HeadLen,
	}
	if r.Host != nil {
		s.Host = sp(string(r.Host))
	}
	for _, h := range r.Headers {
		s.Headers = append(s.Headers, string(h.Name)+": "+string(h.Value))
	}
	return s
}

// errSum makes errors comparable by status and reason.
func errSum(err error) string {
	var e *Error
	switch {
	case err == nil:
		return "<nil>"
	case errors.Is(err, ErrNeedMore):
		return "need more"
	case errors.As(err, &e):
		return e.Error()
	}
	return "unexpected error type: " + err.Error()
}

const browserGET = "GET /ms1/demo.html?x=1&y=2 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Referer: https://www.example.com/ms1/\r\n" +
	"Cookie: HA_STICKY_ms1=ms1.srv1; session=0123456789abcdef\r\n" +
	"Connection: keep-alive\r\n" +
	"Upgrade-Insecure-Requests: 1\r\n" +
	"Cache-Control: max-age=0\r\n" +
	"\r\n"

type reqCase struct {
	name string
	in   string // the head; want.HeadLen is len(in)
	tail string // bytes after the head (body, next request)
	want reqSum
	err  *Error // when the head must be refused
}

var validRequests = []reqCase{
	{name: "browser GET", in: browserGET, want: reqSum{
		Method: "GET", Target: "/ms1/demo.html?x=1&y=2", Proto: "HTTP/1.1", Major: 1, Minor: 1,
		Host: sp("www.example.com"),
		Headers: []string{
			"Host: www.example.com",
			"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
			"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
			"Accept-Language: en-US,en;q=0.5",
			"Accept-Encoding: gzip, deflate, br",
			"Referer: https://www.example.com/ms1/",
			"Cookie: HA_STICKY_ms1=ms1.srv1; session=0123456789abcdef",
			"Connection: keep-alive",
			"Upgrade-Insecure-Requests: 1",
			"Cache-Control: max-age=0",
		},
		ContentLength: -1, KeepAlive: true,
	}},
	{name: "HTTP/1.0 closes by default", in: "GET / HTTP/1.0\r\n\r\n", want: reqSum{
		Method: "GET", Target: "/", Proto: "HTTP/1.0", Major: 1, Minor: 0,
		ContentLength: -1,
	}},
	{name: "HTTP/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", want: reqSum{
		Method: "GET", Target: "/", Proto: "HTTP/1.0", Major: 1, Minor: 0,
		Headers: []string{"Connection: Keep-Alive"}, ContentLength: -1, KeepAlive: true,
	}},
	{name: "HTTP/1.0 keep-alive and close", in: "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", want: reqSum{
		Method: "GET", Target: "/", Proto: "HTTP/1.0", Major: 1, Minor: 0,
		Headers: []string{"Connection: keep-alive, close"}, ContentLength: -1,
	}},
	{name: "HTTP/1.1 close", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", want: reqSum{
		Method: "GET", Target: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("a"),
		Headers: []string{"Host: a", "Connection: close"}, ContentLength: -1,
	}},
	{name: "close in a second Connection line", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nconnection: CLOSE\r\n\r\n", want: reqSum{
		Method: "GET", Target: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("a"),
		Headers: []string{"Host: a", "Connection: keep-alive", "connection: CLOSE"}, ContentLength: -1,
	}},
	{name: "websocket upgrade", in: "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n", want: reqSum{
		Method: "GET", Target: "/ws", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("a"),
		Headers:       []string{"Host: a", "Connection: keep-alive, Upgrade", "Upgrade: websocket"},
		ContentLength: -1, KeepAlive: true, Upgrade: true,
	}},
	{name: "Connection upgrade without Upgrade header", in: "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n", want: reqSum{
		Method: "GET", Target: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("a"),
		Headers: []string{"Host: a", "Connection: upgrade"}, ContentLength: -1, KeepAlive: true,
	}},
	{name: "upgrade ignored on HTTP/1.0", in: "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", want: reqSum{
		Method: "GET", Target: "/", Proto: "HTTP/1.0", Major: 1, Minor: 0,
		Headers: []string{"Connection: upgrade", "Upgrade: websocket"}, ContentLength: -1,
	}},
	{name: "POST with Content-Length and body after head", in: "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", tail: "hello", want: reqSum{
		Method: "POST", Target: "/f", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("a"),
		Headers: []string{"Host: a", "Content-Length: 5"}, ContentLength: 5, KeepAlive: true,
	}},
	{name: "identical duplicate Content-Length", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n", want: reqSum{
		Method: "POST", Target: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("a"),
		Headers: []string{"Host: a", "Content-Length: 7", "Content-Length: 7"}, ContentLength: 7, KeepAlive: true,
	}},
	{name: "Content-Length leading zeros and OWS", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\t 0012 \t\r\n\r\n", want: reqSum{
		Method: "POST", Target: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("a"),
		Headers: []string{"Host: a", "Content-Length: 0012"}, ContentLength: 12, KeepAlive: true,
	}},
	{name: "largest Content-Length", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n", want: reqSum{
		Method: "POST", Target: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("a"),
		Headers: []string{"Host: a", "Content-Length: 9223372036854775807"}, ContentLength: 9223372036854775807, KeepAlive: true,
	}},
	{name: "chunked", in: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", want: reqSum{
		Method: "POST", Target: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("a"),
		Headers: []string{"Host: a", "Transfer-Encoding: Chunked"}, ContentLength: -1, Chunked: true, KeepAlive: true,
	}},
	{name: "expect 100-continue", in: "PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", want: reqSum{
		Method: "PUT", Target: "/u", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("a"),
		Headers:       []string{"Host: a", "Expect: 100-Continue", "Content-Length: 1"},
		ContentLength: 1, KeepAlive: true, Expect100: true,
	}},
	{name: "expect ignored on HTTP/1.0", in: "PUT /u HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", want: reqSum{
		Method: "PUT", Target: "/u", Proto: "HTTP/1.0", Major: 1, Minor: 0,
		Headers: []string{"Expect: 100-continue"}, ContentLength: -1,
	}},
	{name: "empty lines before the request line", in: "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", want: reqSum{
		Method: "GET", Target: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("a"),
		Headers: []string{"Host: a"}, ContentLength: -1, KeepAlive: true,
	}},
	{name: "OPTIONS asterisk", in: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", want: reqSum{
		Method: "OPTIONS", Target: "*", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("a"),
		Headers: []string{"Host: a"}, ContentLength: -1, KeepAlive: true,
	}},
	{name: "CONNECT authority-form", in: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", want: reqSum{
		Method: "CONNECT", Target: "example.com:443", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("example.com:443"),
		Headers: []string{"Host: example.com:443"}, ContentLength: -1, KeepAlive: true,
	}},
	{name: "absolute-form", in: "GET http://[::1]:8080/p%41th?q=%zz HTTP/1.1\r\nHost: other\r\n\r\n", want: reqSum{
		Method: "GET", Target: "http://[::1]:8080/p%41th?q=%zz", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("other"),
		Headers: []string{"Host: other"}, ContentLength: -1, KeepAlive: true,
	}},
	{name: "field values: OWS trimmed, empty, inner HT, obs-text", in: "GET / HTTP/1.1\r\nHost:\r\nX-A:  a \t b\t \r\nX-B:\r\nX-C: caf\xc3\xa9\r\n\r\n", want: reqSum{
		Method: "GET", Target: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp(""),
		Headers: []string{"Host: ", "X-A: a \t b", "X-B: ", "X-C: caf\xc3\xa9"}, ContentLength: -1, KeepAlive: true,
	}},
	{name: "Content-Length 0", in: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", want: reqSum{
		Method: "POST", Target: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1, Host: sp("a"),
		Headers: []string{"Host: a", "Content-Length: 0"}, ContentLength: 0, KeepAlive: true,
	}},
}

// rq is an invalid-table entry; a nil err marks a head that looks hostile
// but is harmless and accepted (kept to show the decision).
func rq(in string, err *Error) reqCase {
	name := "accepted"
	if err != nil {
		name = err.Reason
	}
	return reqCase{name: name + ": " + in, in: in, err: err}
}

const h = "Host: a\r\n"

var invalidRequests = []reqCase{
	// Framing ambiguity.
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", errCLTE),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", errCLTE),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: 5\r\nContent-Length: 6\r\n\r\n", errCLDiffer),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: 5\r\nContent-Length: 05\r\n\r\n", errCLDiffer),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: 5, 5\r\n\r\n", errCL),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: 5a\r\n\r\n", errCL),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: -1\r\n\r\n", errCL),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: +5\r\n\r\n", errCL),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: 5 5\r\n\r\n", errCL),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: 0x5\r\n\r\n", errCL),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length:\r\n\r\n", errCL),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: 9223372036854775808\r\n\r\n", errCL),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: 99999999999999999999\r\n\r\n", errCL),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: gzip\r\n\r\n", errTEUnknown),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: gzip, chunked\r\n\r\n", errTEUnknown),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: chunked, gzip\r\n\r\n", errTEUnknown),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: identity\r\n\r\n", errTEUnknown),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: chunked;q=1\r\n\r\n", errTEUnknown),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: chunked, chunked\r\n\r\n", errTEChunkedTwice),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", errTEChunkedTwice),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding:\r\n\r\n", errTEList),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: chunked,\r\n\r\n", errTEList),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: ,chunked\r\n\r\n", errTEList),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: \"chunked\"\r\n\r\n", errTEList),
	rq("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", errTE10),
	// Classic smuggling spellings.
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: xchunked\r\n\r\n", errTEUnknown),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", errTEUnknown),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding:\x0bchunked\r\n\r\n", reqFieldErrs.badValue),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer-Encoding: chunked\x00\r\n\r\n", reqFieldErrs.badValue),
	rq("POST / HTTP/1.1\r\n"+h+"Transfer_Encoding: chunked\r\nContent-Length: 3\r\n\r\n", nil),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: 3\r\n Transfer-Encoding: chunked\r\n\r\n", reqFieldErrs.obsFold),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: 3\r\nTransfer-Encoding\n: chunked\r\n\r\n", reqFieldErrs.bareLF),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: 3\r\nTransfer-Encoding : chunked\r\n\r\n", reqFieldErrs.spaceBeforeColon),
	rq("POST / HTTP/1.1\r\n"+h+"Content-Length: 1\x00\r\n\r\n", reqFieldErrs.badValue),
	// Line endings and field syntax.
	rq("GET / HTTP/1.1\r\n"+h+"X-A: 1\r\n b\r\n\r\n", reqFieldErrs.obsFold),
	rq("GET / HTTP/1.1\r\n"+h+"X-A: 1\r\n\tb\r\n\r\n", reqFieldErrs.obsFold),
	rq("GET / HTTP/1.1\r\n"+h+" X-A: 1\r\n\r\n", reqFieldErrs.obsFold),
	rq("GET / HTTP/1.1\n"+h+"\r\n", reqFieldErrs.bareLF),
	rq("GET / HTTP/1.1\r\n"+h+"X-A: 1\n\r\n", reqFieldErrs.bareLF),
	rq("GET / HTTP/1.1\r\n"+h+"\n", reqFieldErrs.bareLF),
	rq("\nGET / HTTP/1.1\r\n"+h+"\r\n", reqFieldErrs.bareLF),
	rq("GET / HTTP/1.1\r\n"+h+"X-A: 1\rX-B: 2\r\n\r\n", reqFieldErrs.bareCR),
	rq("GET / HTTP/1.1\r\n"+h+"X-A\r: 1\r\n\r\n", reqFieldErrs.bareCR),
	rq("GET / HTTP/1.1\r\n"+h+"\r\r\n", reqFieldErrs.bareCR),
	rq("GET /\r HTTP/1.1\r\n"+h+"\r\n", reqFieldErrs.bareCR),
	rq("GET / HTTP/1.1\r\r\n"+h+"\r\n", reqFieldErrs.bareCR),
	rq("G\rT / HTTP/1.1\r\n"+h+"\r\n", reqFieldErrs.bareCR),
	rq("GET / HTTP/1.1\r\nHost : a\r\n\r\n", reqFieldErrs.spaceBeforeColon),
	rq("GET / HTTP/1.1\r\n"+h+"Content-Length\t: 5\r\n\r\n", reqFieldErrs.spaceBeforeColon),
	rq("GET / HTTP/1.1\r\n"+h+": a\r\n\r\n", reqFieldErrs.emptyName),
	rq("GET / HTTP/1.1\r\n"+h+"X(A): a\r\n\r\n", reqFieldErrs.badName),
	rq("GET / HTTP/1.1\r\n"+h+"X\xc3\xa9: a\r\n\r\n", reqFieldErrs.badName),
	rq("GET / HTTP/1.1\r\n"+h+"X-A\r\n\r\n", reqFieldErrs.noColon),
	rq("GET / HTTP/1.1\r\n"+h+"X A\r\n\r\n", reqFieldErrs.noColon),
	rq("GET / HTTP/1.1\r\n"+h+"X-A: a\x00b\r\n\r\n", reqFieldErrs.badValue),
	rq("GET / HTTP/1.1\r\n"+h+"X-A: a\x7f\r\n\r\n", reqFieldErrs.badValue),
	rq("GET / HTTP/1.1\r\n"+h+"X-A: \x0b\r\n\r\n", reqFieldErrs.badValue),
	// Request line.
	rq("GET  / HTTP/1.1\r\n"+h+"\r\n", errReqLine),
	rq(" GET / HTTP/1.1\r\n"+h+"\r\n", errReqLine),
	rq("GET /\r\n\r\n", errReqLine),
	rq("GET\r\n\r\n", errReqLine),
	rq("GET / HTTP/1.1 \r\n"+h+"\r\n", errVersion),
	rq("GET /  HTTP/1.1\r\n"+h+"\r\n", errVersion),
	rq("GET / http/1.1\r\n"+h+"\r\n", errVersion),
	rq("GET / HTTP/1.10\r\n"+h+"\r\n", errVersion),
	rq("GET / HTTP/1\r\n"+h+"\r\n", errVersion),
	rq("GET / HTTP/1.1 x\r\n"+h+"\r\n", errVersion),
	rq("GET\t/ HTTP/1.1\r\n"+h+"\r\n", errMethod),
	rq("G(T / HTTP/1.1\r\n"+h+"\r\n", errMethod),
	rq("GET /a\x7f HTTP/1.1\r\n"+h+"\r\n", errTarget),
	rq("GET /a\x01 HTTP/1.1\r\n"+h+"\r\n", errTarget),
	rq("GET /caf\xc3\xa9 HTTP/1.1\r\n"+h+"\r\n", errTarget),
	rq("GET /a\tb HTTP/1.1\r\n"+h+"\r\n", errTarget),
	rq("GET /a#b HTTP/1.1\r\n"+h+"\r\n", errTargetFragment),
	rq("GET /a%zz HTTP/1.1\r\n"+h+"\r\n", errTargetPct),
	rq("GET /a%4 HTTP/1.1\r\n"+h+"\r\n", errTargetPct),
	rq("GET a/b HTTP/1.1\r\n"+h+"\r\n", errTargetForm),
	rq("GET * HTTP/1.1\r\n"+h+"\r\n", errTargetForm),
	rq("GET http:/a HTTP/1.1\r\n"+h+"\r\n", errTargetForm),
	rq("GET 1http://a/ HTTP/1.1\r\n"+h+"\r\n", errTargetForm),
	rq("GET http://u:p@a/ HTTP/1.1\r\n"+h+"\r\n", errTargetUserinfo),
	rq("GET http:///a HTTP/1.1\r\n"+h+"\r\n", errTargetHost),
	rq("GET http://a:b/ HTTP/1.1\r\n"+h+"\r\n", errTargetHost),
	rq("GET http://[::1/ HTTP/1.1\r\n"+h+"\r\n", errTargetHost),
	rq("GET http://a%zz/ HTTP/1.1\r\n"+h+"\r\n", errTargetHost),
	rq("CONNECT a HTTP/1.1\r\n"+h+"\r\n", errTargetHost),
	rq("CONNECT /a HTTP/1.1\r\n"+h+"\r\n", errTargetHost),
	rq("GET / HTTP/2.0\r\n"+h+"\r\n", errVersionReq),
	rq("GET / HTTP/1.2\r\n"+h+"\r\n", errVersionReq),
	rq("GET / HTTP/0.9\r\n"+h+"\r\n", errVersionReq),
	// Host.
	rq("GET / HTTP/1.1\r\n\r\n", errNoHost),
	rq("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n", errNoHost),
	rq("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", errManyHost),
	rq("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", errManyHost),
	rq("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", errBadHost),
	rq("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", errBadHost),
	rq("GET / HTTP/1.1\r\nHost: a@b\r\n\r\n", errBadHost),
	// Sizes (default limits).
	rq("GET /"+strings.Repeat("a", 16384)+" HTTP/1.1\r\n"+h+"\r\n", errURITooLong),
	rq("GET / HTTP/1.1\r\n"+h+"X-Big: "+strings.Repeat("a", 16384)+"\r\n\r\n", errReqTooLarge),
	rq("GET / HTTP/1.1\r\n"+h+strings.Repeat("X-A: 1\r\n", 100)+"\r\n", errReqTooMany),
}

func TestParseRequestValid(t *testing.T) {
	t.Parallel()
	for _, tc := range validRequests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var r Request
			buf := []byte(tc.in + tc.tail)
			if err := ParseRequest(buf, Limits{}, &r); err != nil {
				t.Fatalf("ParseRequest(%q) = %v", buf, err)
			}
			want := tc.want
			want.HeadLen = len(tc.in)
			if diff := cmp.Diff(want, summarizeReq(&r)); diff != "" {
				t.Errorf("ParseRequest(%q) mismatch (-want +got):\n%s", buf, diff)
			}
			checkReqViews(t, buf, &r)
			wantLine := want.Method + " " + want.Target + " " + want.Proto
			if got := string(r.RequestLine()); got != wantLine {
				t.Errorf("RequestLine() = %q, want %q", got, wantLine)
			}
		})
	}
}

func TestParseRequestInvalid(t *testing.T) {
	t.Parallel()
	for _, tc := range invalidRequests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var r Request
			err := ParseRequest([]byte(tc.in), Limits{}, &r)
			var want error
			if tc.err != nil {
				want = tc.err
			}
			if diff := cmp.Diff(errSum(want), errSum(err)); diff != "" {
				t.Errorf("ParseRequest(%q) error mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// TestParseRequestPrefixes checks the incremental contract: every proper
// prefix of a head is either "need more" or, once the offending line is
// complete, the same error as the whole input.
func TestParseRequestPrefixes(t *testing.T) {
	t.Parallel()
	for _, tc := range append(append([]reqCase{}, validRequests...), invalidRequests...) {
		if len(tc.in) > 2000 {
			continue
		}
		var r Request
		full := ParseRequest([]byte(tc.in), Limits{}, &r)
		end := len(tc.in)
		if full == nil {
			end = r.HeadLen
		}
		for i := 0; i < end; i++ {
			err := ParseRequest([]byte(tc.in[:i]), Limits{}, &r)
			if err == ErrNeedMore || (full != nil && err == full) {
				continue
			}
			t.Errorf("%s: prefix %q: got %v, want need more or %v", tc.name, tc.in[:i], err, full)
			break
		}
	}
}

func TestParseRequestLimits(t *testing.T) {
	t.Parallel()
	head := "GET /abc HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-B: 2\r\n\r\n"
	tests := []struct {
		name string
		in   string
		lim  Limits
		want error
	}{
		{"head exactly at limit", head, Limits{MaxHeadBytes: len(head)}, nil},
		{"head one over limit", head, Limits{MaxHeadBytes: len(head) - 1}, errReqTooLarge},
		{"body beyond limit is not head", head + strings.Repeat("x", 100), Limits{MaxHeadBytes: len(head)}, nil},
		{"incomplete below limit", head[:len(head)-1], Limits{MaxHeadBytes: len(head)}, ErrNeedMore},
		{"incomplete at limit", head[:len(head)-1], Limits{MaxHeadBytes: len(head) - 1}, errReqTooLarge},
		{"request line over limit", head, Limits{MaxHeadBytes: 10}, errURITooLong},
		{"headers exactly at limit", head, Limits{MaxHeaders: 3}, nil},
		{"one header too many", head, Limits{MaxHeaders: 2}, errReqTooMany},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var r Request
			err := ParseRequest([]byte(tc.in), tc.lim, &r)
			if diff := cmp.Diff(errSum(tc.want), errSum(err)); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequestAccessors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in                     string
		path, query, authority *string
		kind                   BodyKind
		n                      int64
		hdr                    string
		hdrVal                 *string
	}{
		{in: "GET /a/b?c=d&e HTTP/1.1\r\nHost: h:81\r\nX-Empty:\r\n\r\n", path: sp("/a/b"), query: sp("c=d&e"), authority: sp("h:81"), kind: BodyNone, hdr: "x-EMPTY", hdrVal: sp("")},
		{in: "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", path: sp("/a"), authority: sp("h"), hdr: "x-absent"},
		{in: "GET /a? HTTP/1.1\r\nHost: h\r\n\r\n", path: sp("/a"), query: sp(""), authority: sp("h"), hdr: "HOST", hdrVal: sp("h")},
		{in: "GET http://x.example:8080/p?q HTTP/1.1\r\nHost: h\r\n\r\n", path: sp("/p"), query: sp("q"), authority: sp("x.example:8080")},
		{in: "GET http://x.example?q HTTP/1.1\r\nHost: h\r\n\r\n", path: sp(""), query: sp("q"), authority: sp("x.example")},
		{in: "CONNECT x.example:443 HTTP/1.1\r\nHost: x.example:443\r\n\r\n", authority: sp("x.example:443")},
		{in: "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", authority: sp("h")},
		{in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n", path: sp("/"), authority: sp("h"), kind: BodyLength, n: 10},
		{in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", path: sp("/"), authority: sp("h"), kind: BodyNone},
		{in: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", path: sp("/"), authority: sp("h"), kind: BodyChunked, n: -1},
	}
	str := func(b []byte) *string {
		if b == nil {
			return nil
		}
		return sp(string(b))
	}
	for _, tc := range tests {
		var r Request
		if err := ParseRequest([]byte(tc.in), Limits{}, &r); err != nil {
			t.Fatalf("ParseRequest(%q) = %v", tc.in, err)
		}
		kind, n := r.Body()
		got := []any{str(r.Path()), str(r.Query()), str(r.Authority()), kind, n}
		want := []any{tc.path, tc.query, tc.authority, tc.kind, tc.n}
		if tc.hdr != "" {
			got = append(got, str(r.Header(tc.hdr)))
			want = append(want, tc.hdrVal)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q: [path query authority kind n header] mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}

// Not parallel: AllocsPerRun refuses to run beside parallel tests.
func TestParseRequestReusesHeaders(t *testing.T) {
	var r Request
	buf := []byte(browserGET)
	if err := ParseRequest(buf, Limits{}, &r); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := ParseRequest(buf, Limits{}, &r); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ParseRequest allocates %v times per call in steady state, want 0", allocs)
	}
	bad := []byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
	allocs = testing.AllocsPerRun(100, func() { _ = ParseRequest(bad, Limits{}, &r) })
	if allocs != 0 {
		t.Errorf("rejecting a request allocates %v times, want 0", allocs)
	}
	// A smaller request after a larger one must not leak old headers.
	if err := ParseRequest([]byte("GET / HTTP/1.0\r\n\r\n"), Limits{}, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Headers) != 0 || r.Host != nil || r.ContentLength != -1 || r.KeepAlive {
		t.Errorf("state left over from the previous parse: %+v", summarizeReq(&r))
	}
}

func TestAppendHeader(t *testing.T) {
	t.Parallel()
	got := AppendHeader([]byte("GET / HTTP/1.1\r\n"), []byte("X-Forwarded-For"), []byte("192.0.2.200"))
	want := "GET / HTTP/1.1\r\nX-Forwarded-For: 192.0.2.200\r\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("AppendHeader mismatch (-want +got):\n%s", diff)
	}
}
