package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Link is the lab interface in every host, as eth1 in the Vagrant boxes.
const Link = "eth1"

// The lab of DESIGN.md ("Lab addresses").
var (
	HostAddrs = map[string]netip.Prefix{
		"lb1":    netip.MustParsePrefix("192.0.2.11/24"),
		"lb2":    netip.MustParsePrefix("192.0.2.12/24"),
		"web1":   netip.MustParsePrefix("192.0.2.21/24"),
		"web2":   netip.MustParsePrefix("192.0.2.22/24"),
		"client": netip.MustParsePrefix("192.0.2.200/24"),
	}
	VIP = netip.MustParsePrefix("192.0.2.100/24")
)

// hostOrder is the order hosts are created in (and listed).
var hostOrder = []string{"lb1", "lb2", "web1", "web2", "client"}

// Available reports why a lab cannot be built here, or nil.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("the demo builds network namespaces and needs root (sudo make demo)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return errors.New("the demo needs iproute2's ip (apt-get install iproute2 / yum install iproute)")
	}
	return nil
}

// Lab is a set of namespaces on one bridged link, plus the processes
// started in them. Its state is written to Dir/lab.json so that a lab left
// up (-keep) can be removed later with Down.
type Lab struct {
	ID  string // prefix of every namespace name, random per lab
	Dir string // logs, configurations, lab.json

	sw    string
	hosts map[string]*Host
	order []*Host

	mu    sync.Mutex
	procs []*Proc
}

// Host is one namespace of the lab.
type Host struct {
	Name string
	NS   string
	Addr netip.Prefix

	lab    *Lab
	nsh    netns.NsHandle
	handle *netlink.Handle
}

// state is lab.json.
type state struct {
	ID         string   `json:"id"`
	Namespaces []string `json:"namespaces"`
}

// NewLab builds the lab in a new directory under parent (os.TempDir when
// empty). On error everything built so far is removed.
func NewLab(parent string) (l *Lab, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("lab id: %w", err)
	}
	id := "tdm" + hex.EncodeToString(rnd[:])
	if parent == "" {
		parent = os.TempDir()
	}
	dir := filepath.Join(parent, "tandem-demo-"+id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create lab directory: %w", err)
	}
	l = &Lab{ID: id, Dir: dir, sw: id + "-sw", hosts: make(map[string]*Host)}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	// The namespaces are recorded before they exist, so that a failure
	// half-way (or a kill) still leaves a complete list for Down.
	st := state{ID: id, Namespaces: []string{l.sw}}
	for _, n := range hostOrder {
		st.Namespaces = append(st.Namespaces, id+"-"+n)
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "lab.json"), b, 0o644); err != nil {
		return nil, fmt.Errorf("write lab state: %w", err)
	}
	if err := ip("netns", "add", l.sw); err != nil {
		return nil, err
	}
	if err := ip("-n", l.sw, "link", "add", "br0", "type", "bridge", "forward_delay", "0", "mcast_snooping", "0"); err != nil {
		return nil, err
	}
	if err := ip("-n", l.sw, "link", "set", "br0", "up"); err != nil {
		return nil, err
	}
	for i, name := range hostOrder {
		h := &Host{Name: name, NS: id + "-" + name, Addr: HostAddrs[name], lab: l}
		if err := ip("netns", "add", h.NS); err != nil {
			return nil, err
		}
		l.hosts[name] = h
		l.order = append(l.order, h)
		port := "p" + strconv.Itoa(i)
		steps := [][]string{
			{"-n", l.sw, "link", "add", port, "type", "veth", "peer", "name", Link, "netns", h.NS},
			{"-n", l.sw, "link", "set", port, "master", "br0", "up"},
			{"-n", h.NS, "link", "set", "lo", "up"},
			{"-n", h.NS, "addr", "add", h.Addr.String(), "dev", Link},
			{"-n", h.NS, "link", "set", Link, "up"},
		}
		for _, s := range steps {
			if err := ip(s...); err != nil {
				return nil, err
			}
		}
		if h.nsh, err = netns.GetFromName(h.NS); err != nil {
			return nil, fmt.Errorf("open namespace %s: %w", h.NS, err)
		}
		if h.handle, err = netlink.NewHandleAt(h.nsh); err != nil {
			return nil, fmt.Errorf("netlink handle in %s: %w", h.NS, err)
		}
	}
	// The backends answer ARP for their own address only, and the client
	// takes the new master's gratuitous ARP even for a new entry.
	if err := l.hosts["client"].Sysctl("net.ipv4.conf.eth1.arp_accept", "1"); err != nil {
		return nil, err
	}
	return l, nil
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Host returns the named host (nil if there is none).
func (l *Lab) Host(name string) *Host { return l.hosts[name] }

