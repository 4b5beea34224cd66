package health

import (
	"context"
	"errors"
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
)

// runChecker starts c.Run and returns a stop function that cancels it and
// waits (bounded) for it to return.
func runChecker(t *testing.T, c *Checker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return within 5s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestCheckerLogLines drives one checked server with a fake clock and a
// fake dialer, and checks the pacing and HAProxy's exact log sentences.
func TestCheckerLogLines(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var refuse atomic.Bool
	var dials atomic.Int32
	dialer := dialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		if addr != "192.0.2.21:8080" {
			return nil, errors.New("dialled " + addr)
		}
		if refuse.Load() {
			clock.Advance(time.Millisecond)
			return nil, errRefused()
		}
		clock.Advance(2 * time.Millisecond)
		return pipeHTTP("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"), nil
	})
	srv1 := NewServer("ms1/ms1.srv1", true, false, 0, 1)
	srv2 := NewServer("ms1/ms1.srv2", false, false, 0, 1)
	b := NewBackend("ms1", []*Server{srv1, srv2}, nil)
	var sink logSink
	var mu sync.Mutex
	var events []Event
	c := NewChecker([]Target{
		{Server: srv1, Backend: "ms1", Name: "ms1.srv1", Addr: netip.MustParseAddrPort("192.0.2.21:8080"), Check: CheckConfig{
			Type: "http", Inter: 2 * time.Second, FastInter: time.Second, DownInter: 3 * time.Second, Rise: 2, Fall: 3,
		}},
		{Server: srv2, Backend: "ms1", Name: "ms1.srv2", Addr: netip.MustParseAddrPort("192.0.2.22:8080")},
	}, Options{
		Clock:  clock,
		Dialer: dialer,
		Logger: zerolog.New(&sink).Level(zerolog.InfoLevel),
		OnChange: func(e Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		},
	})
	stop := runChecker(t, c)

	// step: what the next check meets, then the timer the checker arms
	// after it (start to start: the interval less the check's duration)
	// and the state it leaves.
	steps := []struct {
		refuse bool
		armed  time.Duration
		op     OpState
		admin  func()
	}{
		{refuse: true, armed: 3*time.Second - time.Millisecond, op: Down}, // first check at once; one failure: DOWN
		{refuse: false, armed: time.Second - 2*time.Millisecond, op: GoingUp},
		{refuse: false, armed: 2*time.Second - 2*time.Millisecond, op: Up, admin: func() { srv2.SetAdmin(Maint) }},
		{refuse: true, armed: time.Second - time.Millisecond, op: GoingDown},
		{refuse: true, armed: time.Second - time.Millisecond, op: GoingDown},
		{refuse: true, armed: 3*time.Second - time.Millisecond, op: Down, admin: func() { srv2.SetAdmin(Ready) }},
	}
	for i, st := range steps {
		refuse.Store(st.refuse)
		if i > 0 {
			clock.Advance(steps[i-1].armed)
		}
		if got := clock.waitArmed(t); got != st.armed {
			t.Errorf("step %d: armed %v, want %v", i, got, st.armed)
		}
		if srv1.Op() != st.op {
			t.Errorf("step %d: server is %v, want %v", i, srv1.Op(), st.op)
		}
		if st.admin != nil {
			st.admin()
		}
	}
	stop()
	if got := dials.Load(); got != int32(len(steps)) {
		t.Errorf("%d checks, want %d", got, len(steps))
	}
	if b.UsableCount() != 1 || !b.Signal().Healthy() {
		t.Errorf("backend usable %d healthy %v; want 1 true", b.UsableCount(), b.Signal().Healthy())
	}

	want := []logLine{
		{"warn", `Server ms1/ms1.srv1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 1ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`},
		{"info", `Server ms1/ms1.srv1 is UP, reason: Layer7 check passed, code: 200, check duration: 2ms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`},
		{"warn", `Server ms1/ms1.srv2 is going DOWN for maintenance. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`},
		{"warn", `Server ms1/ms1.srv1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 1ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`},
		{"error", `backend ms1 has no server available!`},
		{"info", `Server ms1/ms1.srv2 is UP (leaving forced maintenance). 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`},
	}
	if diff := cmp.Diff(want, sink.lines(t)); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}

	type ev struct {
		Server       string
		Admin        bool
		From, To     OpState
		AdminTo      AdminState
		Status       Status
		Active       int
		NoServerLeft bool
	}
	var got []ev
	mu.Lock()
	for _, e := range events {
		got = append(got, ev{e.Server, e.Admin, e.From, e.To, e.AdminTo, e.Status, e.ActiveLeft, e.NoServerLeft})
		if e.Message == "" || e.Backend != "ms1" {
			t.Errorf("event %+v lacks message or backend", e)
		}
	}
	mu.Unlock()
	wantEv := []ev{
		{"ms1.srv1", false, GoingDown, Down, Ready, StatusL4Con, 1, false},
		{"ms1.srv1", false, GoingUp, Up, Ready, StatusL7OK, 2, false},
		{"ms1.srv2", true, NoCheck, NoCheck, Maint, StatusUnknown, 1, false},
		{"ms1.srv1", false, GoingDown, Down, Ready, StatusL4Con, 0, true},
		{"ms1.srv2", true, NoCheck, NoCheck, Ready, StatusUnknown, 1, false},
	}
	if diff := cmp.Diff(wantEv, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	snap := srv1.Snapshot()
	if snap.CheckStatus != StatusL4Con || snap.CheckInfo != "Connection refused" || snap.CheckDuration != time.Millisecond || snap.ChkDown != 2 || snap.ChkFail != 4 {
		t.Errorf("snapshot %+v", snap)
	}
}

