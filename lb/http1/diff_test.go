package http1

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
)

// checkReqNetHTTP reports how net/http's reading of an accepted head differs
// from ours, or "" when it agrees.
//
// Known, intended differences, adjusted for here:
//   - tandem skips empty lines before the request line (RFC 9112 §2.2), which
//     net/http's ReadRequest refuses; they are cut off before comparing.
//   - net/http reports ContentLength 0 when a request has no framing header;
//     tandem keeps -1 ("absent").
func checkReqNetHTTP(buf []byte, r *Request) string {
	head := buf[:r.HeadLen]
	for bytes.HasPrefix(head, []byte("\r\n")) {
		head = head[2:]
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		return fmt.Sprintf("net/http rejects what tandem accepts: %v", err)
	}
	var wantCL int64
	var wantTE []string
	switch {
	case r.Chunked:
		wantCL, wantTE = -1, []string{"chunked"}
	case r.ContentLength >= 0:
		wantCL = r.ContentLength
	}
	type view struct {
		Method, URI, Proto string
		Major, Minor       int
		Host               string
		ContentLength      int64
		TransferEncoding   []string
		Close              bool
	}
	ours := view{string(r.Method), string(r.Target), string(r.Proto), r.Major, r.Minor,
		string(r.Authority()), wantCL, wantTE, !r.KeepAlive}
	theirs := view{req.Method, req.RequestURI, req.Proto, req.ProtoMajor, req.ProtoMinor,
		req.Host, req.ContentLength, req.TransferEncoding, req.Close}
	if !equalView(ours, theirs) {
		return fmt.Sprintf("tandem %+v, net/http %+v", ours, theirs)
	}
	return ""
}

func equalView[T any](a, b T) bool { return fmt.Sprintf("%#v", a) == fmt.Sprintf("%#v", b) }

// checkRespNetHTTP does the same for responses to a GET.
func checkRespNetHTTP(buf []byte, r *Response) string {
	head := buf[:r.HeadLen]
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), &http.Request{Method: "GET"})
	if err != nil {
		return fmt.Sprintf("net/http rejects what tandem accepts: %v", err)
	}
	if resp.StatusCode != r.Status || resp.Proto != string(r.Proto) || resp.ProtoMajor != r.Major || resp.ProtoMinor != r.Minor {
		return fmt.Sprintf("status line: tandem %s %d, net/http %s %d", r.Proto, r.Status, resp.Proto, resp.StatusCode)
	}
	kind, n := r.Body([]byte("GET"))
	switch kind {
	case BodyLength:
		if resp.ContentLength != n || resp.TransferEncoding != nil {
			return fmt.Sprintf("length %d: net/http CL %d TE %q", n, resp.ContentLength, resp.TransferEncoding)
		}
	case BodyChunked:
		if resp.ContentLength != -1 || !slices.Equal(resp.TransferEncoding, []string{"chunked"}) {
			return fmt.Sprintf("chunked: net/http CL %d TE %q", resp.ContentLength, resp.TransferEncoding)
		}
	case BodyUntilClose:
		if resp.ContentLength != -1 || resp.TransferEncoding != nil || !resp.Close {
			return fmt.Sprintf("until close: net/http CL %d TE %q close %v", resp.ContentLength, resp.TransferEncoding, resp.Close)
		}
	case BodyNone:
		if r.ContentLength == 0 && resp.ContentLength != 0 {
			return fmt.Sprintf("CL 0: net/http CL %d", resp.ContentLength)
		}
	}
	if kind != BodyUntilClose && resp.Close == r.KeepAlive {
		return fmt.Sprintf("keep-alive %v, net/http close %v", r.KeepAlive, resp.Close)
	}
	return ""
}

// Mutation material: bytes and whole lines that matter to framing.
var (
	mutBytes = []byte(" \t\r\n:,;\"%#?/@[]09aZ\x00\x7f\x80\xff-.*")
	mutLines = []string{
		"Content-Length: 5\r\n", "Content-Length: 6\r\n", "Content-Length: 5\r\n",
		"Transfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip\r\n",
		"Host: b\r\n", "Host: a:80\r\n", "Connection: close\r\n", "Connection: keep-alive\r\n",
		"Connection: upgrade\r\nUpgrade: websocket\r\n", "Expect: 100-continue\r\n", " folded\r\n",
		"\r\n",
	}
)

// mutate applies a few random edits to s.
func mutate(rng *rand.Rand, s string) string {
	b := []byte(s)
	for range 1 + rng.IntN(3) {
		if len(b) == 0 {
			b = append(b, mutBytes[rng.IntN(len(mutBytes))])
			continue
		}
		i := rng.IntN(len(b))
		switch rng.IntN(6) {
		case 0: // insert a byte
			b = slices.Insert(b, i, mutBytes[rng.IntN(len(mutBytes))])
		case 1: // replace a byte
			b[i] = mutBytes[rng.IntN(len(mutBytes))]
		case 2: // delete a byte
			b = slices.Delete(b, i, i+1)
		case 3: // flip case
			b[i] ^= 0x20
		case 4, 5: // insert a whole line after some CRLF
			if j := bytes.Index(b[i:], []byte("\r\n")); j >= 0 {
				b = slices.Insert(b, i+j+2, []byte(mutLines[rng.IntN(len(mutLines))])...)
			}
		}
	}
	return string(b)
}

// TestRequestsAgainstNetHTTP: whatever tandem accepts, net/http accepts
// and reads the same way (tandem may refuse more).
func TestRequestsAgainstNetHTTP(t *testing.T) {
	t.Parallel()
	var corpus []string
	for _, tc := range append(append([]reqCase{}, validRequests...), invalidRequests...) {
		corpus = append(corpus, tc.in+tc.tail)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	base := len(corpus)
	for range 20000 {
		corpus = append(corpus, mutate(rng, corpus[rng.IntN(base)]))
	}
	accepted := 0
	var r Request
	for _, in := range corpus {
		buf := []byte(in)
		if ParseRequest(buf, Limits{}, &r) != nil {
			continue
		}
		accepted++
		if msg := checkReqNetHTTP(buf, &r); msg != "" {
			t.Errorf("%q: %s", in, msg)
		}
	}
	if accepted < 1000 {
		t.Errorf("only %d of %d corpus heads were accepted: the corpus is too hostile to prove much", accepted, len(corpus))
	}
	t.Logf("%d of %d heads accepted and agreed with net/http", accepted, len(corpus))
}

func TestResponsesAgainstNetHTTP(t *testing.T) {
	t.Parallel()
	var corpus []string
	for _, tc := range append(append([]respCase{}, validResponses...), invalidResponses...) {
		corpus = append(corpus, tc.in+tc.tail)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	base := len(corpus)
	for range 20000 {
		corpus = append(corpus, mutate(rng, corpus[rng.IntN(base)]))
	}
	accepted := 0
	var r Response
	for _, in := range corpus {
		buf := []byte(in)
		if ParseResponse(buf, Limits{}, &r) != nil {
			continue
		}
		accepted++
		if msg := checkRespNetHTTP(buf, &r); msg != "" {
			t.Errorf("%q: %s", in, msg)
		}
	}
	if accepted < 1000 {
		t.Errorf("only %d of %d corpus heads were accepted: the corpus is too hostile to prove much", accepted, len(corpus))
	}
	t.Logf("%d of %d heads accepted and agreed with net/http", accepted, len(corpus))
}
