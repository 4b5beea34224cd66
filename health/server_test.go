package health

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 25, 16, 50, 0, 0, time.UTC)

func checkedServer(rise, fall int) *Server {
	s := NewServer("ms1/ms1.srv1", true, false, 0, 1)
	s.configure(rise, fall, func() time.Time { return t0 })
	return s
}

func result(c byte) Result {
	if c == 'P' {
		return Result{Status: StatusL4OK}
	}
	return Result{Status: StatusL4Con, Info: "Connection refused"}
}

// TestRiseFall drives the health counter with a sequence of check results
// (P pass, F fail) and checks the state after each, HAProxy's rules.
func TestRiseFall(t *testing.T) {
	t.Parallel()
	U, D, GU, GD := Up, Down, GoingUp, GoingDown
	tests := []struct {
		name       string
		rise, fall int
		seq        string
		want       []OpState
		wantHealth []int
		chkDown    uint64
		chkFail    uint64
	}{
		{
			name: "starts up but one failure takes it down", rise: 2, fall: 3, seq: "F",
			want: []OpState{D}, wantHealth: []int{0}, chkDown: 1, chkFail: 1,
		},
		{
			name: "first pass brings it to full health", rise: 2, fall: 3, seq: "P",
			want: []OpState{U}, wantHealth: []int{4},
		},
		{
			name: "fall consecutive failures from full health", rise: 2, fall: 3, seq: "PFFF",
			want: []OpState{U, GD, GD, D}, wantHealth: []int{4, 3, 2, 0}, chkDown: 1, chkFail: 3,
		},
		{
			name: "a pass while going down restores full health", rise: 2, fall: 3, seq: "PFFPFFF",
			want: []OpState{U, GD, GD, U, GD, GD, D}, wantHealth: []int{4, 3, 2, 4, 3, 2, 0}, chkDown: 1, chkFail: 5,
		},
		{
			name: "failures while down are not counted again", rise: 2, fall: 3, seq: "FFF",
			want: []OpState{D, D, D}, wantHealth: []int{0, 0, 0}, chkDown: 1, chkFail: 1,
		},
		{
			name: "rise consecutive passes bring it up", rise: 2, fall: 3, seq: "FPP",
			want: []OpState{D, GU, U}, wantHealth: []int{0, 1, 4}, chkDown: 1, chkFail: 1,
		},
		{
			name: "a failure while going up starts over", rise: 3, fall: 2, seq: "FPPFPPP",
			want:       []OpState{D, GU, GU, D, GU, GU, U},
			wantHealth: []int{0, 1, 2, 0, 1, 2, 4}, chkDown: 1, chkFail: 2,
		},
		{
			name: "rise 1 fall 1 flips on every result", rise: 1, fall: 1, seq: "PFPFF",
			want: []OpState{U, D, U, D, D}, wantHealth: []int{1, 0, 1, 0, 0}, chkDown: 2, chkFail: 2,
		},
		{
			name: "many passes stay at the top", rise: 2, fall: 2, seq: "PPPPF",
			want: []OpState{U, U, U, U, GD}, wantHealth: []int{3, 3, 3, 3, 2}, chkFail: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := checkedServer(tt.rise, tt.fall)
			var got []OpState
			var health []int
			for i := range len(tt.seq) {
				s.record(result(tt.seq[i]), t0.Add(time.Duration(i)*time.Second))
				got = append(got, s.Op())
				health = append(health, s.Snapshot().Health)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("states for %s (-want +got):\n%s", tt.seq, diff)
			}
			if diff := cmp.Diff(tt.wantHealth, health); diff != "" {
				t.Errorf("health for %s (-want +got):\n%s", tt.seq, diff)
			}
			snap := s.Snapshot()
			if snap.ChkDown != tt.chkDown || snap.ChkFail != tt.chkFail {
				t.Errorf("chkdown, chkfail = %d, %d; want %d, %d", snap.ChkDown, snap.ChkFail, tt.chkDown, tt.chkFail)
			}
		})
	}
}

func TestInitialState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		checked, disabled  bool
		rise, fall         int
		op                 OpState
		admin              AdminState
		usable, persistent bool
		text               string
	}{
		{"checked starts up, going down", true, false, 2, 3, GoingDown, Ready, true, true, "UP 1/3"},
		{"checked with fall 1 starts fully up", true, false, 2, 1, Up, Ready, true, true, "UP"},
		{"unchecked", false, false, 2, 3, NoCheck, Ready, true, true, "no check"},
		{"disabled", true, true, 2, 3, GoingDown, Maint, false, false, "MAINT"},
	}
	for _, tt := range tests {
		s := NewServer("b/s", tt.checked, tt.disabled, 0, 1)
		s.configure(tt.rise, tt.fall, nil)
		if s.Op() != tt.op || s.Admin() != tt.admin || s.Usable() != tt.usable || s.UsableForPersistence() != tt.persistent {
			t.Errorf("%s: op %v admin %v usable %v persistent %v; want %v %v %v %v", tt.name,
				s.Op(), s.Admin(), s.Usable(), s.UsableForPersistence(), tt.op, tt.admin, tt.usable, tt.persistent)
		}
		if got := s.Snapshot().StatusText(); got != tt.text {
			t.Errorf("%s: StatusText = %q, want %q", tt.name, got, tt.text)
		}
	}
}

