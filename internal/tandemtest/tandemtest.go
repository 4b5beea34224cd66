// Package tandemtest starts the real tandem binary for end-to-end tests:
// it builds it once per test process (or takes $TANDEM_BIN, which `make
// test` sets), runs `tandem run` on a configuration, waits until it has
// started and stops it by PID when the test ends.
package tandemtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary returns the path of a tandem binary built from this checkout.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TANDEM_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tandem-bin-")
		if err != nil {
			buildErr = err
			return
		}
		root, err := repoRoot()
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "tandem")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/tandem")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/tandem: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test directory")
		}
		dir = parent
	}
}

// Proc is a running tandem.
type Proc struct {
	Cmd    *exec.Cmd
	Config string
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan struct{}
}

func (p *Proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// Output returns what the process wrote to stdout and stderr so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Start writes config to a file and runs `tandem run -c FILE` with extra
// environment entries. It waits until tandem logs that it started.
func Start(t testing.TB, config string, env ...string) *Proc {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "tandem.toml")
	config = withAdminSocket(config, filepath.Join(dir, "admin.sock"))
	if err := os.WriteFile(file, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return StartFile(t, file, env...)
}

// withAdminSocket gives a configuration without admin_socket its own socket
// path, so that parallel tests never share /run/tandem/admin.sock.
func withAdminSocket(config, path string) string {
	if strings.Contains(config, "admin_socket") {
		return config
	}
	line := fmt.Sprintf("admin_socket = %q\n", path)
	if i := strings.Index(config, "[global]\n"); i >= 0 {
		i += len("[global]\n")
		return config[:i] + line + config[i:]
	}
	return "[global]\n" + line + "\n" + config
}

// StartFile runs `tandem run -c file` and waits until it has started.
func StartFile(t testing.TB, file string, env ...string) *Proc {
	t.Helper()
	p := &Proc{Config: file, done: make(chan struct{})}
	p.Cmd = exec.Command(Binary(t), "run", "-c", file)
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.Stdout = p
	p.Cmd.Stderr = p
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.Cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.Stop(t) })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Output(), "tandem started") {
		if p.Exited() {
			t.Fatalf("tandem exited before starting:\n%s", p.Output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("tandem did not start within 10s:\n%s", p.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return p
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error {
	return p.Cmd.Process.Signal(sig)
}

// Stop sends SIGTERM, waits up to 10 s, then SIGKILL. It returns the exit
// code (-1 when killed).
func (p *Proc) Stop(t testing.TB) int {
	if !p.Exited() {
		_ = p.Cmd.Process.Signal(syscall.SIGTERM)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		select {
		case <-p.done:
		case <-ctx.Done():
			_ = p.Cmd.Process.Kill()
			<-p.done
			t.Errorf("tandem did not stop within 10s of SIGTERM:\n%s", p.Output())
		}
	}
	return p.Cmd.ProcessState.ExitCode()
}

// Wait waits for the process to end by itself and returns its exit code.
func (p *Proc) Wait(timeout time.Duration) (int, bool) {
	select {
	case <-p.done:
		return p.Cmd.ProcessState.ExitCode(), true
	case <-time.After(timeout):
		return 0, false
	}
}
