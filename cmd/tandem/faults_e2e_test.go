package main

import (
	"bufio"
	"encoding/json"
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
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tandemlb/tandem/internal/tandemtest"
)

// rawBackend answers by path with the faults net/http cannot produce:
//
//	/midreset     head for 100000 bytes, 10 of them, then RST
//	/stall-body   head for 100 bytes, 5 of them, then nothing
//	/stall        accepts the request, never answers
//	/garbage      bytes that are not HTTP
//	/close-hdr    complete head for 100 bytes, then close
//	/big          a 64 MiB body (more than socket buffers hold)
//	anything else 200 "ok"
const bigSize = 64 << 20

func rawBackend(t *testing.T) (string, *atomic.Int64) {
	var requests atomic.Int64
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	chunk := []byte(strings.Repeat("x", 64<<10))
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					requests.Add(1)
					switch req.URL.Path {
					case "/midreset":
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n0123456789")
						time.Sleep(50 * time.Millisecond) // let the head reach the client first
						c.(*net.TCPConn).SetLinger(0)
						return
					case "/stall-body":
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello")
						io.Copy(io.Discard, c)
						return
					case "/stall":
						io.Copy(io.Discard, c)
						return
					case "/garbage":
						io.WriteString(c, "SSH-2.0-OpenSSH\r\n\r\n")
						return
					case "/close-hdr":
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
						return
					case "/big":
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(bigSize)+"\r\n\r\n")
						for range bigSize / len(chunk) {
							if _, err := c.Write(chunk); err != nil {
								return
							}
						}
					default:
						io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
					}
				}
			})
		}
	})
	return ln.Addr().String(), &requests
}

// debugInfo reads tandem's /debug/tandem (TANDEM_DEBUG_ADDR).
func readDebug(t *testing.T, addr string) debugInfo {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/debug/tandem?gc=1")
	if err != nil {
		t.Fatalf("debug endpoint: %v", err)
	}
	defer resp.Body.Close()
	var d debugInfo
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatalf("debug endpoint: %v", err)
	}
	return d
}

// rssKiB is VmRSS of pid.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no VmRSS")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// cpuTicks is utime+stime of pid in clock ticks.
func cpuTicks(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.Atoi(f[11])
	s, _ := strconv.Atoi(f[12])
	return u + s
}

func faultConfig(port int, backend string, maxconn int) string {
	return fmt.Sprintf(`
[global]
maxconn = %d

[log]
target = "stderr"

[[frontend]]
name = "web"
bind = ["127.0.0.1:%d"]
default_backend = "app"
timeout_client = "1500ms"
timeout_http_request = "1s"

[[backend]]
name = "app"
timeout_connect = "1s"
timeout_server = "500ms"
retries = 0
server = [ { name = "s1", address = %q } ]
`, maxconn, port, backend)
}

// TestFaultsEndToEnd: each backend and client fault yields its status and
// termination code within its timeout, and leaves no goroutine behind.
func TestFaultsEndToEnd(t *testing.T) {
	t.Parallel()
	port, dbg := freePort(t), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	be, _ := rawBackend(t)
	tp := tandemtest.Start(t, faultConfig(port, be, 1000), "TANDEM_DEBUG_ADDR="+dbg)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	baseline := readDebug(t, dbg)

	tests := []struct {
		name     string
		send     string        // raw request bytes
		status   int           // 0: no complete response
		term     string        // termination code in the log line
		min, max time.Duration // when tandem ends the exchange
		slowRead bool          // the client never reads
	}{
		{"server stalls before answering", "GET /stall HTTP/1.1\r\nHost: x\r\n\r\n", 504, " sH-- ", 450 * time.Millisecond, 2 * time.Second, false},
		{"server stalls in the body", "GET /stall-body HTTP/1.1\r\nHost: x\r\n\r\n", 0, " sD-- ", 450 * time.Millisecond, 2 * time.Second, false},
		{"server resets mid-response", "GET /midreset HTTP/1.1\r\nHost: x\r\n\r\n", 0, " SD-- ", 0, time.Second, false},
		{"server answers garbage", "GET /garbage HTTP/1.1\r\nHost: x\r\n\r\n", 502, " PH-- ", 0, time.Second, false},
		{"server closes after the head", "GET /close-hdr HTTP/1.1\r\nHost: x\r\n\r\n", 0, " SD-- ", 0, time.Second, false},
		{"slowloris client", "GET /slow HTTP/1.1\r\nHost: x\r\n", 408, " cR-- ", 850 * time.Millisecond, 3 * time.Second, false},
		{"client never reads a large body", "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 0, " cD-- ", 1350 * time.Millisecond, 4 * time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.slowRead {
				_ = c.(*net.TCPConn).SetReadBuffer(4096)
			}
			start := time.Now()
			if _, err := io.WriteString(c, tc.send); err != nil {
				t.Fatal(err)
			}
			var ended time.Duration
			if tc.slowRead {
				// Read nothing: wait for the log line, which comes when
				// tandem gives up writing.
				waitFor(t, "log line", 5*time.Second, func() bool { return strings.Contains(tp.Output(), tc.term) })
				ended = time.Since(start)
			} else {
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				status := 0
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil {
						status = resp.StatusCode
					}
				}
				ended = time.Since(start)
				if status != tc.status {
					t.Errorf("status %d (err %v), want %d", status, err, tc.status)
				}
			}
			if ended < tc.min || ended > tc.max {
				t.Errorf("ended after %v, want within [%v, %v]", ended, tc.min, tc.max)
			}
			path := strings.Fields(tc.send)[1]
			waitFor(t, "log line "+tc.term, 5*time.Second, func() bool {
				for _, l := range strings.Split(tp.Output(), "\n") {
					if strings.Contains(l, tc.term) && (strings.Contains(l, path) || strings.Contains(l, "<BADREQ>")) {
						return true
					}
				}
				return false
			})
		})
	}
	// Nothing wedged: every goroutine of the exchanges has ended.
	waitFor(t, "goroutines back to baseline", 5*time.Second, func() bool {
		return readDebug(t, dbg).Goroutines <= baseline.Goroutines+2
	})
	if d := readDebug(t, dbg); d.FDs > baseline.FDs+2 {
		t.Errorf("open files %d after the faults, %d before", d.FDs, baseline.FDs)
	}
}

