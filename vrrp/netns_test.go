package vrrp_test

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tandemlb/tandem/internal/netnstest"
)

// The network-namespace tests run the real driver (vrrpd, a tiny main over
// this package) and real keepalived on DESIGN.md's lab, and measure
// failover by polling which namespace holds the VIP every 10 ms.

var (
	vrrpdOnce sync.Once
	vrrpdPath string
	vrrpdErr  error
	vrrpdDir  string
)

func vrrpd(t *testing.T) string {
	t.Helper()
	vrrpdOnce.Do(func() {
		vrrpdDir, vrrpdErr = os.MkdirTemp("", "vrrpd")
		if vrrpdErr != nil {
			return
		}
		vrrpdPath = filepath.Join(vrrpdDir, "vrrpd")
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = "/usr/local/go/bin/go" // where the Makefile's toolchain lives
		}
		out, err := exec.Command(gobin, "build", "-o", vrrpdPath, "./internal/vrrpd").CombinedOutput()
		if err != nil {
			vrrpdErr = fmt.Errorf("go build vrrpd: %v: %s", err, out)
		}
	})
	if vrrpdErr != nil {
		t.Fatal(vrrpdErr)
	}
	return vrrpdPath
}

// daemon is a VRRP speaker in one namespace.
type daemon struct {
	name string
	host *netnstest.Host
	cmd  *exec.Cmd
	out  *syncBuffer
	stop func(os.Signal) error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func run(t *testing.T, name string, h *netnstest.Host, prog string, args ...string) *daemon {
	t.Helper()
	d := &daemon{name: name, host: h, out: &syncBuffer{}}
	d.cmd = h.Command(prog, args...)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.stop = netnstest.Start(t, d.cmd)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s on %s output:\n%s", name, h.Name, d.out.String())
		}
	})
	return d
}

func startTandem(t *testing.T, h *netnstest.Host, prio int, extra ...string) *daemon {
	t.Helper()
	return run(t, "tandem", h, vrrpd(t), append([]string{"-prio", strconv.Itoa(prio)}, extra...)...)
}

type kaOpts struct {
	prio    int
	auth    string
	version int
	advert  string
	unicast string // unicast_src_ip and unicast_peer lines
}

