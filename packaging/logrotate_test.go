package packaging

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hupEnv makes the test binary a stand-in for rsyslog: it writes "ready" to
// stdout, then counts SIGHUPs into the file the variable names until killed.
const hupEnv = "TANDEM_PACKAGING_HUP_FILE"

func TestMain(m *testing.M) {
	if f := os.Getenv(hupEnv); f != "" {
		os.Exit(hupReceiver(f))
	}
	code := m.Run()
	// The binaries built once for the whole run.
	for _, p := range []string{binPath, mkrpmPath} {
		if p != "" {
			os.RemoveAll(filepath.Dir(p))
		}
	}
	os.Exit(code)
}

func hupReceiver(file string) int {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGHUP)
	fmt.Println("ready")
	deadline := time.After(time.Minute) // never outlive the test by much
	for n := 1; ; n++ {
		select {
		case <-ch:
			if err := os.WriteFile(file, []byte(strconv.Itoa(n)), 0o644); err != nil {
				return 1
			}
		case <-deadline:
			return 0
		}
	}
}

// TestLogrotate runs logrotate on the shipped deploy/logrotate with its paths
// moved into a temporary directory: forced twice, it must rotate both logs,
// compress the older generation (delaycompress keeps .1 plain) and HUP the
// process named by the syslog pid file once per run.
func TestLogrotate(t *testing.T) {
	needPrograms(t, "logrotate", "gzip")
	if os.Geteuid() != 0 {
		t.Skip("skipping: logrotate refuses configurations not owned by the user running it; run as root")
	}
	t.Parallel()
	dir := t.TempDir()

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	hups := filepath.Join(dir, "hups")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rsyslog := exec.CommandContext(ctx, self, "-test.run=^$")
	rsyslog.Env = append(os.Environ(), hupEnv+"="+hups)
	stdout, err := rsyslog.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := rsyslog.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = rsyslog.Process.Kill()
		_ = rsyslog.Wait()
	})
	ready := make([]byte, 6)
	if _, err := io.ReadFull(stdout, ready); err != nil || string(ready) != "ready\n" {
		t.Fatalf("HUP receiver did not start: %q %v", ready, err)
	}
	pidFile := filepath.Join(dir, "syslogd.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(rsyslog.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	body, err := os.ReadFile("../deploy/logrotate")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.ReplaceAll(string(body), "/var/log/", dir+"/")
	pidRE := regexp.MustCompile(`/(var/)?run/[A-Za-z0-9_.-]+\.pid`)
	if !pidRE.MatchString(conf) {
		t.Fatal("deploy/logrotate names no syslog pid file to HUP")
	}
	conf = pidRE.ReplaceAllString(conf, pidFile)
	if strings.Contains(conf, "/var/") {
		t.Fatalf("deploy/logrotate has paths this test does not move:\n%s", conf)
	}
	confFile := filepath.Join(dir, "tandem.logrotate")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	logs := []string{"tandem.log", "tandem_warn.log"}
	write := func(gen int) {
		for _, l := range logs {
			if err := os.WriteFile(filepath.Join(dir, l), []byte(fmt.Sprintf("%s generation %d\n", l, gen)), 0o640); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitHUPs := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, _ := os.ReadFile(hups)
			if got, _ := strconv.Atoi(string(b)); got >= n {
				if got > n {
					t.Errorf("%d HUPs after %d runs; sharedscripts should make it one per run", got, n)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("postrotate sent no HUP to the syslog pid within 10s (have %q)", b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	write(1)
	run(t, "logrotate", "-f", "-s", state, confFile)
	waitHUPs(1)
	write(2)
	run(t, "logrotate", "-f", "-s", state, confFile)
	waitHUPs(2)

	for _, l := range logs {
		p := filepath.Join(dir, l)
		if b, err := os.ReadFile(p + ".1"); err != nil || string(b) != l+" generation 2\n" {
			t.Errorf("%s.1 = %q, %v; want generation 2, uncompressed (delaycompress)", l, b, err)
		}
		f, err := os.Open(p + ".2.gz")
		if err != nil {
			t.Errorf("older generation not compressed: %v", err)
			continue
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			t.Errorf("%s.2.gz: %v", l, err)
			continue
		}
		b, err := io.ReadAll(zr)
		f.Close()
		if err != nil || string(b) != l+" generation 1\n" {
			t.Errorf("%s.2.gz holds %q, %v; want generation 1", l, b, err)
		}
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s still exists after rotation; rsyslog recreates it after the HUP", l)
		}
	}
}
