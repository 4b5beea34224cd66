package privdrop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// The drop cannot be undone, so the real tests run it in a child process: the
// test binary re-executed with childEnv set, in a fresh network namespace.
const (
	childEnv   = "TANDEM_PRIVDROP_CHILD" // JSON childSpec
	childUser  = "nobody"
	unitPath   = "../../deploy/tandem.service"
	childLimit = 20 * time.Second
)

type childSpec struct {
	// Bound, when set, makes the child start like systemd starts a root
	// service with CapabilityBoundingSet=Bound: that bounding set, and
	// permitted = effective = Bound.
	Bound  []string
	Secret string // a root-only file the child must no longer read
}

// childReport is what the child prints on stdout as JSON.
type childReport struct {
	DropErr    string
	UIDAfter   int
	Threads    []Creds
	NetlinkOld string // adding an address through a handle opened as root
	NetlinkNew string // through a handle opened after the drop
	Bind80     string
	RawSocket  string
	ReadSecret string
	Setuid0    string
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(child(spec))
	}
	os.Exit(m.Run())
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func child(specJSON string) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "child: bad spec:", err)
		return 3
	}
	if len(spec.Bound) > 0 {
		if err := startLikeSystemd(spec.Bound); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 3
		}
	}
	// Park goroutines on their own OS threads so that the drop has several
	// threads to reach; they stay alive until the report is written.
	stop := make(chan struct{})
	defer close(stop)
	for range 8 {
		started := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(started)
			<-stop
		}()
		<-started
	}
	old, err := netlink.NewHandle()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: netlink handle as root:", err)
		return 3
	}
	defer old.Close()

	var r childReport
	_, err = Drop(childUser)
	r.DropErr = errString(err)
	r.UIDAfter = os.Getuid()
	if err == nil {
		r.Threads, err = ThreadCreds()
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 3
		}
		r.NetlinkOld = errString(addAddr(old, "192.0.2.1/24"))
		r.NetlinkNew = errString(func() error {
			h, err := netlink.NewHandle()
			if err != nil {
				return err
			}
			defer h.Close()
			return addAddr(h, "192.0.2.2/24")
		}())
		r.Bind80 = errString(func() error {
			ln, err := net.Listen("tcp", "127.0.0.1:80")
			if err == nil {
				ln.Close()
			}
			return err
		}())
		r.RawSocket = errString(func() error {
			fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, 112) // VRRP
			if err == nil {
				syscall.Close(fd)
			}
			return err
		}())
		_, err = os.ReadFile(spec.Secret)
		r.ReadSecret = errString(err)
		r.Setuid0 = errString(syscall.Setuid(0))
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 3
	}
	return 0
}

// startLikeSystemd shrinks this root process to what systemd gives a root
// service with CapabilityBoundingSet=names.
func startLikeSystemd(names []string) error {
	var vals []cap.Value
	for _, n := range names {
		v, err := cap.FromName(strings.ToLower(n))
		if err != nil {
			return fmt.Errorf("capability %q: %w", n, err)
		}
		vals = append(vals, v)
	}
	var drop []cap.Value
	for v := cap.Value(0); v < cap.MaxBits(); v++ {
		in := false
		for _, k := range vals {
			in = in || k == v
		}
		if !in {
			drop = append(drop, v)
		}
	}
	if err := cap.DropBound(drop...); err != nil {
		return fmt.Errorf("drop bounding set: %w", err)
	}
	c := cap.NewSet()
	if err := c.SetFlag(cap.Permitted, true, vals...); err != nil {
		return err
	}
	if err := c.SetFlag(cap.Effective, true, vals...); err != nil {
		return err
	}
	return c.SetProc()
}

// addAddr brings lo up and adds a TEST-NET address to it, which needs
// CAP_NET_ADMIN (the VIP operation).
func addAddr(h *netlink.Handle, cidr string) error {
	lo, err := h.LinkByName("lo")
	if err != nil {
		return err
	}
	if err := h.LinkSetUp(lo); err != nil {
		return err
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return err
	}
	return h.AddrAdd(lo, a)
}

