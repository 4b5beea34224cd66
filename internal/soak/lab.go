package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The VRRP lab: TEST-NET addresses only, inside namespaces the soak makes.
const labLink = "eth1"

var (
	labAddrs = map[string]netip.Prefix{
		"lb1":    netip.MustParsePrefix("192.0.2.11/24"),
		"lb2":    netip.MustParsePrefix("192.0.2.12/24"),
		"web":    netip.MustParsePrefix("192.0.2.21/24"),
		"client": netip.MustParsePrefix("192.0.2.200/24"),
	}
	labVIP    = netip.MustParsePrefix("192.0.2.100/24")
	labOrder  = []string{"lb1", "lb2", "web", "client"}
	errNoRoot = errors.New("not root")
)

// labAvailable says why the VRRP lab cannot be built here, or nil.
func labAvailable() error {
	if os.Getenv("SOAK_VRRP") == "0" {
		return errors.New("SOAK_VRRP=0")
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: network namespaces need root", errNoRoot)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("iproute2's ip is missing (apt-get install iproute2)")
	}
	return nil
}

// lab is a bridge namespace and one namespace per host on it.
type lab struct {
	id    string
	sw    string
	hosts map[string]*nsHost
	made  []string // namespaces created, deleted in reverse by close
}

// nsHost is one namespace of the lab. Sockets are made in it by a
// goroutine locked to a thread that entered the namespace (a socket's
// namespace is fixed when it is created); everything else about them runs
// on ordinary goroutines.
type nsHost struct {
	name string
	ns   string
	addr netip.Prefix
	reqs chan chan sockResult
	done chan struct{}
	stop sync.Once
}

type sockResult struct {
	fd  int
	err error
}

func newLab() (l *lab, err error) {
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("lab id: %w", err)
	}
	id := "tsoak" + hex.EncodeToString(rnd[:])
	l = &lab{id: id, sw: id + "-sw", hosts: map[string]*nsHost{}}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	if err := l.addNS(l.sw); err != nil {
		return nil, err
	}
	if err := ipCmd("-n", l.sw, "link", "add", "br0", "type", "bridge", "forward_delay", "0", "mcast_snooping", "0"); err != nil {
		return nil, err
	}
	if err := ipCmd("-n", l.sw, "link", "set", "br0", "up"); err != nil {
		return nil, err
	}
	for i, name := range labOrder {
		h := &nsHost{name: name, ns: id + "-" + name, addr: labAddrs[name]}
		if err := l.addNS(h.ns); err != nil {
			return nil, err
		}
		port := "p" + strconv.Itoa(i)
		for _, s := range [][]string{
			{"-n", l.sw, "link", "add", port, "type", "veth", "peer", "name", labLink, "netns", h.ns},
			{"-n", l.sw, "link", "set", port, "master", "br0", "up"},
			{"-n", h.ns, "link", "set", "lo", "up"},
			{"-n", h.ns, "addr", "add", h.addr.String(), "dev", labLink},
			{"-n", h.ns, "link", "set", labLink, "up"},
		} {
			if err := ipCmd(s...); err != nil {
				return nil, err
			}
		}
		if err := h.startSocketMaker(); err != nil {
			return nil, err
		}
		l.hosts[name] = h
	}
	// The client takes the new master's gratuitous ARP even for an entry
	// it does not have yet.
	if err := ipCmd("netns", "exec", l.hosts["client"].ns, "sysctl", "-qw", "net.ipv4.conf.eth1.arp_accept=1"); err != nil {
		return nil, err
	}
	// Wait for the links (veth carrier, bridge forwarding) to come up.
	err = waitUntil(10*time.Second, func() bool {
		c, err := l.hosts["client"].dialer(time.Second).Dial("tcp4", "192.0.2.21:9")
		if c != nil {
			c.Close()
		}
		var se syscall.Errno
		return err == nil || errors.As(err, &se) && se == syscall.ECONNREFUSED
	})
	if err != nil {
		return nil, fmt.Errorf("lab links did not come up: %w", err)
	}
	return l, nil
}

func (l *lab) addNS(ns string) error {
	l.made = append(l.made, ns) // before: a half-made namespace is still removed
	return ipCmd("netns", "add", ns)
}

