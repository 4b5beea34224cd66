package lb

import (
	"strings"
	"testing"

	"github.com/tandemlb/tandem/lb/rules"
)

func TestRules(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.oneBackend(BackendConfig{
		Servers: h.startBackends("g", "s1"),
		HTTPRequest: []rules.Rule{
			{Action: "deny", Status: 403, If: "{ path_beg /be-deny }"},
			{Action: "set-header", Name: "X-Backend-Rule", Value: "yes"},
		},
		HTTPResponse: []rules.Rule{
			{Action: "add-header", Name: "X-Resp", Value: "added"},
			{Action: "del-header", Name: "X-Group"},
			{Action: "deny", If: "{ path_beg /resp-deny }"},
		},
	})
	cfg.Frontends[0].HTTPRequest = []rules.Rule{
		{Action: "deny", If: "{ path_beg /admin }"},
		{Action: "redirect", Location: "https://example.test/moved", Code: 301, If: "{ path /old }"},
		{Action: "return", Status: 200, ContentType: "text/plain", Body: "pong", If: "{ path /ping }"},
		{Action: "set-header", Name: "X-Test", Value: "1"},
		{Action: "add-header", Name: "X-Added", Value: "a"},
		{Action: "del-header", Name: "X-Secret"},
		{Action: "set-path", Value: "/echo", If: "{ path_beg /rewrite }"},
	}
	h.start(cfg)
	c := dial(t, h.addr("fe"))

	r := c.get("/admin/x")
	if r.StatusCode != 403 || r.body != errorBodies[403] {
		t.Errorf("deny: %d %q", r.StatusCode, r.body)
	}
	h.waitLog(`"GET /admin/x HTTP/1.1"`, " 403 ", " PR-- ", "fe fe/<NOSRV>")

	r = c.get("/old")
	if r.StatusCode != 301 || r.Header.Get("Location") != "https://example.test/moved" {
		t.Errorf("redirect: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	h.waitLog(`"GET /old HTTP/1.1"`, " 301 ", " LR-- ")

	r = c.get("/ping")
	if r.StatusCode != 200 || r.body != "pong" || r.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("return: %d %q %q", r.StatusCode, r.body, r.Header.Get("Content-Type"))
	}

	c.send("GET /rewrite/me HTTP/1.1\r\nHost: x\r\nX-Secret: s\r\n\r\n")
	r = c.read("GET")
	for _, want := range []string{"GET /echo HTTP/1.1\n", "X-Test: 1\n", "X-Added: a\n", "X-Backend-Rule: yes\n"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("echo lacks %q:\n%s", want, r.body)
		}
	}
	if strings.Contains(r.body, "X-Secret") {
		t.Errorf("del-header did not delete:\n%s", r.body)
	}
	if r.Header.Get("X-Resp") != "added" || r.Header.Get("X-Group") != "" {
		t.Errorf("response rules: X-Resp %q X-Group %q", r.Header.Get("X-Resp"), r.Header.Get("X-Group"))
	}

	r = c.get("/be-deny")
	if r.StatusCode != 403 {
		t.Errorf("backend deny: %d", r.StatusCode)
	}
	h.waitLog(`"GET /be-deny HTTP/1.1"`, " 403 ", " PR-- ", "fe be/<NOSRV>")

	r = c.get("/resp-deny")
	if r.StatusCode != 502 || r.body != errorBodies[502] {
		t.Errorf("response deny: %d %q", r.StatusCode, r.body)
	}
	h.waitLog(`"GET /resp-deny HTTP/1.1"`, " 502 ", " PH-- ", "be/s1")
	snap := h.p.Snapshot()
	if snap.Frontends[0].Denied != 2 || snap.Backends[0].Denied != 2 {
		t.Errorf("denied: fe %d be %d, want 2 and 2", snap.Frontends[0].Denied, snap.Backends[0].Denied)
	}
}
