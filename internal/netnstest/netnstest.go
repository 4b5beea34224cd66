package netnstest

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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Link is the name of the lab interface in every host, as in the Vagrant boxes.
const Link = "eth1"

// Addresses of DESIGN.md's lab hosts (all /24 in 192.0.2.0/24).
var Addresses = map[string]netip.Prefix{
	"lb1":    netip.MustParsePrefix("192.0.2.11/24"),
	"lb2":    netip.MustParsePrefix("192.0.2.12/24"),
	"web1":   netip.MustParsePrefix("192.0.2.21/24"),
	"web2":   netip.MustParsePrefix("192.0.2.22/24"),
	"client": netip.MustParsePrefix("192.0.2.200/24"),
}

// VIP is the lab's virtual address.
var VIP = netip.MustParsePrefix("192.0.2.100/24")

// Lab is a set of hosts on one bridged link.
type Lab struct {
	id    string
	sw    string // namespace holding the bridge
	hosts map[string]*Host
}

// Host is one namespace of the lab.
type Host struct {
	Name string       // "lb1"
	NS   string       // namespace name, unique per lab
	Addr netip.Prefix // address of eth1
	MAC  net.HardwareAddr

	nsh    netns.NsHandle
	handle *netlink.Handle
}

// Available reports why labs cannot be built here, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("network namespace tests need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("network namespace tests need iproute2's ip")
	}
	return nil
}

// New builds a lab with the named hosts, which must be keys of Addresses.
// It skips the test when namespaces cannot be made.
func New(t testing.TB, names ...string) *Lab {
	t.Helper()
	if err := Available(); err != nil {
		t.Skip(err)
	}
	var rnd [3]byte
	rand.Read(rnd[:])
	l := &Lab{id: "tnd" + hex.EncodeToString(rnd[:]), hosts: make(map[string]*Host)}
	l.sw = l.id + "-sw"
	if out, err := exec.Command("ip", "netns", "add", l.sw).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(l.destroy)
	must := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("netnstest: ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	must("-n", l.sw, "link", "add", "br0", "type", "bridge", "forward_delay", "0", "mcast_snooping", "0")
	must("-n", l.sw, "link", "set", "br0", "up")
	for i, name := range names {
		addr, ok := Addresses[name]
		if !ok {
			t.Fatalf("netnstest: unknown lab host %q", name)
		}
		h := &Host{Name: name, NS: l.id + "-" + name, Addr: addr}
		l.hosts[name] = h
		must("netns", "add", h.NS)
		port := fmt.Sprintf("p%d", i)
		must("-n", l.sw, "link", "add", port, "type", "veth", "peer", "name", Link, "netns", h.NS)
		must("-n", l.sw, "link", "set", port, "master", "br0", "up")
		must("-n", h.NS, "link", "set", "lo", "up")
		must("-n", h.NS, "addr", "add", addr.String(), "dev", Link)
		must("-n", h.NS, "link", "set", Link, "up")
		var err error
		if h.nsh, err = netns.GetFromName(h.NS); err != nil {
			t.Fatalf("netnstest: open namespace %s: %v", h.NS, err)
		}
		if h.handle, err = netlink.NewHandleAt(h.nsh); err != nil {
			t.Fatalf("netnstest: netlink handle in %s: %v", h.NS, err)
		}
		link, err := h.handle.LinkByName(Link)
		if err != nil {
			t.Fatalf("netnstest: find %s in %s: %v", Link, h.NS, err)
		}
		h.MAC = link.Attrs().HardwareAddr
	}
	return l
}

func (l *Lab) destroy() {
	for _, h := range l.hosts {
		if h.handle != nil {
			h.handle.Close()
		}
		if h.nsh.IsOpen() {
			h.nsh.Close()
		}
		exec.Command("ip", "netns", "del", h.NS).Run()
	}
	exec.Command("ip", "netns", "del", l.sw).Run()
}

// Host returns the named host (nil if the lab has none).
func (l *Lab) Host(name string) *Host { return l.hosts[name] }

// Command returns a command that runs inside h's namespace.
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// CommandContext is Command with a context that kills it.
func (h *Host) CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Run runs a command in h's namespace and returns its combined output.
func (h *Host) Run(name string, args ...string) (string, error) {
	out, err := h.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %s %s: %w: %s", h.Name, name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// Sysctl sets key (e.g. "net.ipv4.conf.eth1.arp_accept") in h's namespace.
func (h *Host) Sysctl(key, value string) error {
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	_, err := h.Run("sh", "-c", `echo "$1" > "$2"`, "sh", value, path)
	return err
}

// HasAddr reports whether a is configured on h's eth1.
func (h *Host) HasAddr(a netip.Addr) (bool, error) {
	link, err := h.handle.LinkByName(Link)
	if err != nil {
		return false, fmt.Errorf("%s: find %s: %w", h.Name, Link, err)
	}
	addrs, err := h.handle.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return false, fmt.Errorf("%s: list addresses: %w", h.Name, err)
	}
	return slices.ContainsFunc(addrs, func(x netlink.Addr) bool {
		ip, _ := netip.AddrFromSlice(x.IP)
		return ip.Unmap() == a
	}), nil
}

// Neighbor returns the MAC address h's neighbour table has for a on eth1
// (nil when there is no usable entry).
func (h *Host) Neighbor(a netip.Addr) (net.HardwareAddr, error) {
	link, err := h.handle.LinkByName(Link)
	if err != nil {
		return nil, fmt.Errorf("%s: find %s: %w", h.Name, Link, err)
	}
	neighs, err := h.handle.NeighList(link.Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("%s: list neighbours: %w", h.Name, err)
	}
	for _, n := range neighs {
		ip, _ := netip.AddrFromSlice(n.IP)
		if ip.Unmap() == a && len(n.HardwareAddr) > 0 && n.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE) == 0 {
			return n.HardwareAddr, nil
		}
	}
	return nil, nil
}

// SetLinkUp brings h's eth1 up or down (a cut cable).
func (h *Host) SetLinkUp(up bool) error {
	link, err := h.handle.LinkByName(Link)
	if err != nil {
		return fmt.Errorf("%s: find %s: %w", h.Name, Link, err)
	}
	if up {
		err = h.handle.LinkSetUp(link)
	} else {
		err = h.handle.LinkSetDown(link)
	}
	if err != nil {
		return fmt.Errorf("%s: set %s up=%v: %w", h.Name, Link, up, err)
	}
	return nil
}

// Start starts cmd and registers its kill (by PID) and wait in t.Cleanup.
// The returned function kills it earlier with the given signal and waits.
func Start(t testing.TB, cmd *exec.Cmd) (stop func(sig os.Signal) error) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("netnstest: start %v: %v", cmd.Args, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var exited bool
	var exitErr error
	stop = func(sig os.Signal) error {
		if exited {
			return exitErr
		}
		cmd.Process.Signal(sig)
		select {
		case exitErr = <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			exitErr = <-done
		}
		exited = true
		return exitErr
	}
	t.Cleanup(func() { stop(os.Kill) })
	return stop
}
