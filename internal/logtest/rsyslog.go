package logtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Rsyslog is a running rsyslogd fed by deploy/rsyslog.conf.
type Rsyslog struct {
	// Addr is the loopback UDP address it listens on, "127.0.0.1:PORT".
	Addr string
	// Target is Addr as tandem's [log] target, "udp://127.0.0.1:PORT".
	Target string
	// Log and WarnLog stand for /var/log/tandem.log and tandem_warn.log.
	Log, WarnLog string
	// Dir holds the files, the generated configuration and rsyslogd's output.
	Dir string
	PID int

	cmd    *exec.Cmd
	output string
}

const (
	deployConf  = "deploy/rsyslog.conf"
	readyWithin = 15 * time.Second
)

// FindRepoFile returns the path of rel (slash-separated, from the root of
// the tandem module), looking upwards from the working directory for the
// module's go.mod.
func FindRepoFile(t testing.TB, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("find %s: %v", rel, err)
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(mod, []byte("module github.com/tandemlb/tandem\n")) {
			return filepath.Join(dir, filepath.FromSlash(rel))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("find %s: no tandem go.mod above the working directory", rel)
		}
		dir = parent
	}
}

// LookPath finds a program in PATH or in the sbin directories, which a
// non-login root shell or CI may lack in PATH. It skips the test with a
// message naming the Debian package when the program is missing.
func LookPath(t testing.TB, prog, debianPackage string) string {
	t.Helper()
	if p, err := exec.LookPath(prog); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(d, prog)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Skipf("%s not found: install the Debian package %s (apt-get install -y %s)", prog, debianPackage, debianPackage)
	return ""
}

// StartRsyslog starts `rsyslogd -n` with deploy/rsyslog.conf, its UDP port
// replaced by a free loopback port and its /var/log files moved to a
// temporary directory, waits until it writes what it receives, and kills it
// when the test ends. It skips the test when rsyslogd is not installed.
func StartRsyslog(t testing.TB) *Rsyslog {
	t.Helper()
	bin := LookPath(t, "rsyslogd", "rsyslog")
	src, err := os.ReadFile(FindRepoFile(t, deployConf))
	if err != nil {
		t.Fatalf("read rsyslog config: %v", err)
	}
	var lastErr error
	// A port found free can be taken by someone else before rsyslogd
	// binds it; a second try with another port settles that.
	for range 3 {
		r, err := startRsyslog(t, bin, string(src))
		if err == nil {
			return r
		}
		lastErr = err
	}
	t.Fatalf("start rsyslogd: %v", lastErr)
	return nil
}

func startRsyslog(t testing.TB, bin, src string) (*Rsyslog, error) {
	dir := t.TempDir()
	port, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	r := &Rsyslog{
		Addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Log:     filepath.Join(dir, "tandem.log"),
		WarnLog: filepath.Join(dir, "tandem_warn.log"),
		Dir:     dir,
	}
	r.Target = "udp://" + r.Addr
	probe := filepath.Join(dir, "probe.log")
	conf, err := testConfig(src, port, dir, r.Log, r.WarnLog, probe)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, fmt.Errorf("write rsyslog config: %w", err)
	}
	r.output = filepath.Join(dir, "rsyslogd.out")
	out, err := os.Create(r.output)
	if err != nil {
		return nil, fmt.Errorf("create rsyslogd output file: %w", err)
	}
	defer out.Close()
	r.cmd = exec.Command(bin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = out, out
	// Its own process group: a signal sent to the test's group (Ctrl-C)
	// must not leave it half-stopped, Cleanup stops it.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	r.PID = r.cmd.Process.Pid
	t.Cleanup(r.stop)
	if err := r.waitReady(probe); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

// testConfig rewrites the deploy file for a test. Every rewrite must match
// exactly once, so a change to the deploy file's shape fails loudly here
// instead of silently testing something else.
func testConfig(src string, port int, dir, log, warnLog, probe string) (string, error) {
	for _, rw := range []struct{ old, new string }{
		{"$UDPServerRun 514\n", fmt.Sprintf("$UDPServerRun %d\n", port)},
		{" /var/log/tandem.log;", " " + log + ";"},
		{" /var/log/tandem_warn.log;", " " + warnLog + ";"},
		{"$UDPServerAddress 127.0.0.1\n", "$UDPServerAddress 127.0.0.1\n"},
	} {
		if n := strings.Count(src, rw.old); n != 1 {
			return "", fmt.Errorf("rewrite %s for a test: %q appears %d times, want once", deployConf, strings.TrimSpace(rw.old), n)
		}
		src = strings.Replace(src, rw.old, rw.new, 1)
	}
	// The readiness probe goes to its own file on local7 so that it never
	// shows up among the lines a test counts.
	head := fmt.Sprintf("# generated by internal/logtest from %s\n$WorkDirectory %s\nlocal7.* %s;RSYSLOG_TraditionalFileFormat\n& stop\n", deployConf, dir, probe)
	return head + src, nil
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free UDP port: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// waitReady sends probes until one is written, which proves that the input
// is bound and the rules are loaded.
func (r *Rsyslog) waitReady(probe string) error {
	c, err := net.Dial("udp", r.Addr)
	if err != nil {
		return fmt.Errorf("dial rsyslogd %s: %w", r.Addr, err)
	}
	defer c.Close()
	deadline := time.Now().Add(readyWithin)
	for time.Now().Before(deadline) {
		if r.exited() {
			return fmt.Errorf("rsyslogd exited early: %s", r.Output())
		}
		// local7.info, no timestamp: rsyslog stamps it on receipt.
		_, _ = c.Write([]byte("<190>logtest: probe"))
		if b, err := os.ReadFile(probe); err == nil && bytes.Contains(b, []byte("probe")) {
			return nil
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a wait for an event
	}
	return fmt.Errorf("rsyslogd on %s did not write a probe within %v: %s", r.Addr, readyWithin, r.Output())
}

func (r *Rsyslog) exited() bool {
	// Signal 0 checks the process is there; a zombie still answers, so
	// also look at its state.
	if err := r.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.PID))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// Output is what rsyslogd printed (errors about the configuration).
func (r *Rsyslog) Output() string {
	b, _ := os.ReadFile(r.output)
	return strings.TrimSpace(string(b))
}

// stop terminates rsyslogd by its PID, forcefully after a grace period.
func (r *Rsyslog) stop() {
	if r.cmd == nil || r.cmd.Process == nil || r.cmd.ProcessState != nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	timer := time.AfterFunc(5*time.Second, func() {
		select {
		case <-done:
		default:
			_ = r.cmd.Process.Kill()
		}
	})
	_ = r.cmd.Wait()
	close(done)
	timer.Stop()
}

// WaitForLine polls the file at path until a line containing substr
// appears, and returns that line. It fails the test after timeout.
func WaitForLine(t testing.TB, path, substr string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, l := range readLines(path) {
			if strings.Contains(l, substr) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line containing %q in %s after %v; file holds:\n%s", substr, path, timeout, strings.Join(readLines(path), "\n"))
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// WaitForLines polls the file at path until it holds at least n lines, and
// returns them. It fails the test after timeout.
func WaitForLines(t testing.TB, path string, n int, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		lines := readLines(path)
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d lines after %v, want %d:\n%s", path, len(lines), timeout, n, strings.Join(lines, "\n"))
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// Lines returns the lines of the file at path (none when it is absent).
func Lines(path string) []string { return readLines(path) }

func readLines(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return []string{"(" + err.Error() + ")"}
		}
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}
