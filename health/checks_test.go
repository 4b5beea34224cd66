package health

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
)

// TestSetChecks: stopping checks freezes the operational state (results
// and observed traffic are ignored), the status column says "no check" for
// an up server and "DOWN" for a down one, and resuming keeps the health
// counter and asks for a check at once.
func TestSetChecks(t *testing.T) {
	t.Parallel()
	type view struct {
		Op       OpState
		Health   int
		Text     string
		Disabled bool
		Enabled  bool
		ChkFail  uint64
		HanaFail uint64
	}
	tests := []struct {
		name  string
		seq   string // checks before stopping them (rise 2, fall 3)
		after func(s *Server)
		want  view
	}{
		{"up stays up", "P", func(s *Server) { s.record(result('F'), t0); s.record(result('F'), t0); s.record(result('F'), t0) },
			view{Up, 4, "no check", true, false, 0, 0}},
		{"going down is no check", "PF", func(s *Server) { s.record(result('F'), t0) },
			view{GoingDown, 3, "no check", true, false, 1, 0}},
		{"down stays down", "F", func(s *Server) { s.record(result('P'), t0); s.record(result('P'), t0) },
			view{Down, 0, "DOWN", true, false, 1, 0}},
		{"going up shows DOWN", "FP", func(s *Server) { s.record(result('P'), t0) },
			view{GoingUp, 1, "DOWN", true, false, 1, 0}},
		{"observed traffic is ignored", "P", func(s *Server) {
			for range 5 {
				s.ReportTraffic(TrafficHTTPStatus)
			}
		}, view{Up, 4, "no check", true, false, 0, 0}},
		{"maint still applies", "P", func(s *Server) { s.SetAdmin(Maint) },
			view{Up, 4, "MAINT", true, false, 0, 0}},
		{"drain still applies", "P", func(s *Server) { s.SetAdmin(Drain) },
			view{Up, 4, "DRAIN", true, false, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := checkedServer(2, 3)
			cfg := CheckConfig{Observe: "layer7", OnError: "mark-down", ErrorLimit: 2}.WithDefaults()
			s.configureObserve(&cfg)
			for i := range tt.seq {
				s.record(result(tt.seq[i]), t0)
			}
			if err := s.SetChecks(false); err != nil {
				t.Fatal(err)
			}
			tt.after(s)
			snap := s.Snapshot()
			got := view{snap.Op, snap.Health, snap.StatusText(), snap.ChecksDisabled, s.ChecksEnabled(), snap.ChkFail, snap.HanaFail}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("after stopping checks (-want +got):\n%s", d)
			}
			if snap.CheckEnabled() {
				t.Error("snapshot CheckEnabled with checks stopped")
			}

			s.checkNow.Store(false)
			if err := s.SetChecks(true); err != nil {
				t.Fatal(err)
			}
			if !s.checkNow.Load() {
				t.Error("resuming checks did not ask for a check at once")
			}
			if s.Snapshot().Health != tt.want.Health || !s.ChecksEnabled() || s.Snapshot().ChecksDisabled {
				t.Errorf("resuming changed health to %d (want %d) or left checks off", s.Snapshot().Health, tt.want.Health)
			}
		})
	}
}

func TestSetChecksUnchecked(t *testing.T) {
	t.Parallel()
	s := NewServer("b/s", false, false, 0, 1)
	for _, on := range []bool{false, true} {
		if err := s.SetChecks(on); !errors.Is(err, ErrNotChecked) {
			t.Errorf("SetChecks(%v) on an unchecked server: %v, want ErrNotChecked", on, err)
		}
	}
	if s.ChecksEnabled() || s.Snapshot().ChecksDisabled || s.Snapshot().StatusText() != "no check" {
		t.Errorf("unchecked: enabled %v disabled %v text %q", s.ChecksEnabled(), s.Snapshot().ChecksDisabled, s.Snapshot().StatusText())
	}
	// Doing nothing twice is not an error, and does not ask for a check.
	c := checkedServer(2, 3)
	if err := c.SetChecks(true); err != nil {
		t.Fatal(err)
	}
	if c.checkNow.Load() {
		t.Error("enabling enabled checks asked for a check")
	}
}

