package cookie

import (
	"bytes"
	"testing"
)

// FuzzCookie feeds hostile Cookie and Set-Cookie values through every
// request and response path: nothing panics, views stay inside the input,
// indirect stripping leaves no persistence cookie, and prefix stripping of
// what prefix mode produced gives the application's value back.
func FuzzCookie(f *testing.F) {
	for _, s := range []string{
		"", "SRV=s1", "a=1; SRV=s1; b=2", "SRV=s1|AAAAB|AAAAA", "SRV=~", "JS=s1~app",
		";;; ;", "SRV", "=", "SRV==", "SRV=s1|", "SRV=s1||||", "\x00SRV=\xff", " SRV = s1 ",
	} {
		f.Add([]byte(s))
	}
	ind, _ := New(Config{Name: "SRV", Mode: Insert, Indirect: true, MaxIdle: 60e9, MaxLife: 3600e9})
	pfx, _ := New(Config{Name: "SRV", Mode: Prefix})
	rw, _ := New(Config{Name: "SRV", Mode: Rewrite, Indirect: true})
	servers := []*fakeServer{{"s1", true}, {"s2", false}}
	f.Fuzz(func(t *testing.T, v []byte) {
		orig := bytes.Clone(v)
		for rest := v; ; {
			p, r, ok := Next(rest)
			if !ok {
				break
			}
			for _, b := range [][]byte{p.Name, p.Value} {
				if len(b) > 0 && !within(v, b) {
					t.Fatalf("view %q outside input", b)
				}
			}
			if len(r) >= len(rest) {
				t.Fatal("Next made no progress")
			}
			rest = r
		}
		for _, p := range []*Persist{ind, pfx, rw} {
			var rq Request
			rq.Reset()
			p.Scan(v, 1_800_000_000, &rq)
			if rq.ID != nil && !within(v, rq.ID) {
				t.Fatalf("ID %q outside input", rq.ID)
			}
			Lookup(&rq, servers)
			if rq.Status == 0 {
				t.Fatal("no status")
			}
			out, changed := p.StripRequest(nil, v)
			if changed && p == ind {
				if _, found := Get(out, "SRV"); found {
					t.Fatalf("indirect left the cookie in %q", out)
				}
			}
			var rs Response
			rs.Reset("s1", rq.Status == ReqValid)
			p.SetCookie(nil, v, &rs)
			p.Insert(nil, &rs, &rq, false, 1_800_000_000)
			var c Cache
			c.Request(v)
			c.RequestHeader([]byte("cache-control"), v)
			c.ResponseHeader([]byte("cache-control"), v)
			c.ResponseHeader([]byte("pragma"), v)
		}
		// What prefix mode sends back to the client strips to the value.
		var rs Response
		rs.Reset("s1", false)
		setc, act := pfx.SetCookie(nil, append([]byte("SRV="), v...), &rs)
		if act == Replace {
			_, start, end, _ := setCookieValue(setc)
			var want []byte
			if _, s, e, ok := setCookieValue(append([]byte("SRV="), v...)); ok {
				want = append([]byte("SRV="), v...)[s:e]
			}
			cv := setc[start:end]
			if !bytes.ContainsAny(cv, "; \t") && !bytes.ContainsAny(want, "; \t") {
				out, changed := pfx.StripRequest(nil, append([]byte("SRV="), cv...))
				if !changed {
					t.Fatalf("prefixed %q not stripped", cv)
				}
				if got, _ := Get(out, "SRV"); !bytes.Equal(got, want) {
					t.Fatalf("round trip %q -> %q -> %q", want, cv, got)
				}
			}
		}
		if !bytes.Equal(v, orig) {
			t.Fatal("input modified")
		}
	})
}

// within reports whether b is a subslice of v's backing array.
func within(v, b []byte) bool {
	if len(v) == 0 {
		return false
	}
	bs := &b[:1][0]
	for i := range v {
		if &v[i] == bs {
			return i+len(b) <= len(v)
		}
	}
	return false
}
