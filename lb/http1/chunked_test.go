package http1

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type chunkCase struct {
	name string
	body string // the chunked body
	next string // what follows it on the wire
	err  *Error // when the framing must be refused
}

var validChunked = []chunkCase{
	{name: "last chunk only", body: "0\r\n\r\n"},
	{name: "one chunk", body: "5\r\nhello\r\n0\r\n\r\n", next: "GET / HTTP/1.1\r\n"},
	{name: "several chunks, hex upper and lower", body: "a\r\n0123456789\r\nA\r\n0123456789\r\n1f\r\n" + strings.Repeat("z", 31) + "\r\n0\r\n\r\n"},
	{name: "leading zeros", body: "0005\r\nhello\r\n000\r\n\r\n"},
	{name: "data containing CRLF and digits", body: "6\r\n\r\n0\r\n\r\r\n0\r\n\r\n", next: "junk"},
	{name: "extensions", body: "5;name=value;flag\r\nhello\r\n0;last\r\n\r\n"},
	{name: "extension with BWS", body: "5 \t; name = value\r\nhello\r\n0\r\n\r\n"},
	{name: "quoted extension with CRLF-free escapes", body: "5;a=\"x;\\\"y\"\r\nhello\r\n0\r\n\r\n"},
	{name: "trailers", body: "5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:\r\n\r\n", next: "HTTP/1.1 200 OK\r\n"},
	{name: "extension of exactly the limit", body: "1;" + strings.Repeat("e", MaxChunkLineBytes-2) + "\r\nx\r\n0\r\n\r\n"},
	{name: "large size", body: "7fffffffffffffff\r\n"}, // not done: data follows
}

func cc(name, body string, err *Error) chunkCase { return chunkCase{name: name, body: body, err: err} }

var invalidChunked = []chunkCase{
	cc("empty size line", "\r\n", errChunkSize),
	cc("bad hex", "g\r\n", errChunkSize),
	cc("size then garbage", "5x\r\n", errChunkSize),
	cc("sign", "-5\r\n", errChunkSize),
	cc("0x prefix", "0x5\r\n", errChunkSize),
	cc("overflow", "8000000000000000\r\n", errChunkOverflow),
	cc("overflow long", "ffffffffffffffffff\r\n", errChunkOverflow),
	cc("bare LF after size", "5\nhello\r\n", errChunkBareLF),
	cc("bare LF in extension", "5;a\nhello\r\n", errChunkBareLF),
	cc("CR without LF after size", "5\rhello\r\n", errChunkCRLF),
	cc("trailing whitespace without extension", "5 \r\nhello\r\n", errChunkExt),
	cc("CTL in extension", "5;a\x00\r\nhello\r\n", errChunkExt),
	cc("CR inside quoted extension", "5;a=\"x\r\n\"\r\nhello\r\n", errChunkExt),
	cc("extension too long", "1;"+strings.Repeat("e", MaxChunkLineBytes-1)+"\r\nx\r\n", errChunkExtLong),
	cc("leading zeros too long", strings.Repeat("0", MaxChunkLineBytes+1), errChunkExtLong),
	cc("data longer than size", "5\r\nhello!\r\n0\r\n\r\n", errChunkCRLF),
	cc("data followed by bare LF", "5\r\nhello\n0\r\n\r\n", errChunkBareLF),
	cc("data CR without LF", "5\r\nhello\rx", errChunkCRLF),
	cc("last chunk bare LF end", "0\r\n\n", errChunkBareLF),
	cc("last chunk CR without LF", "0\r\n\rx", errChunkCRLF),
	cc("trailer obs-fold", "0\r\nA: b\r\n c\r\n\r\n", errTrailerObsFold),
	cc("trailer space before colon", "0\r\nA : b\r\n\r\n", errTrailer),
	cc("trailer without colon", "0\r\nAb\r\n\r\n", errTrailer),
	cc("trailer bad name", "0\r\n(A): b\r\n\r\n", errTrailer),
	cc("trailer CTL in value", "0\r\nA: \x01\r\n\r\n", errTrailer),
	cc("trailer bare LF", "0\r\nA: b\n\r\n", errChunkBareLF),
	cc("trailer bare CR", "0\r\nA: b\rc\r\n\r\n", errTrailer),
	cc("trailers too large", "0\r\n"+strings.Repeat("A: bcdefgh\r\n", MaxTrailerBytes/10)+"\r\n", errTrailerLarge),
}

// splitPoints returns every offset in [0, n] for short inputs, and for long
// ones (the limit cases) the first and last 300 plus a stride between, which
// keeps the quadratic cost of re-scanning bounded.
func splitPoints(n int) []int {
	var pts []int
	for i := 0; i <= n; i++ {
		if n <= 1000 || i < 300 || i > n-300 || i%97 == 0 {
			pts = append(pts, i)
		}
	}
	return pts
}