// runChild runs bin as the drop child in a new network namespace.
func runChild(t *testing.T, bin string, spec childSpec) childReport {
	t.Helper()
	js, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), childLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("drop child: %v\nstderr:\n%s", err, stderr.String())
	}
	var r childReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("drop child report %q: %v\nstderr:\n%s", out, err, stderr.String())
	}
	return r
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: dropping privileges needs root")
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		t.Skip("skipping: no network namespaces:", err)
	}
}

// unitBound reads CapabilityBoundingSet from the shipped systemd unit.
func unitBound(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapabilityBoundingSet="); ok {
			return strings.Fields(v)
		}
	}
	t.Fatalf("%s has no CapabilityBoundingSet", unitPath)
	return nil
}

func maskOf(t *testing.T, names ...string) uint64 {
	t.Helper()
	var m uint64
	for _, n := range names {
		v, err := cap.FromName(strings.ToLower(n))
		if err != nil {
			t.Fatal(err)
		}
		m |= 1 << uint(v)
	}
	return m
}

// checkDropped compares the child's report with a successful drop to
// nobody with bounding set bnd.
func checkDropped(t *testing.T, r childReport, bnd uint64) {
	t.Helper()
	if r.DropErr != "" {
		t.Fatalf("Drop(%q): %s", childUser, r.DropErr)
	}
	u, err := Lookup(childUser)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Threads) < 9 {
		t.Errorf("child reported %d threads, want at least 9 (8 parked + main)", len(r.Threads))
	}
	keepM := keepMask()
	for _, c := range r.Threads {
		want := Creds{
			TID: c.TID, UID: [4]int{u.UID, u.UID, u.UID, u.UID}, GID: [4]int{u.GID, u.GID, u.GID, u.GID},
			Groups: []int{}, Prm: keepM, Eff: keepM, Bnd: bnd,
		}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("thread %d credentials (-want +got):\n%s", c.TID, diff)
		}
	}
	type abilities struct{ NetlinkOld, NetlinkNew, Bind80, RawSocket string }
	if diff := cmp.Diff(abilities{}, abilities{r.NetlinkOld, r.NetlinkNew, r.Bind80, r.RawSocket}); diff != "" {
		t.Errorf("kept capabilities do not work (-want +got errors):\n%s", diff)
	}
	if !strings.Contains(r.ReadSecret, "permission denied") {
		t.Errorf("reading a root-only file after the drop: err %q, want permission denied", r.ReadSecret)
	}
	if !strings.Contains(r.Setuid0, "operation not permitted") {
		t.Errorf("setuid(0) after the drop: err %q, want operation not permitted", r.Setuid0)
	}
}

func secretFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte("root only"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDropInChild(t *testing.T) {
	needRoot(t)
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	testDropModes(t, self)
}

// TestDropStatic repeats the drop in a test binary built with CGO_ENABLED=0,
// as the shipped tandem is: there psx goes through syscall.AllThreadsSyscall
// instead of libpsx (which the -race build uses).
func TestDropStatic(t *testing.T) {
	needRoot(t)
	if testing.Short() {
		t.Skip("skipping: builds a second test binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("skipping: no go command to build the CGO_ENABLED=0 binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "privdrop-static.test")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, gobin, "test", "-c", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build static test binary: %v\n%s", err, out)
	}
	testDropModes(t, bin)
}

func testDropModes(t *testing.T, bin string) {
	bound := unitBound(t)
	tests := []struct {
		name    string
		spec    childSpec
		bnd     uint64 // bounding set after a successful drop
		wantErr string
	}{
		{
			// Started by hand as full root: the bounding set shrinks too.
			name: "full root",
			bnd:  keepMask(),
		},
		{
			// Under the shipped unit: no CAP_SETPCAP, the unit's bounding
			// set stays, and the drop must still succeed within it.
			name: "systemd unit bounding set",
			spec: childSpec{Bound: bound},
			bnd:  maskOf(t, bound...),
		},
		{
			name:    "unit without CAP_SETUID",
			spec:    childSpec{Bound: []string{"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_NET_BIND_SERVICE", "CAP_SETGID"}},
			wantErr: "cap_setuid not permitted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.spec.Secret = secretFile(t)
			r := runChild(t, bin, tt.spec)
			if tt.wantErr != "" {
				if !strings.Contains(r.DropErr, tt.wantErr) {
					t.Errorf("Drop error %q, want it to contain %q", r.DropErr, tt.wantErr)
				}
				if r.UIDAfter != 0 {
					t.Errorf("uid after a failed drop is %d, want 0 (nothing changed)", r.UIDAfter)
				}
				return
			}
			checkDropped(t, r, tt.bnd)
		})
	}
}