func TestMessages(t *testing.T) {
	t.Parallel()
	ev := Event{Backend: "ms1", Server: "bk", Backup: true, ActiveLeft: 0, BackupLeft: 1, Traffic: Traffic{Active: 5, Requeued: 1, Queued: 2}}
	tests := []struct{ got, want string }{
		{downMessage(&ev, "is DOWN"+statusPart(Result{Status: StatusL7Sts, Code: 503, Info: `a "b" <c>` + "\x01", Duration: 1500 * time.Microsecond})),
			`Backup Server ms1/bk is DOWN, reason: Layer7 wrong status, code: 503, info: "a <22>b<22> <3C>c<3E><01>", check duration: 1ms. 0 active and 1 backup servers left. Running on backup. 5 sessions active, 1 requeued, 2 remaining in queue.`},
		{upMessage(&ev, "is UP"+statusPart(Result{Status: StatusL4OK})),
			`Backup Server ms1/bk is UP, reason: Layer4 check passed, check duration: 0ms. 0 active and 1 backup servers online. Running on backup. 1 sessions requeued, 2 total in queue.`},
		{downMessage(&Event{Backend: "b", Server: "s"}, "is DOWN"+statusPart(Result{Status: StatusL4TOut, Duration: 2001 * time.Millisecond})),
			`Server b/s is DOWN, reason: Layer4 timeout, check duration: 2001ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`},
		{noServerMessage("ms2"), "backend ms2 has no server available!"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("message\n got: %s\nwant: %s", tt.got, tt.want)
		}
	}
}

// TestCheckerTCP runs real TCP checks on loopback: the server goes DOWN
// after fall failures once its listener closes and comes back UP after
// rise passes once it listens again.
func TestCheckerTCP(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := netip.MustParseAddrPort(ln.Addr().String())
	accept := func(ln net.Listener) *sync.WaitGroup {
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		})
		return &wg
	}
	wg := accept(ln)

	srv := NewServer("tcp/s1", true, false, 0, 1)
	NewBackend("tcp", []*Server{srv}, nil)
	events := make(chan Event, 16)
	c := NewChecker([]Target{{Server: srv, Backend: "tcp", Name: "s1", Addr: addr, Check: CheckConfig{
		Type: "tcp", Inter: 20 * time.Millisecond, Rise: 2, Fall: 3, Timeout: time.Second,
	}}}, Options{OnChange: func(e Event) { events <- e }, Logger: zerolog.Nop()})
	runChecker(t, c)

	eventually(t, 5*time.Second, "the server at full health", func() bool { return srv.Op() == Up })
	ln.Close()
	wg.Wait()
	next := func() Event {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no state change within 5s")
			return Event{}
		}
	}
	e := next()
	if e.From != GoingDown || e.To != Down || e.Status != StatusL4Con || e.Info != "Connection refused" {
		t.Errorf("after closing the listener: %+v", e)
	}
	if snap := srv.Snapshot(); snap.ChkFail != 3 || snap.ChkDown != 1 || snap.Health != 0 {
		t.Errorf("after going down: chkfail %d chkdown %d health %d; want 3 1 0", snap.ChkFail, snap.ChkDown, snap.Health)
	}

	ln2, err := net.Listen("tcp", addr.String())
	if err != nil {
		t.Fatalf("listen again on %v: %v", addr, err)
	}
	defer func() { ln2.Close(); wg.Wait() }()
	wg = accept(ln2)
	e = next()
	if e.From != GoingUp || e.To != Up || e.Status != StatusL4OK {
		t.Errorf("after listening again: %+v", e)
	}
	if !srv.Usable() {
		t.Error("server not usable after coming back up")
	}
}