type scanResult struct {
	N    int
	Done bool
	Err  string
}

// scanSplit feeds p to a fresh scanner in pieces cut at the given offsets.
func scanSplit(p []byte, cuts ...int) scanResult {
	var s ChunkScanner
	total, prev := 0, 0
	for _, end := range append(cuts, len(p)) {
		n, done, err := s.Scan(p[prev:end])
		total += n
		if err != nil || done {
			return scanResult{total, done, errSum(err)}
		}
		if n != end-prev {
			return scanResult{total, done, "scanner stopped early without done or error"}
		}
		prev = end
	}
	return scanResult{total, false, "<nil>"}
}

func TestChunkScannerValid(t *testing.T) {
	t.Parallel()
	for _, tc := range validChunked {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := []byte(tc.body + tc.next)
			want := scanResult{len(tc.body), true, "<nil>"}
			if strings.HasSuffix(tc.name, "large size") {
				want.Done = false
			}
			if diff := cmp.Diff(want, scanSplit(p)); diff != "" {
				t.Fatalf("whole: mismatch (-want +got):\n%s", diff)
			}
			for _, i := range splitPoints(len(p)) {
				if diff := cmp.Diff(want, scanSplit(p, i)); diff != "" {
					t.Fatalf("split at %d: mismatch (-want +got):\n%s", i, diff)
				}
			}
			cuts := make([]int, 0, len(p))
			for i := 1; i < len(p); i++ {
				cuts = append(cuts, i)
			}
			if diff := cmp.Diff(want, scanSplit(p, cuts...)); diff != "" {
				t.Fatalf("byte by byte: mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChunkScannerInvalid(t *testing.T) {
	t.Parallel()
	for _, tc := range invalidChunked {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := []byte(tc.body)
			whole := scanSplit(p)
			if diff := cmp.Diff(errSum(tc.err), whole.Err); diff != "" {
				t.Fatalf("error mismatch (-want +got):\n%s", diff)
			}
			for _, i := range splitPoints(len(p)) {
				if diff := cmp.Diff(whole, scanSplit(p, i)); diff != "" {
					t.Fatalf("split at %d differs from whole (-whole +split):\n%s", i, diff)
				}
			}
		})
	}
}

func TestChunkScannerAfterDoneAndError(t *testing.T) {
	t.Parallel()
	var s ChunkScanner
	if n, done, err := s.Scan([]byte("0\r\n\r\nnext")); n != 5 || !done || err != nil {
		t.Fatalf("Scan = %d, %v, %v; want 5, true, nil", n, done, err)
	}
	if !s.Done() {
		t.Error("Done() = false after the last chunk")
	}
	if n, done, err := s.Scan([]byte("more")); n != 0 || !done || err != nil {
		t.Errorf("Scan after done = %d, %v, %v; want 0, true, nil", n, done, err)
	}
	s.Reset()
	if n, _, err := s.Scan([]byte("zz")); n != 0 || err != errChunkSize {
		t.Fatalf("Scan(zz) = %d, %v; want 0, %v", n, err, errChunkSize)
	}
	if _, _, err := s.Scan([]byte("0\r\n\r\n")); err != errChunkSize {
		t.Errorf("error did not stick: %v", err)
	}
	s.Reset()
	if n, done, err := s.Scan([]byte("0\r\n\r\n")); n != 5 || !done || err != nil {
		t.Errorf("after Reset: Scan = %d, %v, %v", n, done, err)
	}
}

func TestChunkScannerAdvance(t *testing.T) {
	t.Parallel()
	var s ChunkScanner
	if _, _, err := s.Scan([]byte("10;x\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := s.DataRemaining(); got != 16 {
		t.Fatalf("DataRemaining = %d, want 16", got)
	}
	if err := s.Advance(17); err == nil {
		t.Error("Advance beyond the chunk succeeded")
	}
	if err := s.Advance(10); err != nil {
		t.Fatal(err)
	}
	if n, done, err := s.Scan([]byte("abcdef\r\n0\r\n\r\n")); n != 13 || !done || err != nil {
		t.Errorf("Scan after Advance = %d, %v, %v; want 13, true, nil", n, done, err)
	}
	if got := s.DataRemaining(); got != 0 {
		t.Errorf("DataRemaining after done = %d", got)
	}
}

// Not parallel: AllocsPerRun refuses to run beside parallel tests.
func TestChunkScannerNoAlloc(t *testing.T) {
	p := []byte("5;a=b\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nX: y\r\n\r\n")
	var s ChunkScanner
	allocs := testing.AllocsPerRun(100, func() {
		s.Reset()
		if _, done, err := s.Scan(p); !done || err != nil {
			t.Fatal(done, err)
		}
	})
	if allocs != 0 {
		t.Errorf("Scan allocates %v times, want 0", allocs)
	}
}
