package http1

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type respSum struct {
	Proto         string
	Major, Minor  int
	Status        int
	Reason        string
	Headers       []string
	ContentLength int64
	Chunked       bool
	KeepAlive     bool
	HeadLen       int
}

func summarizeResp(r *Response) respSum {
	s := respSum{
		Proto: string(r.Proto), Major: r.Major, Minor: r.Minor, Status: r.Status, Reason: string(r.Reason),
		ContentLength: r.ContentLength, Chunked: r.Chunked, KeepAlive: r.KeepAlive, HeadLen: r.HeadLen,
	}
	for _, h := range r.Headers {
		s.Headers = append(s.Headers, string(h.Name)+": "+string(h.Value))
	}
	return s
}

const typicalResponse = "HTTP/1.1 200 OK\r\n" +
	"Server: nginx/1.26.0\r\n" +
	"Date: Tue, 25 Nov 2026 16:50:00 GMT\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Length: 512\r\n" +
	"Last-Modified: Tue, 25 Nov 2026 10:00:00 GMT\r\n" +
	"Connection: keep-alive\r\n" +
	"ETag: \"6744a1b0-200\"\r\n" +
	"Cache-Control: no-cache\r\n" +
	"Set-Cookie: HA_STICKY_ms1=ms1.srv1; path=/\r\n" +
	"Accept-Ranges: bytes\r\n" +
	"\r\n"

type respCase struct {
	name string
	in   string // the head; want.HeadLen is len(in)
	tail string
	want respSum
	err  *Error
}

var validResponses = []respCase{
	{name: "typical", in: typicalResponse, tail: strings.Repeat("x", 512), want: respSum{
		Proto: "HTTP/1.1", Major: 1, Minor: 1, Status: 200, Reason: "OK",
		Headers: []string{
			"Server: nginx/1.26.0",
			"Date: Tue, 25 Nov 2026 16:50:00 GMT",
			"Content-Type: text/html; charset=utf-8",
			"Content-Length: 512",
			"Last-Modified: Tue, 25 Nov 2026 10:00:00 GMT",
			"Connection: keep-alive",
			"ETag: \"6744a1b0-200\"",
			"Cache-Control: no-cache",
			"Set-Cookie: HA_STICKY_ms1=ms1.srv1; path=/",
			"Accept-Ranges: bytes",
		},
		ContentLength: 512, KeepAlive: true,
	}},
	{name: "no reason, no space", in: "HTTP/1.1 204\r\n\r\n", want: respSum{
		Proto: "HTTP/1.1", Major: 1, Minor: 1, Status: 204, ContentLength: -1, KeepAlive: true,
	}},
	{name: "empty reason", in: "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", want: respSum{
		Proto: "HTTP/1.1", Major: 1, Minor: 1, Status: 404, Headers: []string{"Content-Length: 0"}, ContentLength: 0, KeepAlive: true,
	}},
	{name: "reason with spaces and obs-text", in: "HTTP/1.1 500 Internal \tServer Err\xf6r\r\n\r\n", want: respSum{
		Proto: "HTTP/1.1", Major: 1, Minor: 1, Status: 500, Reason: "Internal \tServer Err\xf6r", ContentLength: -1, KeepAlive: true,
	}},
	{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", tail: "0\r\n\r\n", want: respSum{
		Proto: "HTTP/1.1", Major: 1, Minor: 1, Status: 200, Reason: "OK", Headers: []string{"Transfer-Encoding: chunked"},
		ContentLength: -1, Chunked: true, KeepAlive: true,
	}},
	{name: "HTTP/1.0 closes", in: "HTTP/1.0 200 OK\r\n\r\n", want: respSum{
		Proto: "HTTP/1.0", Major: 1, Minor: 0, Status: 200, Reason: "OK", ContentLength: -1,
	}},
	{name: "HTTP/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n", want: respSum{
		Proto: "HTTP/1.0", Major: 1, Minor: 0, Status: 200, Reason: "OK", Headers: []string{"Connection: keep-alive", "Content-Length: 3"},
		ContentLength: 3, KeepAlive: true,
	}},
	{name: "HTTP/1.1 close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", want: respSum{
		Proto: "HTTP/1.1", Major: 1, Minor: 1, Status: 200, Reason: "OK", Headers: []string{"Connection: close"}, ContentLength: -1,
	}},
	{name: "101 switching protocols", in: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", want: respSum{
		Proto: "HTTP/1.1", Major: 1, Minor: 1, Status: 101, Reason: "Switching Protocols",
		Headers: []string{"Connection: Upgrade", "Upgrade: websocket"}, ContentLength: -1, KeepAlive: true,
	}},
	{name: "identical duplicate Content-Length", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n", want: respSum{
		Proto: "HTTP/1.1", Major: 1, Minor: 1, Status: 200, Reason: "OK",
		Headers: []string{"Content-Length: 2", "Content-Length: 2"}, ContentLength: 2, KeepAlive: true,
	}},
}

