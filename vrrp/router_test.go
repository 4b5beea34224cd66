package vrrp_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/tandemlb/tandem/internal/track"
	"github.com/tandemlb/tandem/vrrp"
	"github.com/tandemlb/tandem/vrrp/vrrptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if vrrpdDir != "" {
			os.RemoveAll(vrrpdDir)
		}
		os.Exit(code)
	}))
}

var (
	lb1    = netip.MustParseAddr("192.0.2.11")
	lb2    = netip.MustParseAddr("192.0.2.12")
	vipPfx = netip.MustParsePrefix("192.0.2.100/24")
	t0     = time.Date(2026, 11, 25, 16, 50, 0, 0, time.UTC)
)

func config(prio uint8) vrrp.Config {
	c := vrrp.DefaultConfig()
	c.Name, c.Interface, c.VRID, c.Priority = "VI_1", "eth1", 51, prio
	c.AuthPass = "tandem1"
	c.VIPs = []vrrp.VIP{{Prefix: vipPfx}}
	return c
}

// node is one Router running over fakes.
type node struct {
	r     *vrrp.Router
	conn  *vrrptest.Conn
	addrs *vrrptest.Addresser
	arp   *vrrptest.ARPSender
	stop  context.CancelFunc
	done  chan error

	once     sync.Once
	mu       sync.Mutex
	notices  []string
	releases []string // each Releasing call: the addresses, and whether the VIP was still up
}