// Hosts returns the hosts in creation order.
func (l *Lab) Hosts() []*Host { return l.order }

// Close stops every process the lab started (SIGTERM, then SIGKILL after
// 5 s), kills whatever else still runs in its namespaces, deletes them and
// the lab directory's state file. The directory with the logs stays:
// RemoveDir removes it.
func (l *Lab) Close() error {
	l.mu.Lock()
	procs := slices.Clone(l.procs)
	l.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Stop(syscall.SIGTERM, 5*time.Second)
		}()
	}
	wg.Wait()
	for _, h := range l.order {
		if h.handle != nil {
			h.handle.Close()
		}
		if h.nsh.IsOpen() {
			h.nsh.Close()
		}
	}
	err := Down(l.Dir)
	return err
}

// RemoveDir removes the lab directory (logs, configurations) after Close.
func (l *Lab) RemoveDir() error {
	if !strings.Contains(filepath.Base(l.Dir), "tandem-demo-tdm") {
		return fmt.Errorf("refusing to remove %s: not a lab directory", l.Dir)
	}
	return os.RemoveAll(l.Dir)
}

// Detach forgets the lab's processes without stopping them, for -keep:
// they keep running after this process exits and Down removes them.
func (l *Lab) Detach() {
	l.mu.Lock()
	l.procs = nil
	l.mu.Unlock()
	for _, h := range l.order {
		if h.handle != nil {
			h.handle.Close()
			h.handle = nil
		}
		if h.nsh.IsOpen() {
			h.nsh.Close()
		}
	}
}

// Down removes a lab from its directory's lab.json: every process running
// in one of its namespaces is killed (by PID, as listed by `ip netns pids`),
// then the namespaces are deleted. A lab already gone is not an error.
func Down(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "lab.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read lab state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("read lab state %s: %w", filepath.Join(dir, "lab.json"), err)
	}
	if !strings.HasPrefix(st.ID, "tdm") {
		return fmt.Errorf("%s: not a demo lab (id %q)", dir, st.ID)
	}
	existing := map[string]bool{}
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 0 {
				existing[f[0]] = true
			}
		}
	}
	var errs []error
	for _, ns := range st.Namespaces {
		if !existing[ns] || !strings.HasPrefix(ns, st.ID+"-") {
			continue
		}
		killNamespace(ns)
	}
	for _, ns := range st.Namespaces {
		if !existing[ns] || !strings.HasPrefix(ns, st.ID+"-") {
			continue
		}
		if err := ip("netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.Remove(filepath.Join(dir, "lab.json"))
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

// Sysctl sets key (e.g. "net.ipv4.conf.eth1.arp_accept") in h's namespace.
func (h *Host) Sysctl(key, value string) error {
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	out, err := exec.Command("ip", "netns", "exec", h.NS, "sh", "-c", `echo "$1" > "$2"`, "sh", value, path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: sysctl %s=%s: %w: %s", h.Name, key, value, err, bytes.TrimSpace(out))
	}
	return nil
}

// Command returns a command running name in h's namespace. `ip netns exec`
// execs the program itself, so the process's PID is the program's.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Run runs a command in h's namespace and returns its combined output.
func (h *Host) Run(ctx context.Context, name string, args ...string) (string, error) {
	out, err := h.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %s %s: %w: %s", h.Name, name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// HasAddr reports whether a is configured on h's eth1.
func (h *Host) HasAddr(a netip.Addr) (bool, error) {
	if h.handle == nil {
		return false, fmt.Errorf("%s: lab detached", h.Name)
	}
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

// Proc is a long-running program in a namespace (tandem, demoweb). Its
// output goes to a log file in the lab directory.
type Proc struct {
	Name string // "tandem@lb1"
	Log  string // file with its stdout and stderr
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts name with args in h's namespace, its output appended to
// logFile. It runs in a process group of its own so that Ctrl-C at the
// terminal reaches the demo, which then stops it in order.
func (h *Host) Start(label, logFile, name string, args ...string) (*Proc, error) {
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log for %s: %w", label, err)
	}
	defer f.Close()
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", label, err)
	}
	p := &Proc{Name: label, Log: logFile, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	h.lab.mu.Lock()
	h.lab.procs = append(h.lab.procs, p)
	h.lab.mu.Unlock()
	return p, nil
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig unless the process has ended.
func (p *Proc) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", p.Name, err)
	}
	return nil
}

// Stop sends sig and waits up to grace for the end, then SIGKILLs.
func (p *Proc) Stop(sig syscall.Signal, grace time.Duration) error {
	_ = p.Signal(sig)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return nil
}

// Wait waits up to d for the process to end.
func (p *Proc) Wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		return false
	}
}

// Output returns the process's log file so far.
func (p *Proc) Output() string {
	f, err := os.Open(p.Log)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b)
}