func TestDropToRefusesRoot(t *testing.T) {
	t.Parallel()
	err := DropTo(User{Name: "root", UID: 0, GID: 0})
	if err == nil || !strings.Contains(err.Error(), "uid 0 is root") {
		t.Fatalf("DropTo(root) = %v, want a refusal", err)
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		want    User
		wantErr string
	}{
		{name: "root", want: User{Name: "root", UID: 0, GID: 0}},
		{name: "", wantErr: "empty user name"},
		{name: "tandem-no-such-user", wantErr: `look up user "tandem-no-such-user"`},
	}
	for _, tt := range tests {
		got, err := Lookup(tt.name)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Lookup(%q) error = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Lookup(%q): %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Lookup(%q) (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	const dropped = "Name:\ttandem\nUmask:\t0022\nUid:\t995\t995\t995\t995\nGid:\t993\t993\t993\t993\nGroups:\t\n" +
		"CapInh:\t0000000000000000\nCapPrm:\t0000000000003400\nCapEff:\t0000000000003400\nCapBnd:\t00000000000034c0\nCapAmb:\t0000000000000000\n"
	// Linux 3.10 (CentOS 7) has no CapAmb line.
	const centos7 = "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t0 10\nCapInh:\t0000000000000000\nCapPrm:\t0000001fffffffff\n" +
		"CapEff:\t0000001fffffffff\nCapBnd:\t0000001fffffffff\n"
	tests := []struct {
		name    string
		in      string
		want    Creds
		wantErr string
	}{
		{name: "dropped", in: dropped, want: Creds{UID: [4]int{995, 995, 995, 995}, GID: [4]int{993, 993, 993, 993}, Groups: []int{},
			Prm: 0x3400, Eff: 0x3400, Bnd: 0x34c0}},
		{name: "kernel 3.10", in: centos7, want: Creds{Groups: []int{0, 10}, Prm: 0x1fffffffff, Eff: 0x1fffffffff, Bnd: 0x1fffffffff}},
		{name: "truncated", in: "Uid:\t0\t0\t0\t0\n", wantErr: "missing"},
		{name: "bad mask", in: strings.Replace(dropped, "0000000000003400", "zz", 1), wantErr: "CapPrm"},
		{name: "short uid", in: strings.Replace(dropped, "995\t995\t995\t995", "995", 1), wantErr: "Uid"},
	}
	for _, tt := range tests {
		got, err := parseStatus([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestKept(t *testing.T) {
	t.Parallel()
	want := []string{"cap_net_admin", "cap_net_raw", "cap_net_bind_service"}
	if diff := cmp.Diff(want, Kept()); diff != "" {
		t.Errorf("Kept() (-want +got):\n%s", diff)
	}
	if got := keepMask(); got != 0x3400 {
		t.Errorf("keepMask() = %#x, want 0x3400 (bits 10, 12, 13)", got)
	}
	// The unit's bounding set is the kept three plus what the drop needs.
	var unitHas = map[string]bool{}
	for _, n := range unitBound(t) {
		unitHas[strings.ToLower(n)] = true
	}
	for _, n := range append(Kept(), "cap_setuid", "cap_setgid") {
		if !unitHas[n] {
			t.Errorf("%s: CapabilityBoundingSet lacks %s", unitPath, strings.ToUpper(n))
		}
	}
	if len(unitHas) != 5 {
		t.Errorf("%s: CapabilityBoundingSet has %d capabilities, want exactly the 5 tandem needs", unitPath, len(unitHas))
	}
}
