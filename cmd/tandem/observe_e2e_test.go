package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemlb/tandem/internal/tandemtest"
	"github.com/tandemlb/tandem/internal/testbackend"
)

// TestObserveAndDisableHealth is the end to end of observe and of
// `enable|disable health` with the real binary. app/s1 answers 500 to
// live traffic while its check path answers 200: with observe layer7,
// error_limit 3 and on_error mark-down, three 500s take it DOWN between
// checks (HANA) and traffic moves to s2; its passing checks bring it back.
// Then `tandem ctl disable health app/s1` freezes it: a failing check path
// and more 500s leave it "no check" (up); `enable health` checks at once
// and the failing checks take it DOWN.
func TestObserveAndDisableHealth(t *testing.T) {
	t.Parallel()
	var checkFails atomic.Bool
	var s1Hits atomic.Int64
	s1 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if checkFails.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			_, _ = io.WriteString(w, "ok\n")
			return
		}
		s1Hits.Add(1)
		w.Header().Set("X-Server", "s1")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "s1 is broken\n")
	}))
	t.Cleanup(s1.Close)
	s2, err := testbackend.Start("app", "s2", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s2.Close() })

	sock := filepath.Join(t.TempDir(), "admin.sock")
	port := freePort(t)
	tp := tandemtest.Start(t, fmt.Sprintf(`
[global]
admin_socket = %q

[log]
target = "stderr"
traffic = false

[defaults]
mode = "http"
timeout_connect = "1s"
timeout_client = "5s"
timeout_server = "5s"
retries = 0

[[frontend]]
name = "web"
bind = ["127.0.0.1:%d"]
default_backend = "app"

[[backend]]
name = "app"
balance = "roundrobin"
check = { type = "http", path = "/health", inter = "200ms", fastinter = "2s", rise = 2, fall = 2 }
server = [
  { name = "s1", address = %q, check = true, observe = "layer7", error_limit = 3, on_error = "mark-down" },
  { name = "s2", address = %q, check = true },
]
`, sock, port, strings.TrimPrefix(s1.URL, "http://"), s2.Addr.String()))

	c := &http.Client{Timeout: 5 * time.Second}
	base := fmt.Sprintf("http://127.0.0.1:%d/page", port)
	waitOutput := func(what string, within time.Duration, subs ...string) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			out := tp.Output()
			all := true
			for _, s := range subs {
				all = all && strings.Contains(out, s)
			}
			if all {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s within %v (want %q); tandem said:\n%s", what, within, subs, out)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	status := func() string {
		t.Helper()
		return observeStatus(t, sock, "app", "s1")
	}
	// Both servers pass their first checks.
	waitOutput("tandem start", 5*time.Second, "tandem started")

	// Round robin: six requests give s1 three, each a 500.
	codes := map[int]int{}
	for range 6 {
		code, _ := observeGet(t, c, base)
		codes[code]++
	}
	if codes[500] != 3 || codes[200] != 3 {
		t.Errorf("6 requests before s1 went down: %v, want three 500s and three 200s", codes)
	}
	waitOutput("HANA DOWN line", 5*time.Second, "Server app/s1 is DOWN, reason: Health analyze",
		"Detected 3 consecutive errors, last one was: Wrong http response")
	if st := status(); st != "DOWN" && !strings.HasPrefix(st, "DOWN ") {
		t.Errorf("s1 status %q after the HANA DOWN, want DOWN", st)
	}
	// Traffic moves to s2 while s1 is down: after one passing check it is
	// still DOWN 1/2, and the next comes after fastinter (2s).
	hits := s1Hits.Load()
	for range 6 {
		if code, body := observeGet(t, c, base); code != 200 || !strings.Contains(body, "app/s2") {
			t.Fatalf("with s1 down: %d %q, want 200 from s2", code, body)
		}
	}
	if n := s1Hits.Load() - hits; n != 0 {
		t.Errorf("s1 got %d requests while DOWN", n)
	}
	// Its checks still pass: rise checks bring it back.
	waitOutput("s1 back UP", 10*time.Second, "Server app/s1 is UP")

	// disable health freezes it: a failing check path and more 500s leave
	// it up, shown as "no check".
	if out := observeCtl(t, sock, "disable", "health", "app/s1"); strings.TrimSpace(out) != "" {
		t.Fatalf("disable health answered %q", out)
	}
	checkFails.Store(true)
	for range 8 {
		observeGet(t, c, base)
	}
	// Long enough for fall (2) checks at inter 200ms to have failed.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if st := status(); st != "no check" {
			t.Fatalf("s1 status %q with checks disabled, want \"no check\"", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Count(tp.Output(), "Server app/s1 is DOWN") != 1 {
		t.Errorf("s1 went DOWN again with checks disabled:\n%s", tp.Output())
	}
	if out := observeCtl(t, sock, "disable", "health", "app/nope"); !strings.Contains(out, "No such server.") {
		t.Errorf("disable health app/nope answered %q", out)
	}

	// enable health: checks resume at once and the failing ones take it out.
	if out := observeCtl(t, sock, "enable", "health", "app/s1"); strings.TrimSpace(out) != "" {
		t.Fatalf("enable health answered %q", out)
	}
	waitOutput("check DOWN line", 5*time.Second, "Server app/s1 is DOWN, reason: Layer7 wrong status")
	for range 4 {
		if code, body := observeGet(t, c, base); code != 200 || !strings.Contains(body, "app/s2") {
			t.Fatalf("with s1 down by its checks: %d %q, want 200 from s2", code, body)
		}
	}
}

func observeGet(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// observeCtl runs `tandem ctl -s sock args...` and returns its output.
func observeCtl(t *testing.T, sock string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tandemtest.Binary(t), append([]string{"ctl", "-s", sock}, args...)...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("tandem ctl %v: %v", args, err)
	}
	return string(out)
}

// observeStatus is the status column of backend/server in `show stat`.
func observeStatus(t *testing.T, sock, backend, server string) string {
	t.Helper()
	out := observeCtl(t, sock, "show", "stat")
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# "))).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("show stat: %v\n%s", err, out)
	}
	col := -1
	for i, k := range recs[0] {
		if k == "status" {
			col = i
		}
	}
	for _, r := range recs[1:] {
		if len(r) > col && r[0] == backend && r[1] == server {
			return r[col]
		}
	}
	t.Fatalf("show stat has no %s/%s:\n%s", backend, server, out)
	return ""
}