func startKeepalived(t *testing.T, h *netnstest.Host, o kaOpts) *daemon {
	t.Helper()
	ka, err := exec.LookPath("keepalived")
	if err != nil {
		t.Skip("keepalived is not installed (Debian package keepalived)")
	}
	dir := t.TempDir()
	auth := ""
	if o.auth != "" {
		auth = fmt.Sprintf("  authentication {\n    auth_type PASS\n    auth_pass %s\n  }\n", o.auth)
	}
	if o.version == 0 {
		o.version = 2
	}
	if o.advert == "" {
		o.advert = "1"
	}
	conf := fmt.Sprintf(`global_defs {
  router_id %s
  vrrp_version %d
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth1
  virtual_router_id 51
  priority %d
  advert_int %s
%s%s  virtual_ipaddress {
    %s
  }
}
`, h.Name, o.version, o.prio, o.advert, auth, o.unicast, netnstest.VIP)
	cf := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	vrrpPid := filepath.Join(dir, "vrrp.pid")
	d := run(t, "keepalived", h, ka, "-n", "-l", "-D", "-f", cf,
		"-p", filepath.Join(dir, "keepalived.pid"), "-r", vrrpPid)
	// If the parent was SIGKILLed, its VRRP child lives on: kill it by PID.
	t.Cleanup(func() {
		b, err := os.ReadFile(vrrpPid)
		if err != nil {
			return
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 1 {
			return
		}
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "keepalived" {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		// Keepalived leaves its VIP behind when killed; the namespace goes anyway.
	})
	// Runs first (cleanups are LIFO): a graceful stop also ends the child.
	t.Cleanup(func() { d.stop(syscall.SIGTERM) })
	return d
}

// holding polls lb1 and lb2 every 10 ms.
type holding struct {
	t       *testing.T
	lab     *netnstest.Lab
	vip     netip.Addr
	a, b    *netnstest.Host
	staleOK map[*netnstest.Host]bool // a crashed holder's leftover VIP is not a dual master
}

type transfer struct {
	took    time.Duration // from start until only `to` holds the VIP
	overlap time.Duration // time both held it
	gap     time.Duration // time nobody held it (client loss)
}

// waitFor polls until `to` holds the VIP and the other does not (or the
// other is a crashed node in staleOK), at most within.
func (h *holding) waitFor(to *netnstest.Host, within time.Duration) transfer {
	h.t.Helper()
	return h.waitFrom(time.Now(), to, within)
}

// waitFrom is waitFor timed from start (when the failure was caused).
func (h *holding) waitFrom(start time.Time, to *netnstest.Host, within time.Duration) transfer {
	h.t.Helper()
	other := h.a
	if to == h.a {
		other = h.b
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var tr transfer
	last := start
	for {
		now := time.Now()
		hasTo, err := to.HasAddr(h.vip)
		if err != nil {
			h.t.Fatal(err)
		}
		hasOther, err := other.HasAddr(h.vip)
		if err != nil {
			h.t.Fatal(err)
		}
		if h.staleOK[other] {
			hasOther = false
		}
		switch {
		case hasTo && hasOther:
			tr.overlap += now.Sub(last)
		case !hasTo && !hasOther:
			tr.gap += now.Sub(last)
		}
		last = now
		if hasTo && !hasOther {
			tr.took = now.Sub(start)
			return tr
		}
		if now.Sub(start) > within {
			h.t.Fatalf("%s did not take the VIP alone within %v (it holds: %v, %s holds: %v)", to.Name, within, hasTo, other.Name, hasOther)
		}
		<-tick.C
	}
}

// stays checks that `who` keeps the VIP alone for d.
func (h *holding) stays(who *netnstest.Host, d time.Duration) {
	h.t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
		for _, x := range []*netnstest.Host{h.a, h.b} {
			has, err := x.HasAddr(h.vip)
			if err != nil {
				h.t.Fatal(err)
			}
			if has != (x == who) {
				h.t.Fatalf("%s holds the VIP: %v, want only %s to hold it", x.Name, has, who.Name)
			}
		}
	}
}

func (h *holding) neighborIs(mac net.HardwareAddr, within time.Duration) {
	h.t.Helper()
	client := h.lab.Host("client")
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		got, err := client.Neighbor(h.vip)
		if err != nil {
			h.t.Fatal(err)
		}
		if bytes.Equal(got, mac) {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("client's neighbour entry for %v = %v, want %v (gratuitous ARP)", h.vip, got, mac)
		}
		<-tick.C
	}
}

func newLab(t *testing.T) (*netnstest.Lab, *holding) {
	t.Helper()
	lab := netnstest.New(t, "lb1", "lb2", "client")
	client := lab.Host("client")
	// Let gratuitous ARP create the entry, so the test sees who announced last.
	for _, k := range []string{"net.ipv4.conf.all.arp_accept", "net.ipv4.conf.eth1.arp_accept"} {
		if err := client.Sysctl(k, "1"); err != nil {
			t.Fatal(err)
		}
	}
	return lab, &holding{t: t, lab: lab, vip: netnstest.VIP.Addr(), a: lab.Host("lb1"), b: lab.Host("lb2"),
		staleOK: make(map[*netnstest.Host]bool)}
}

// Bounds of the brief at advert_int 1 s, priority 100 for the taker.
const (
	skew100   = 156 * time.Second / 256
	slack     = 100 * time.Millisecond
	crashMax  = 3*time.Second + skew100 + slack
	gracefMax = skew100 + slack
	startMax  = 5 * time.Second
)

func check(t *testing.T, what string, got, max time.Duration) {
	t.Helper()
	t.Logf("%-40s %7.3fs (bound %.3fs)", what, got.Seconds(), max.Seconds())
	if got > max {
		t.Errorf("%s took %v, want ≤ %v", what, got, max)
	}
}

func checkTransfer(t *testing.T, what string, tr transfer, max time.Duration) {
	t.Helper()
	check(t, what, tr.took, max)
	if tr.overlap > time.Second {
		t.Errorf("%s: both held the VIP for %v, more than one advert interval", what, tr.overlap)
	}
}

func TestNetnsTandemPair(t *testing.T) {
	t.Parallel()
	lab, h := newLab(t)
	lb1, lb2 := lab.Host("lb1"), lab.Host("lb2")
	args := []string{"-auth", "tandem1"}
	d1 := startTandem(t, lb1, 101, args...)
	startTandem(t, lb2, 100, args...)
	h.waitFor(lb1, startMax)
	h.neighborIs(lb1.MAC, time.Second)

	// Crash: SIGKILL leaves lb1's VIP behind, as a dead node would keep it.
	start := time.Now()
	d1.stop(os.Kill)
	h.staleOK[lb1] = true
	checkTransfer(t, "crash (SIGKILL) lb1 -> lb2", h.waitFrom(start, lb2, crashMax+time.Second), crashMax)
	h.neighborIs(lb2.MAC, time.Second)

	// Restart: the stale VIP goes at once, then lb1 preempts back.
	h.staleOK[lb1] = false
	d1 = startTandem(t, lb1, 101, args...)
	tr := h.waitFor(lb1, startMax)
	checkTransfer(t, "preempt back lb2 -> lb1", tr, startMax)
	check(t, "preempt back: nobody holding the VIP", tr.gap, slack)
	h.neighborIs(lb1.MAC, time.Second)

	// Graceful stop: priority 0, lb2 takes over after its skew.
	start = time.Now()
	d1.stop(syscall.SIGTERM)
	checkTransfer(t, "graceful stop lb1 -> lb2", h.waitFrom(start, lb2, gracefMax+time.Second), gracefMax)
	d1 = startTandem(t, lb1, 101, args...)
	h.waitFor(lb1, startMax)

	// Failover action: lb1 steps down and stays backup.
	start = time.Now()
	d1.cmd.Process.Signal(syscall.SIGUSR1)
	checkTransfer(t, "failover lb1 -> lb2", h.waitFrom(start, lb2, gracefMax+time.Second), gracefMax)
	h.stays(lb2, 1500*time.Millisecond)

	// Cable cut on the master lb2: lb1 takes over after Master_Down_Interval
	// and lb2, in FAULT, lets go of the VIP (no stale VIP, no dual master).
	start = time.Now()
	if err := lb2.SetLinkUp(false); err != nil {
		t.Fatal(err)
	}
	checkTransfer(t, "link down lb2 -> lb1", h.waitFrom(start, lb1, crashMax+time.Second), crashMax)
	if err := lb2.SetLinkUp(true); err != nil {
		t.Fatal(err)
	}
	h.stays(lb1, 1500*time.Millisecond)
}

func TestNetnsTandemPairV3(t *testing.T) {
	t.Parallel()
	lab, h := newLab(t)
	lb1, lb2 := lab.Host("lb1"), lab.Host("lb2")
	args := []string{"-version", "3", "-advert", "100ms"}
	d1 := startTandem(t, lb1, 101, args...)
	startTandem(t, lb2, 100, args...)
	h.waitFor(lb1, 2*time.Second)
	start := time.Now()
	d1.stop(os.Kill)
	h.staleOK[lb1] = true
	checkTransfer(t, "v3 100ms crash (SIGKILL) lb1 -> lb2", h.waitFrom(start, lb2, 2*time.Second), 500*time.Millisecond)
	h.neighborIs(lb2.MAC, time.Second)
}

func TestNetnsKeepalived(t *testing.T) {
	t.Parallel()
	t.Run("tandem master, keepalived backup, auth", func(t *testing.T) {
		t.Parallel()
		lab, h := newLab(t)
		lb1, lb2 := lab.Host("lb1"), lab.Host("lb2")
		d1 := startTandem(t, lb1, 101, "-auth", "tandem1")
		startKeepalived(t, lb2, kaOpts{prio: 100, auth: "tandem1"})
		h.waitFor(lb1, startMax)
		h.neighborIs(lb1.MAC, time.Second)

		start := time.Now()
		d1.stop(os.Kill)
		h.staleOK[lb1] = true
		checkTransfer(t, "crash tandem -> keepalived", h.waitFrom(start, lb2, crashMax+time.Second), crashMax)
		h.neighborIs(lb2.MAC, time.Second)

		h.staleOK[lb1] = false
		d1 = startTandem(t, lb1, 101, "-auth", "tandem1")
		tr := h.waitFor(lb1, startMax)
		checkTransfer(t, "preempt back keepalived -> tandem", tr, startMax)
		check(t, "preempt back: nobody holding the VIP", tr.gap, slack)

		start = time.Now()
		d1.stop(syscall.SIGTERM)
		checkTransfer(t, "graceful stop tandem -> keepalived", h.waitFrom(start, lb2, gracefMax+time.Second), gracefMax)
	})
	t.Run("keepalived master, tandem backup, no auth", func(t *testing.T) {
		t.Parallel()
		lab, h := newLab(t)
		lb1, lb2 := lab.Host("lb1"), lab.Host("lb2")
		k1 := startKeepalived(t, lb1, kaOpts{prio: 101})
		startTandem(t, lb2, 100)
		h.waitFor(lb1, startMax+4*time.Second) // keepalived may need to preempt first
		h.stays(lb1, 1500*time.Millisecond)

		// Crash by cable cut on keepalived's node.
		start := time.Now()
		if err := lb1.SetLinkUp(false); err != nil {
			t.Fatal(err)
		}
		h.staleOK[lb1] = true
		checkTransfer(t, "link down keepalived -> tandem", h.waitFrom(start, lb2, crashMax+time.Second), crashMax)
		h.neighborIs(lb2.MAC, time.Second)

		if err := lb1.SetLinkUp(true); err != nil {
			t.Fatal(err)
		}
		h.staleOK[lb1] = false
		tr := h.waitFor(lb1, startMax+2*time.Second)
		checkTransfer(t, "preempt back tandem -> keepalived", tr, startMax+2*time.Second)
		check(t, "preempt back: nobody holding the VIP", tr.gap, slack)

		// Signal without waiting: keepalived exits only after it has let go.
		start = time.Now()
		k1.cmd.Process.Signal(syscall.SIGTERM)
		checkTransfer(t, "graceful stop keepalived -> tandem", h.waitFrom(start, lb2, gracefMax+time.Second), gracefMax)
	})
}

// A tracked object fails on the master: weight 0 gives up at once (priority
// 0), a negative weight advertises the lower priority at once. A tandem
// backup then takes over within one advert interval plus its skew.
// keepalived 2.2 discards lower-priority adverts ("received lower priority
// advert - discarding") and takes over only when its Master_Down_Timer runs
// out, so with a keepalived backup only weight 0 is fast.
func TestNetnsTrack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		weight    string
		keepalive bool
		max       time.Duration
	}{
		{"weight 0, keepalived peer", "0", true, gracefMax},
		{"weight -10, keepalived peer", "-10", true, crashMax},
		{"weight -10, tandem peer", "-10", false, time.Second + gracefMax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lab, h := newLab(t)
			lb1, lb2 := lab.Host("lb1"), lab.Host("lb2")
			d1 := startTandem(t, lb1, 101, "-track-weight", tt.weight)
			if tt.keepalive {
				startKeepalived(t, lb2, kaOpts{prio: 100})
			} else {
				startTandem(t, lb2, 100)
			}
			h.waitFor(lb1, startMax)
			start := time.Now()
			d1.cmd.Process.Signal(syscall.SIGUSR2)
			checkTransfer(t, "track failed ("+tt.weight+") lb1 -> lb2", h.waitFrom(start, lb2, tt.max+time.Second), tt.max)
			h.neighborIs(lb2.MAC, time.Second)
			start = time.Now()
			d1.cmd.Process.Signal(syscall.SIGUSR2)
			tr := h.waitFrom(start, lb1, startMax)
			checkTransfer(t, "track recovered lb2 -> lb1", tr, startMax)
			check(t, "track recovered: nobody holding the VIP", tr.gap, slack)
		})
	}
}

