package accesslog

import (
	"bytes"
	"net/netip"
	"testing"
)

// FuzzAppendHTTP: whatever a client sends (request line, cookies), the line
// stays one line of printable ASCII with the same field count before the
// quoted request, which is what keeps halog and other parsers in step.
func FuzzAppendHTTP(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1"), "a=b", "-", 200)
	f.Add([]byte("GET /\"x\" #y\r\n HTTP/1.1"), "c d", "\x00\xff", -1)
	f.Add([]byte{}, "", "", 0)
	f.Fuzz(func(t *testing.T, req []byte, reqCookie, respCookie string, status int) {
		e := HTTP{
			Client: netip.MustParseAddrPort("192.0.2.200:1"), Accept: accept,
			Frontend: "http-in", Backend: "ms1", Server: "ms1.srv1", Status: status,
			ReqCookie: reqCookie, RespCookie: respCookie, RequestLine: req,
		}
		line := AppendHTTP(nil, &e)
		for _, b := range line {
			if b < ' ' || b >= 127 {
				t.Fatalf("byte %#x in line %q", b, line)
			}
		}
		i := bytes.IndexByte(line, '"')
		if i < 0 || line[len(line)-1] != '"' || bytes.Count(line, []byte{'"'}) != 2 {
			t.Fatalf("request not quoted exactly once: %q", line)
		}
		if n := len(bytes.Fields(line[:i])); n != 12 {
			t.Fatalf("%d fields before the request, want 12: %q", n, line)
		}
	})
}
