package bench

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needPrograms skips the test when a program the script runs is missing.
func needPrograms(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs load for several seconds; skipped in -short")
	}
	if os.Getuid() != 0 {
		t.Skip("bench/run.sh pins processes and raises limits: run as root")
	}
	for prog, pkg := range map[string]string{"haproxy": "haproxy", "nginx": "nginx-light", "wrk": "wrk", "taskset": "util-linux", "bash": "bash", "go": "golang"} {
		if _, err := exec.LookPath(prog); err != nil {
			if _, err := os.Stat("/usr/sbin/" + prog); err == nil {
				continue
			}
			t.Skipf("%s not found: install the Debian package %s (make bench installs it)", prog, pkg)
		}
	}
}

// benchEnv is a short run: 1 s per measurement, one round, into dir.
// tandem takes part when TANDEM_BIN names a binary (make unit sets it).
func benchEnv(t *testing.T, dir string, extra ...string) (env []string, proxies []string) {
	t.Helper()
	proxies = []string{"haproxy"}
	env = append(os.Environ(),
		"BENCH_DURATION=1", "BENCH_WARMUP=0", "BENCH_ROUNDS=1", "BENCH_CONNS=20",
		"BENCH_IDLE=200", "BENCH_SCENARIOS=keepalive close",
		"BENCH_OUT="+filepath.Join(dir, "out"), "TMPDIR="+dir)
	if bin := os.Getenv("TANDEM_BIN"); bin != "" {
		if _, err := os.Stat(bin); err == nil {
			proxies = []string{"tandem", "haproxy"}
		}
	}
	env = append(env, "BENCH_PROXIES="+strings.Join(proxies, " "))
	return append(env, extra...), proxies
}

// leftovers lists processes whose command line mentions dir: anything the
// script started there (nginx, haproxy, tandem, wrk, idleconns) is one.
func leftovers(dir string) []string {
	var found []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte(dir)) {
			found = append(found, filepath.Base(filepath.Dir(p))+": "+string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
		}
	}
	return found
}

// noLeftovers fails the test if a process started under dir outlives the
// script by more than a short grace period.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := leftovers(dir)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left behind by run.sh:\n%s", strings.Join(left, "\n"))
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

func TestRunReportsEveryFigure(t *testing.T) {
	needPrograms(t)
	dir := t.TempDir()
	env, proxies := benchEnv(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "run.sh")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	noLeftovers(t, dir)
	if err != nil {
		t.Fatalf("run.sh: %v\n%s", err, out)
	}
	results, err := os.ReadFile(filepath.Join(dir, "out", "results.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// Every measurement is there and succeeded.
	for _, p := range proxies {
		for _, s := range []string{"keepalive", "close"} {
			if !bytes.Contains(results, []byte(" "+s+" "+p+" ok ")) {
				t.Errorf("results.txt has no successful %s measurement for %s:\n%s\noutput:\n%s", s, p, results, out)
			}
		}
		if !bytes.Contains(results, []byte(" "+p+" ok ")) {
			t.Errorf("results.txt has no idle-connection figure for %s", p)
		}
	}
	// The table has a number in every HAProxy cell, and tandem's and the
	// ratio when tandem ran. A row reads: scenario, label, tandem, haproxy, ratio.
	table := string(out[bytes.LastIndex(out, []byte("tandem vs HAProxy: medians")):])
	rows := 0
	for _, line := range strings.Split(table, "\n")[1:] { // after the title
		for _, label := range []string{"requests/s", "p99 latency ms", "CPU us/request", "RSS MiB", "KiB/idle conn (200)"} {
			i := strings.Index(line, label)
			if i < 0 {
				continue
			}
			rows++
			f := strings.Fields(line[i+len(label):])
			if len(f) < 3 {
				t.Errorf("short table row %q", line)
				continue
			}
			if f[1] == "-" || (len(proxies) == 2 && (f[0] == "-" || f[2] == "-")) {
				t.Errorf("table row with a missing figure: %q", line)
			}
		}
	}
	if want := 2*4 + 1; rows != want {
		t.Errorf("table has %d figure rows, want %d:\n%s", rows, want, table)
	}
}

func TestInterruptStopsEverything(t *testing.T) {
	needPrograms(t)
	dir := t.TempDir()
	env, _ := benchEnv(t, dir, "BENCH_DURATION=20", "BENCH_IDLE=0", "BENCH_SCENARIOS=keepalive")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "run.sh")
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until wrk is running (its script lives in the bench's temp dir).
	deadline := time.Now().Add(30 * time.Second)
	for {
		wrk := false
		for _, l := range leftovers(dir) {
			if strings.Contains(l, "wrk ") && strings.Contains(l, "report.lua") {
				wrk = true
			}
		}
		if wrk {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("wrk never started:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := cmd.Wait()
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("run.sh took %v to stop after SIGINT", took)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("run.sh after SIGINT: %v, want exit status 130\n%s", err, out.String())
	}
	noLeftovers(t, dir)
	if left, _ := filepath.Glob(filepath.Join(dir, "tandem-bench.*")); len(left) != 0 {
		t.Errorf("temporary directory left behind: %v", left)
	}
}