func TestNetnsKeepalivedV3(t *testing.T) {
	t.Parallel()
	lab, h := newLab(t)
	lb1, lb2 := lab.Host("lb1"), lab.Host("lb2")
	args := []string{"-version", "3", "-advert", "100ms"}
	d1 := startTandem(t, lb1, 101, args...)
	startKeepalived(t, lb2, kaOpts{prio: 100, version: 3, advert: "0.1"})
	h.waitFor(lb1, 2*time.Second)
	h.stays(lb1, 500*time.Millisecond) // keepalived accepts our v3 adverts (checksum, interval)
	start := time.Now()
	d1.stop(os.Kill)
	h.staleOK[lb1] = true
	checkTransfer(t, "v3 100ms crash tandem -> keepalived", h.waitFrom(start, lb2, 2*time.Second), 500*time.Millisecond)
	h.staleOK[lb1] = false
	d1 = startTandem(t, lb1, 101, args...)
	tr := h.waitFor(lb1, 2*time.Second)
	check(t, "v3 preempt back keepalived -> tandem", tr.took, 2*time.Second)
	h.stays(lb1, 500*time.Millisecond) // we accept keepalived's v3 adverts
	start = time.Now()
	d1.stop(syscall.SIGTERM)
	checkTransfer(t, "v3 graceful stop tandem -> keepalived", h.waitFrom(start, lb2, time.Second), 61*time.Millisecond+slack)
}

