package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// node is one tandem process: on loopback, or in a lab namespace.
type node struct {
	name      string
	host      *nsHost // nil on loopback
	bin       string
	file      string // its configuration
	sock      string // admin socket
	dbgPort   int
	dbgURL    string
	dbg       *http.Client
	out       lockedBuffer
	cmd       *exec.Cmd
	exited    chan struct{}
	pid       int
	reloadErr error

	before, after             debugInfo
	rssBeforeKiB, rssAfterKiB int
}

func newNode(name string, host *nsHost, bin, dir string, dbgPort int) *node {
	n := &node{name: name, host: host, bin: bin,
		file:    filepath.Join(dir, name+".toml"),
		sock:    filepath.Join(dir, name+".sock"),
		dbgPort: dbgPort,
		dbgURL:  fmt.Sprintf("http://127.0.0.1:%d/debug/tandem?gc=1", dbgPort),
		dbg:     &http.Client{Timeout: 10 * time.Second},
	}
	if host != nil {
		n.dbg.Transport = &http.Transport{DialContext: host.dialContext, DisableKeepAlives: true}
	}
	return n
}

// start runs `tandem run` with cfg in a process group of its own, so that
// Ctrl-C at the terminal reaches the soak only, which stops it in order.
func (n *node) start(cfg string) error {
	if err := os.WriteFile(n.file, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("%s: write configuration: %w", n.name, err)
	}
	args := []string{n.bin, "run", "-c", n.file}
	if n.host != nil {
		args = append([]string{"ip", "netns", "exec", n.host.ns}, args...) // execs tandem: same PID
	}
	n.cmd = exec.Command(args[0], args[1:]...)
	n.cmd.Env = append(os.Environ(), fmt.Sprintf("TANDEM_DEBUG_ADDR=127.0.0.1:%d", n.dbgPort))
	n.cmd.Stdout, n.cmd.Stderr = &n.out, &n.out
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("%s: start tandem: %w", n.name, err)
	}
	n.pid = n.cmd.Process.Pid
	n.exited = make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(n.exited) }()
	if err := waitUntil(10*time.Second, func() bool { return strings.Contains(n.out.String(), "tandem started") }); err != nil {
		return fmt.Errorf("%s: tandem did not start: %w\n%s", n.name, err, tail(n.out.String(), 30))
	}
	return nil
}

// stop sends SIGTERM and waits up to 15 s, then SIGKILLs (by PID).
func (n *node) stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(15 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

func (n *node) reloads() (done, failed int) {
	s := n.out.String()
	return strings.Count(s, "reloaded: "), strings.Count(s, "reload failed")
}

// reload writes cfg and sends SIGHUP, then waits for tandem to say it
// reloaded or refused.
func (n *node) reload(cfg string) {
	d, f := n.reloads()
	if err := os.WriteFile(n.file, []byte(cfg), 0o644); err != nil {
		n.reloadErr = errors.Join(n.reloadErr, fmt.Errorf("%s: write configuration: %w", n.name, err))
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGHUP)
	if err := waitUntil(10*time.Second, func() bool { d2, f2 := n.reloads(); return d2+f2 > d+f }); err != nil && n.reloadErr == nil {
		n.reloadErr = fmt.Errorf("%s: reload did not finish: %w", n.name, err)
	}
}

func (n *node) debug() (debugInfo, error) {
	var d debugInfo
	resp, err := n.dbg.Get(n.dbgURL)
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	err = json.NewDecoder(resp.Body).Decode(&d)
	return d, err
}

func (n *node) rss() int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.pid))
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	v, _ := strconv.Atoi(string(m[1]))
	return v
}

// ctl runs `tandem ctl` against the node's admin socket (a Unix socket in
// the file system: reachable from any network namespace).
func (n *node) ctl(args ...string) (string, error) {
	out, err := exec.Command(n.bin, append([]string{"ctl", "-s", n.sock}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: tandem ctl %s: %w: %s", n.name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// stat reads one `show stat` field.
func (n *node) stat(px, sv, col string) int64 {
	out, err := n.ctl("show", "stat")
	if err != nil {
		return -1
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
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
			v, _ := strconv.ParseInt(f[idx], 10, 64)
			return v
		}
	}
	return -1
}

type debugInfo struct {
	Goroutines int    `json:"goroutines"`
	HeapAlloc  uint64 `json:"heap_alloc"`
	FDs        int    `json:"fds"`
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
