package demo

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tandemlb/tandem/internal/tandemtest"
)

var (
	buildDir  string
	buildOnce = map[string]*sync.Once{"./cmd/demoweb": {}, "./vagrant/demo/cmd/demo": {}}
	built     sync.Map // pkg -> path or error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tandem-demo-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := 0
	func() {
		defer os.RemoveAll(dir)
		code = m.Run()
	}()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// goBuild builds pkg (relative to the repository root) once per test run.
func goBuild(t *testing.T, pkg string) string {
	t.Helper()
	buildOnce[pkg].Do(func() {
		out := filepath.Join(buildDir, filepath.Base(pkg))
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			built.Store(pkg, fmt.Errorf("go build %s: %v\n%s", pkg, err, b))
			return
		}
		built.Store(pkg, out)
	})
	v, _ := built.Load(pkg)
	if err, ok := v.(error); ok {
		t.Fatal(err)
	}
	return v.(string)
}

// newDemo builds a lab and a Demo on it, removed when the test ends (and
// checks that the namespaces are really gone).
func newDemo(t *testing.T) *Demo {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	seed := readSeed(t)
	tandem := tandemtest.Binary(t)
	demoweb := goBuild(t, "./cmd/demoweb")
	lab, err := NewLab(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d := &Demo{Lab: lab, Tandem: tandem, Demoweb: demoweb, Seed: seed}
	if testing.Verbose() {
		d.Out = tlog{t}
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range []string{"lb1", "lb2"} {
				t.Logf("%s log (tail):\n%s", n, tail(d.logSince(n, 0), 30))
			}
		}
		d.Stop()
		if err := lab.Close(); err != nil {
			t.Errorf("remove lab: %v", err)
		}
		if left := namespacesWithPrefix(t, lab.ID); len(left) > 0 {
			t.Errorf("namespaces left behind: %v", left)
		}
	})
	return d
}

type tlog struct{ t *testing.T }

func (l tlog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func namespacesWithPrefix(t *testing.T, id string) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("ip netns list: %v", err)
	}
	var left []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], id+"-") {
			left = append(left, f[0])
		}
	}
	return left
}

// TestWalkthrough is `make demo` as a test: every step of the seed
// article must pass. A step whose feature tandem rejects as not built yet
// is skipped saying so; once the feature is built, the step runs and must
// pass.
func TestWalkthrough(t *testing.T) {
	t.Parallel()
	d := newDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	if err := d.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range d.Steps() {
		if !t.Run(s.Name, func(t *testing.T) {
			r := d.RunStep(ctx, s)
			switch {
			case r.NotBuilt:
				t.Skipf("expected: %s; seen: %s", r.Expected, r.Seen)
			case !r.Pass:
				t.Errorf("expected: %s\nseen: %s", r.Expected, r.Seen)
			default:
				t.Logf("seen: %s", r.Seen)
			}
		}) {
			// Later steps build on this one's state.
			t.Fatalf("step %q failed; the walkthrough stops here", s.Name)
		}
	}
}

