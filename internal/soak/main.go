package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// figures is what the soak reports.
type figures struct {
	Duration                          time.Duration
	HTTPOK, HTTPFail                  int64
	TCPOK, TCPFail                    int64
	Reloads, ReloadsInvalid           int
	Flaps                             int
	GoroutinesBefore, GoroutinesAfter int
	FDsBefore, FDsAfter               int
	RSSBeforeKiB, RSSAfterKiB         int
	HeapBefore, HeapAfter             uint64
	FrontendReq, FrontendTCP          int64
	failures                          []string
	checks                            []string
}

func run() error {
	dur := 2 * time.Minute
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("SOAK_DURATION %q: %w", s, err)
		}
		dur = d
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "tandem-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := binary(dir)
	if err != nil {
		return err
	}

	// Backends: three HTTP servers that flap, two TCP echo servers.
	var web []*flapper
	for i := range 3 {
		f, err := newFlapper(fmt.Sprintf("s%d", i+1))
		if err != nil {
			return err
		}
		defer f.stop()
		web = append(web, f)
	}
	var echo []string
	for range 2 {
		a, closeEcho, err := echoServer()
		if err != nil {
			return err
		}
		defer closeEcho()
		echo = append(echo, a)
	}
	var ports [3]int
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return err
		}
	}
	httpPort, tcpPort, dbgPort := ports[0], ports[1], ports[2]
	sock := filepath.Join(dir, "admin.sock")
	file := filepath.Join(dir, "tandem.toml")
	config := func(i int) string {
		balance := []string{"roundrobin", "leastconn", "random"}[i%3]
		c := fmt.Sprintf(`
[global]
maxconn = 2000
admin_socket = %q
hard_stop_after = "10s"

[log]
target = "stderr"
traffic = false

[defaults]
timeout_connect = "1s"
timeout_client = "10s"
timeout_server = "10s"
retries = 3
redispatch = true

[[frontend]]
name = "web"
bind = ["127.0.0.1:%d"]
default_backend = "app"

[[backend]]
name = "app"
balance = %q
check = { type = "tcp", inter = "300ms", rise = 2, fall = 1 }
server = [
`, sock, httpPort, balance)
		for j, f := range web {
			c += fmt.Sprintf("  { name = \"s%d\", address = %q, check = true, weight = %d },\n", j+1, f.addr, 1+(i+j)%3)
		}
		c += fmt.Sprintf(`]

[[frontend]]
name = "tcp-in"
mode = "tcp"
bind = ["127.0.0.1:%d"]
default_backend = "echo"

[[backend]]
name = "echo"
mode = "tcp"
balance = "source"
server = [ { name = "e1", address = %q }, { name = "e2", address = %q } ]
`, tcpPort, echo[0], echo[1])
		return c
	}
	if err := os.WriteFile(file, []byte(config(0)), 0o644); err != nil {
		return err
	}
	var out lockedBuffer
	cmd := exec.Command(bin, "run", "-c", file)
	cmd.Env = append(os.Environ(), fmt.Sprintf("TANDEM_DEBUG_ADDR=127.0.0.1:%d", dbgPort))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	if err := waitUntil(10*time.Second, func() bool { return strings.Contains(out.String(), "tandem started") }); err != nil {
		return fmt.Errorf("tandem did not start: %w\n%s", err, out.String())
	}
	pid := cmd.Process.Pid
	dbg := fmt.Sprintf("http://127.0.0.1:%d/debug/tandem?gc=1", dbgPort)
	// Baseline once every server is UP and the checks are running.
	time.Sleep(2 * time.Second)
	before, err := debug(dbg)
	if err != nil {
		return err
	}
	fig := figures{Duration: dur, GoroutinesBefore: before.Goroutines, FDsBefore: before.FDs,
		RSSBeforeKiB: rss(pid), HeapBefore: before.HeapAlloc}
	fmt.Printf("soak: %v of mixed load, reloads every 3 s, server flaps every 4 s (tandem pid %d)\n", dur, pid)

	// Load.
	lctx, stopLoad := context.WithTimeout(ctx, dur)
	defer stopLoad()
	var httpOK, httpFail, tcpOK, tcpFail atomic.Int64
	var failMu sync.Mutex
	failed := func(format string, a ...any) {
		failMu.Lock()
		if len(fig.failures) < 20 {
			fig.failures = append(fig.failures, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, a...))
		}
		failMu.Unlock()
	}
	var wg sync.WaitGroup
	url := fmt.Sprintf("http://127.0.0.1:%d/", httpPort)
	for i := range 8 {
		wg.Go(func() {
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableKeepAlives: i%2 == 1}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 15 * time.Second}
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for lctx.Err() == nil {
				<-tick.C
				resp, err := c.Get(url + strconv.Itoa(i))
				if err != nil {
					httpFail.Add(1)
					failed("http: %v", err)
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					httpFail.Add(1)
					failed("http: status %d %v", resp.StatusCode, err)
					continue
				}
				httpOK.Add(1)
			}
		})
	}
	msg := bytes.Repeat([]byte("0123456789abcdef"), 64)
	for range 2 {
		wg.Go(func() {
			buf := make([]byte, len(msg))
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for lctx.Err() == nil {
				<-tick.C
				c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", tcpPort), 5*time.Second)
				if err != nil {
					tcpFail.Add(1)
					failed("tcp dial: %v", err)
					continue
				}
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_, err = c.Write(msg)
				if err == nil {
					_, err = io.ReadFull(c, buf)
				}
				c.Close()
				if err != nil || !bytes.Equal(buf, msg) {
					tcpFail.Add(1)
					failed("tcp: %v", err)
					continue
				}
				tcpOK.Add(1)
			}
		})
	}

	// Reloads and flaps until the load ends.
	reloadTick := time.NewTicker(3 * time.Second)
	flapTick := time.NewTicker(4 * time.Second)
	var reloadErr error