func TestAdmin(t *testing.T) {
	t.Parallel()
	s := checkedServer(2, 3)
	s.record(result('P'), t0)
	steps := []struct {
		admin              AdminState
		usable, persistent bool
		text               string
	}{
		{Drain, false, true, "DRAIN"},
		{Maint, false, false, "MAINT"},
		{Ready, true, true, "UP 1/3"}, // leaving maintenance: health = rise
		{Maint, false, false, "MAINT"},
		{Drain, false, true, "DRAIN"},
		{Ready, true, true, "UP 1/3"},
	}
	for i, st := range steps {
		s.SetAdmin(st.admin)
		snap := s.Snapshot()
		if s.Usable() != st.usable || s.UsableForPersistence() != st.persistent || snap.StatusText() != st.text {
			t.Errorf("step %d (%v): usable %v persistent %v text %q; want %v %v %q", i, st.admin,
				s.Usable(), s.UsableForPersistence(), snap.StatusText(), st.usable, st.persistent, st.text)
		}
	}

	// Results are ignored in maintenance: checks are paused there.
	s.SetAdmin(Maint)
	s.record(result('F'), t0)
	if got := s.Snapshot(); got.Health != 2 || got.ChkFail != 0 {
		t.Errorf("a failure in maintenance changed health to %d, chkfail %d", got.Health, got.ChkFail)
	}
	// Leaving maintenance asks for a check at once.
	s.checkNow.Store(false)
	s.SetAdmin(Ready)
	if !s.checkNow.Load() {
		t.Error("leaving maintenance did not ask for an immediate check")
	}
	// A down server in drain is not reachable even by persistence.
	s.SetAdmin(Drain)
	s.record(result('F'), t0)
	if s.Op() != Down || s.UsableForPersistence() {
		t.Errorf("down+drain: op %v persistent %v", s.Op(), s.UsableForPersistence())
	}
	if got := s.Snapshot().StatusText(); got != "DOWN" {
		t.Errorf("down+drain StatusText = %q, want DOWN", got)
	}
}

func TestUncheckedIgnoresResults(t *testing.T) {
	t.Parallel()
	s := NewServer("b/s", false, false, 0, 1)
	s.record(result('F'), t0)
	if s.Op() != NoCheck || !s.Usable() {
		t.Errorf("unchecked server after a failed result: op %v usable %v", s.Op(), s.Usable())
	}
}

// TestInterval checks HAProxy's srv_getinter: inter at full health,
// downinter fully down, fastinter in between.
func TestInterval(t *testing.T) {
	t.Parallel()
	cfg := CheckConfig{Inter: 2 * time.Second, FastInter: time.Second, DownInter: 5 * time.Second}
	s := checkedServer(2, 3)
	seq := "PFFFPP"
	want := []time.Duration{2 * time.Second, time.Second, time.Second, 5 * time.Second, time.Second, 2 * time.Second}
	if got := s.nextInterval(&cfg); got != time.Second {
		t.Errorf("interval at start (health = rise) = %v, want fastinter", got)
	}
	var got []time.Duration
	for i := range len(seq) {
		s.record(result(seq[i]), t0)
		got = append(got, s.nextInterval(&cfg))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("intervals for %s (-want +got):\n%s", seq, diff)
	}
}

func TestSlowstart(t *testing.T) {
	t.Parallel()
	const ss = 10 * time.Second
	tests := []struct {
		name   string
		weight int
		at     []time.Duration // after coming back up
		want   []int
	}{
		{"weight 100", 100, []time.Duration{0, time.Second, 5 * time.Second, 9999 * time.Millisecond, ss, time.Hour}, []int{1, 10, 50, 99, 100, 100}},
		{"weight 1", 1, []time.Duration{0, 5 * time.Second, ss}, []int{1, 1, 1}},
		{"weight 3", 3, []time.Duration{0, 3 * time.Second, 4 * time.Second, 7 * time.Second}, []int{1, 1, 1, 2}},
		{"weight 0", 0, []time.Duration{0, 5 * time.Second}, []int{0, 0}},
		{"clock before the change", 100, []time.Duration{-time.Second}, []int{100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer("b/s", true, false, ss, tt.weight)
			s.configure(2, 3, nil)
			// No slowstart at start-up.
			if got := s.EffectiveWeight(t0); got != tt.weight {
				t.Errorf("weight at start-up = %d, want %d", got, tt.weight)
			}
			s.record(result('F'), t0)
			s.record(result('P'), t0.Add(time.Second))
			up := t0.Add(2 * time.Second)
			s.record(result('P'), up)
			if s.Op() != Up {
				t.Fatalf("server is %v, want UP", s.Op())
			}
			var got []int
			for _, d := range tt.at {
				got = append(got, s.EffectiveWeight(up.Add(d)))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("effective weights at %v (-want +got):\n%s", tt.at, diff)
			}
		})
	}

	t.Run("leaving maintenance ramps too", func(t *testing.T) {
		t.Parallel()
		now := t0
		s := NewServer("b/s", false, true, ss, 50)
		s.configure(2, 3, func() time.Time { return now })
		s.SetAdmin(Ready)
		if got := s.EffectiveWeight(now.Add(2 * time.Second)); got != 10 {
			t.Errorf("2s after leaving maintenance weight = %d, want 10", got)
		}
	})
}

