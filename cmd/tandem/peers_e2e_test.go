package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemlb/tandem/internal/tandemtest"
)

// ctlTry runs `tandem ctl -s sock args...` and returns its output and error.
func ctlTry(t *testing.T, sock string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(tandemtest.Binary(t), append([]string{"ctl", "-s", sock}, args...)...).CombinedOutput()
	return string(out), err
}

// waitCtl polls a ctl command until its output contains want.
func waitCtl(t *testing.T, sock, want string, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := ctlTry(t, sock, args...)
		if strings.Contains(out, want) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("ctl %s: no %q within 5s:\n%s", strings.Join(args, " "), want, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPeersThroughCtl: two nodes on loopback joined by [peers]: `show
// peers` reports the link, an operator's drain on one reaches the other,
// `--local` keeps a change on one node, and `ctl reload` applies a new
// file.
func TestPeersThroughCtl(t *testing.T) {
	t.Parallel()
	s := startBackend(t, "app", "s1")
	p1, p2 := freePort(t), freePort(t)
	dir := t.TempDir()
	node := func(local, peer string, bind, peerPort int) (*tandemtest.Proc, string) {
		sock := filepath.Join(dir, local+".sock")
		return tandemtest.Start(t, fmt.Sprintf(`
[global]
admin_socket = %q

[log]
target = "stderr"
traffic = false

[[frontend]]
name = "web"
bind = ["127.0.0.1:%d"]
default_backend = "app"

[[backend]]
name = "app"
server = [ { name = "s1", address = %q }, { name = "s2", address = %q } ]

[peers]
local = %q
bind = "127.0.0.1:%d"
peer = { name = %q, address = "127.0.0.1:%d" }
secret = "a-long-shared-secret"
`, sock, freePort(t), s.Addr.String(), s.Addr.String(), local, bind, peer, peerPort)), sock
	}
	_, sock1 := node("lb1", "lb2", p1, p2)
	tp2, sock2 := node("lb2", "lb1", p2, p1)

	// The two frontends bind different loopback ports, so the digests
	// differ in exactly that section: drift detection at work.
	out := waitCtl(t, sock1, "link: UP", "show peers")
	if !strings.Contains(out, "config_digest: DIFFERS in: frontend web\n") && !strings.HasSuffix(out, "config_digest: DIFFERS in: frontend web\n\n") {
		t.Errorf("show peers on lb1:\n%s", out)
	}

	ctl(t, sock1, "set", "server", "app/s1", "state", "drain")
	deadline := time.Now().Add(2 * time.Second)
	for statRow(t, sock2, "app", "s1")["status"] != "DRAIN" {
		if time.Now().After(deadline) {
			t.Fatalf("lb2 app/s1 status %q 2s after a drain on lb1", statRow(t, sock2, "app", "s1")["status"])
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctl(t, sock1, "set", "server", "app/s2", "weight", "5", "--local")
	ctl(t, sock1, "set", "server", "app/s1", "state", "ready") // replicated, after the local change
	deadline = time.Now().Add(2 * time.Second)
	for statRow(t, sock2, "app", "s1")["status"] == "DRAIN" {
		if time.Now().After(deadline) {
			t.Fatal("lb2 app/s1 still DRAIN 2s after ready on lb1")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out := ctl(t, sock2, "get", "weight", "app/s2"); !strings.HasPrefix(out, "1 (initial 1)") {
		t.Errorf("a --local weight reached lb2: %q", out)
	}
	if out := ctl(t, sock1, "get", "weight", "app/s2"); !strings.HasPrefix(out, "5 (initial 1)") {
		t.Errorf("lb1 weight after --local: %q", out)
	}
	if out := ctl(t, sock2, "reload"); !strings.Contains(out, "Reload done") {
		t.Errorf("ctl reload: %q", out)
	}
	// The log line may reach the test's pipe after the reply.
	waitFor(t, "lb2 to log the reload", 5*time.Second, func() bool { return strings.Contains(tp2.Output(), "reload") })
}