// TestCheckerHangingTarget: a server that accepts and never answers only
// fails its own check; the others keep their pace, and shutdown is prompt.
func TestCheckerHangingTarget(t *testing.T) {
	t.Parallel()
	hang := serve(t, func(c net.Conn) {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 1024)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
	ok := serve(t, respond("HTTP/1.0 200 OK\r\n\r\n"))
	var hangDials, okDials atomic.Int32
	d := &net.Dialer{}
	dialer := dialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == hang.String() {
			hangDials.Add(1)
		} else {
			okDials.Add(1)
		}
		return d.DialContext(ctx, network, addr)
	})
	sHang := NewServer("b/hang", true, false, 0, 1)
	sOK := NewServer("b/ok", true, false, 0, 1)
	NewBackend("b", []*Server{sHang, sOK}, nil)
	cfg := CheckConfig{Type: "http", Inter: 20 * time.Millisecond, Timeout: 30 * time.Second}
	c := NewChecker([]Target{
		{Server: sHang, Backend: "b", Name: "hang", Addr: hang, Check: cfg},
		{Server: sOK, Backend: "b", Name: "ok", Addr: ok, Check: cfg},
	}, Options{Dialer: dialer, Logger: zerolog.Nop()})
	stop := runChecker(t, c)

	eventually(t, 10*time.Second, "5 checks of the healthy server", func() bool { return okDials.Load() >= 5 })
	if n := hangDials.Load(); n != 1 {
		t.Errorf("hanging server dialled %d times, want 1 (its check still running)", n)
	}
	if sOK.Op() != Up || sHang.Op() != GoingDown {
		t.Errorf("ok server %v, hanging server %v; want UP, GOING_DOWN", sOK.Op(), sHang.Op())
	}
	start := time.Now()
	stop()
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("shutdown with a hanging check took %v", el)
	}
}

// TestCheckerMaintPausesChecks: no checks in maintenance, one at once when
// it ends.
func TestCheckerMaintPausesChecks(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var dials atomic.Int32
	dialer := dialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nil, errRefused()
	})
	srv := NewServer("b/s", true, true, 0, 1) // disabled: starts in Maint
	c := NewChecker([]Target{{Server: srv, Backend: "b", Name: "s", Addr: netip.MustParseAddrPort("192.0.2.21:80"), Check: CheckConfig{Inter: time.Second}}},
		Options{Clock: clock, Dialer: dialer, Logger: zerolog.Nop()})
	stop := runChecker(t, c)

	clock.Advance(time.Hour) // nothing to do in maintenance
	srv.SetAdmin(Ready)
	eventually(t, 5*time.Second, "a check at once after maintenance", func() bool { return srv.Op() == Down })
	srv.SetAdmin(Maint)
	clock.Advance(time.Hour) // a timer armed before maintenance fires: still no check
	srv.SetAdmin(Drain)      // checks run again, at once
	eventually(t, 5*time.Second, "a second check", func() bool { return dials.Load() >= 2 })
	stop()
	if n := dials.Load(); n != 2 {
		t.Errorf("%d checks, want 2", n)
	}
}

