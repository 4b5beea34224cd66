package health

import "time"

// Inherit is what a reload keeps of a server's previous runtime state;
// lb decides from the old and new configurations.
type Inherit struct {
	// Health: the operational state and check history (health counter,
	// last check, UP/DOWN counters, downtime, slowstart ramp, checks
	// stopped with SetChecks). Only for the
	// same server at the same address with the same kind of check.
	Health bool
	// Admin: the admin state set at runtime (drain, maint). Not when the
	// configuration's `disabled` changed: the new file wins, as HAProxy's
	// server-state-file does.
	Admin bool
	// Weight: the weight set at runtime. Not when the configured weight
	// changed.
	Weight bool
}

// Inherit copies what what says of old's state into s, a Server of the
// next configuration that nothing uses yet: call it after NewChecker (whose
// configure restarts the health counter) and before the server takes
// traffic or its Checker runs. old may still be in use by the previous
// generation; it is read under its lock. s's Backend is recounted at the
// end, so its counts and Signal reflect the inherited states at once.
func (s *Server) Inherit(old *Server, what Inherit) {
	if old == nil || old == s {
		return
	}
	old.mu.Lock()
	oHealth, oRise, oFall := old.health, old.rise, old.fall
	oLast, oLastCheck, oLastChange := old.last, old.lastCheck, old.lastChange
	oDowntime, oDownSince := old.downtime, old.downSince
	oChkDown, oChkFail, oHana := old.chkDown, old.chkFail, old.hanaFail
	oOp := old.Op()
	old.mu.Unlock()

	s.mu.Lock()
	if what.Admin {
		s.admin.Store(old.admin.Load())
	}
	if what.Weight {
		s.weight.Store(old.weight.Load())
	}
	if what.Health && s.checked == old.checked {
		if s.checked {
			s.health = mapHealth(oHealth, oRise, oFall, s.rise, s.fall, oOp)
			s.op.Store(uint32(s.opFromHealth()))
		}
		s.last, s.lastCheck, s.lastChange = oLast, oLastCheck, oLastChange
		s.downtime, s.downSince = oDowntime, oDownSince
		s.chkDown, s.chkFail, s.hanaFail = oChkDown, oChkFail, oHana
		s.rampStart.Store(old.rampStart.Load())
		s.consecErr.Store(old.consecErr.Load())
		// Checks stopped at runtime stay stopped, as HAProxy's
		// server-state file keeps them across a reload.
		s.checksOff.Store(old.checksOff.Load())
	} else if s.lastChange.IsZero() {
		s.lastChange = oLastChange
	}
	if s.isDownLocked() {
		if s.downSince.IsZero() {
			s.downSince = s.now()
		}
	} else {
		s.downSince = time.Time{}
	}
	s.mu.Unlock()
	s.recount()
}

// mapHealth places a health counter of the old rise/fall range into the
// new one, keeping the state: fully UP stays at the top, fully DOWN at 0,
// going down keeps its failures left (at least one), going up its passes
// (below rise).
func mapHealth(h, oRise, oFall, rise, fall int, op OpState) int {
	top := rise + fall - 1
	switch op {
	case Up:
		return top
	case Down:
		return 0
	case GoingDown:
		left := h - oRise // failures taken so far: oFall-1-left
		return min(max(rise+left, rise), top-1)
	case GoingUp:
		return min(max(h, 1), rise-1)
	}
	return rise
}
