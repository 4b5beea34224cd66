package peers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/lb/stick"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuf collects a node's log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fakeRuntime records the states the node applies.
type fakeRuntime struct {
	mu  sync.Mutex
	got map[string]string
}

func (f *fakeRuntime) SetServerState(backend, server string, admin health.AdminState, weight int) error {
	if server == "nosuch" {
		return fmt.Errorf("no server %s/%s", backend, server)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.got == nil {
		f.got = map[string]string{}
	}
	f.got[backend+"/"+server] = fmt.Sprintf("%s/%d", admin, weight)
	return nil
}

func (f *fakeRuntime) state(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got[key]
}

// member is one node under test with a stick table "ms1" whose events feed it.
type member struct {
	node  *Node
	table *stick.Table
	rt    *fakeRuntime
	log   *logBuf
	stop  func()
}

type memberOpt func(*Config, *Options)

func fast(c *Config, o *Options) {
	o.Flush = 5 * time.Millisecond
	o.Heartbeat = 50 * time.Millisecond
	o.Timeout = 400 * time.Millisecond
	o.MinBackoff = 20 * time.Millisecond
	o.MaxBackoff = 100 * time.Millisecond
}

// start runs a node named local whose peer is peer (dialled at peerAddr).
func start(t *testing.T, local, peer string, peerAddr netip.AddrPort, mods ...memberOpt) *member {
	t.Helper()
	m := &member{rt: &fakeRuntime{}, log: &logBuf{}}
	var hook atomic.Pointer[Node]
	tbl, err := stick.New(stick.Config{Type: stick.IP, Size: 100000, Expire: 30 * time.Minute},
		stick.Options{OnEvent: func(ev stick.Event) { hook.Load().TableEvent("ms1", ev) }})
	if err != nil {
		t.Fatal(err)
	}
	m.table = tbl
	cfg := Config{Local: local, Peer: peer, Bind: netip.MustParseAddrPort("127.0.0.1:0"), PeerAddr: peerAddr,
		Secret: []byte("0123456789abcdef"), Digest: Digest{"global": sha256.Sum256([]byte("g"))}}
	opts := Options{Logger: zerolog.New(m.log), Tables: map[string]Table{"ms1": tbl}, Runtime: m.rt}
	fast(&cfg, &opts)
	for _, f := range mods {
		f(&cfg, &opts)
	}
	n, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Listen(); err != nil {
		t.Fatal(err)
	}
	hook.Store(n)
	m.node = n
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once sync.Once
	m.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s: Run: %v", local, err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("%s: Run did not return within 5s of cancel", local)
			}
		})
	}
	t.Cleanup(m.stop)
	return m
}

// startPair starts lb2 (acceptor) and lb1 (dialer, through via when set).
func startPair(t *testing.T, via func(netip.AddrPort) netip.AddrPort, mods1, mods2 []memberOpt) (lb1, lb2 *member) {
	t.Helper()
	lb2 = start(t, "lb2", "lb1", netip.MustParseAddrPort("127.0.0.1:1"), mods2...)
	addr := lb2.node.Addr()
	if via != nil {
		addr = via(addr)
	}
	lb1 = start(t, "lb1", "lb2", addr, mods1...)
	return lb1, lb2
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	begin := time.Now()
	deadline := begin.Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(begin)
}

func bothUp(t *testing.T, a, b *member) {
	t.Helper()
	// Up, and the first full resync done both ways (it carries whatever
	// the tables hold when it is sent).
	waitFor(t, 5*time.Second, "link up on both sides", func() bool {
		sa, sb := a.node.Snapshot(), b.node.Snapshot()
		return sa.Up && sb.Up && sa.ResyncsReceived > 0 && sb.ResyncsReceived > 0
	})
}

func ipKey(i int) []byte { return []byte{192, 0, 2, byte(i)} }

func has(tbl *stick.Table, key []byte, srv string) bool {
	for _, e := range tbl.Entries() {
		if e.Key == string(key) && e.Server.Name == srv {
			return true
		}
	}
	return false
}

