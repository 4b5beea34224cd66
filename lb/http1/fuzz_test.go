package http1

import (
	"errors"
	"math/rand/v2"
	"testing"
)

var smallLimits = Limits{MaxHeadBytes: 96, MaxHeaders: 3}

func FuzzRequestHead(f *testing.F) {
	for _, tc := range append(append([]reqCase{}, validRequests...), invalidRequests...) {
		f.Add([]byte(tc.in + tc.tail))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lim := range []Limits{{}, smallLimits} {
			var r Request
			err := ParseRequest(data, lim, &r)
			var e *Error
			switch {
			case err == nil:
				checkReqViews(t, data, &r)
				if r.HeadLen > lim.headBytes() || len(r.Headers) > lim.headers() {
					t.Fatalf("accepted a head of %d bytes and %d fields beyond %+v", r.HeadLen, len(r.Headers), lim)
				}
				var p Request
				for _, k := range []int{0, r.HeadLen / 2, r.HeadLen - 1} {
					if err := ParseRequest(data[:k], lim, &p); err != ErrNeedMore {
						t.Fatalf("prefix of %d bytes of an accepted head: %v, want need more", k, err)
					}
				}
				if msg := checkReqNetHTTP(data, &r); msg != "" {
					t.Fatal(msg)
				}
			case err == ErrNeedMore:
				if len(data) >= lim.headBytes() {
					t.Fatalf("need more with %d bytes at limit %d", len(data), lim.headBytes())
				}
			case errors.As(err, &e):
				switch e.Status {
				case 400, 414, 431, 501, 505:
				default:
					t.Fatalf("request error with status %d: %v", e.Status, e)
				}
			default:
				t.Fatalf("error of unexpected type %T: %v", err, err)
			}
		}
	})
}

func FuzzResponseHead(f *testing.F) {
	for _, tc := range append(append([]respCase{}, validResponses...), invalidResponses...) {
		f.Add([]byte(tc.in + tc.tail))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lim := range []Limits{{}, smallLimits} {
			var r Response
			err := ParseResponse(data, lim, &r)
			var e *Error
			switch {
			case err == nil:
				checkRespViews(t, data, &r)
				if r.HeadLen > lim.headBytes() || len(r.Headers) > lim.headers() {
					t.Fatalf("accepted a head of %d bytes and %d fields beyond %+v", r.HeadLen, len(r.Headers), lim)
				}
				var p Response
				for _, k := range []int{0, r.HeadLen / 2, r.HeadLen - 1} {
					if err := ParseResponse(data[:k], lim, &p); err != ErrNeedMore {
						t.Fatalf("prefix of %d bytes of an accepted head: %v, want need more", k, err)
					}
				}
				if msg := checkRespNetHTTP(data, &r); msg != "" {
					t.Fatal(msg)
				}
			case err == ErrNeedMore:
				if len(data) >= lim.headBytes() {
					t.Fatalf("need more with %d bytes at limit %d", len(data), lim.headBytes())
				}
			case errors.As(err, &e):
				if e.Status != 502 {
					t.Fatalf("response error with status %d: %v", e.Status, e)
				}
			default:
				t.Fatalf("error of unexpected type %T: %v", err, err)
			}
		}
	})
}

// FuzzChunked: feeding the same bytes whole, in random splits, or skipping
// chunk data with Advance (as a splice would) gives the same n, done and error.
func FuzzChunked(f *testing.F) {
	for i, tc := range append(append([]chunkCase{}, validChunked...), invalidChunked...) {
		f.Add([]byte(tc.body+tc.next), uint64(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		whole := scanSplit(data)
		if whole.N < 0 || whole.N > len(data) {
			t.Fatalf("n = %d outside [0, %d]", whole.N, len(data))
		}
		if whole.Err == "<nil>" && !whole.Done && whole.N != len(data) {
			t.Fatalf("not done, no error, but only %d of %d bytes consumed", whole.N, len(data))
		}
		rng := rand.New(rand.NewPCG(seed, 0))
		var cuts []int
		for i := 1; i < len(data); i++ {
			if rng.IntN(4) == 0 {
				cuts = append(cuts, i)
			}
		}
		if got := scanSplit(data, cuts...); got != whole {
			t.Fatalf("split at %v: %+v, whole: %+v", cuts, got, whole)
		}
		if got := scanAdvance(data, rng); got != whole {
			t.Fatalf("with Advance: %+v, whole: %+v", got, whole)
		}
	})
}

// scanAdvance scans framing bytes in small random pieces and skips chunk data
// with Advance.
func scanAdvance(p []byte, rng *rand.Rand) scanResult {
	var s ChunkScanner
	pos := 0
	for pos < len(p) {
		if rem := s.DataRemaining(); rem > 0 {
			k := min(rem, int64(len(p)-pos))
			if err := s.Advance(k); err != nil {
				return scanResult{pos, false, err.Error()}
			}
			pos += int(k)
			continue
		}
		end := min(pos+1+rng.IntN(8), len(p))
		n, done, err := s.Scan(p[pos:end])
		pos += n
		if err != nil || done {
			return scanResult{pos, done, errSum(err)}
		}
	}
	return scanResult{pos, false, "<nil>"}
}
