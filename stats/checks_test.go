package stats

import (
	"encoding/csv"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tandemlb/tandem/health"
)

// TestHealthCheckActions: the page offers HAProxy's "Disable/Enable health
// checks" actions; they apply to checked servers only, are logged, and a
// server whose checks are stopped shows "no check" with empty check
// columns in the CSV, as HAProxy's.
func TestHealthCheckActions(t *testing.T) {
	t.Parallel()
	ts, p, logs := startTestServer(t, Config{URI: "/stats", Admin: true, Auth: []Credential{{User: "admin", Password: "admin"}}})
	_, _, page := do(t, "GET", ts.URL+"/stats", "admin", "admin", nil, nil)
	for _, opt := range []string{`<option value="dhlth">Disable health checks</option>`, `<option value="ehlth">Enable health checks</option>`} {
		if !strings.Contains(page, opt) {
			t.Errorf("admin page lacks %s", opt)
		}
	}
	token := tokenRE.FindStringSubmatch(page)[1]
	origin := map[string]string{"Origin": ts.URL}
	s1 := p.backends[0].servers[0].h
	post := func(action string, servers ...string) string {
		t.Helper()
		_, hdr, _ := do(t, "POST", ts.URL+"/stats", "admin", "admin",
			url.Values{"token": {token}, "b": {"app"}, "s": servers, "action": {action}}, origin)
		return hdr.Get("Location")
	}
	row := func() map[string]string {
		t.Helper()
		_, _, body := do(t, "GET", ts.URL+"/stats;csv", "admin", "admin", nil, nil)
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "# "))).ReadAll()
		if err != nil {
			t.Fatalf("csv: %v", err)
		}
		for _, r := range recs[1:] {
			if r[0] == "app" && r[1] == "s1" {
				m := map[string]string{}
				for i, k := range recs[0] {
					if i < len(r) {
						m[k] = r[i]
					}
				}
				return m
			}
		}
		t.Fatal("no app/s1 row")
		return nil
	}

	// s2 has no check: skipped, so one server is done.
	if loc := post("dhlth", "s1", "s2"); loc != "/stats;st=DONE-1" {
		t.Errorf("disable health: Location %q, want DONE-1", loc)
	}
	if s1.ChecksEnabled() {
		t.Error("s1 checks still enabled")
	}
	r := row()
	if r["status"] != "no check" || r["check_status"] != "" || r["chkfail"] != "" || r["check_rise"] != "" {
		t.Errorf("s1 with checks stopped: status %q check_status %q chkfail %q check_rise %q; want \"no check\" and empty check columns",
			r["status"], r["check_status"], r["chkfail"], r["check_rise"])
	}
	if loc := post("dhlth", "s2"); loc != "/stats;st=ERR" {
		t.Errorf("disable health on an unchecked server only: Location %q, want ERR", loc)
	}
	if loc := post("ehlth", "s1"); loc != "/stats;st=DONE-1" || !s1.ChecksEnabled() {
		t.Errorf("enable health: Location %q, enabled %v", loc, s1.ChecksEnabled())
	}
	if r := row(); r["status"] == "no check" || r["check_status"] == "" {
		t.Errorf("s1 with checks resumed: status %q check_status %q", r["status"], r["check_status"])
	}
	for _, line := range []string{
		"admin action: server app/s1 health checks disabled (were enabled) by stats page user admin",
		"admin action: server app/s1 health checks enabled (were disabled) by stats page user admin",
	} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, logs.String())
		}
	}
}

func TestSetServerChecksErrors(t *testing.T) {
	t.Parallel()
	src := testSource(newFakeProxy(), time.Now())
	for _, tt := range []struct {
		backend, server string
		want            error
	}{
		{"nope", "s1", ErrNoBackend},
		{"app", "s9", ErrNoServer},
		{"app", "s2", health.ErrNotChecked},
	} {
		if err := src.SetServerChecks(tt.backend, tt.server, false, "test"); !errors.Is(err, tt.want) {
			t.Errorf("SetServerChecks(%s/%s): %v, want %v", tt.backend, tt.server, err, tt.want)
		}
	}
}
