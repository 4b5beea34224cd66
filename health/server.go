package health

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Server is one server's health and admin state. lb reads it on every pick
// (Usable, EffectiveWeight: atomics, no lock); the Checker and operators
// (SetAdmin, SetWeight) change it.
//
// The health counter is HAProxy's: 0..rise-1 is DOWN (0 fully, above 0
// going up), rise..rise+fall-1 is UP (the top fully, below it going
// down). A passed check adds one and, on reaching rise, jumps to the top;
// a failed check takes one and, on falling below rise, drops to 0. So an
// UP server goes DOWN after fall failures in a row and a DOWN one comes UP
// after rise passes in a row; one failure while going up starts the count
// again. Checked servers start at health = rise, UP but going down at the
// first failure, as HAProxy does, so traffic flows at once and a dead
// server is taken out by its first check.
type Server struct {
	name      string
	checked   bool
	slowstart time.Duration
	wake      chan struct{}

	op        atomic.Uint32
	admin     atomic.Uint32
	weight    atomic.Int32
	rampStart atomic.Int64 // UnixNano when the slowstart ramp began; 0: none
	checkNow  atomic.Bool  // left Maint: the Checker checks at once
	fastNow   atomic.Bool  // observed errors: check within fastinter
	checksOff atomic.Bool  // SetChecks(false): checks stopped, state frozen

	observe   atomic.Uint32 // observe mode; observeNone when not observing
	onError   atomic.Uint32
	errLimit  atomic.Int32
	consecErr atomic.Int32

	// Set once by NewBackend, before the server is used.
	backend *Backend
	backup  bool

	mu         sync.Mutex
	now        func() time.Time
	adminHook  func(adminChange)
	hanaHook   func(Result, transition)
	rise, fall int
	health     int
	last       Result
	lastCheck  time.Time
	lastChange time.Time
	downtime   time.Duration
	downSince  time.Time
	chkDown    uint64
	chkFail    uint64
	hanaFail   uint64
}

// NewServer returns a server named "backend/server". checked selects
// active checks (otherwise the server is NoCheck, always up); disabled
// starts it in Maint; slowstart is the weight ramp after it comes back UP
// (0: none); weight is clamped to 0..MaxWeight (the configuration loader
// reports out-of-range values).
func NewServer(name string, checked, disabled bool, slowstart time.Duration, weight int) *Server {
	s := &Server{
		name:      name,
		checked:   checked,
		slowstart: slowstart,
		wake:      make(chan struct{}, 1),
		now:       time.Now,
		rise:      DefaultRise,
		fall:      DefaultFall,
		health:    DefaultRise,
	}
	s.weight.Store(int32(min(max(weight, 0), MaxWeight)))
	if disabled {
		s.admin.Store(uint32(Maint))
	}
	s.op.Store(uint32(s.opFromHealth()))
	s.last.Status = StatusUnknown
	if checked {
		s.last.Status = StatusIni
	}
	if s.isDownLocked() {
		s.downSince = s.now()
	}
	return s
}

// Name is "backend/server".
func (s *Server) Name() string { return s.name }

// Checked reports whether the server has active checks.
func (s *Server) Checked() bool { return s.checked }

// Backup reports whether the server is a backup of its Backend.
func (s *Server) Backup() bool { return s.backup }

// Op returns the operational state.
func (s *Server) Op() OpState { return OpState(s.op.Load()) }

// Admin returns the administrative state.
func (s *Server) Admin() AdminState { return AdminState(s.admin.Load()) }

// Usable reports whether the server may take new traffic: operationally up
// (Up, GoingDown, NoCheck) and admin Ready. It says nothing of weight or
// maxconn, which the balancer weighs itself.
func (s *Server) Usable() bool {
	return OpState(s.op.Load()).IsUp() && AdminState(s.admin.Load()) == Ready
}

// UsableForPersistence is Usable, but also true while draining: a
// persistence cookie or stick-table entry still reaches a draining server.
func (s *Server) UsableForPersistence() bool {
	return OpState(s.op.Load()).IsUp() && AdminState(s.admin.Load()) != Maint
}

// Weight returns the runtime weight, without slowstart.
func (s *Server) Weight() int { return int(s.weight.Load()) }

// EffectiveWeight returns the runtime weight with the slowstart ramp
// applied: after the server comes back UP (or leaves maintenance) it grows
// linearly from weight*elapsed/slowstart (at least 1) to the full weight
// over slowstart. Slowstart never applies at start-up, as in HAProxy.
func (s *Server) EffectiveWeight(now time.Time) int {
	w := int64(s.weight.Load())
	rs := s.rampStart.Load()
	if rs == 0 || w == 0 || s.slowstart <= 0 {
		return int(w)
	}
	el := now.UnixNano() - rs
	if el < 0 || el >= int64(s.slowstart) {
		return int(w)
	}
	// w*el cannot overflow: w <= 256 and el < slowstart.
	return int(max(w*el/int64(s.slowstart), 1))
}