// TestReplication: an entry stored on either node reaches the other fast,
// with its expiry, and is not sent back.
func TestReplication(t *testing.T) {
	t.Parallel()
	lb1, lb2 := startPair(t, nil, nil, nil)
	bothUp(t, lb1, lb2)

	lb1.table.Put(ipKey(200), stick.Server{ID: 1, Name: "ms1.srv1"})
	took := waitFor(t, 2*time.Second, "lb1's entry on lb2", func() bool { return has(lb2.table, ipKey(200), "ms1.srv1") })
	t.Logf("lb1 → lb2 in %v", took)
	if took > 500*time.Millisecond {
		t.Errorf("entry took %v to cross (want well under 100ms on an idle machine)", took)
	}
	lb2.table.Put(ipKey(201), stick.Server{ID: 2, Name: "ms1.srv2"})
	waitFor(t, 2*time.Second, "lb2's entry on lb1", func() bool { return has(lb1.table, ipKey(201), "ms1.srv2") })

	// An update moves the key on the peer too.
	lb1.table.Put(ipKey(200), stick.Server{ID: 2, Name: "ms1.srv2"})
	waitFor(t, 2*time.Second, "update on lb2", func() bool { return has(lb2.table, ipKey(200), "ms1.srv2") })

	for _, e := range lb2.table.Entries() {
		if e.Key == string(ipKey(200)) {
			if left := time.Until(e.Expire); left < 29*time.Minute || left > 30*time.Minute+time.Second {
				t.Errorf("replicated expiry %v from now, want about 30m", left)
			}
		}
	}
	// No echo: an echo of lb1's entries would be queued on lb2 before this
	// barrier entry and so reach lb1 before it.
	lb2.table.Put(ipKey(250), stick.Server{ID: 1, Name: "ms1.srv1"})
	waitFor(t, 2*time.Second, "barrier on lb1", func() bool { return has(lb1.table, ipKey(250), "ms1.srv1") })
	s1, s2 := lb1.node.Snapshot(), lb2.node.Snapshot()
	if s1.EntriesSent != 2 || s2.EntriesSent != 2 || s1.EntriesReceived != 2 || s2.EntriesReceived != 2 {
		t.Errorf("sent/received lb1 %d/%d lb2 %d/%d, want 2/2 on both", s1.EntriesSent, s1.EntriesReceived, s2.EntriesSent, s2.EntriesReceived)
	}
	if !s1.DigestKnown || !s1.DigestMatch || !s2.DigestMatch {
		t.Errorf("digest: %+v / %+v", s1, s2)
	}
	if s1.AuthFailures+s2.AuthFailures+s1.ProtocolErrors+s2.ProtocolErrors != 0 {
		t.Errorf("errors: %+v / %+v", s1, s2)
	}
}

// TestFullResyncOnConnect: what a node holds when the link comes up
// crosses in one full resync, in both directions.
func TestFullResyncOnConnect(t *testing.T) {
	t.Parallel()
	lb2 := start(t, "lb2", "lb1", netip.MustParseAddrPort("127.0.0.1:1"))
	const n = 2000 // several batches
	for i := range n {
		lb2.table.Put([]byte{10, 0, byte(i >> 8), byte(i)}, stick.Server{ID: 1, Name: "ms1.srv1"})
	}
	lb1 := start(t, "lb1", "lb2", lb2.node.Addr())
	lb1.table.Put(ipKey(1), stick.Server{ID: 2, Name: "ms1.srv2"})
	waitFor(t, 5*time.Second, "all entries on lb1", func() bool { return lb1.table.Len() == n+1 })
	waitFor(t, 5*time.Second, "lb1's entry on lb2", func() bool { return has(lb2.table, ipKey(1), "ms1.srv2") })
	waitFor(t, 2*time.Second, "resync counted", func() bool {
		return lb1.node.Snapshot().ResyncsReceived >= 1 && lb2.node.Snapshot().ResyncsReceived >= 1
	})
	if s := lb2.node.Snapshot(); s.EntriesSent < n {
		t.Errorf("lb2 sent %d entries, want at least %d", s.EntriesSent, n)
	}
}

