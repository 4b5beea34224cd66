package lb

import (
	"fmt"
	"testing"
)

// Every balance algorithm, through the proxy, against three real servers.
func TestBalanceAlgorithms(t *testing.T) {
	t.Parallel()
	type req struct{ path, hdr string }
	seq := func(n int, f func(i int) req) []req {
		var out []req
		for i := range n {
			out = append(out, f(i))
		}
		return out
	}
	same := func(i int) req { return req{path: "/x"} }
	tests := []struct {
		balance string
		reqs    []req
		check   func(t *testing.T, got []string)
	}{
		{"roundrobin", seq(6, same), exactly("s1", "s2", "s3", "s1", "s2", "s3")},
		{"static-rr", seq(6, same), exactly("s1", "s2", "s3", "s1", "s2", "s3")},
		{"leastconn", seq(6, same), eachUsed(3)},
		{"first", seq(6, same), exactly("s1", "s1", "s1", "s1", "s1", "s1")},
		{"source", seq(6, same), allSame},
		{"uri", seq(6, same), allSame},
		{"uri", seq(30, func(i int) req { return req{path: fmt.Sprintf("/p%d", i)} }), usedAtLeast(2)},
		{"url_param(id)", seq(6, func(i int) req { return req{path: "/x?a=1&id=42"} }), allSame},
		{"url_param(id)", seq(30, func(i int) req { return req{path: fmt.Sprintf("/x?id=%d", i)} }), usedAtLeast(2)},
		{"url_param(id)", seq(6, same), exactly("s1", "s2", "s3", "s1", "s2", "s3")}, // no param: round-robin
		{"hdr(X-User)", seq(6, func(i int) req { return req{path: "/x", hdr: "alice"} }), allSame},
		{"hdr(X-User)", seq(30, func(i int) req { return req{path: "/x", hdr: fmt.Sprintf("u%d", i)} }), usedAtLeast(2)},
		{"random", seq(30, same), usedAtLeast(2)},
		{"random(3)", seq(30, same), usedAtLeast(2)},
	}
	for _, tc := range tests {
		t.Run(tc.balance, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.start(h.oneBackend(BackendConfig{Balance: tc.balance, Servers: h.startBackends("g", "s1", "s2", "s3")}))
			c := dial(t, h.addr("fe"))
			var got []string
			for _, r := range tc.reqs {
				extra := ""
				if r.hdr != "" {
					extra = "X-User: " + r.hdr + "\r\n"
				}
				c.send("GET " + r.path + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n")
				resp := c.read("GET")
				got = append(got, resp.Header.Get("X-Server"))
			}
			tc.check(t, got)
		})
	}
}

func exactly(want ...string) func(*testing.T, []string) {
	return func(t *testing.T, got []string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("servers %v, want %v", got, want)
		}
	}
}

func allSame(t *testing.T, got []string) {
	t.Helper()
	for _, g := range got {
		if g != got[0] || g == "" {
			t.Errorf("servers %v, want all the same", got)
			return
		}
	}
}

func usedAtLeast(n int) func(*testing.T, []string) {
	return func(t *testing.T, got []string) {
		t.Helper()
		seen := map[string]bool{}
		for _, g := range got {
			seen[g] = true
		}
		if len(seen) < n {
			t.Errorf("servers %v: %d distinct, want >= %d", got, len(seen), n)
		}
	}
}

func eachUsed(n int) func(*testing.T, []string) {
	return func(t *testing.T, got []string) {
		t.Helper()
		cnt := map[string]int{}
		for _, g := range got {
			cnt[g]++
		}
		if len(cnt) != n {
			t.Errorf("servers %v: want each of %d used", got, n)
		}
	}
}