// TestCheckerSkipsStoppedChecks: with a fake clock, no check is sent while
// checks are stopped, however long; resuming checks at once and then at the
// usual pace.
func TestCheckerSkipsStoppedChecks(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var dials atomic.Int32
	dialer := dialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nil, errRefused()
	})
	srv := NewServer("b/s", true, false, 0, 1)
	NewBackend("b", []*Server{srv}, nil)
	var sink logSink
	c := NewChecker([]Target{{Server: srv, Backend: "b", Name: "s", Addr: netip.MustParseAddrPort("192.0.2.21:80"),
		Check: CheckConfig{Inter: time.Second, Rise: 2, Fall: 3}}},
		Options{Clock: clock, Dialer: dialer, Logger: zerolog.New(&sink).Level(zerolog.InfoLevel)})
	if err := srv.SetChecks(false); err != nil {
		t.Fatal(err)
	}
	stop := runChecker(t, c)

	for range 5 {
		clock.Advance(time.Hour)
	}
	if n := dials.Load(); n != 0 {
		t.Fatalf("%d checks sent while checks were stopped", n)
	}
	if srv.Op() != GoingDown || !srv.Usable() {
		t.Fatalf("op %v usable %v while checks stopped, want the initial GOING_DOWN, usable", srv.Op(), srv.Usable())
	}
	if err := srv.SetChecks(true); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a check at once after resuming", func() bool { return srv.Op() == Down })
	if d := clock.waitArmed(t); d != time.Second {
		t.Errorf("armed %v after the resumed check, want inter 1s", d)
	}
	// Stopped again while DOWN: it stays DOWN.
	if err := srv.SetChecks(false); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	stop()
	if n := dials.Load(); n != 1 {
		t.Errorf("%d checks, want 1", n)
	}
	if snap := srv.Snapshot(); snap.Op != Down || snap.StatusText() != "DOWN" {
		t.Errorf("stopped while down: op %v text %q", snap.Op, snap.StatusText())
	}
	want := []logLine{
		{"warn", `Server b/s is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`},
		{"error", "backend b has no server available!"},
	}
	if diff := cmp.Diff(want, sink.lines(t)); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}

// TestInheritStoppedChecks: checks stopped at runtime stay stopped across a
// reload of the same server (HAProxy's server-state file keeps them), and
// not when the health state is not inherited.
func TestInheritStoppedChecks(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		what Inherit
		want bool
	}{{Inherit{Health: true}, false}, {Inherit{Admin: true, Weight: true}, true}} {
		old := checkedServer(2, 3)
		if err := old.SetChecks(false); err != nil {
			t.Fatal(err)
		}
		s := checkedServer(2, 3)
		s.Inherit(old, tt.what)
		if s.ChecksEnabled() != tt.want {
			t.Errorf("Inherit(%+v): checks enabled %v, want %v", tt.what, s.ChecksEnabled(), tt.want)
		}
	}
}

// TestReportTrafficNewResults: the read timeout, close and invalid head
// results count as layer7 errors with HAProxy's descriptions.
func TestReportTrafficNewResults(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		r    TrafficResult
		info string
	}{
		{TrafficHTTPReadTimeout, "Detected 1 consecutive errors, last one was: Read timeout (http)"},
		{TrafficHTTPBrokenPipe, "Detected 1 consecutive errors, last one was: Close from server (http)"},
		{TrafficHTTPInvalidHead, "Detected 1 consecutive errors, last one was: Invalid http response (headers)"},
		{TrafficHTTPInvalid, "Detected 1 consecutive errors, last one was: Invalid http response"},
	} {
		s := checkedServer(2, 3)
		s.record(result('P'), t0)
		for _, mode := range []string{"layer4", "layer7"} {
			cfg := CheckConfig{Observe: mode, OnError: "mark-down", ErrorLimit: 1}.WithDefaults()
			s.configureObserve(&cfg)
			s.ReportTraffic(tt.r)
		}
		snap := s.Snapshot()
		if snap.Op != Down || snap.CheckInfo != tt.info || snap.HanaFail != 1 {
			t.Errorf("%v: op %v info %q hanafail %d; want DOWN %q 1 (layer4 ignores it, layer7 counts it)", tt.r, snap.Op, snap.CheckInfo, snap.HanaFail, tt.info)
		}
	}
}