// TestServerStates: an operator's change on one node is applied on the
// other; after a partition the newer change wins on both sides.
func TestServerStates(t *testing.T) {
	t.Parallel()
	cut := newCutter(t)
	lb1, lb2 := startPair(t, cut.via, nil, nil)
	bothUp(t, lb1, lb2)

	lb1.node.PublishServerState("ms1", "ms1.srv1", health.Drain, 1)
	took := waitFor(t, time.Second, "drain on lb2", func() bool { return lb2.rt.state("ms1/ms1.srv1") == "DRAIN/1" })
	t.Logf("state crossed in %v", took)

	// Partition: both change srv2, lb2 last.
	cut.set(modeDrop)
	waitFor(t, 5*time.Second, "link down", func() bool { return !lb1.node.Snapshot().Up && !lb2.node.Snapshot().Up })
	lb1.node.PublishServerState("ms1", "ms1.srv2", health.Drain, 5)
	lb2.node.PublishServerState("ms1", "ms1.srv2", health.Maint, 7)
	if p := lb1.node.Snapshot().Pending; p != 0 {
		t.Errorf("%d changes queued without a link", p)
	}
	cut.set(modePass)
	waitFor(t, 5*time.Second, "lb2's newer state on lb1", func() bool { return lb1.rt.state("ms1/ms1.srv2") == "MAINT/7" })
	waitFor(t, 2*time.Second, "resyncs", func() bool {
		return lb1.node.Snapshot().ResyncsReceived >= 2 && lb2.node.Snapshot().ResyncsReceived >= 2
	})
	if got := lb2.rt.state("ms1/ms1.srv2"); got != "" {
		t.Errorf("lb2 applied lb1's older state %q", got)
	}
	// States for servers this node does not have are logged, not kept.
	lb1.node.PublishServerState("ms1", "nosuch", health.Maint, 1)
	waitFor(t, 2*time.Second, "refusal logged", func() bool { return strings.Contains(lb2.log.String(), "cannot apply") })
}

// TestWrongSecret: messages under another secret are rejected, counted
// and logged on both sides, and nothing crosses.
func TestWrongSecret(t *testing.T) {
	t.Parallel()
	other := func(c *Config, _ *Options) { c.Secret = []byte("not the same secret") }
	lb1, lb2 := startPair(t, nil, nil, []memberOpt{other})
	lb1.table.Put(ipKey(3), stick.Server{ID: 1, Name: "ms1.srv1"})
	waitFor(t, 5*time.Second, "auth failures on both sides, twice on lb2", func() bool {
		return lb1.node.Snapshot().AuthFailures >= 1 && lb2.node.Snapshot().AuthFailures >= 2
	})
	for _, m := range []*member{lb1, lb2} {
		if !strings.Contains(m.log.String(), "failed authentication") {
			t.Errorf("no auth failure in the log:\n%s", m.log)
		}
		if s := m.node.Snapshot(); s.Up || s.Connects != 0 || s.EntriesReceived != 0 {
			t.Errorf("link established under a wrong secret: %+v", s)
		}
	}
	if lb2.table.Len() != 0 {
		t.Error("an entry crossed")
	}
	if n := strings.Count(lb2.log.String(), "failed authentication"); n != 1 {
		t.Errorf("auth failure logged %d times within 10s, want once", n)
	}
}

