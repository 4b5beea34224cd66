package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIndexPositions(t *testing.T) {
	t.Parallel()
	src := `[global]
maxconn = 4096 # comment

[[frontend]]
name = "http-in"
acl.url_ms1 = "path_beg -i /ms1/"
use_backend = [
  { backend = "ms1", if = "url_ms1" },
  { backend = "ms2", if = """url_ms2""" },
]

[[frontend.http_request]]
action = "deny"

[[frontend]]
name = 'two'
[frontend.tls]
alpn = ["h2", "http/1.1"]

[[frontend.http_request]]
action = "redirect"

[[backend]]
name = "ms1"
server = [
  { name = "a", address = "192.0.2.21:8080", check = { inter = "2s" } },
]
`
	ix := indexPositions(src)
	want := map[string]Pos{
		"global":                           {1, 1},
		"global.maxconn":                   {2, 1},
		"frontend.0":                       {4, 1},
		"frontend.0.name":                  {5, 1},
		"frontend.0.acl.url_ms1":           {6, 1},
		"frontend.0.use_backend":           {7, 1},
		"frontend.0.use_backend.0":         {8, 3},
		"frontend.0.use_backend.0.if":      {8, 22},
		"frontend.0.use_backend.1.if":      {9, 22},
		"frontend.0.http_request.0":        {12, 1},
		"frontend.0.http_request.0.action": {13, 1},
		"frontend.1.name":                  {16, 1},
		"frontend.1.tls":                   {17, 1},
		"frontend.1.tls.alpn":              {18, 1},
		"frontend.1.http_request.0.action": {21, 1},
		"backend.0.server.0.address":       {26, 17},
		"backend.0.server.0.check.inter":   {26, 56},
	}
	got := map[string]Pos{}
	for k := range want {
		got[k] = ix.keys[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
	if p := ix.lookup("backend.0.server.0.check.inter.extra"); p != (Pos{26, 56}) {
		t.Errorf("lookup of a child falls back to %v, want 26:56", p)
	}
}