// TestCheckerSpread: first checks are spread over the first interval.
func TestCheckerSpread(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	dialer := dialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, errRefused()
	})
	var targets []Target
	for i := range 4 {
		s := NewServer("b/s", true, false, 0, 1)
		targets = append(targets, Target{Server: s, Backend: "b", Name: "s", Addr: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.21"), uint16(8080+i)),
			Check: CheckConfig{Inter: 2 * time.Second}})
	}
	c := NewChecker(targets, Options{Clock: clock, Dialer: dialer, Logger: zerolog.Nop()})
	runChecker(t, c)
	var got []time.Duration
	for range 4 {
		got = append(got, clock.waitArmed(t))
	}
	slices.Sort(got)
	// Target 0 checks at once and then waits its interval; the others
	// wait 0.5s, 1s and 1.5s for their first check.
	want := []time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first timers (-want +got):\n%s", diff)
	}
}

func TestCheckerErrors(t *testing.T) {
	t.Parallel()
	srv := NewServer("b/s", true, false, 0, 1)
	c := NewChecker([]Target{
		{Server: srv, Backend: "b", Name: "s", Check: CheckConfig{Type: "icmp"}},
		{Backend: "b", Name: "nil"},
	}, Options{Logger: zerolog.Nop()})
	err := c.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `health check of b/s: check type "icmp"`) || !strings.Contains(err.Error(), "b/nil: no server") {
		t.Errorf("Run error = %v", err)
	}

	c = NewChecker(nil, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Run(ctx); err != nil {
		t.Errorf("Run with no targets: %v", err)
	}
	if err := c.Run(ctx); err == nil {
		t.Error("second Run succeeded")
	}
}

// TestAdminLogLines: operators' changes are logged like HAProxy's, with
// the engine's figures from Options.Traffic.
func TestAdminLogLines(t *testing.T) {
	t.Parallel()
	s1 := NewServer("b/s1", true, false, 0, 1)
	s2 := NewServer("b/s2", false, false, 0, 1)
	bk := NewServer("b/bk", false, false, 0, 1)
	NewBackend("b", []*Server{s1, s2}, []*Server{bk})
	var sink logSink
	NewChecker([]Target{
		{Server: s1, Backend: "b", Name: "s1", Addr: netip.MustParseAddrPort("192.0.2.21:80")},
		{Server: s2, Backend: "b", Name: "s2"},
		{Server: bk, Backend: "b", Name: "bk"},
	}, Options{
		Logger: zerolog.New(&sink),
		Traffic: func(backend, server string, up bool) Traffic {
			if up {
				return Traffic{Requeued: 3, Queued: 4}
			}
			return Traffic{Active: 7, Requeued: 1}
		},
	})
	s1.record(result('F'), t0)
	s1.SetAdmin(Maint)
	s1.SetAdmin(Ready)
	s2.SetAdmin(Drain)
	s2.SetAdmin(Ready)
	s1.SetAdmin(Maint)
	s2.SetAdmin(Maint)
	bk.SetAdmin(Maint)
	bk.SetAdmin(Drain)
	want := []logLine{
		{"warn", "Server b/s1 was DOWN and now enters maintenance. 1 active and 1 backup servers left. 7 sessions active, 1 requeued, 0 remaining in queue."},
		{"info", "Server b/s1 is UP (leaving forced maintenance). 2 active and 1 backup servers online. 3 sessions requeued, 4 total in queue."},
		{"warn", "Server b/s2 enters drain state. 1 active and 1 backup servers left. 7 sessions active, 1 requeued, 0 remaining in queue."},
		{"info", "Server b/s2 is UP (leaving forced drain). 2 active and 1 backup servers online. 3 sessions requeued, 4 total in queue."},
		{"warn", "Server b/s1 is going DOWN for maintenance. 1 active and 1 backup servers left. 7 sessions active, 1 requeued, 0 remaining in queue."},
		{"warn", "Server b/s2 is going DOWN for maintenance. 0 active and 1 backup servers left. Running on backup. 7 sessions active, 1 requeued, 0 remaining in queue."},
		{"warn", "Backup Server b/bk is going DOWN for maintenance. 0 active and 0 backup servers left. 7 sessions active, 1 requeued, 0 remaining in queue."},
		{"error", "backend b has no server available!"},
		{"info", "Backup Server b/bk is DRAIN (leaving forced maintenance). 0 active and 0 backup servers online. 1 sessions requeued, 0 total in queue."},
	}
	if diff := cmp.Diff(want, sink.lines(t)); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}