func rs(in string, err *Error) respCase {
	return respCase{name: err.Reason + ": " + in, in: in, err: err}
}

var invalidResponses = []respCase{
	rs("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", errRespCLTE),
	rs("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", errRespCLDiffer),
	rs("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", errRespCL),
	rs("HTTP/1.1 200 OK\r\nContent-Length: 1,1\r\n\r\n", errRespCL),
	rs("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", errRespTE),
	rs("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\n\r\n", errRespTE),
	rs("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", errRespTEChunked),
	rs("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", errRespTE10),
	rs("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", respFieldErrs.obsFold),
	rs("HTTP/1.1 200 OK\nX: a\r\n\r\n", respFieldErrs.bareLF),
	rs("HTTP/1.1 200 OK\r\nX: a\r\n\n", respFieldErrs.bareLF),
	rs("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", respFieldErrs.bareCR),
	rs("HTTP/1.1 200 O\rK\r\n\r\n", respFieldErrs.bareCR),
	rs("HTTP/1.1 200 OK\r\nX : a\r\n\r\n", respFieldErrs.spaceBeforeColon),
	rs("HTTP/1.1 200 OK\r\n: a\r\n\r\n", respFieldErrs.emptyName),
	rs("HTTP/1.1 200 OK\r\nX/Y: a\r\n\r\n", respFieldErrs.badName),
	rs("HTTP/1.1 200 OK\r\nXY\r\n\r\n", respFieldErrs.noColon),
	rs("HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n", respFieldErrs.badValue),
	rs("HTTP/1.1 200 OK\x7f\r\n\r\n", errReason),
	rs("HTTP/1.1 20 OK\r\n\r\n", errStatus),
	rs("HTTP/1.1 2000 OK\r\n\r\n", errStatus),
	rs("HTTP/1.1 099 OK\r\n\r\n", errStatus),
	rs("HTTP/1.1 600 OK\r\n\r\n", errStatus),
	rs("HTTP/1.1 2x0 OK\r\n\r\n", errStatus),
	rs("HTTP/1.1 200\tOK\r\n\r\n", errStatus),
	rs("HTTP/1.1  200 OK\r\n\r\n", errStatus),
	rs("HTTP/1.1\r\n\r\n", errStatusLine),
	rs("HTTP/1.1 20\r\n\r\n", errStatusLine),
	rs("http/1.1 200 OK\r\n\r\n", errStatusLine),
	rs("HTTP/1.1\t200 OK\r\n\r\n", errStatusLine),
	rs(" HTTP/1.1 200 OK\r\n\r\n", errStatusLine),
	rs("\r\nHTTP/1.1 200 OK\r\n\r\n", errStatusLine),
	rs("HTTP/2.0 200 OK\r\n\r\n", errRespVersion),
	rs("HTTP/1.2 200 OK\r\n\r\n", errRespVersion),
	rs("HTTP/1.1 200 OK\r\nX: "+strings.Repeat("a", 16384)+"\r\n\r\n", errRespTooLarge),
	rs("HTTP/1.1 200 OK\r\n"+strings.Repeat("X: a\r\n", 101)+"\r\n", errRespTooMany),
}