// SetWeight sets the runtime weight, 0..MaxWeight. Weight 0 keeps the
// server up but gives it no new traffic (and HAProxy then no longer counts
// it as available in its backend).
func (s *Server) SetWeight(w int) error {
	if w < 0 || w > MaxWeight {
		return fmt.Errorf("set weight of %s to %d: must be within 0-%d", s.name, w, MaxWeight)
	}
	if old := s.weight.Swap(int32(w)); (old == 0) != (w == 0) {
		s.recount()
	}
	return nil
}

// SetAdmin changes the administrative state. Leaving Maint restarts a
// checked server at health = rise (up, but down at its first failed
// check, which the Checker runs at once) and starts the slowstart ramp.
func (s *Server) SetAdmin(a AdminState) {
	if a > Maint {
		return
	}
	s.mu.Lock()
	old := AdminState(s.admin.Load())
	if old == a {
		s.mu.Unlock()
		return
	}
	now := s.now()
	wasDown := s.isDownLocked()
	fromOp := s.Op()
	s.admin.Store(uint32(a))
	if old == Maint {
		if s.checked {
			s.health = s.rise
			s.op.Store(uint32(s.opFromHealth()))
			s.checkNow.Store(true)
		}
		if s.slowstart > 0 && s.Op().IsUp() {
			s.rampStart.Store(now.UnixNano())
		}
	}
	s.lastChange = now
	s.accountDownLocked(wasDown, now)
	ch := adminChange{from: old, to: a, fromOp: fromOp, toOp: s.Op(), time: now}
	hook := s.adminHook
	s.mu.Unlock()

	ch.before, ch.after = s.recount()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	if hook != nil {
		hook(ch)
	}
}

// adminChange is what SetAdmin tells the Checker, which logs it.
type adminChange struct {
	from, to      AdminState
	fromOp, toOp  OpState
	time          time.Time
	before, after counts
}

// transition is what record reports to the Checker.
type transition struct {
	from, to OpState
	// crossed: the server went from up to down or back.
	crossed       bool
	before, after counts
}

// configure sets rise and fall and restarts the health counter at rise.
func (s *Server) configure(rise, fall int, now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rise, s.fall, s.health = rise, fall, rise
	if now != nil {
		s.now = now
	}
	s.op.Store(uint32(s.opFromHealth()))
	if s.isDownLocked() {
		s.downSince = s.now()
	}
}

// setAdminHook installs the Checker's logger of admin changes.
func (s *Server) setAdminHook(h func(adminChange)) {
	s.mu.Lock()
	s.adminHook = h
	s.mu.Unlock()
}

// record applies one check result to the health counter, as HAProxy's
// set_server_check_status does. Results are dropped while in Maint (checks
// are paused there).
func (s *Server) record(r Result, now time.Time) transition {
	s.mu.Lock()
	if s.checksOff.Load() {
		// Checks stopped at runtime: even the result of a check that was
		// in flight is ignored, as HAProxy's `disable health` says.
		from := s.Op()
		s.mu.Unlock()
		return transition{from: from, to: from}
	}
	s.last = r
	s.lastCheck = now
	from := s.Op()
	if !s.checked || s.Admin() == Maint {
		s.mu.Unlock()
		return transition{from: from, to: from}
	}
	top := s.rise + s.fall - 1
	if r.Status.Passed() {
		if s.health < top {
			s.health++
			if s.health >= s.rise {
				s.health = top
			}
		}
	} else if s.health > 0 {
		s.chkFail++
		s.health--
		if s.health < s.rise {
			s.health = 0
		}
	}
	to := s.opFromHealth()
	tr := transition{from: from, to: to, crossed: from.IsUp() != to.IsUp()}
	if tr.crossed {
		wasDown := s.isDownLocked()
		s.op.Store(uint32(to))
		s.lastChange = now
		if to.IsUp() {
			if s.slowstart > 0 {
				s.rampStart.Store(now.UnixNano())
			}
		} else {
			s.chkDown++
			s.rampStart.Store(0)
		}
		s.accountDownLocked(wasDown, now)
	} else {
		s.op.Store(uint32(to))
	}
	s.mu.Unlock()
	if tr.crossed {
		tr.before, tr.after = s.recount()
	}
	return tr
}

// nextInterval is HAProxy's srv_getinter: inter at full health, downinter
// when fully down, fastinter in between.
func (s *Server) nextInterval(c *CheckConfig) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.health == s.rise+s.fall-1:
		return c.Inter
	case s.health == 0:
		return c.DownInter
	}
	return c.FastInter
}