func start(t *testing.T, clk *vrrptest.Clock, conn *vrrptest.Conn, addr netip.Addr, specs ...vrrp.InstanceSpec) *node {
	t.Helper()
	n := &node{conn: conn, addrs: vrrptest.NewAddresser("eth1", addr), arp: &vrrptest.ARPSender{Clock: clk}, done: make(chan error, 1)}
	r, err := vrrp.NewRouter(specs, vrrp.Options{
		Listen:    func(string) (vrrp.Conn, error) { return conn, nil },
		Addresser: n.addrs,
		ARP:       n.arp,
		Clock:     clk,
		Logger:    zerolog.New(zerolog.NewTestWriter(t)).With().Str("node", addr.String()).Logger(),
		Notify: func(_ context.Context, cmd string, args []string) error {
			n.mu.Lock()
			n.notices = append(n.notices, cmd+" "+joinArgs(args))
			n.mu.Unlock()
			return nil
		},
		Releasing: func(addrs []netip.Addr) {
			up := n.addrs.Has("eth1", vipPfx)
			n.mu.Lock()
			n.releases = append(n.releases, fmt.Sprintf("%v up=%v", addrs, up))
			n.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	n.r = r
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = cancel
	go func() { n.done <- r.Run(ctx) }()
	t.Cleanup(func() { n.shutdown(t) })
	return n
}

func joinArgs(a []string) string {
	s := ""
	for i, x := range a {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}

func (n *node) shutdown(t *testing.T) {
	t.Helper()
	n.once.Do(func() {
		n.stop()
		select {
		case err := <-n.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return within 5s of cancel")
		}
	})
}

func (n *node) snap(name string) vrrp.Snapshot { return n.r.Instance(name).Snapshot() }

// eventually polls cond (driver goroutine effects) with a real-time deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func mustMarshal(t *testing.T, p vrrp.Packet, src netip.Addr) []byte {
	t.Helper()
	b, err := p.Marshal(src, vrrp.MulticastGroup)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func peerAdvert(prio uint8) vrrp.Packet {
	p := vrrp.Packet{Version: 2, VRID: 51, Priority: prio, AdvertInt: time.Second,
		Addrs: []netip.Addr{vipPfx.Addr()}, AuthType: vrrp.AuthSimple}
	copy(p.AuthData[:], "tandem1")
	return p
}

func TestRouterBecomesMasterAndGARPs(t *testing.T) {
	t.Parallel()
	clk := vrrptest.NewClock(t0)
	conn := vrrptest.NewConn(lb1)
	n := start(t, clk, conn, lb1, vrrp.InstanceSpec{Config: config(100)})
	clk.WaitArmed(t, 1)
	if s := n.snap("VI_1"); s.State != vrrp.StateBackup {
		t.Fatalf("state at start = %v, want BACKUP (like keepalived)", s.State)
	}
	// Master_Down_Interval at priority 100 is 3.609375 s.
	clk.Advance(t, 3609*time.Millisecond)
	if s := n.snap("VI_1"); s.State != vrrp.StateBackup {
		t.Fatalf("state 1ms before Master_Down_Interval = %v", s.State)
	}
	clk.Advance(t, time.Millisecond)
	eventually(t, "master", func() bool { return n.snap("VI_1").State == vrrp.StateMaster })
	if !n.addrs.Has("eth1", vipPfx) {
		t.Error("VIP not added on becoming master")
	}
	if got := len(n.arp.Sent()); got != 5 {
		t.Errorf("GARPs at once = %d, want 5", got)
	}
	clk.Advance(t, 5*time.Second)
	garps := n.arp.Sent()
	if len(garps) != 10 {
		t.Fatalf("GARPs after garp_master_delay = %d, want 10", len(garps))
	}
	if got, want := garps[9].At.Sub(garps[0].At), 5*time.Second; got != want {
		t.Errorf("second GARP burst after %v, want %v", got, want)
	}
	ads := conn.Adverts(t)
	// One at takeover, then one per second for 5 s.
	if len(ads) != 6 {
		t.Errorf("adverts sent = %d, want 6", len(ads))
	}
	want := peerAdvert(100)
	want.Priority = 100
	if diff := cmp.Diff(&want, ads[0], cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("advert (-want +got):\n%s", diff)
	}
	s := n.snap("VI_1")
	if s.Counters.AdvertsSent != 6 || s.Counters.BecameMaster != 1 || s.Master != lb1 {
		t.Errorf("snapshot = %+v", s)
	}
	if !s.LastTransition.Equal(t0.Add(3609375 * time.Microsecond)) {
		t.Errorf("LastTransition = %v", s.LastTransition)
	}

	n.shutdown(t)
	ads = conn.Adverts(t)
	if last := ads[len(ads)-1]; last.Priority != 0 {
		t.Errorf("last advert priority = %d, want 0 on stop", last.Priority)
	}
	if n.addrs.Has("eth1", vipPfx) {
		t.Error("VIP still present after stop")
	}
}

func TestRouterRemovesStaleVIPAtStart(t *testing.T) {
	t.Parallel()
	clk := vrrptest.NewClock(t0)
	addrs := vrrptest.NewAddresser("eth1", lb1)
	addrs.AddVIP("eth1", vrrp.VIP{Prefix: vipPfx}) // left by a SIGKILLed run
	conn := vrrptest.NewConn(lb1)
	r, err := vrrp.NewRouter([]vrrp.InstanceSpec{{Config: config(100)}}, vrrp.Options{
		Listen: func(string) (vrrp.Conn, error) { return conn, nil }, Addresser: addrs,
		ARP: &vrrptest.ARPSender{}, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	clk.WaitArmed(t, 1)
	if addrs.Has("eth1", vipPfx) {
		t.Error("stale VIP not removed at start")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRouterDropsBadAdverts(t *testing.T) {
	t.Parallel()
	good := peerAdvert(200)
	tests := []struct {
		name    string
		b       func(t *testing.T) []byte
		meta    vrrp.RecvMeta
		counter func(vrrp.Counters) uint64
	}{
		{"TTL 254", func(t *testing.T) []byte { return mustMarshal(t, good, lb2) },
			vrrp.RecvMeta{Src: lb2, Dst: vrrp.MulticastGroup, TTL: 254}, func(c vrrp.Counters) uint64 { return c.TTLErrors }},
		{"bad checksum", func(t *testing.T) []byte { b := mustMarshal(t, good, lb2); b[7]++; return b },
			vrrp.RecvMeta{Src: lb2, Dst: vrrp.MulticastGroup, TTL: 255}, func(c vrrp.Counters) uint64 { return c.PacketErrors }},
		{"wrong password", func(t *testing.T) []byte { p := good; p.AuthData[0] = 'X'; return mustMarshal(t, p, lb2) },
			vrrp.RecvMeta{Src: lb2, Dst: vrrp.MulticastGroup, TTL: 255}, func(c vrrp.Counters) uint64 { return c.AuthMismatch }},
		{"no auth", func(t *testing.T) []byte {
			p := good
			p.AuthType, p.AuthData = 0, [8]byte{}
			return mustMarshal(t, p, lb2)
		},
			vrrp.RecvMeta{Src: lb2, Dst: vrrp.MulticastGroup, TTL: 255}, func(c vrrp.Counters) uint64 { return c.AuthMismatch }},
		{"other interval", func(t *testing.T) []byte { p := good; p.AdvertInt = 2 * time.Second; return mustMarshal(t, p, lb2) },
			vrrp.RecvMeta{Src: lb2, Dst: vrrp.MulticastGroup, TTL: 255}, func(c vrrp.Counters) uint64 { return c.IntervalMismatch }},
		{"other VIPs", func(t *testing.T) []byte {
			p := good
			p.Addrs = []netip.Addr{netip.MustParseAddr("192.0.2.101")}
			return mustMarshal(t, p, lb2)
		}, vrrp.RecvMeta{Src: lb2, Dst: vrrp.MulticastGroup, TTL: 255}, func(c vrrp.Counters) uint64 { return c.VIPMismatch }},
		{"v3 for a v2 instance", func(t *testing.T) []byte {
			p := vrrp.Packet{Version: 3, VRID: 51, Priority: 200, AdvertInt: time.Second, Addrs: []netip.Addr{vipPfx.Addr()}}
			return mustMarshal(t, p, lb2)
		}, vrrp.RecvMeta{Src: lb2, Dst: vrrp.MulticastGroup, TTL: 255}, func(c vrrp.Counters) uint64 { return c.VersionMismatch }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := vrrptest.NewClock(t0)
			conn := vrrptest.NewConn(lb1)
			n := start(t, clk, conn, lb1, vrrp.InstanceSpec{Config: config(100)})
			clk.WaitArmed(t, 1)
			// Higher-priority adverts every second that must all be dropped.
			for i := range 4 {
				conn.Inject(tt.b(t), tt.meta)
				eventually(t, "counter", func() bool { return tt.counter(n.snap("VI_1").Counters) == uint64(i+1) })
				clk.Advance(t, time.Second)
			}
			eventually(t, "master despite dropped adverts", func() bool { return n.snap("VI_1").State == vrrp.StateMaster })
			c := n.snap("VI_1").Counters
			if got := tt.counter(c); got != 4 {
				t.Errorf("counter = %d, want 4 (counters %+v)", got, c)
			}
			if c.AdvertsReceived != 0 {
				t.Errorf("AdvertsReceived = %d, want 0", c.AdvertsReceived)
			}
		})
	}
}

func TestRouterHigherPriorityPeerKeepsBackup(t *testing.T) {
	t.Parallel()
	clk := vrrptest.NewClock(t0)
	conn := vrrptest.NewConn(lb1)
	n := start(t, clk, conn, lb1, vrrp.InstanceSpec{Config: config(100)})
	clk.WaitArmed(t, 1)
	meta := vrrp.RecvMeta{Src: lb2, Dst: vrrp.MulticastGroup, TTL: 255}
	for i := range 10 {
		conn.Inject(mustMarshal(t, peerAdvert(200), lb2), meta)
		eventually(t, "received", func() bool { return n.snap("VI_1").Counters.AdvertsReceived == uint64(i+1) })
		clk.Advance(t, time.Second)
	}
	s := n.snap("VI_1")
	if s.State != vrrp.StateBackup || s.Master != lb2 {
		t.Fatalf("state %v master %v, want BACKUP under %v", s.State, s.Master, lb2)
	}
	// The master gives up: take over after skew time (0.609 s), not 3.6 s.
	conn.Inject(mustMarshal(t, peerAdvert(0), lb2), meta)
	eventually(t, "priority 0 counted", func() bool { return n.snap("VI_1").Counters.PriorityZeroReceived == 1 })
	clk.Advance(t, 609*time.Millisecond)
	if st := n.snap("VI_1").State; st != vrrp.StateBackup {
		t.Fatalf("state before skew = %v", st)
	}
	clk.Advance(t, time.Millisecond)
	eventually(t, "master after skew", func() bool { return n.snap("VI_1").State == vrrp.StateMaster })
	// The peer comes back with higher priority: step down and drop the VIP.
	conn.Inject(mustMarshal(t, peerAdvert(200), lb2), meta)
	eventually(t, "backup again", func() bool { return n.snap("VI_1").State == vrrp.StateBackup })
	if n.addrs.Has("eth1", vipPfx) {
		t.Error("VIP kept after stepping down")
	}
	if got := n.snap("VI_1").Counters.SecondMaster; got != 1 {
		t.Errorf("SecondMaster = %d, want 1", got)
	}
}

func TestRouterTrackFaultAndWeight(t *testing.T) {
	t.Parallel()
	clk := vrrptest.NewClock(t0)
	conn := vrrptest.NewConn(lb1)
	fe := track.NewSignal("frontend:http-in", true)
	be := track.NewSignal("backend:ms1", true)
	n := start(t, clk, conn, lb1, vrrp.InstanceSpec{Config: config(100), Trackers: []vrrp.Tracked{
		{Tracker: fe, Weight: 0}, {Tracker: be, Weight: -30},
	}})
	clk.WaitArmed(t, 1)
	clk.Advance(t, 4*time.Second)
	eventually(t, "master", func() bool { return n.snap("VI_1").State == vrrp.StateMaster })

	sent := len(conn.Sent())
	be.Set(false) // weight: advertise priority 70 at once, stay master
	eventually(t, "priority 70 advert", func() bool {
		ads := conn.Adverts(t)
		return len(ads) > sent && ads[len(ads)-1].Priority == 70
	})
	if s := n.snap("VI_1"); s.State != vrrp.StateMaster || s.Priority != 70 {
		t.Errorf("after weight track: %v prio %d", s.State, s.Priority)
	}

	fe.Set(false) // weight 0: priority-0 advert at once, FAULT, VIP removed
	eventually(t, "fault", func() bool { return n.snap("VI_1").State == vrrp.StateFault })
	ads := conn.Adverts(t)
	if ads[len(ads)-1].Priority != 0 {
		t.Errorf("last advert priority %d, want 0 when leaving master", ads[len(ads)-1].Priority)
	}
	if n.addrs.Has("eth1", vipPfx) {
		t.Error("VIP kept in FAULT")
	}
	sent = len(conn.Sent())
	clk.Advance(t, 10*time.Second)
	if got := len(conn.Sent()); got != sent {
		t.Errorf("%d adverts sent in FAULT", got-sent)
	}

	fe.Set(true)
	eventually(t, "backup after recovery", func() bool { return n.snap("VI_1").State == vrrp.StateBackup })
	be.Set(true)
	eventually(t, "priority restored", func() bool { return n.snap("VI_1").Priority == 100 })
}

func TestRouterFailover(t *testing.T) {
	t.Parallel()
	clk := vrrptest.NewClock(t0)
	conn := vrrptest.NewConn(lb1)
	n := start(t, clk, conn, lb1, vrrp.InstanceSpec{Config: config(100)})
	clk.WaitArmed(t, 1)
	in := n.r.Instance("VI_1")
	if err := in.Failover(); !errors.Is(err, vrrp.ErrNotMaster) {
		t.Errorf("Failover as backup = %v, want ErrNotMaster", err)
	}
	clk.Advance(t, 4*time.Second)
	eventually(t, "master", func() bool { return in.Snapshot().State == vrrp.StateMaster })
	if err := in.Failover(); err != nil {
		t.Fatalf("Failover: %v", err)
	}
	s := in.Snapshot()
	if s.State != vrrp.StateBackup || s.Counters.PriorityZeroSent != 1 {
		t.Errorf("after failover: %v, prio-0 sent %d", s.State, s.Counters.PriorityZeroSent)
	}
	if n.addrs.Has("eth1", vipPfx) {
		t.Error("VIP kept after failover")
	}
	// The proxy was told before the address went (not at start, when a
	// stale VIP is cleaned up, nor as a backup at shutdown).
	n.shutdown(t)
	n.mu.Lock()
	if want := []string{"[192.0.2.100] up=true"}; !slices.Equal(n.releases, want) {
		t.Errorf("Releasing calls %q, want %q", n.releases, want)
	}
	n.mu.Unlock()
	if err := in.Failover(); !errors.Is(err, vrrp.ErrNotRunning) {
		t.Errorf("Failover after stop = %v, want ErrNotRunning", err)
	}
}

// Two routers on one fake link: election, then graceful stop (the backup
// takes over after its skew time) or crash (within Master_Down_Interval).
func TestRouterPair(t *testing.T) {
	t.Parallel()
	skew100 := 156 * time.Second / 256
	tests := []struct {
		name          string
		crash         bool
		notBefore, by time.Duration
	}{
		{"graceful stop", false, skew100 - time.Millisecond, skew100},
		// The last advert came up to 1 s before the crash.
		{"crash", true, 2*time.Second + skew100 - time.Millisecond, 3*time.Second + skew100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := vrrptest.NewClock(t0)
			link := vrrptest.Net{Clock: clk}
			c1, c2 := link.Attach(lb1), link.Attach(lb2)
			n1 := start(t, clk, c1, lb1, vrrp.InstanceSpec{Config: config(100)})
			n2 := start(t, clk, c2, lb2, vrrp.InstanceSpec{Config: config(101)})
			clk.WaitArmed(t, 2)
			clk.Advance(t, 5*time.Second)
			eventually(t, "lb2 master", func() bool { return n2.snap("VI_1").State == vrrp.StateMaster })
			eventually(t, "lb1 backup", func() bool { return n1.snap("VI_1").State == vrrp.StateBackup })
			if n1.addrs.Has("eth1", vipPfx) || !n2.addrs.Has("eth1", vipPfx) {
				t.Fatal("VIP not only on lb2")
			}
			clk.Advance(t, 10*time.Second+300*time.Millisecond)
			if s := n1.snap("VI_1"); s.State != vrrp.StateBackup || s.Master != lb2 {
				t.Fatalf("lb1 %v master %v after 10 s", s.State, s.Master)
			}
			if tt.crash {
				c2.SetDown(true)
			} else {
				n2.shutdown(t)
				eventually(t, "priority 0 received", func() bool { return n1.snap("VI_1").Counters.PriorityZeroReceived == 1 })
			}
			clk.Advance(t, tt.notBefore)
			if st := n1.snap("VI_1").State; st != vrrp.StateBackup {
				t.Fatalf("lb1 %v after %v", st, tt.notBefore)
			}
			clk.Advance(t, tt.by-tt.notBefore)
			eventually(t, "lb1 takes over", func() bool { return n1.snap("VI_1").State == vrrp.StateMaster })
		})
	}
}

func TestRouterSyncGroupAndNotify(t *testing.T) {
	t.Parallel()
	clk := vrrptest.NewClock(t0)
	conn := vrrptest.NewConn(lb1)
	a, b := config(100), config(100)
	a.SyncGroup, b.SyncGroup = "G", "G"
	b.Name, b.VRID = "VI_2", 52
	b.VIPs = []vrrp.VIP{{Prefix: netip.MustParsePrefix("192.0.2.101/24")}}
	a.NotifyMaster, a.NotifyFault, a.Notify = "to-master", "to-fault", "/etc/notify.sh"
	fe := track.NewSignal("frontend:a", true)
	n := start(t, clk, conn, lb1,
		vrrp.InstanceSpec{Config: a, Trackers: []vrrp.Tracked{{Tracker: fe}}},
		vrrp.InstanceSpec{Config: b})
	clk.WaitArmed(t, 1)
	clk.Advance(t, 4*time.Second)
	eventually(t, "both master", func() bool {
		return n.snap("VI_1").State == vrrp.StateMaster && n.snap("VI_2").State == vrrp.StateMaster
	})
	fe.Set(false)
	eventually(t, "both fault", func() bool {
		return n.snap("VI_1").State == vrrp.StateFault && n.snap("VI_2").State == vrrp.StateFault
	})
	fe.Set(true)
	eventually(t, "both backup", func() bool {
		return n.snap("VI_1").State == vrrp.StateBackup && n.snap("VI_2").State == vrrp.StateBackup
	})
	n.shutdown(t)
	n.mu.Lock()
	got := slices.Clone(n.notices)
	n.mu.Unlock()
	slices.Sort(got)
	want := []string{
		"/etc/notify.sh INSTANCE VI_1 BACKUP 100", // start
		"/etc/notify.sh INSTANCE VI_1 BACKUP 100", // after fault
		"/etc/notify.sh INSTANCE VI_1 FAULT 100",
		"/etc/notify.sh INSTANCE VI_1 MASTER 100",
		"/etc/notify.sh INSTANCE VI_1 STOP 100",
		"to-fault ",
		"to-master ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notify commands (-want +got):\n%s", diff)
	}
}

func TestNewRouterRejects(t *testing.T) {
	t.Parallel()
	opts := vrrp.Options{Listen: func(string) (vrrp.Conn, error) { return nil, errors.New("x") },
		Addresser: vrrptest.NewAddresser("eth1", lb1), ARP: &vrrptest.ARPSender{}}
	dup := config(100)
	bad := config(100)
	bad.VRID = 0
	tests := []struct {
		name  string
		specs []vrrp.InstanceSpec
	}{
		{"invalid", []vrrp.InstanceSpec{{Config: bad}}},
		{"same name", []vrrp.InstanceSpec{{Config: dup}, {Config: func() vrrp.Config { c := config(1); c.VRID = 9; return c }()}}},
		{"same vrid", []vrrp.InstanceSpec{{Config: dup}, {Config: func() vrrp.Config { c := config(1); c.Name = "x"; return c }()}}},
	}
	for _, tt := range tests {
		if _, err := vrrp.NewRouter(tt.specs, opts); err == nil {
			t.Errorf("%s: NewRouter = nil error", tt.name)
		}
	}
	if _, err := vrrp.NewRouter(nil, vrrp.Options{}); err == nil {
		t.Error("NewRouter without collaborators = nil error")
	}
}

func TestRouterGARPRefreshAndPreemptDelay(t *testing.T) {
	t.Parallel()
	clk := vrrptest.NewClock(t0)
	conn := vrrptest.NewConn(lb1)
	c := config(100)
	c.GARPMasterDelay, c.GARPMasterRepeat, c.GARPMasterRefresh = 0, 2, 30*time.Second
	c.PreemptDelay = 20 * time.Second
	n := start(t, clk, conn, lb1, vrrp.InstanceSpec{Config: c})
	clk.WaitArmed(t, 1)
	meta := vrrp.RecvMeta{Src: lb2, Dst: vrrp.MulticastGroup, TTL: 255}
	// A lower-priority master: within preempt_delay we leave it alone.
	for i := range 15 {
		conn.Inject(mustMarshal(t, peerAdvert(50), lb2), meta)
		eventually(t, "received", func() bool { return n.snap("VI_1").Counters.AdvertsReceived == uint64(i+1) })
		clk.Advance(t, time.Second)
	}
	if st := n.snap("VI_1").State; st != vrrp.StateBackup {
		t.Fatalf("preempted within preempt_delay: %v", st)
	}
	for i := range 6 {
		conn.Inject(mustMarshal(t, peerAdvert(50), lb2), meta)
		eventually(t, "received", func() bool { return n.snap("VI_1").Counters.AdvertsReceived == uint64(16+i) })
		clk.Advance(t, time.Second)
	}
	eventually(t, "preempted after preempt_delay", func() bool { return n.snap("VI_1").State == vrrp.StateMaster })
	if got := len(n.arp.Sent()); got != 2 {
		t.Fatalf("GARPs at takeover = %d, want garp_master_repeat 2 (no delayed burst)", got)
	}
	clk.Advance(t, 61*time.Second)
	if got := len(n.arp.Sent()); got != 6 {
		t.Errorf("GARPs after two refreshes = %d, want 6", got)
	}
	if s := n.r.Snapshots(); len(s) != 1 || s[0].Name != "VI_1" {
		t.Errorf("Snapshots() = %+v", s)
	}
}