// The real tandem binary with the seed's configuration pairs with
// keepalived (as on a half-migrated pair): keepalived backs up tandem,
// takes over on a crash and on a graceful stop, and gives the VIP back
// when tandem returns. The VRRP layer alone is tested against keepalived
// in vrrp/netns_test.go; this is the whole program.
func TestMixedPairWithKeepalived(t *testing.T) {
	t.Parallel()
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("keepalived is not installed (Debian package keepalived)")
	}
	d := newDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := d.prepare(ctx); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`global_defs {
  router_id lb2
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth1
  virtual_router_id 51
  priority 100
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass tandem1
  }
  virtual_ipaddress {
    %s
  }
}
`, VIP)
	dir := d.Lab.Dir
	cf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lab.Host("lb2").Start("keepalived@lb2", filepath.Join(dir, "lb2.log"), ka,
		"-n", "-l", "-D", "-f", cf, "-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid")); err != nil {
		t.Fatal(err)
	}
	if err := d.startLB(ctx, "lb1"); err != nil {
		t.Fatal(err)
	}
	if err := d.waitVIP(ctx, "lb1", 10*time.Second); err != nil {
		t.Fatal(err)
	}

	moves := []struct {
		what   string
		act    func() error
		to     string
		stale  string
		within time.Duration
	}{
		{"tandem crash (SIGKILL) -> keepalived", func() error { return d.lbs["lb1"].Stop(syscall.SIGKILL, 5*time.Second) }, "lb2", "lb1", crashMax},
		{"tandem back -> preempts keepalived", func() error { return d.startLB(ctx, "lb1") }, "lb1", "", 10 * time.Second},
		{"tandem graceful stop (SIGTERM) -> keepalived", func() error { return d.lbs["lb1"].Stop(syscall.SIGTERM, 5*time.Second) }, "lb2", "", plannedMax},
	}
	for _, m := range moves {
		start := time.Now()
		if err := m.act(); err != nil {
			t.Fatalf("%s: %v", m.what, err)
		}
		for !d.holdsOnly(m.to, m.stale) {
			if time.Since(start) > m.within {
				t.Fatalf("%s: VIP held by %v after %v, want %s", m.what, d.holder(), m.within, m.to)
			}
			pause(ctx, 10*time.Millisecond)
		}
		t.Logf("%s: VIP on %s after %v", m.what, m.to, time.Since(start).Round(10*time.Millisecond))
	}
}

// Ctrl-C during `make demo` removes the lab: the demo binary is
// interrupted once it is walking through the steps, exits 130 and leaves
// no namespace behind.
func TestInterruptCleansUp(t *testing.T) {
	t.Parallel()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	bin := goBuild(t, "./vagrant/demo/cmd/demo")
	cmd := exec.Command(bin, "-tandem", tandemtest.Binary(t), "-demoweb", goBuild(t, "./cmd/demoweb"),
		"-seed", seedPath, "-dir", t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	nsRE := regexp.MustCompile(`namespace (tdm[0-9a-f]{6})-`)
	id := ""
	timeout := time.After(30 * time.Second)
	var seen []string
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo ended before its first step:\n%s\n%s", strings.Join(seen, "\n"), stderr.String())
			}
			seen = append(seen, l)
			if m := nsRE.FindStringSubmatch(l); m != nil {
				id = m[1]
			}
			if strings.HasPrefix(l, "== [1/") {
				break wait
			}
		case <-timeout:
			_ = cmd.Process.Kill()
			t.Fatalf("demo did not reach its first step within 30s:\n%s", strings.Join(seen, "\n"))
		}
	}
	if id == "" {
		t.Fatalf("no lab id in the demo's output:\n%s", strings.Join(seen, "\n"))
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range lines {
		}
	}()
	select {
	case err := <-done:
		if code := cmd.ProcessState.ExitCode(); code != 130 {
			t.Errorf("exit code %d (%v), want 130 after Ctrl-C; stderr:\n%s", code, err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("demo did not stop within 20s of SIGINT")
	}
	if left := namespacesWithPrefix(t, id); len(left) > 0 {
		t.Errorf("namespaces left after Ctrl-C: %v", left)
		for _, ns := range left {
			killNamespace(ns)
			_ = ip("netns", "del", ns)
		}
	}
}

// A lab left up with -keep is removed by Down from its directory alone:
// the processes in its namespaces and the namespaces.
func TestDetachAndDown(t *testing.T) {
	t.Parallel()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	lab, err := NewLab(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := lab.Host("web1").Start("sleep@web1", filepath.Join(lab.Dir, "sleep.log"), "sleep", "60")
	if err != nil {
		lab.Close()
		t.Fatal(err)
	}
	lab.Detach()
	if p.Exited() {
		t.Fatal("process ended on Detach")
	}
	if err := Down(lab.Dir); err != nil {
		t.Fatal(err)
	}
	if !p.Wait(5 * time.Second) {
		t.Error("process still running after Down")
		_ = p.Stop(syscall.SIGKILL, time.Second)
	}
	if left := namespacesWithPrefix(t, lab.ID); len(left) > 0 {
		t.Errorf("namespaces left after Down: %v", left)
	}
	if err := Down(lab.Dir); err != nil {
		t.Errorf("second Down: %v, want nil (already gone)", err)
	}
}