loop:
	for {
		select {
		case <-lctx.Done():
			break loop
		case <-exited:
			return fmt.Errorf("tandem exited during the soak:\n%s", tail(out.String(), 30))
		case <-reloadTick.C:
			fig.Reloads++
			cfg := config(fig.Reloads)
			invalid := fig.Reloads%4 == 0
			if invalid {
				fig.ReloadsInvalid++
				cfg += "\n[[backend]]\nname = \"app\"\n"
			}
			n := strings.Count(out.String(), "reloaded: ") + strings.Count(out.String(), "reload failed")
			if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
				return err
			}
			_ = cmd.Process.Signal(syscall.SIGHUP)
			if err := waitUntil(10*time.Second, func() bool {
				return strings.Count(out.String(), "reloaded: ")+strings.Count(out.String(), "reload failed") > n
			}); err != nil && reloadErr == nil {
				reloadErr = fmt.Errorf("reload %d did not finish: %w", fig.Reloads, err)
			}
		case <-flapTick.C:
			f := web[fig.Flaps%len(web)]
			fig.Flaps++
			f.flap(1500 * time.Millisecond)
		}
	}
	reloadTick.Stop()
	flapTick.Stop()
	wg.Wait()
	for _, f := range web {
		f.waitUp()
	}
	fig.HTTPOK, fig.HTTPFail, fig.TCPOK, fig.TCPFail = httpOK.Load(), httpFail.Load(), tcpOK.Load(), tcpFail.Load()

	// Settle: old generations drain, idle server connections age out (4 s).
	var after debugInfo
	settled := waitUntil(30*time.Second, func() bool {
		after, err = debug(dbg)
		return err == nil && after.Goroutines <= before.Goroutines+5 && after.FDs <= before.FDs+5
	})
	fig.GoroutinesAfter, fig.FDsAfter, fig.HeapAfter = after.Goroutines, after.FDs, after.HeapAlloc
	fig.RSSAfterKiB = rss(pid)
	fig.FrontendReq = statInt(bin, sock, "web", "FRONTEND", "req_tot")
	fig.FrontendTCP = statInt(bin, sock, "tcp-in", "FRONTEND", "stot")

	check := func(ok bool, format string, a ...any) {
		s := "PASS  "
		if !ok {
			s = "FAIL  "
		}
		fig.checks = append(fig.checks, s+fmt.Sprintf(format, a...))
	}
	check(reloadErr == nil, "every reload finished (%v)", reloadErr)
	check(fig.HTTPFail == 0, "HTTP requests failed: %d of %d", fig.HTTPFail, fig.HTTPOK+fig.HTTPFail)
	check(fig.TCPFail == 0, "TCP sessions failed: %d of %d", fig.TCPFail, fig.TCPOK+fig.TCPFail)
	check(settled == nil, "goroutines %d -> %d, open files %d -> %d (allowed +5)", fig.GoroutinesBefore, fig.GoroutinesAfter, fig.FDsBefore, fig.FDsAfter)
	check(fig.RSSAfterKiB <= 2*fig.RSSBeforeKiB+64<<10, "RSS %d KiB -> %d KiB (heap %d -> %d KiB)", fig.RSSBeforeKiB, fig.RSSAfterKiB, fig.HeapBefore>>10, fig.HeapAfter>>10)
	check(fig.FrontendReq == fig.HTTPOK+fig.HTTPFail, "frontend web req_tot %d = client HTTP requests %d", fig.FrontendReq, fig.HTTPOK+fig.HTTPFail)
	check(fig.FrontendTCP == fig.TCPOK+fig.TCPFail, "frontend tcp-in sessions %d = client TCP sessions %d", fig.FrontendTCP, fig.TCPOK+fig.TCPFail)
	valid := fig.Reloads - fig.ReloadsInvalid
	check(strings.Count(out.String(), "reloaded: ") == valid && strings.Count(out.String(), "reload failed") == fig.ReloadsInvalid,
		"reloads: %d done, %d invalid refused", valid, fig.ReloadsInvalid)

	fmt.Printf("soak: %d HTTP requests, %d TCP sessions, %d reloads (%d invalid), %d server flaps in %v\n",
		fig.HTTPOK+fig.HTTPFail, fig.TCPOK+fig.TCPFail, fig.Reloads, fig.ReloadsInvalid, fig.Flaps, dur)
	bad := 0
	for _, c := range fig.checks {
		fmt.Println(c)
		if strings.HasPrefix(c, "FAIL") {
			bad++
		}
	}
	for _, f := range fig.failures {
		fmt.Println("  failure:", f)
	}
	// SOAK_OUTPUT=FILE keeps tandem's whole output for a look afterwards.
	if path := os.Getenv("SOAK_OUTPUT"); path != "" {
		_ = os.WriteFile(path, []byte(out.String()), 0o644)
	}
	if bad > 0 {
		fmt.Println("--- tandem output (tail) ---")
		fmt.Println(tail(out.String(), 40))
		return fmt.Errorf("%d check(s) failed", bad)
	}
	return nil
}