// TestFDExhaustion: with the open-file limit lowered under tandem's feet,
// accept fails with EMFILE; tandem backs off (little CPU), logs about
// once a second, and serves the waiting connections once files are
// available again.
func TestFDExhaustion(t *testing.T) {
	t.Parallel()
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit is not installed (Debian package util-linux)")
	}
	port := freePort(t)
	be, _ := rawBackend(t)
	tp := tandemtest.Start(t, faultConfig(port, be, 100))
	pid := tp.Cmd.Process.Pid
	// No new file can be opened (fds 0-2 are taken): accept fails at once.
	limit := 3
	if out, err := exec.Command(prlimit, "--pid", strconv.Itoa(pid), fmt.Sprintf("--nofile=%d:%d", limit, 20000)).CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v: %s", err, out)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 10 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial refused while out of files: %v", err)
		}
		_, _ = io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		conns = append(conns, c)
	}
	waitFor(t, "accept failure logged", 5*time.Second, func() bool { return strings.Contains(tp.Output(), "accept failed") })
	cpu0, t0 := cpuTicks(t, pid), time.Now()
	logs0 := strings.Count(tp.Output(), "accept failed")
	time.Sleep(2 * time.Second) // a fixed window to measure CPU and log lines over
	cpu := cpuTicks(t, pid) - cpu0
	logs := strings.Count(tp.Output(), "accept failed") - logs0
	el := time.Since(t0)
	if cpu > 40 { // 0.4 s of CPU (100 ticks/s) in 2 s: spinning
		t.Errorf("tandem used %d CPU ticks in %v while out of files: not backing off", cpu, el)
	}
	if logs > 3 {
		t.Errorf("%d accept-failure lines in %v, want about one a second", logs, el)
	}
	if out, err := exec.Command(prlimit, "--pid", strconv.Itoa(pid), "--nofile=20000:20000").CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v: %s", err, out)
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 200") {
			t.Errorf("connection %d after files came back: %v %.40q\n%s", i, err, b, tailLines(tp.Output(), 5))
		}
	}
}

// TestMemoryBounded: RSS stays within a bound with 10,000 idle client
// connections, and with 300 clients that never read a large response.
func TestMemoryBounded(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	be, requests := rawBackend(t)
	// 10,000 connections, or as many as the hard open-file limit allows
	// tandem (maxconn*2+64) where it cannot be raised.
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	idle := min(10000, (int(lim.Max)-64)/2-100)
	cfg := strings.Replace(faultConfig(port, be, idle+50), `timeout_client = "1500ms"`, `timeout_client = "20s"`, 1)
	cfg = strings.Replace(cfg, `timeout_http_request = "1s"`, `timeout_http_request = "20s"`, 1)
	cfg = strings.Replace(cfg, `timeout_server = "500ms"`, `timeout_server = "20s"`, 1)
	dir := t.TempDir()
	file := filepath.Join(dir, "tandem.toml")
	if err := os.WriteFile(file, []byte(strings.Replace(cfg, "[global]\n", "[global]\nadmin_socket = \""+filepath.Join(dir, "a.sock")+"\"\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	tp := tandemtest.StartFile(t, file)
	pid := tp.Cmd.Process.Pid
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	base := rssKiB(t, pid)

	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range idle {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	waitFor(t, "every connection accepted", 20*time.Second, func() bool {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		return len(fds) >= idle
	})
	perConn := float64(rssKiB(t, pid)-base) / float64(idle)
	t.Logf("%d idle connections: %.1f KiB per connection (RSS %d KiB before)", idle, perConn, base)
	if perConn > 32 {
		t.Errorf("%.1f KiB per idle connection, want at most 32 (one 16 KiB buffer and a goroutine)", perConn)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = conns[:0]

	before := rssKiB(t, pid)
	const slow = 300
	for i := range slow {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("slow client %d: %v", i, err)
		}
		_ = c.(*net.TCPConn).SetReadBuffer(4096)
		_, _ = io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
		conns = append(conns, c)
	}
	waitFor(t, "slow clients' requests forwarded", 10*time.Second, func() bool { return requests.Load() >= slow })
	grow := rssKiB(t, pid) - before
	t.Logf("%d slow readers: RSS grew %d KiB", slow, grow)
	if grow > slow*128 {
		t.Errorf("RSS grew %d KiB for %d slow readers, want at most %d (buffers, not bodies)", grow, slow, slow*128)
	}
}
