package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// Notifier sends state changes to one notification socket.
type Notifier struct {
	addr string // "" when not run by systemd
}

// FromEnv returns a Notifier for $NOTIFY_SOCKET. The variable is left in
// the environment: tandem notifies again on every reload, and programs it
// starts (VRRP notify scripts) are not in the unit's main PID, so systemd
// ignores them under the default NotifyAccess=main anyway.
func FromEnv() *Notifier {
	return New(os.Getenv("NOTIFY_SOCKET"))
}

// New returns a Notifier for the socket at addr: a path, or "@name" for an
// abstract socket. An empty addr gives a Notifier that does nothing.
func New(addr string) *Notifier {
	return &Notifier{addr: addr}
}

// Enabled reports whether there is a socket to notify.
func (n *Notifier) Enabled() bool { return n.addr != "" }

// Ready says start-up (or a reload) is complete: listeners bound, VRRP
// running. status, when not empty, is shown by `systemctl status`.
func (n *Notifier) Ready(status string) error {
	if status == "" {
		return n.Notify("READY=1")
	}
	return n.Notify("READY=1", "STATUS="+status)
}

// Reloading says a reload has started; Ready ends it.
func (n *Notifier) Reloading() error { return n.Notify("RELOADING=1") }

// Stopping says shutdown has started (VIP hand-over, connection drain).
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1") }

// Status sets the free-form status line `systemctl status` shows.
func (n *Notifier) Status(status string) error { return n.Notify("STATUS=" + status) }

// Notify sends the given NAME=value assignments in one datagram. Values
// must not contain newlines.
func (n *Notifier) Notify(assignments ...string) error {
	if n.addr == "" {
		return nil
	}
	for _, a := range assignments {
		if !strings.Contains(a, "=") || strings.Contains(a, "\n") {
			return fmt.Errorf("notify systemd: malformed assignment %q", a)
		}
	}
	msg := strings.Join(assignments, "\n")
	// net maps a leading '@' to the abstract namespace.
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify systemd %q: %w", msg, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		return fmt.Errorf("notify systemd %q: %w", msg, err)
	}
	return nil
}
