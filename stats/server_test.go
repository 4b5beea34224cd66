package stats

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/rs/zerolog"

	"github.com/tandemlb/tandem/health"
)

func startTestServer(t *testing.T, cfg Config) (*httptest.Server, *fakeProxy, *bytes.Buffer) {
	t.Helper()
	p := newFakeProxy()
	var logs bytes.Buffer
	src := testSource(p, time.Now())
	src.o.Now = time.Now
	log := zerolog.New(&syncWriter{w: &logs})
	src.o.Logger = log
	s, err := NewServer(cfg, src, log)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, p, &logs
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

func do(t *testing.T, method, u, user, pass string, body url.Values, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(body.Encode())
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestPagesAndAuth(t *testing.T) {
	t.Parallel()
	ts, _, _ := startTestServer(t, Config{URI: "/stats", Refresh: 5 * time.Second, Realm: "LB stats",
		Auth: []Credential{{User: "admin", Password: "secret"}}})
	tests := []struct {
		name, path, user, pass string
		code                   int
		contains               string
		ctype                  string
	}{
		{"no credentials", "/stats", "", "", 401, "Unauthorized", ""},
		{"wrong password", "/stats", "admin", "nope", 401, "", ""},
		{"wrong user", "/stats", "root", "secret", 401, "", ""},
		{"page", "/stats", "admin", "secret", 200, `http-equiv="refresh" content="5`, "text/html"},
		{"norefresh", "/stats;norefresh", "admin", "secret", 200, "Statistics Report", "text/html"},
		{"csv suffix", "/stats;csv", "admin", "secret", 200, "# pxname,svname,qcur", "text/plain"},
		{"csv query", "/stats?stats;csv", "admin", "secret", 200, "# pxname,svname,qcur", "text/plain"},
		{"csv norefresh", "/stats;csv;norefresh", "admin", "secret", 200, "http-in,FRONTEND,", "text/plain"},
		{"json", "/stats;json", "admin", "secret", 200, `"svname": "FRONTEND"`, "application/json"},
		{"metrics", "/metrics", "admin", "secret", 200, "tandem_backend_up{proxy=\"app\"} 1", "text/plain"},
		{"metrics need auth", "/metrics", "", "", 401, "", ""},
		{"other path", "/statsX", "admin", "secret", 404, "", ""},
		{"root", "/", "admin", "secret", 404, "", ""},
	}
	for _, tt := range tests {
		code, hdr, body := do(t, "GET", ts.URL+tt.path, tt.user, tt.pass, nil, nil)
		if code != tt.code || !strings.Contains(body, tt.contains) || !strings.HasPrefix(hdr.Get("Content-Type"), tt.ctype) {
			t.Errorf("%s: GET %s = %d %s, want %d %s containing %q", tt.name, tt.path, code, hdr.Get("Content-Type"), tt.code, tt.ctype, tt.contains)
		}
		if code == 401 && hdr.Get("WWW-Authenticate") != `Basic realm="LB stats", charset="UTF-8"` {
			t.Errorf("%s: WWW-Authenticate = %q", tt.name, hdr.Get("WWW-Authenticate"))
		}
	}
}

func TestPageContent(t *testing.T) {
	t.Parallel()
	ts, p, _ := startTestServer(t, Config{URI: "/stats", HideVersion: true})
	p.backends[0].servers[2].h.SetAdmin(health.Maint)
	_, _, body := do(t, "GET", ts.URL+"/stats", "", "", nil, nil)
	for _, want := range []string{
		`data-server="app/s1" data-state="UP" data-status="UP 1/3"`,
		`data-server="app/s2" data-state="UP" data-status="no check"`,
		`data-server="app/s3" data-state="MAINT" data-status="MAINT"`,
		`data-frontend="http-in" data-status="OPEN"`,
		`data-backend="app" data-status="UP"`,
		`data-instance="VI_1" data-state="MASTER"`,
		`192.0.2.100/24`,
		`balance roundrobin`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(body, "1.2.3") {
		t.Errorf("hide_version: the page shows the version")
	}
	if strings.Contains(body, `<form`) || strings.Contains(body, "http-equiv=\"refresh\"") {
		t.Errorf("page without admin or refresh has a form or a refresh")
	}
	if code, _, _ := do(t, "POST", ts.URL+"/stats", "", "", url.Values{"action": {"maint"}}, nil); code != 405 {
		t.Errorf("POST without admin = %d, want 405", code)
	}
}

var tokenRE = regexp.MustCompile(`name="token" value="([0-9a-f]+)"`)

func TestAdminActions(t *testing.T) {
	t.Parallel()
	ts, p, logs := startTestServer(t, Config{URI: "/stats", Admin: true, Auth: []Credential{{User: "admin", Password: "admin"}, {User: "ops", Password: "ops"}}})
	_, _, page := do(t, "GET", ts.URL+"/stats", "admin", "admin", nil, nil)
	m := tokenRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("admin page has no token field:\n%s", page)
	}
	token := m[1]
	origin := map[string]string{"Origin": ts.URL}
	form := func(tok, action string, servers ...string) url.Values {
		return url.Values{"token": {tok}, "b": {"app"}, "s": servers, "action": {action}}
	}
	s1, s2 := p.backends[0].servers[0].h, p.backends[0].servers[1].h
	tests := []struct {
		name       string
		user, pass string
		body       url.Values
		hdr        map[string]string
		code       int
		location   string
		s1, s2     health.AdminState
	}{
		{"no auth", "", "", form(token, "drain", "s1"), nil, 401, "", health.Ready, health.Ready},
		{"bad token", "admin", "admin", form("00", "drain", "s1"), origin, 403, "", health.Ready, health.Ready},
		{"other user's token", "ops", "ops", form(token, "drain", "s1"), origin, 403, "", health.Ready, health.Ready},
		{"cross-site origin", "admin", "admin", form(token, "drain", "s1"), map[string]string{"Origin": "http://evil.example"}, 403, "", health.Ready, health.Ready},
		{"cross-site referer", "admin", "admin", form(token, "drain", "s1"), map[string]string{"Referer": "http://evil.example/x"}, 403, "", health.Ready, health.Ready},
		{"drain s1", "admin", "admin", form(token, "drain", "s1"), origin, 303, "/stats;st=DONE-1", health.Drain, health.Ready},
		{"maint both, referer only", "admin", "admin", form(token, "maint", "s1", "s2"), map[string]string{"Referer": ts.URL + "/stats"}, 303, "/stats;st=DONE-2", health.Maint, health.Maint},
		{"ready both, no origin (curl)", "admin", "admin", form(token, "ready", "s1", "s2"), nil, 303, "/stats;st=DONE-2", health.Ready, health.Ready},
		{"nothing selected", "admin", "admin", form(token, "drain"), origin, 303, "/stats;st=NONE", health.Ready, health.Ready},
		{"unknown action", "admin", "admin", form(token, "explode", "s1"), origin, 303, "/stats;st=ERR", health.Ready, health.Ready},
		{"unknown server", "admin", "admin", form(token, "drain", "s9"), origin, 303, "/stats;st=ERR", health.Ready, health.Ready},
	}
	for _, tt := range tests {
		code, hdr, _ := do(t, "POST", ts.URL+"/stats", tt.user, tt.pass, tt.body, tt.hdr)
		if code != tt.code || hdr.Get("Location") != tt.location {
			t.Errorf("%s: POST = %d Location %q, want %d %q", tt.name, code, hdr.Get("Location"), tt.code, tt.location)
		}
		if s1.Admin() != tt.s1 || s2.Admin() != tt.s2 {
			t.Errorf("%s: s1 %v s2 %v, want %v %v", tt.name, s1.Admin(), s2.Admin(), tt.s1, tt.s2)
		}
	}
	_, _, page = do(t, "GET", ts.URL+"/stats;st=DONE-2", "admin", "admin", nil, nil)
	if !strings.Contains(page, "Action applied to 2 server(s).") {
		t.Errorf("page after an action lacks the message")
	}
	if !strings.Contains(logs.String(), "admin action: server app/s1 set to DRAIN (was READY) by stats page user admin") {
		t.Errorf("admin action not logged:\n%s", logs.String())
	}
}

func TestMetricsLint(t *testing.T) {
	t.Parallel()
	ts, p, _ := startTestServer(t, Config{URI: "/stats"})
	for range 3 {
		p.request(200, 1, 1)
	}
	p.request(404, 1, 1)
	_, _, body := do(t, "GET", ts.URL+"/metrics", "", "", nil, nil)
	probs, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, pr := range probs {
		t.Errorf("promlint: %s: %s", pr.Metric, pr.Text)
	}
	for _, want := range []string{
		`tandem_frontend_http_requests_total{proxy="http-in"} 4`,
		`tandem_frontend_http_responses_total{code="2xx",proxy="http-in"} 3`,
		`tandem_frontend_http_responses_total{code="4xx",proxy="http-in"} 1`,
		`tandem_server_status{proxy="app",server="s1",state="UP"} 1`,
		`tandem_server_status{proxy="app",server="s1",state="DOWN"} 0`,
		`tandem_vrrp_state{instance="VI_1",state="MASTER"} 1`,
		`tandem_server_loadbalanced_total{proxy="app",server="s1"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed (Debian package prometheus): only client_golang's promlint checked the metrics")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