func TestNetnsKeepalivedUnicast(t *testing.T) {
	t.Parallel()
	lab, h := newLab(t)
	lb1, lb2 := lab.Host("lb1"), lab.Host("lb2")
	d1 := startTandem(t, lb1, 101, "-unicast-src", "192.0.2.11", "-unicast-peer", "192.0.2.12")
	startKeepalived(t, lb2, kaOpts{prio: 100, unicast: "  unicast_src_ip 192.0.2.12\n  unicast_peer {\n    192.0.2.11\n  }\n"})
	h.waitFor(lb1, startMax)
	h.stays(lb1, 1500*time.Millisecond)
	start := time.Now()
	d1.stop(syscall.SIGTERM)
	checkTransfer(t, "unicast graceful stop tandem -> keepalived", h.waitFrom(start, lb2, gracefMax+time.Second), gracefMax)
	startTandem(t, lb1, 101, "-unicast-src", "192.0.2.11", "-unicast-peer", "192.0.2.12")
	tr := h.waitFor(lb1, startMax)
	check(t, "unicast preempt back keepalived -> tandem", tr.took, startMax)
}

// keepalived drops adverts with another password and silently becomes a
// second master; tandem does the same (RFC) but says so at warn level.
func TestNetnsSplitBrainIsLogged(t *testing.T) {
	t.Parallel()
	lab, _ := newLab(t)
	lb1, lb2 := lab.Host("lb1"), lab.Host("lb2")
	d1 := startTandem(t, lb1, 101, "-auth", "tandem1")
	startKeepalived(t, lb2, kaOpts{prio: 100, auth: "other"})
	deadline := time.Now().Add(startMax)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for ; ; <-tick.C {
		a, _ := lb1.HasAddr(netnstest.VIP.Addr())
		b, _ := lb2.HasAddr(netnstest.VIP.Addr())
		out := d1.out.String()
		if a && b && strings.Contains(out, `"level":"warn"`) && strings.Contains(out, "authentication differs") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("want both masters and a warning; lb1 holds %v, lb2 holds %v", a, b)
		}
	}
}
