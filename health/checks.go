package health

import (
	"errors"
	"fmt"
)

// ErrNotChecked is returned by SetChecks for a server without a health
// check (HAProxy's stats page greys the action out for those).
var ErrNotChecked = errors.New("server has no health check")

// SetChecks resumes (true) or stops (false) the active checks of a checked
// server at runtime, as HAProxy's `enable health` / `disable health`. While
// stopped, the Checker sends no check, the result of a check in flight is
// ignored and observed traffic is not counted, so the operational state is
// frozen where it was: an UP server stays UP (the stats show "no check"),
// a DOWN one stays DOWN. Admin changes still apply. Resuming keeps the
// health counter and checks at once. Changing nothing is not an error.
func (s *Server) SetChecks(enabled bool) error {
	if !s.checked {
		return fmt.Errorf("%s health checks of %s: %w", enableWord(enabled), s.name, ErrNotChecked)
	}
	s.mu.Lock()
	changed := s.checksOff.Load() == enabled
	s.checksOff.Store(!enabled)
	if changed {
		s.consecErr.Store(0)
		if enabled {
			s.checkNow.Store(true)
		}
	}
	s.mu.Unlock()
	if changed {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// ChecksEnabled reports whether the server's active checks run: false for
// a server without checks and for one whose checks were stopped with
// SetChecks(false).
func (s *Server) ChecksEnabled() bool { return s.checked && !s.checksOff.Load() }

func enableWord(enabled bool) string {
	if enabled {
		return "enable"
	}
	return "disable"
}