// close kills every process still in the lab's namespaces (by PID, as
// `ip netns pids` lists them) and deletes the namespaces.
func (l *lab) close() error {
	for _, h := range l.hosts {
		if h.done != nil {
			h.stop.Do(func() { close(h.done) })
		}
	}
	var errs []error
	for i := len(l.made) - 1; i >= 0; i-- {
		ns := l.made[i]
		if !strings.HasPrefix(ns, l.id+"-") {
			continue
		}
		killNamespace(ns)
		if err := ipCmd("netns", "del", ns); err != nil && !strings.Contains(err.Error(), "No such file") {
			errs = append(errs, err)
		}
	}
	l.made = nil
	return errors.Join(errs...)
}

// killNamespace SIGKILLs every process in namespace ns and waits (up to
// 5 s) until none is left, so that `ip netns del` frees its devices.
func killNamespace(ns string) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := exec.Command("ip", "netns", "pids", ns).Output()
		if err != nil {
			return
		}
		pids := strings.Fields(string(out))
		if len(pids) == 0 || time.Now().After(deadline) {
			return
		}
		for _, s := range pids {
			if pid, err := strconv.Atoi(s); err == nil && pid > 1 && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(20 * time.Millisecond) // poll: the kernel reaps them
	}
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// startSocketMaker starts the goroutine that makes TCP sockets in h's
// namespace. Its thread never leaves the namespace and is never given
// back to the scheduler: it ends with the goroutine (close).
func (h *nsHost) startSocketMaker() error {
	f, err := netns.GetFromName(h.ns)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", h.ns, err)
	}
	h.reqs, h.done = make(chan chan sockResult), make(chan struct{})
	started := make(chan error, 1)
	go func(reqs chan chan sockResult, done chan struct{}) {
		defer f.Close()
		runtime.LockOSThread() // never unlocked: the thread dies with us
		if err := netns.Set(f); err != nil {
			started <- fmt.Errorf("enter namespace %s: %w", h.ns, err)
			return
		}
		started <- nil
		for {
			var r chan sockResult
			select {
			case r = <-reqs:
			case <-done:
				return
			}
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			if err == nil {
				err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			}
			r <- sockResult{fd, err}
		}
	}(h.reqs, h.done)
	return <-started
}

// control puts a socket made in h's namespace in place of the one Go
// made, before Go binds or connects it (net.Dialer / net.ListenConfig
// Control).
func (h *nsHost) control(network, _ string, c syscall.RawConn) error {
	if network != "tcp4" {
		return fmt.Errorf("%s: only tcp4 sockets are made in the lab, not %s", h.name, network)
	}
	r := make(chan sockResult, 1)
	select {
	case h.reqs <- r:
	case <-h.done:
		return fmt.Errorf("%s: the lab is closed", h.name)
	}
	res := <-r
	if res.err != nil {
		return fmt.Errorf("%s: make a socket: %w", h.name, res.err)
	}
	defer unix.Close(res.fd)
	var err error
	if cerr := c.Control(func(fd uintptr) { err = unix.Dup3(res.fd, int(fd), unix.O_CLOEXEC) }); cerr != nil {
		return cerr
	}
	if err != nil {
		return fmt.Errorf("%s: use the namespace's socket: %w", h.name, err)
	}
	return nil
}

// dialer dials from h's namespace (network "tcp4" only).
func (h *nsHost) dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: h.control}
}

// dialContext is an http.Transport DialContext from h's namespace.
func (h *nsHost) dialContext(ctx context.Context, _, addr string) (net.Conn, error) {
	return h.dialer(5*time.Second).DialContext(ctx, "tcp4", addr)
}

// listen listens on addr in h's namespace.
func (h *nsHost) listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: h.control}
	return lc.Listen(context.Background(), "tcp4", addr)
}

// hasAddr reports whether a is on h's lab link.
func (h *nsHost) hasAddr(a netip.Addr) bool {
	out, err := exec.Command("ip", "-n", h.ns, "-o", "addr", "show", "dev", labLink).Output()
	return err == nil && bytes.Contains(out, []byte(" "+a.String()+"/"))
}