// TestDrift: differing configurations are reported by section on both
// nodes, and replication still works.
func TestDrift(t *testing.T) {
	t.Parallel()
	digest := func(ms1 string) memberOpt {
		return func(c *Config, _ *Options) {
			c.Digest = Digest{"global": sha256.Sum256([]byte("g")), "backend ms1": sha256.Sum256([]byte(ms1)),
				"vrrp VI_1": sha256.Sum256([]byte("v"))}
		}
	}
	onlyLB2 := func(c *Config, o *Options) {
		digest("two")(c, o)
		c.Digest["backend extra"] = sha256.Sum256(nil)
	}
	lb1, lb2 := startPair(t, nil, []memberOpt{digest("one")}, []memberOpt{onlyLB2})
	bothUp(t, lb1, lb2)
	want := []string{"backend extra", "backend ms1"}
	for _, m := range []*member{lb1, lb2} {
		s := m.node.Snapshot()
		if !s.DigestKnown || s.DigestMatch {
			t.Errorf("%s: digest known %v match %v", s.Local, s.DigestKnown, s.DigestMatch)
		}
		if diff := cmp.Diff(want, s.Differs); diff != "" {
			t.Errorf("%s: Differs (-want +got):\n%s", s.Local, diff)
		}
	}
	if !strings.Contains(lb1.log.String(), "configuration differs from lb2 in: backend extra, backend ms1") {
		t.Errorf("no drift warning on lb1:\n%s", lb1.log)
	}
	lb1.table.Put(ipKey(4), stick.Server{ID: 1, Name: "ms1.srv1"})
	waitFor(t, 2*time.Second, "entry despite drift", func() bool { return has(lb2.table, ipKey(4), "ms1.srv1") })
}

// TestOverflow: a burst larger than the queue is dropped and replaced by a
// full resync; nothing is lost.
func TestOverflow(t *testing.T) {
	t.Parallel()
	small := func(_ *Config, o *Options) { o.MaxPending, o.Flush = 16, 50*time.Millisecond }
	lb1, lb2 := startPair(t, nil, []memberOpt{small}, nil)
	bothUp(t, lb1, lb2)
	waitFor(t, 2*time.Second, "first resync sent", func() bool { return lb1.node.Snapshot().ResyncsSent == 1 })
	const n = 300
	for i := range n {
		lb1.table.Put([]byte{10, 1, byte(i >> 8), byte(i)}, stick.Server{ID: 1, Name: "ms1.srv1"})
	}
	waitFor(t, 5*time.Second, "burst on lb2", func() bool { return lb2.table.Len() == n })
	s := lb1.node.Snapshot()
	if s.Dropped == 0 || s.ResyncsSent < 2 {
		t.Errorf("dropped %d, resyncs sent %d: want an overflow and a second resync", s.Dropped, s.ResyncsSent)
	}
	if s.Pending > 16 {
		t.Errorf("pending %d above the bound", s.Pending)
	}
}

// TestLinkCut: while the link is cut nothing is queued; when it is back
// everything stored meanwhile arrives by full resync. A silent link (no
// reset, as with a cable pulled) is detected by the heartbeat timeout.
func TestLinkCut(t *testing.T) {
	t.Parallel()
	cut := newCutter(t)
	lb1, lb2 := startPair(t, cut.via, nil, nil)
	bothUp(t, lb1, lb2)
	cut.set(modeDrop)
	took := waitFor(t, 5*time.Second, "heartbeat timeout on both sides", func() bool {
		return !lb1.node.Snapshot().Up && !lb2.node.Snapshot().Up
	})
	t.Logf("silent link detected in %v (timeout 400ms)", took)
	for i := range 50 {
		lb1.table.Put([]byte{10, 2, 0, byte(i)}, stick.Server{ID: 1, Name: "ms1.srv1"})
		lb2.table.Put([]byte{10, 3, 0, byte(i)}, stick.Server{ID: 2, Name: "ms1.srv2"})
	}
	if p1, p2 := lb1.node.Snapshot().Pending, lb2.node.Snapshot().Pending; p1+p2 != 0 {
		t.Errorf("queued without a link: %d, %d", p1, p2)
	}
	cut.set(modePass)
	waitFor(t, 5*time.Second, "both tables whole", func() bool { return lb1.table.Len() == 100 && lb2.table.Len() == 100 })
	if s := lb1.node.Snapshot(); s.Connects < 2 {
		t.Errorf("connects = %d, want a reconnection", s.Connects)
	}
	if !strings.Contains(lb1.log.String(), "link to lb2 down") {
		t.Errorf("link loss not logged:\n%s", lb1.log)
	}
}

