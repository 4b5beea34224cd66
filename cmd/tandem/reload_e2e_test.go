package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tandemlb/tandem/internal/netnstest"
	"github.com/tandemlb/tandem/internal/tandemtest"
)

// ctl runs `tandem ctl -s sock args...` and returns its stdout.
func ctl(t *testing.T, sock string, args ...string) string {
	t.Helper()
	out, err := exec.Command(tandemtest.Binary(t), append([]string{"ctl", "-s", sock}, args...)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("tandem ctl %v: %v: %s", args, err, ee.Stderr)
		}
		t.Fatalf("tandem ctl %v: %v", args, err)
	}
	return string(out)
}

// statRow returns the `show stat` CSV fields of proxy/server by column name.
func statRow(t *testing.T, sock, px, sv string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(ctl(t, sock, "show", "stat")), "\n")
	if len(lines) == 0 {
		t.Fatal("show stat: empty")
	}
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) >= 2 && f[0] == px && f[1] == sv {
			m := make(map[string]string, len(cols))
			for i, c := range cols {
				if i < len(f) {
					m[c] = f[i]
				}
			}
			return m
		}
	}
	t.Fatalf("show stat: no row %s/%s", px, sv)
	return nil
}

// waitFor polls cond every 20 ms until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReloadEndToEnd is issue 12's reload test: a Go client sends requests
// for over 20 s while tandem is reloaded 20 times with SIGHUP, every fifth
// time with an invalid file. No request may fail and no connection be
// refused; a server drained at runtime stays drained; a stick-table entry
// survives; the counters add up to what the client sent; a bind added by
// a reload accepts and one removed is closed.
func TestReloadEndToEnd(t *testing.T) {
	t.Parallel()
	app1, app2 := startBackend(t, "app", "s1"), startBackend(t, "app", "s2")
	stA, stB := startBackend(t, "sticky", "a"), startBackend(t, "sticky", "b")
	port, extra := freePort(t), freePort(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	file := filepath.Join(dir, "tandem.toml")

	config := func(i int) string {
		balance := "roundrobin"
		binds := fmt.Sprintf(`"127.0.0.1:%d"`, port)
		if i%2 == 1 {
			balance = "leastconn"
			binds += fmt.Sprintf(`, "127.0.0.1:%d"`, extra)
		}
		return fmt.Sprintf(`
[global]
maxconn = 500
admin_socket = %q
hard_stop_after = "10s"

[log]
target = "stderr"
traffic = false

[defaults]
timeout_connect = "2s"
timeout_client = "10s"
timeout_server = "10s"

[[frontend]]
name = "web"
bind = [%s]
default_backend = "app"
acl.sticky = "path_beg /sticky/"
use_backend = [ { backend = "sticky", if = "sticky" } ]

[[backend]]
name = "app"
balance = %q
server = [ { name = "s1", address = %q }, { name = "s2", address = %q } ]

[[backend]]
name = "sticky"
stick_table = { type = "ip", size = 100, expire = "10m" }
stick_on = "src"
server = [ { name = "a", address = %q }, { name = "b", address = %q } ]
`, sock, binds, balance, app1.Addr, app2.Addr, stA.Addr, stB.Addr)
	}
	if err := os.WriteFile(file, []byte(config(0)), 0o644); err != nil {
		t.Fatal(err)
	}
	tp := tandemtest.StartFile(t, file)

	// Runtime state to keep: app/s2 drained, sticky entry for 127.0.0.1 -> b.
	ctl(t, sock, "set", "server", "app/s2", "state", "drain")
	ctl(t, sock, "disable", "server", "sticky/a")
	client := &http.Client{Timeout: 5 * time.Second}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if code, body := get(t, client, base+"/sticky/x"); code != 200 || !strings.Contains(body, "sticky/b") {
		t.Fatalf("sticky request: %d %q", code, body)
	}
	ctl(t, sock, "enable", "server", "sticky/a")
	sent := int64(1)
	s2Before := app2.Requests()

	ctx, stop := context.WithCancel(context.Background())
	var ok, failed atomic.Int64
	var errMu sync.Mutex
	var errs []string
	fail := func(format string, a ...any) {
		failed.Add(1)
		errMu.Lock()
		if len(errs) < 10 {
			errs = append(errs, fmt.Sprintf(format, a...))
		}
		errMu.Unlock()
	}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableKeepAlives: i%3 == 2}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			path, want := "/app/x", "app/s1"
			if i == 0 {
				path, want = "/sticky/x", "sticky/b"
			}
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for ctx.Err() == nil {
				<-tick.C
				resp, err := c.Get(base + path)
				if err != nil {
					fail("%v", err)
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || !strings.Contains(string(b), want) {
					fail("GET %s: %d %q %v", path, resp.StatusCode, b, err)
					continue
				}
				ok.Add(1)
			}
		})
	}
	// New connections all the time: a refusal would show here.
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			<-tick.C
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
			if err != nil {
				fail("dial: %v", err)
				continue
			}
			_, _ = io.WriteString(c, "GET /app/raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			b, err := io.ReadAll(c)
			c.Close()
			if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 200") {
				fail("raw: %v %.60q", err, b)
				continue
			}
			ok.Add(1)
		}
	})

	start := time.Now()
	valid, invalid := 0, 0
	for i := 1; i <= 20; i++ {
		time.Sleep(time.Second) // pacing the reloads, not waiting for anything
		cfg := config(i)
		if i%5 == 0 {
			cfg += "\n[[backend]]\nname = \"app\"\nbogus_key = 1\n"
			invalid++
		} else {
			valid++
		}
		if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		want := strings.Count(tp.Output(), "reloaded: ") + strings.Count(tp.Output(), "reload failed")
		if err := tp.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("reload %d to finish", i), 10*time.Second, func() bool {
			return strings.Count(tp.Output(), "reloaded: ")+strings.Count(tp.Output(), "reload failed") > want
		})
	}
	for time.Since(start) < 21*time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	wg.Wait()
	sent += ok.Load() + failed.Load()

	out := tp.Output()
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed across %d reloads: %s", failed.Load(), sent, 20, strings.Join(errs, "; "))
	}
	if n := strings.Count(out, "reloaded: "); n != valid {
		t.Errorf("%d successful reloads logged, want %d", n, valid)
	}
	if n := strings.Count(out, "reload failed"); n != invalid {
		t.Errorf("%d failed reloads logged, want %d", n, invalid)
	}
	if !regexp.MustCompile(`tandem\.toml:\d+:\d+: .*bogus_key`).MatchString(out) {
		t.Errorf("an invalid reload does not log its diagnostic with file:line:col:\n%s", tailLines(out, 30))
	}
	if n := app2.Requests() - s2Before; n != 0 {
		t.Errorf("drained server app/s2 got %d requests across the reloads", n)
	}
	if st := statRow(t, sock, "app", "s2")["status"]; st != "DRAIN" {
		t.Errorf("app/s2 status after 20 reloads = %q, want DRAIN", st)
	}
	// The last valid config (i = 19, odd) has the extra bind; i = 20 was
	// invalid, so it stays.
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", extra)); err != nil {
		t.Errorf("bind added by a reload: %v", err)
	} else {
		c.Close()
	}
	// Counters add up once the old generations have drained.
	waitFor(t, "frontend req_tot to match the client", 10*time.Second, func() bool {
		return statRow(t, sock, "web", "FRONTEND")["req_tot"] == strconv.FormatInt(sent, 10)
	})
	if tp.Exited() {
		t.Fatalf("tandem exited:\n%s", tailLines(out, 30))
	}
	t.Logf("%d requests, %d reloads (%d invalid) in %v", sent, 20, invalid, time.Since(start).Round(time.Second))

	// Removing the extra bind closes it.
	if err := os.WriteFile(file, []byte(config(0)), 0o644); err != nil {
		t.Fatal(err)
	}
	n := strings.Count(tp.Output(), "reloaded: ")
	_ = tp.Signal(syscall.SIGHUP)
	waitFor(t, "last reload", 10*time.Second, func() bool { return strings.Count(tp.Output(), "reloaded: ") > n })
	waitFor(t, "removed bind to refuse", 5*time.Second, func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", extra))
		if err == nil {
			c.Close()
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
	if code := tp.Stop(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}

func tailLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// TestReloadKeepsVRRPMaster: in a network namespace, a master keeps its
// state across 20 reloads (no transition, VIP always present), an instance
// whose configuration changed is restarted on its own, and SIGTERM gives
// the VIP up before the listeners close, then exits 0. A client's
// connection to the VIP is reset as the VIP goes (it would hang until its
// own timeout otherwise).
func TestReloadKeepsVRRPMaster(t *testing.T) {
	t.Parallel()
	lab := netnstest.New(t, "lb1", "client")
	lb1 := lab.Host("lb1")
	bin := tandemtest.Binary(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	file := filepath.Join(dir, "tandem.toml")
	config := func(prio2 int, maxconn int) string {
		return fmt.Sprintf(`
[global]
maxconn = %d
admin_socket = %q

[log]
target = "stderr"
traffic = false

[[frontend]]
name = "web"
bind = ["192.0.2.11:8080"]
default_backend = "app"

[[backend]]
name = "app"
server = [ { name = "s1", address = "192.0.2.11:9" } ]

[[frontend]]
name = "vip"
mode = "tcp"
bind = ["0.0.0.0:8081"]
default_backend = "web"

[[backend]]
name = "web"
mode = "tcp"
server = [ { name = "w1", address = "192.0.2.11:8080" } ]

[[vrrp.instance]]
name = "VI_1"
interface = "eth1"
virtual_router_id = 51
priority = 150
advert_int = "1s"
virtual_ipaddress = ["192.0.2.100/24"]
track = [ { frontend = "web" } ]

[[vrrp.instance]]
name = "VI_2"
interface = "eth1"
virtual_router_id = 52
priority = %d
advert_int = "1s"
virtual_ipaddress = ["192.0.2.101/24"]
`, maxconn, sock, prio2)
	}
	if err := os.WriteFile(file, []byte(config(100, 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	cmd := lb1.Command(bin, "run", "-c", file)
	cmd.Stdout, cmd.Stderr = &out, &out
	stop := netnstest.Start(t, cmd)
	waitFor(t, "tandem started", 10*time.Second, func() bool { return strings.Contains(out.String(), "tandem started") })

	vip := netnstest.VIP.Addr()
	waitFor(t, "VI_1 master with the VIP", 10*time.Second, func() bool {
		has, _ := lb1.HasAddr(vip)
		return has
	})
	show := func() map[string][]string {
		text := ctl(t, sock, "show", "vrrp")
		m := map[string][]string{}
		for _, l := range strings.Split(text, "\n") {
			if f := strings.Fields(l); len(f) > 0 && !strings.HasPrefix(l, "#") {
				m[f[0]] = f
			}
		}
		return m
	}
	waitFor(t, "VI_2 master", 10*time.Second, func() bool { return show()["VI_2"][3] == "MASTER" })
	if f := show()["VI_1"]; f[3] != "MASTER" || f[11] != "1" {
		t.Fatalf("VI_1 before reloads: %v", f)
	}

	restarts := 0
	prio2 := 100
	for i := 1; i <= 20; i++ {
		cfg := config(prio2, 100+i) // the proxy changes every time
		if i%4 == 0 {
			prio2++ // VI_2 changes: restarted alone
			restarts++
			cfg = config(prio2, 100+i)
		}
		if i%7 == 0 {
			cfg += "\nnot toml ="
		}
		if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		n := strings.Count(out.String(), "reloaded: ") + strings.Count(out.String(), "reload failed")
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("reload %d", i), 10*time.Second, func() bool {
			return strings.Count(out.String(), "reloaded: ")+strings.Count(out.String(), "reload failed") > n
		})
		if has, err := lb1.HasAddr(vip); !has || err != nil {
			t.Fatalf("VIP gone after reload %d (%v):\n%s", i, err, tailLines(out.String(), 20))
		}
	}
	f := show()["VI_1"]
	if f[3] != "MASTER" || f[11] != "1" {
		t.Errorf("VI_1 after 20 reloads: state %s became_master %s, want MASTER 1", f[3], f[11])
	}
	if n := countTransitions(out.String(), "VI_1"); n != 2 {
		t.Errorf("VI_1 logged %d transitions, want 2 (INIT->BACKUP->MASTER at start only):\n%s", n, grepLines(out.String(), "VI_1"))
	}
	if n := strings.Count(out.String(), "vrrp: instances started with the new configuration"); n != restarts {
		t.Errorf("instances restarted %d times, want %d (VI_2's changes only)", n, restarts)
	}

	// An idle client connection to the VIP (TCP mode: a pair in an event
	// loop), from the client's namespace.
	var cout lockedBuffer
	client := lab.Host("client").Command("bash", "-c", `exec 3<>/dev/tcp/192.0.2.100/8081 && echo connected && exec cat <&3`)
	client.Stdout, client.Stderr = &cout, &cout
	client.WaitDelay = time.Second
	netnstest.Start(t, client)
	waitFor(t, "the client connected to the VIP", 10*time.Second, func() bool { return strings.Contains(cout.String(), "connected") })

	// Graceful stop: VRRP gives up first, then the proxy stops; exit 0.
	if err := stop(syscall.SIGTERM); err != nil {
		t.Errorf("tandem exit after SIGTERM: %v\n%s", err, tailLines(out.String(), 20))
	}
	o := out.String()
	giveUp := strings.LastIndex(o, "VI_1")
	proxyStop := strings.LastIndex(o, "proxy stopped")
	if giveUp < 0 || proxyStop < 0 || giveUp > proxyStop {
		t.Errorf("VRRP did not give up before the proxy stopped:\n%s", tailLines(o, 20))
	}
	if has, _ := lb1.HasAddr(vip); has {
		t.Error("VIP still present after stop")
	}
	// cat ends at once on a reset; without one it would wait for ever.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(cout.String(), "Connection reset by peer") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if c := cout.String(); !strings.Contains(c, "Connection reset by peer") || !strings.Contains(o, "vrrp: reset the client connections to the virtual addresses given up") {
		t.Errorf("the client's connection to the VIP was not reset as the VIP went:\nclient: %s\ntandem: %s", c, grepLines(o, "reset"))
	}
}

func countTransitions(out, instance string) int {
	n := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "vrrp transition") && strings.Contains(l, instance) {
			n++
		}
	}
	return n
}

func grepLines(out, sub string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			b.WriteString(sc.Text())
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// lockedBuffer collects a child's output from two pipes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