// binary is $TANDEM_BIN or a fresh build of ./cmd/tandem.
func binary(dir string) (string, error) {
	if p := os.Getenv("TANDEM_BIN"); p != "" {
		return p, nil
	}
	p := filepath.Join(dir, "tandem")
	cmd := exec.Command("go", "build", "-o", p, "./cmd/tandem")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/tandem: %w\n%s", err, out)
	}
	return p, nil
}

// flapper is an HTTP server whose listener goes away and comes back; its
// in-flight requests always finish (graceful shutdown).
type flapper struct {
	name, addr string
	mu         sync.Mutex
	srv        *http.Server
	up         chan struct{}
}

func newFlapper(name string) (*flapper, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	f := &flapper{name: name, addr: fmt.Sprintf("127.0.0.1:%d", port), up: make(chan struct{})}
	if err := f.start(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *flapper) start() error {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s\n", f.name, r.URL.Path)
	})}
	f.mu.Lock()
	f.srv = srv
	close(f.up)
	f.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// flap shuts the server down gracefully and starts it again after down.
func (f *flapper) flap(down time.Duration) {
	f.mu.Lock()
	srv := f.srv
	if srv == nil {
		f.mu.Unlock()
		return
	}
	f.srv = nil
	f.up = make(chan struct{})
	f.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		time.Sleep(down)
		for f.start() != nil {
			time.Sleep(50 * time.Millisecond) // port not free yet: retry
		}
	}()
}

func (f *flapper) waitUp() {
	f.mu.Lock()
	up := f.up
	f.mu.Unlock()
	<-up
}

func (f *flapper) stop() {
	f.mu.Lock()
	srv := f.srv
	f.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// echoServer echoes each TCP connection until its peer closes.
func echoServer() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String(), func() { ln.Close() }, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

type debugInfo struct {
	Goroutines int    `json:"goroutines"`
	HeapAlloc  uint64 `json:"heap_alloc"`
	FDs        int    `json:"fds"`
}

func debug(url string) (debugInfo, error) {
	var d debugInfo
	resp, err := http.Get(url)
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&d)
	return d, err
}

func rss(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// statInt reads one `show stat` field through `tandem ctl`.
func statInt(bin, sock, px, sv, col string) int64 {
	out, err := exec.Command(bin, "ctl", "-s", sock, "show", "stat").Output()
	if err != nil {
		return -1
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	cols := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	idx := -1
	for i, c := range cols {
		if c == col {
			idx = i
		}
	}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) > idx && idx >= 0 && f[0] == px && f[1] == sv {
			n, _ := strconv.ParseInt(f[idx], 10, 64)
			return n
		}
	}
	return -1
}

func waitUntil(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

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
