package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tandemlb/tandem/internal/tandemtest"
)

// Hashes of the test passwords: bcrypt of "bcpass" (cost 4) and SHA-512
// crypt of "Hello" (openssl passwd -6 -salt saltstring Hello).
const (
	e2eBcrypt   = "$2a$04$GOOMZCQdmfcIhncRNCx4qeoq53CQYOI1rYQBAJP81KWGE3cHFttGi"
	e2eShaCrypt = "$6$saltstring$aQzKv7HhksN4CNT5HySRdxOEHxZvlWWP2je/lOgbrHx5iLYj3NJfVnC287n/dwkODYWL1.LZUdO9vX84fkCna/"
)

// TestStatsEndToEnd is issue 8's end to end: the real binary with three
// real backends serves the stats page (checked in headless Chromium after
// a backend dies), HAProxy's CSV with counters matching a bounded client
// loop, /metrics that promtool accepts, basic auth with plain, bcrypt and
// SHA-crypt passwords, a drain from the page that moves traffic away, and
// `tandem ctl` against the admin socket.
func TestStatsEndToEnd(t *testing.T) {
	t.Parallel()
	s1 := startBackend(t, "app", "s1")
	s2 := startBackend(t, "app", "s2")
	s3 := startBackend(t, "app", "s3")
	port, sport := freePort(t), freePort(t)
	sock := filepath.Join(t.TempDir(), "run", "admin.sock")
	tp := tandemtest.Start(t, fmt.Sprintf(`
[global]
admin_socket = %q

[log]
target = "stderr"

[[frontend]]
name = "http-in"
bind = ["127.0.0.1:%d"]
default_backend = "app"

[[backend]]
name = "app"
balance = "roundrobin"
check = { type = "http", path = "/", inter = "100ms", timeout = "2s", rise = 2, fall = 2 }
server = [
  { name = "s1", address = %q, check = true, maxconn = 50 },
  { name = "s2", address = %q, check = true },
  { name = "s3", address = %q, check = true },
]

[stats]
bind = ["127.0.0.1:%d"]
uri = "/stats"
refresh = "10s"
realm = "tandem e2e"
auth = ["admin:admin", "bc:%s", "sha:%s"]
admin = true
`, sock, port, s1.Addr, s2.Addr, s3.Addr, sport, e2eBcrypt, e2eShaCrypt))

	base := fmt.Sprintf("http://127.0.0.1:%d", sport)
	front := fmt.Sprintf("http://127.0.0.1:%d", port)
	hc := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	statsGet := func(path, user, pass string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v (is startStats wired into cmd/tandem/run.go?)\n%s", path, err, tp.Output())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	t.Run("auth", func(t *testing.T) {
		for _, tt := range []struct {
			user, pass string
			code       int
		}{
			{"", "", 401}, {"admin", "wrong", 401}, {"nobody", "admin", 401},
			{"admin", "admin", 200}, {"bc", "bcpass", 200}, {"bc", "bcpasS", 401}, {"sha", "Hello", 200}, {"sha", "hello", 401},
		} {
			if code, _ := statsGet("/stats", tt.user, tt.pass); code != tt.code {
				t.Errorf("GET /stats as %q:%q = %d, want %d", tt.user, tt.pass, code, tt.code)
			}
		}
	})

	// A bounded client loop; the CSV must count exactly these.
	const n = 30
	for i := range n {
		code, _ := get(t, hc, fmt.Sprintf("%s/loop/%d", front, i))
		if code != 200 {
			t.Fatalf("request %d through tandem: status %d", i, code)
		}
	}
	readCSV := func() map[string]map[string]string {
		t.Helper()
		code, body := statsGet("/stats;csv", "admin", "admin")
		if code != 200 {
			t.Fatalf("GET /stats;csv = %d", code)
		}
		return parseStatCSV(t, body)
	}

	t.Run("csv", func(t *testing.T) {
		rows := readCSV()
		fe, be := rows["http-in/FRONTEND"], rows["app/BACKEND"]
		for _, c := range []struct{ row, col, want string }{
			{"http-in/FRONTEND", "req_tot", strconv.Itoa(n)},
			{"http-in/FRONTEND", "hrsp_2xx", strconv.Itoa(n)},
			{"http-in/FRONTEND", "status", "OPEN"},
			{"app/BACKEND", "req_tot", strconv.Itoa(n)},
			{"app/BACKEND", "lbtot", strconv.Itoa(n)},
			{"app/BACKEND", "algo", "roundrobin"},
			{"app/s1", "slim", "50"},
		} {
			if got := rows[c.row][c.col]; got != c.want {
				t.Errorf("%s %s = %q, want %q", c.row, c.col, got, c.want)
			}
		}
		// The client kept one connection alive: one frontend session
		// carried every request.
		if fe["stot"] != "1" || be["stot"] != strconv.Itoa(n) {
			t.Errorf("sessions: frontend stot %q (want 1), backend stot %q (want %d)", fe["stot"], be["stot"], n)
		}
		sum := 0
		for _, s := range []string{"s1", "s2", "s3"} {
			v, _ := strconv.Atoi(rows["app/"+s]["lbtot"])
			sum += v
			if v != n/3 {
				t.Errorf("roundrobin: app/%s lbtot = %d, want %d", s, v, n/3)
			}
		}
		if sum != n {
			t.Errorf("servers' lbtot sum to %d, want %d", sum, n)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		code, body := statsGet("/metrics", "admin", "admin")
		if code != 200 {
			t.Fatalf("GET /metrics = %d", code)
		}
		want := fmt.Sprintf("tandem_frontend_http_requests_total{proxy=%q} %d", "http-in", n)
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
		promtool, err := exec.LookPath("promtool")
		if err != nil {
			t.Skip("promtool not installed (Debian package prometheus); the stats package lints with client_golang's promlint")
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})

	// s3 dies; its checks mark it DOWN.
	s3.Close()
	deadline := time.Now().Add(10 * time.Second)
	for readCSV()["app/s3"]["status"] != "DOWN" {
		if time.Now().After(deadline) {
			t.Fatalf("app/s3 not DOWN 10s after its backend closed: %v", readCSV()["app/s3"])
		}
		time.Sleep(50 * time.Millisecond)
	}

	t.Run("browser", func(t *testing.T) {
		u := fmt.Sprintf("http://admin:admin@127.0.0.1:%d/stats", sport)
		dom := chromium(t, "--dump-dom", u)
		for _, want := range []string{
			`data-server="app/s1" data-state="UP"`,
			`data-server="app/s2" data-state="UP"`,
			`data-server="app/s3" data-state="DOWN" data-status="DOWN"`,
			`data-frontend="http-in" data-status="OPEN"`,
			`data-backend="app" data-status="UP"`,
			`http-equiv="refresh" content="10`,
		} {
			if !strings.Contains(dom, want) {
				t.Errorf("DOM lacks %s", want)
			}
		}
		shot := screenshotPath(t)
		chromium(t, "--screenshot="+shot, "--window-size=1400,900", "--hide-scrollbars", u)
		if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
			t.Errorf("no screenshot at %s: %v", shot, err)
		} else {
			t.Logf("screenshot: %s", shot)
		}
	})

	t.Run("drain from the page", func(t *testing.T) {
		_, page := statsGet("/stats", "admin", "admin")
		m := regexp.MustCompile(`name="token" value="([0-9a-f]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatal("admin page has no form token")
		}
		post := func(user, pass, token string) (int, string) {
			form := url.Values{"token": {token}, "b": {"app"}, "s": {"s1"}, "action": {"drain"}}
			req, _ := http.NewRequest("POST", base+"/stats", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", base)
			if user != "" {
				req.SetBasicAuth(user, pass)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode, resp.Header.Get("Location")
		}
		if code, _ := post("", "", m[1]); code != 401 {
			t.Errorf("POST without auth = %d, want 401", code)
		}
		if code, _ := post("admin", "admin", "0123"); code != 403 {
			t.Errorf("POST with a bad token = %d, want 403", code)
		}
		if code, loc := post("admin", "admin", m[1]); code != 303 || loc != "/stats;st=DONE-1" {
			t.Fatalf("POST drain = %d %q, want 303 to /stats;st=DONE-1", code, loc)
		}
		if st := readCSV()["app/s1"]["status"]; st != "DRAIN" {
			t.Errorf("app/s1 status after drain = %q", st)
		}
		// No new request reaches the drained server.
		for i := range 20 {
			resp, err := hc.Get(fmt.Sprintf("%s/after-drain/%d", front, i))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if srv := resp.Header.Get("X-Server"); srv != "s2" {
				t.Errorf("request %d after draining s1 (s3 down): %s from %q, want s2", i, resp.Status, srv)
			}
		}
		if !strings.Contains(tp.Output(), "admin action: server app/s1 set to DRAIN (was READY) by stats page user admin") {
			t.Errorf("drain not logged:\n%s", tp.Output())
		}
	})

	t.Run("ctl", func(t *testing.T) {
		ctl := func(args ...string) (int, string, string) {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, tandemtest.Binary(t), append([]string{"ctl"}, args...)...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			if err != nil {
				ee, ok := err.(*exec.ExitError)
				if !ok {
					t.Fatalf("tandem ctl %v: %v", args, err)
				}
				code = ee.ExitCode()
			}
			return code, out.String(), errb.String()
		}
		for _, tt := range []struct {
			args           []string
			code           int
			stdout, stderr string
		}{
			{[]string{"-s", sock, "show", "info"}, 0, "Name: tandem\n", ""},
			{[]string{"-s", sock, "show", "stat"}, 0, "# pxname,svname,", ""},
			{[]string{"-s", sock, "show servers state app"}, 0, "1\n# be_id be_name", ""},
			{[]string{"-s", sock, "show", "vrrp"}, 0, "# instance interface", ""},
			{[]string{"-s", sock, "get", "weight", "app/s2"}, 0, "1 (initial 1)", ""},
			{[]string{"-s", sock, "set", "server", "app/s1", "state", "ready"}, 0, "", ""},
			{[]string{"-s", sock, "set", "server", "app/s1", "weight", "7"}, 0, "", ""},
			{[]string{"-s", sock, "set", "server", "app/nope", "state", "ready"}, 1, "", "tandem ctl: No such server.\n"},
			{[]string{"-s", sock, "set", "server", "app/s1", "state", "sleepy"}, 1, "", "expects 'ready', 'drain' and 'maint'"},
			{[]string{"-s", sock, "frobnicate"}, 1, "", "Unknown command"},
			{[]string{"-s", sock, "show", "table", "nope"}, 1, "", "No such table: nope."},
			{[]string{"-s", sock, "vrrp", "failover", "VI_1"}, 1, "", "No VRRP instance is configured."},
			{[]string{"-s", filepath.Join(t.TempDir(), "none.sock"), "show", "info"}, 1, "", "tandem is not running"},
			{[]string{"-s", sock}, 2, "", "Usage: tandem ctl"},
		} {
			code, out, errOut := ctl(tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("tandem ctl %q = %d\nstdout %q\nstderr %q\nwant %d, stdout with %q, stderr with %q",
					tt.args, code, truncateOut(out), errOut, tt.code, tt.stdout, tt.stderr)
			}
		}
		if st := readCSV()["app/s1"]; st["status"] != "UP" || st["weight"] != "7" {
			t.Errorf("app/s1 after ctl ready + weight 7: status %q weight %q", st["status"], st["weight"])
		}
		// socat-style use: the raw socket, several commands on one line.
		if _, err := exec.LookPath("socat"); err != nil {
			t.Log("socat not installed: raw socket use not checked")
			return
		}
		cmd := exec.Command("socat", "-t", "5", "-", "UNIX-CONNECT:"+sock)
		cmd.Stdin = strings.NewReader("show info;show vrrp;set server app/s1 weight 1\n")
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), "Name: tandem\n") || !strings.Contains(string(out), "\n\n# instance interface") {
			t.Errorf("socat show info;show vrrp: %v\n%s", err, out)
		}
	})

	// The socket goes away with the process.
	tp.Stop(t)
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("admin socket left after tandem stopped: %v", err)
	}
}

func truncateOut(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// parseStatCSV reads HAProxy's `show stat` CSV into rows keyed
// "pxname/svname", each a map from column name to value.
func parseStatCSV(t *testing.T, body string) map[string]map[string]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(body))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, body)
	}
	if len(recs) == 0 || !strings.HasPrefix(recs[0][0], "# pxname") {
		t.Fatalf("CSV without HAProxy's header:\n%s", body)
	}
	head := recs[0]
	head[0] = "pxname"
	rows := make(map[string]map[string]string)
	for _, rec := range recs[1:] {
		m := make(map[string]string, len(head))
		for i, h := range head {
			m[h] = rec[i]
		}
		rows[rec[0]+"/"+rec[1]] = m
	}
	return rows
}

// chromium runs headless Chromium with args and returns its stdout. It
// skips the test when Chromium is not installed.
func chromium(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (Debian package chromium): the page is not checked in a browser")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	// Chromium's helpers share its process group; none may outlive the test.
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

// screenshotPath is out/stats-page.png at the repository root (kept for a
// person to look at), or under the test's temporary directory.
func screenshotPath(t *testing.T) string {
	if dir := os.Getenv("TANDEM_SCREENSHOT_DIR"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, "stats-page.png")
	}
	if wd, err := os.Getwd(); err == nil {
		out := filepath.Join(wd, "..", "..", "out")
		if err := os.MkdirAll(out, 0o755); err == nil {
			return filepath.Join(out, "stats-page.png")
		}
	}
	return filepath.Join(t.TempDir(), "stats-page.png")
}