// TestPeerRestart: the acceptor restarts (a new process on the same
// address); the dialer reconnects and resyncs into the empty table.
func TestPeerRestart(t *testing.T) {
	t.Parallel()
	lb2 := start(t, "lb2", "lb1", netip.MustParseAddrPort("127.0.0.1:1"))
	addr := lb2.node.Addr()
	lb1 := start(t, "lb1", "lb2", addr)
	bothUp(t, lb1, lb2)
	lb1.table.Put(ipKey(9), stick.Server{ID: 1, Name: "ms1.srv1"})
	waitFor(t, 2*time.Second, "entry", func() bool { return has(lb2.table, ipKey(9), "ms1.srv1") })
	lb2.stop()
	waitFor(t, 5*time.Second, "lb1 sees the link down", func() bool { return !lb1.node.Snapshot().Up })
	again := start(t, "lb2", "lb1", netip.MustParseAddrPort("127.0.0.1:1"), func(c *Config, _ *Options) { c.Bind = addr })
	waitFor(t, 5*time.Second, "entry in the restarted peer", func() bool { return has(again.table, ipKey(9), "ms1.srv1") })
}

// TestRefused: a node that is not the configured peer, or that dials
// although its name sorts last, is refused and told why.
func TestRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, local, peerOfAcceptor, want string
	}{
		{"not the peer", "lb0", "lb1", "node name is not the configured peer"},
		{"wrong role", "lb3", "lb3", "the node with the lower name dials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			acc := start(t, "lb2", tt.peerOfAcceptor, netip.MustParseAddrPort("127.0.0.1:1"))
			// A misconfigured dialer: lb3 would never dial lb2 itself.
			n, err := New(Config{Local: tt.local, Peer: "lb2", Bind: netip.MustParseAddrPort("127.0.0.1:0"),
				PeerAddr: acc.node.Addr(), Secret: []byte("0123456789abcdef")}, Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = n.dial(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("dial: %v, want %q", err, tt.want)
			}
			waitFor(t, 2*time.Second, "refusal logged", func() bool { return strings.Contains(acc.log.String(), "refused a hello") })
		})
	}
}