func TestSetWeight(t *testing.T) {
	t.Parallel()
	s1 := NewServer("b/s1", false, false, 0, 1)
	s2 := NewServer("b/s2", false, false, 0, 1)
	b := NewBackend("b", []*Server{s1, s2}, nil)
	for _, w := range []int{-1, 257} {
		if err := s1.SetWeight(w); err == nil || !strings.Contains(err.Error(), "set weight of b/s1") {
			t.Errorf("SetWeight(%d) error = %v", w, err)
		}
	}
	steps := []struct {
		s       *Server
		w       int
		usable  int
		healthy bool
	}{
		{s1, 0, 1, true},
		{s2, 0, 0, false},
		{s2, 256, 1, true},
	}
	for _, st := range steps {
		if err := st.s.SetWeight(st.w); err != nil {
			t.Fatalf("SetWeight(%d): %v", st.w, err)
		}
		if st.s.Weight() != st.w || st.s.EffectiveWeight(t0) != st.w {
			t.Errorf("weight = %d/%d, want %d", st.s.Weight(), st.s.EffectiveWeight(t0), st.w)
		}
		if b.UsableCount() != st.usable || b.Signal().Healthy() != st.healthy {
			t.Errorf("after %s weight %d: usable %d healthy %v; want %d %v", st.s.Name(), st.w,
				b.UsableCount(), b.Signal().Healthy(), st.usable, st.healthy)
		}
	}
}

func TestBackendSignal(t *testing.T) {
	t.Parallel()
	a1, a2 := checkedServer(2, 3), checkedServer(2, 3)
	bk := NewServer("ms1/bk", false, false, 0, 1)
	b := NewBackend("ms1", []*Server{a1, a2}, []*Server{bk})
	if b.Signal().Name() != "backend:ms1" {
		t.Errorf("signal name = %q", b.Signal().Name())
	}
	ch, cancel := b.Signal().Subscribe()
	defer cancel()

	type counts struct{ Active, Backup int }
	steps := []struct {
		do      func()
		want    counts
		healthy bool
		notify  bool
	}{
		{func() {}, counts{2, 1}, true, false},
		{func() { a1.record(result('F'), t0) }, counts{1, 1}, true, false},
		{func() { a2.record(result('F'), t0) }, counts{0, 1}, true, false},
		{func() { bk.SetAdmin(Maint) }, counts{0, 0}, false, true},
		{func() { bk.SetAdmin(Drain) }, counts{0, 0}, false, false},
		{func() { a1.record(result('P'), t0) }, counts{0, 0}, false, false}, // going up: not yet
		{func() { a1.record(result('P'), t0) }, counts{1, 0}, true, true},
	}
	for i, st := range steps {
		st.do()
		act, bck := b.Counts()
		if diff := cmp.Diff(st.want, counts{act, bck}); diff != "" {
			t.Errorf("step %d counts (-want +got):\n%s", i, diff)
		}
		if b.Signal().Healthy() != st.healthy {
			t.Errorf("step %d: signal healthy = %v, want %v", i, b.Signal().Healthy(), st.healthy)
		}
		select {
		case <-ch:
			if !st.notify {
				t.Errorf("step %d: unexpected notification", i)
			}
		default:
			if st.notify {
				t.Errorf("step %d: no notification", i)
			}
		}
	}
}

func TestDowntime(t *testing.T) {
	t.Parallel()
	now := t0
	s := NewServer("b/s", true, false, 0, 1)
	s.configure(2, 3, func() time.Time { return now })
	s.record(result('F'), t0.Add(10*time.Second))
	s.record(result('P'), t0.Add(20*time.Second))
	s.record(result('P'), t0.Add(30*time.Second))
	now = t0.Add(40 * time.Second)
	s.SetAdmin(Maint)
	snap := s.Snapshot()
	if snap.Downtime != 20*time.Second || !snap.DownSince.Equal(now) || !snap.LastChange.Equal(now) {
		t.Errorf("downtime %v since %v lastchange %v", snap.Downtime, snap.DownSince, snap.LastChange)
	}
	if got := snap.DowntimeAt(now.Add(5 * time.Second)); got != 25*time.Second {
		t.Errorf("DowntimeAt = %v, want 25s", got)
	}
}
