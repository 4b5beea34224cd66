package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandemlb/tandem/internal/logtest"
	"github.com/tandemlb/tandem/internal/tandemtest"
	"github.com/tandemlb/tandem/internal/testbackend"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startBackend(t *testing.T, group, name string) *testbackend.Server {
	t.Helper()
	s, err := testbackend.Start(group, name, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestTrafficLogThroughRsyslog is issue 3's end to end: the real binary
// proxies real requests, each produces one httplog line that a real
// rsyslogd files into tandem.log with deploy/rsyslog.conf, and HAProxy's
// halog counts them per server. A server that fails its check logs a
// warning that lands in tandem_warn.log too.
func TestTrafficLogThroughRsyslog(t *testing.T) {
	t.Parallel()
	halog := logtest.LookPath(t, "halog", "haproxy")
	rs := logtest.StartRsyslog(t)
	s1 := startBackend(t, "app", "s1")
	s2 := startBackend(t, "app", "s2")
	dead := freePort(t) // nothing listens: its check fails
	port := freePort(t)
	tp := tandemtest.Start(t, fmt.Sprintf(`
[log]
target = %q

[[frontend]]
name = "http-in"
bind = ["127.0.0.1:%d"]
default_backend = "app"

[[backend]]
name = "app"
server = [
  { name = "s1", address = %q, weight = 2 },
  { name = "s2", address = %q, weight = 1 },
]

[[backend]]
name = "spare"
check = { type = "tcp", inter = "100ms", timeout = "2s", fall = 1 }
server = [ { name = "gone", address = "127.0.0.1:%d", check = true } ]
`, rs.Target, port, s1.Addr.String(), s2.Addr.String(), dead))

	c := &http.Client{Timeout: 5 * time.Second}
	for i := range 30 {
		code, body := get(t, c, fmt.Sprintf("http://127.0.0.1:%d/app/demo.html?i=%d", port, i))
		if code != 200 || !strings.Contains(body, "served by s") {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
	lines := waitTraffic(t, rs.Log, 30)
	re := regexp.MustCompile(`tandem\[\d+\]: 127\.0\.0\.1:\d+ \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] http-in app/s[12] \d+/\d+/\d+/\d+/\d+ 200 \d+ - - ---- \d+/\d+/\d+/\d+/0 0/0 "GET /app/demo\.html\?i=\d+ HTTP/1\.1"$`)
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("traffic line not in httplog form:\n%s", l)
		}
	}

	// halog reads the file as rsyslog wrote it.
	cmd := exec.Command(halog, "-srv", "-H")
	f, err := os.Open(rs.Log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdin = f
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("halog: %v", err)
	}
	counts := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 7 && strings.HasPrefix(fields[0], "app/") {
			n, _ := strconv.Atoi(fields[7])
			counts[fields[0]] = n
		}
	}
	if counts["app/s1"] != 20 || counts["app/s2"] != 10 {
		t.Errorf("halog -srv counts %v, want app/s1 20 and app/s2 10 (weights 2:1); halog said:\n%s", counts, out)
	}

	// Events: the start at info in tandem.log only; a server going DOWN at
	// warning in both files.
	logtest.WaitForLine(t, rs.Log, "tandem started", 5*time.Second)
	down := logtest.WaitForLine(t, rs.WarnLog, "Server spare/gone is DOWN", 5*time.Second)
	if !strings.Contains(down, "reason: Layer4 connection problem") {
		t.Errorf("DOWN line lacks the reason: %s", down)
	}
	logtest.WaitForLine(t, rs.Log, "Server spare/gone is DOWN", 5*time.Second)
	for _, l := range logtest.Lines(rs.WarnLog) {
		if strings.Contains(l, "tandem started") || strings.Contains(l, " http-in ") {
			t.Errorf("info line reached the warning log: %s", l)
		}
	}
	if code := tp.Stop(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
}

func waitTraffic(t *testing.T, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var traffic []string
		for _, l := range logtest.Lines(path) {
			if strings.Contains(l, " http-in ") {
				traffic = append(traffic, l)
			}
		}
		if len(traffic) >= n {
			if len(traffic) > n {
				t.Errorf("%d traffic lines, want %d", len(traffic), n)
			}
			return traffic
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d traffic lines in %s after 10s, want %d", len(traffic), path, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMaxconn: the process raises its open-file limit to maxconn*2+64 and
// stops accepting at maxconn, leaving clients in the kernel backlog until a
// slot frees.
func TestMaxconn(t *testing.T) {
	t.Parallel()
	s := startBackend(t, "app", "s1")
	port := freePort(t)
	tp := tandemtest.Start(t, fmt.Sprintf(`
[global]
maxconn = 2

[log]
target = "stderr"
traffic = false

[[frontend]]
name = "web"
bind = ["127.0.0.1:%d"]
default_backend = "app"

[[backend]]
name = "app"
server = [ { name = "s1", address = %q } ]
`, port, s.Addr.String()))

	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", tp.Cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Max open files\s+(\d+)`).FindSubmatch(limits)
	if m == nil {
		t.Fatalf("no open-file limit in:\n%s", limits)
	}
	if n, _ := strconv.Atoi(string(m[1])); n < 2*2+64 {
		t.Errorf("open-file limit %d, want at least maxconn*2+64 = 68", n)
	}

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	req := "GET /app/demo.html HTTP/1.1\r\nHost: x\r\n\r\n"
	var held []net.Conn
	for i := range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := readResponse(c, req, 5*time.Second); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		held = append(held, c)
	}
	third, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("third connection refused instead of waiting in the backlog: %v", err)
	}
	defer third.Close()
	if _, err := readResponse(third, req, 300*time.Millisecond); err == nil {
		t.Fatal("third connection served while maxconn = 2 were open")
	}
	held[0].Close()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	status, err := bufio.NewReader(third).ReadString('\n')
	if err != nil || !strings.Contains(status, "200") {
		t.Fatalf("third connection after a slot freed: %q, %v", status, err)
	}
	if out := tp.Output(); strings.Contains(out, "GET /app/demo.html") {
		t.Errorf("traffic = false, yet a traffic line was logged:\n%s", out)
	}
}

func readResponse(c net.Conn, req string, timeout time.Duration) (string, error) {
	if _, err := io.WriteString(c, req); err != nil {
		return "", err
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestRunDropsPrivileges: with [global] user, the running process has that
// uid on every thread and only the three network capabilities, and still
// serves.
func TestRunDropsPrivileges(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop privileges")
	}
	s := startBackend(t, "app", "s1")
	port := freePort(t)
	tp := tandemtest.Start(t, fmt.Sprintf(`
[global]
user = "nobody"

[log]
target = "stderr"

[[frontend]]
name = "web"
bind = ["127.0.0.1:%d"]
default_backend = "app"

[[backend]]
name = "app"
server = [ { name = "s1", address = %q } ]
`, port, s.Addr.String()))
	if !strings.Contains(tp.Output(), "dropped privileges") {
		t.Fatalf("no 'dropped privileges' event:\n%s", tp.Output())
	}
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", tp.Cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", tp.Cmd.Process.Pid, task.Name()))
		if err != nil {
			t.Fatal(err)
		}
		status := string(b)
		uid := regexp.MustCompile(`(?m)^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$`).FindStringSubmatch(status)
		if uid == nil || uid[1] != "65534" || uid[2] != "65534" || uid[3] != "65534" {
			t.Errorf("thread %s: %v, want uid 65534 everywhere", task.Name(), uid)
		}
		// CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_NET_RAW (13).
		if eff := regexp.MustCompile(`(?m)^CapEff:\s+(\w+)$`).FindStringSubmatch(status); eff == nil || eff[1] != "0000000000003400" {
			t.Errorf("thread %s: CapEff %v, want 0000000000003400", task.Name(), eff)
		}
	}
	c := &http.Client{Timeout: 5 * time.Second}
	if code, body := get(t, c, fmt.Sprintf("http://127.0.0.1:%d/app/demo.html", port)); code != 200 {
		t.Errorf("after the drop: %d %q", code, body)
	}
}
