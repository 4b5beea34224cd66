package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tandemlb/tandem/internal/logtest"
	"github.com/tandemlb/tandem/internal/tandemtest"
	"github.com/tandemlb/tandem/internal/testbackend"
)

// TestSeedHealthChecks is issue 6's end to end on the seed's L7 layout:
// every server is checked; a server killed during a bounded client loop
// leaves rotation without failing client requests (retries and redispatch
// cover the in-flight ones), its DOWN line reaches tandem_warn.log through
// rsyslog, and it comes back UP after rise checks once it listens again.
func TestSeedHealthChecks(t *testing.T) {
	t.Parallel()
	rs := logtest.StartRsyslog(t)
	type srv struct{ group, name string }
	groups := []srv{{"ms1", "ms1.srv1"}, {"ms1", "ms1.srv2"}, {"ms2", "ms2.srv1"}, {"ms2", "ms2.srv2"}, {"def", "def.srv1"}, {"def", "def.srv2"}}
	backends := map[string]*testbackend.Server{}
	for _, g := range groups {
		backends[g.name] = startBackend(t, g.group, g.name)
	}
	port := freePort(t)
	backend := func(name, group string) string {
		return fmt.Sprintf(`
[[backend]]
name = %q
balance = "roundrobin"
check = { type = "http", path = "/%s/demo.html", expect_status = "200-399", inter = "100ms", timeout = "2s", rise = 2, fall = 2 }
server = [
  { name = "%s.srv1", address = %q, maxconn = 300, check = true },
  { name = "%s.srv2", address = %q, maxconn = 300, check = true },
]
`, name, group, group, backends[group+".srv1"].Addr.String(), group, backends[group+".srv2"].Addr.String())
	}
	tandemtest.Start(t, fmt.Sprintf(`
[log]
target = %q

[defaults]
mode = "http"
timeout_connect = "1s"
retries = 3
redispatch = true
forwardfor = true

[[frontend]]
name = "http-in"
bind = ["127.0.0.1:%d"]
default_backend = "default_servers"
acl.url_ms1 = "path_beg -i /ms1/"
acl.url_ms2 = "path_beg -i /ms2/"
use_backend = [
  { backend = "ms1", if = "url_ms1" },
  { backend = "ms2", if = "url_ms2" },
]
`, rs.Target, port)+backend("ms1", "ms1")+backend("ms2", "ms2")+backend("default_servers", "def"))

	c := &http.Client{Timeout: 5 * time.Second}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	// The seed's routing first.
	for _, tc := range []struct{ path, group string }{{"/ms1/demo.html", "ms1"}, {"/ms2/demo.html", "ms2"}, {"/demo.html", "def"}} {
		seen := map[string]bool{}
		for range 4 {
			code, body := get(t, c, base+tc.path)
			if code != 200 || !strings.Contains(body, "<h1>"+tc.group+"</h1>") {
				t.Fatalf("GET %s: %d %q, want group %s", tc.path, code, body, tc.group)
			}
			seen[strings.Split(strings.Split(body, "served by ")[1], "<")[0]] = true
		}
		if len(seen) != 2 {
			t.Errorf("GET %s x4 reached %v, want both servers (round-robin)", tc.path, seen)
		}
	}

	// A bounded loop; ms1.srv1 dies a quarter of the way through.
	victim := backends["ms1.srv1"]
	addr := victim.Addr.String()
	failures, toVictimAfter := 0, 0
	var killedAt time.Time
	for i := range 200 {
		if i == 50 {
			victim.Close()
			killedAt = time.Now()
		}
		resp, err := c.Get(base + "/ms1/demo.html")
		if err != nil {
			failures++
			continue
		}
		body := make([]byte, 512)
		n, _ := resp.Body.Read(body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			failures++
		}
		if i > 150 && strings.Contains(string(body[:n]), "ms1.srv1") {
			toVictimAfter++
		}
		time.Sleep(5 * time.Millisecond)
	}
	if failures > 0 {
		t.Errorf("%d of 200 client requests failed while a server died (retries + redispatch should cover them)", failures)
	}
	if toVictimAfter > 0 {
		t.Errorf("%d requests reached the dead server", toVictimAfter)
	}
	down := logtest.WaitForLine(t, rs.WarnLog, "Server ms1/ms1.srv1 is DOWN", 5*time.Second)
	t.Logf("DOWN %.0f ms after the kill: %s", time.Since(killedAt).Seconds()*1000, down)
	if !strings.Contains(down, "1 active and 0 backup servers left") {
		t.Errorf("DOWN line lacks the servers left: %s", down)
	}

	// It comes back after rise checks.
	back, err := testbackend.Start("ms1", "ms1.srv1", addr)
	if err != nil {
		t.Fatalf("restart ms1.srv1 on %s: %v", addr, err)
	}
	t.Cleanup(func() { back.Close() })
	logtest.WaitForLine(t, rs.Log, "Server ms1/ms1.srv1 is UP", 5*time.Second)
	seen := false
	for range 10 {
		_, body := get(t, c, base+"/ms1/demo.html")
		seen = seen || strings.Contains(body, "ms1.srv1")
	}
	if !seen {
		t.Error("ms1.srv1 gets no traffic after coming back UP")
	}

	// Both ms1 servers gone: the backend-level alert and a 503.
	back.Close()
	backends["ms1.srv2"].Close()
	logtest.WaitForLine(t, rs.WarnLog, "backend ms1 has no server available!", 5*time.Second)
	if code, _ := get(t, c, base+"/ms1/demo.html"); code != 503 {
		t.Errorf("no server left: status %d, want 503", code)
	}
}