func (s *Server) opFromHealth() OpState {
	switch {
	case !s.checked:
		return NoCheck
	case s.health == s.rise+s.fall-1:
		return Up
	case s.health >= s.rise:
		return GoingDown
	case s.health == 0:
		return Down
	}
	return GoingUp
}

// isDownLocked: whether the server counts as down for the downtime
// figure (operationally down, or in maintenance).
func (s *Server) isDownLocked() bool {
	return !s.Op().IsUp() || s.Admin() == Maint
}

func (s *Server) accountDownLocked(wasDown bool, now time.Time) {
	isDown := s.isDownLocked()
	switch {
	case !wasDown && isDown:
		s.downSince = now
	case wasDown && !isDown:
		if !s.downSince.IsZero() {
			s.downtime += now.Sub(s.downSince)
		}
		s.downSince = time.Time{}
	}
}

func (s *Server) recount() (before, after counts) {
	if s.backend == nil {
		return counts{}, counts{}
	}
	return s.backend.recount()
}

// ServerSnapshot is a consistent copy of a server's state for stats.
type ServerSnapshot struct {
	Name    string // "backend/server"
	Backup  bool
	Checked bool
	// ChecksDisabled: checked, but the checks were stopped at runtime
	// (SetChecks(false), HAProxy's `disable health`).
	ChecksDisabled bool
	Op             OpState
	Admin          AdminState
	Weight         int // runtime weight, without slowstart
	// Health, Rise, Fall: the health counter (stats check_health,
	// check_rise, check_fall).
	Health, Rise, Fall int
	// The last check (stats check_status, check_code, check_duration).
	CheckStatus   Status
	CheckCode     int
	CheckInfo     string
	CheckDuration time.Duration
	LastCheck     time.Time
	// LastChange is the time of the last state change (stats lastchg).
	LastChange time.Time
	// Downtime sums the finished periods spent DOWN or in maintenance;
	// DownSince is the start of the current one (zero when up). Use
	// DowntimeAt for the stats downtime column.
	Downtime  time.Duration
	DownSince time.Time
	// ChkDown counts UP to DOWN transitions, ChkFail failed checks (only
	// those that lowered the health counter, as HAProxy counts them).
	ChkDown uint64
	ChkFail uint64
	// HanaFail counts the times observed live-traffic errors reached the
	// error limit (stats hanafail).
	HanaFail uint64
}

// Snapshot copies the server's state.
func (s *Server) Snapshot() ServerSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ServerSnapshot{
		Name:           s.name,
		Backup:         s.backup,
		Checked:        s.checked,
		ChecksDisabled: s.checked && s.checksOff.Load(),
		Op:             s.Op(),
		Admin:          s.Admin(),
		Weight:         s.Weight(),
		Health:         s.health,
		Rise:           s.rise,
		Fall:           s.fall,
		CheckStatus:    s.last.Status,
		CheckCode:      s.last.Code,
		CheckInfo:      s.last.Info,
		CheckDuration:  s.last.Duration,
		LastCheck:      s.lastCheck,
		LastChange:     s.lastChange,
		Downtime:       s.downtime,
		DownSince:      s.downSince,
		ChkDown:        s.chkDown,
		ChkFail:        s.chkFail,
		HanaFail:       s.hanaFail,
	}
}

// DowntimeAt is the total downtime including the current period.
func (s ServerSnapshot) DowntimeAt(now time.Time) time.Duration {
	if s.DownSince.IsZero() || now.Before(s.DownSince) {
		return s.Downtime
	}
	return s.Downtime + now.Sub(s.DownSince)
}

// CheckEnabled reports whether the server's active checks run (checked
// and not stopped at runtime): HAProxy fills the check columns of its
// stats only then.
func (s ServerSnapshot) CheckEnabled() bool { return s.Checked && !s.ChecksDisabled }

// StatusText is the stats page's status column, as HAProxy writes it:
// "UP", "UP 1/3" (going down), "DOWN", "DOWN 1/2" (going up), "MAINT",
// "DRAIN", "no check" (also for an up server whose checks were stopped;
// a down one stays "DOWN").
func (s ServerSnapshot) StatusText() string {
	switch {
	case s.Admin == Maint:
		return "MAINT"
	case s.Admin == Drain && s.Op.IsUp():
		return "DRAIN"
	case s.ChecksDisabled && s.Op.IsUp():
		return "no check"
	case s.ChecksDisabled:
		return "DOWN"
	}
	switch s.Op {
	case Up:
		return "UP"
	case GoingDown:
		return "UP " + strconv.Itoa(s.Health-s.Rise+1) + "/" + strconv.Itoa(s.Fall)
	case Down:
		return "DOWN"
	case GoingUp:
		return "DOWN " + strconv.Itoa(s.Health) + "/" + strconv.Itoa(s.Rise)
	}
	return "no check"
}