// TestGarbage: something that is not a peer is dropped without harm.
func TestGarbage(t *testing.T) {
	t.Parallel()
	lb2 := start(t, "lb2", "lb1", netip.MustParseAddrPort("127.0.0.1:1"))
	for _, junk := range []string{"GET / HTTP/1.1\r\n\r\n", "\x00\x00\x00\x30" + strings.Repeat("x", 48), "\xff\xff\xff\xff"} {
		c, err := net.Dial("tcp", lb2.node.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(junk))
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.Copy(io.Discard, c) // until the node closes it
		c.Close()
	}
	if s := lb2.node.Snapshot(); s.Up || s.Connects != 0 {
		t.Errorf("garbage made a session: %+v", s)
	}
	// Silent connections hold the few handshake slots for a Timeout at
	// most; the real peer gets through.
	for range 10 {
		c, err := net.Dial("tcp", lb2.node.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	lb1 := start(t, "lb1", "lb2", lb2.node.Addr())
	bothUp(t, lb1, lb2)
}

// TestIdle: without a link, or without a node at all, the hooks do
// nothing and cost nothing.
func TestIdle(t *testing.T) {
	t.Parallel()
	var nilNode *Node
	nilNode.TableEvent("ms1", stick.Event{Kind: stick.Created, Key: "k"})
	nilNode.PublishServerState("b", "s", health.Maint, 1)
	if s := nilNode.Snapshot(); s.Up {
		t.Error("nil node up")
	}
	n, err := New(Config{Local: "lb1", Peer: "lb2", Bind: netip.MustParseAddrPort("127.0.0.1:0"),
		PeerAddr: netip.MustParseAddrPort("127.0.0.1:1")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		n.TableEvent("ms1", stick.Event{Kind: stick.Created, Key: fmt.Sprint(i)})
	}
	n.PublishServerState("b", "s", health.Maint, 1)
	if s := n.Snapshot(); s.Pending != 0 || s.Up {
		t.Errorf("idle node: %+v", s)
	}
}

// TestNewErrors: impossible configurations are refused.
func TestNewErrors(t *testing.T) {
	t.Parallel()
	bind := netip.MustParseAddrPort("127.0.0.1:0")
	for _, c := range []Config{
		{Local: "lb1", Peer: "lb1", Bind: bind},
		{Local: "", Peer: "lb2", Bind: bind},
		{Local: "lb1", Peer: "lb2"},
		{Local: "lb1", Peer: "lb2", Bind: bind}, // dials without an address
	} {
		if _, err := New(c, Options{}); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

// cutter is a TCP relay between the nodes that can drop everything
// silently, like a pulled cable (no reset, bytes vanish).
type cutter struct {
	t    *testing.T
	ln   net.Listener
	to   atomic.Value // netip.AddrPort
	mode atomic.Int32
	wg   sync.WaitGroup
	mu   sync.Mutex
	cs   []net.Conn
}

const (
	modePass = iota
	modeDrop
)

func newCutter(t *testing.T) *cutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{t: t, ln: ln}
	c.wg.Go(c.serve)
	t.Cleanup(func() {
		ln.Close()
		c.mu.Lock()
		for _, x := range c.cs {
			x.Close()
		}
		c.mu.Unlock()
		c.wg.Wait()
	})
	return c
}

func (c *cutter) via(target netip.AddrPort) netip.AddrPort {
	c.to.Store(target)
	return netip.MustParseAddrPort(c.ln.Addr().String())
}

func (c *cutter) set(mode int32) { c.mode.Store(mode) }

func (c *cutter) serve() {
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", c.to.Load().(netip.AddrPort).String())
		if err != nil {
			in.Close()
			continue
		}
		c.mu.Lock()
		c.cs = append(c.cs, in, out)
		c.mu.Unlock()
		c.wg.Go(func() { c.pipe(in, out) })
		c.wg.Go(func() { c.pipe(out, in) })
	}
}

func (c *cutter) pipe(from, to net.Conn) {
	defer from.Close()
	defer to.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 && c.mode.Load() == modePass {
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestReconfigure: after a reload, new tables are sent whole and a new
// digest reaches the peer through a new hello.
func TestReconfigure(t *testing.T) {
	t.Parallel()
	lb1, lb2 := startPair(t, nil, nil, nil)
	bothUp(t, lb1, lb2)
	fresh, err := stick.New(stick.Config{Type: stick.IP, Size: 10}, stick.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fresh.Put(ipKey(77), stick.Server{ID: 1, Name: "ms2.srv1"})
	other, err := stick.New(stick.Config{Type: stick.IP, Size: 10}, stick.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lb2.node.SetTables(map[string]Table{"ms1": lb2.table, "ms2": other})
	lb1.node.SetTables(map[string]Table{"ms1": lb1.table, "ms2": fresh})
	waitFor(t, 2*time.Second, "new table's entry on lb2", func() bool { return has(other, ipKey(77), "ms2.srv1") })

	lb1.node.SetDigest(Digest{"backend ms2": sha256.Sum256([]byte("new"))})
	waitFor(t, 5*time.Second, "drift seen after the new hello", func() bool {
		s := lb2.node.Snapshot()
		return s.Up && slices.Equal(s.Differs, []string{"backend ms2", "global"})
	})
	rt := &fakeRuntime{}
	lb2.node.SetRuntime(rt)
	lb1.node.PublishServerState("ms2", "ms2.srv1", health.Maint, 3)
	waitFor(t, 2*time.Second, "state through the new runtime", func() bool { return rt.state("ms2/ms2.srv1") == "MAINT/3" })
}
