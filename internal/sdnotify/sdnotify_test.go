package sdnotify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// listen opens a datagram socket standing in for systemd's.
func listen(t *testing.T, addr string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func receive(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("read notification: %v", err)
	}
	return string(buf[:n])
}

func TestMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		send func(*Notifier) error
		want string
	}{
		{"ready", func(n *Notifier) error { return n.Ready("") }, "READY=1"},
		{"ready with status", func(n *Notifier) error { return n.Ready("2 frontends, VRRP VI_1 backup") }, "READY=1\nSTATUS=2 frontends, VRRP VI_1 backup"},
		{"reloading", (*Notifier).Reloading, "RELOADING=1"},
		{"stopping", (*Notifier).Stopping, "STOPPING=1"},
		{"status", func(n *Notifier) error { return n.Status("draining") }, "STATUS=draining"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, kind := range []string{"path", "abstract"} {
				addr := filepath.Join(t.TempDir(), "notify")
				if kind == "abstract" {
					addr = fmt.Sprintf("@tandem-sdnotify-test-%d-%s", os.Getpid(), strings.ReplaceAll(tt.name, " ", "-"))
				}
				c := listen(t, addr)
				n := New(addr)
				if !n.Enabled() {
					t.Fatal("Enabled() = false with a socket")
				}
				if err := tt.send(n); err != nil {
					t.Fatalf("%s socket: %v", kind, err)
				}
				if diff := cmp.Diff(tt.want, receive(t, c)); diff != "" {
					t.Errorf("%s socket: datagram (-want +got):\n%s", kind, diff)
				}
			}
		})
	}
}

func TestDisabled(t *testing.T) {
	t.Parallel()
	n := New("")
	if n.Enabled() {
		t.Error("Enabled() = true without a socket")
	}
	for _, err := range []error{n.Ready("x"), n.Reloading(), n.Stopping(), n.Status("x")} {
		if err != nil {
			t.Errorf("disabled notifier returned %v", err)
		}
	}
}

func TestFromEnv(t *testing.T) {
	addr := filepath.Join(t.TempDir(), "notify")
	c := listen(t, addr)
	t.Setenv("NOTIFY_SOCKET", addr)
	if err := FromEnv().Ready(""); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c); got != "READY=1" {
		t.Errorf("datagram %q, want READY=1", got)
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		addr    string
		assign  []string
		wantErr string
	}{
		{"no listener", filepath.Join(t.TempDir(), "absent"), []string{"READY=1"}, `notify systemd "READY=1"`},
		{"newline", "/unused", []string{"STATUS=a\nREADY=1"}, "malformed assignment"},
		{"no equals", "/unused", []string{"READY"}, "malformed assignment"},
	}
	for _, tt := range tests {
		err := New(tt.addr).Notify(tt.assign...)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}