func TestParseResponseValid(t *testing.T) {
	t.Parallel()
	for _, tc := range validResponses {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var r Response
			buf := []byte(tc.in + tc.tail)
			if err := ParseResponse(buf, Limits{}, &r); err != nil {
				t.Fatalf("ParseResponse(%q) = %v", buf, err)
			}
			want := tc.want
			want.HeadLen = len(tc.in)
			if diff := cmp.Diff(want, summarizeResp(&r)); diff != "" {
				t.Errorf("ParseResponse(%q) mismatch (-want +got):\n%s", buf, diff)
			}
			checkRespViews(t, buf, &r)
		})
	}
}

func TestParseResponseInvalid(t *testing.T) {
	t.Parallel()
	for _, tc := range invalidResponses {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var r Response
			err := ParseResponse([]byte(tc.in), Limits{}, &r)
			if diff := cmp.Diff(errSum(tc.err), errSum(err)); diff != "" {
				t.Errorf("ParseResponse(%q) error mismatch (-want +got):\n%s", tc.in, diff)
			}
			if tc.err.Status != 502 {
				t.Errorf("response error %q has status %d, want 502", tc.err.Reason, tc.err.Status)
			}
		})
	}
}

func TestParseResponsePrefixes(t *testing.T) {
	t.Parallel()
	for _, tc := range append(append([]respCase{}, validResponses...), invalidResponses...) {
		if len(tc.in) > 2000 {
			continue
		}
		var r Response
		full := ParseResponse([]byte(tc.in), Limits{}, &r)
		end := len(tc.in)
		if full == nil {
			end = r.HeadLen
		}
		for i := 0; i < end; i++ {
			err := ParseResponse([]byte(tc.in[:i]), Limits{}, &r)
			if err == ErrNeedMore || (full != nil && err == full) {
				continue
			}
			t.Errorf("%s: prefix %q: got %v, want need more or %v", tc.name, tc.in[:i], err, full)
			break
		}
	}
}

func TestResponseBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		head   string
		method string
		kind   BodyKind
		n      int64
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "GET", BodyLength, 10},
		{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD", BodyNone, 0},
		{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "GET", BodyNone, 0},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "POST", BodyChunked, -1},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD", BodyNone, 0},
		{"HTTP/1.1 200 OK\r\n\r\n", "GET", BodyUntilClose, -1},
		{"HTTP/1.0 200 OK\r\n\r\n", "GET", BodyUntilClose, -1},
		{"HTTP/1.1 100 Continue\r\n\r\n", "POST", BodyNone, 0},
		{"HTTP/1.1 101 Switching Protocols\r\n\r\n", "GET", BodyNone, 0},
		{"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", "GET", BodyNone, 0},
		{"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", "GET", BodyNone, 0},
		{"HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT", BodyNone, 0},
		{"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\n", "CONNECT", BodyLength, 4},
		{"HTTP/1.1 404 Not Found\r\n\r\n", "DELETE", BodyUntilClose, -1},
	}
	for _, tc := range tests {
		var r Response
		if err := ParseResponse([]byte(tc.head), Limits{}, &r); err != nil {
			t.Fatalf("ParseResponse(%q) = %v", tc.head, err)
		}
		kind, n := r.Body([]byte(tc.method))
		if kind != tc.kind || n != tc.n {
			t.Errorf("%s %q: Body = %v, %d; want %v, %d", tc.method, tc.head, kind, n, tc.kind, tc.n)
		}
	}
}

// Not parallel: AllocsPerRun refuses to run beside parallel tests.
func TestParseResponseNoAlloc(t *testing.T) {
	var r Response
	buf := []byte(typicalResponse)
	if err := ParseResponse(buf, Limits{}, &r); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := ParseResponse(buf, Limits{}, &r); err != nil {
			t.Fatal(err)
		}
		_ = r.Header("set-cookie")
	})
	if allocs != 0 {
		t.Errorf("ParseResponse allocates %v times per call in steady state, want 0", allocs)
	}
}
