package health

import (
	"strconv"
	"time"
)

// OpState is a server's operational state, as the checks see it.
type OpState uint32

const (
	// Up: every recent check passed (health counter at its top).
	Up OpState = iota
	// Down: the server failed Fall checks in a row and has not passed since.
	Down
	// GoingUp: Down, but passing; not yet Rise passes in a row. Takes no
	// traffic.
	GoingUp
	// GoingDown: Up, but failing; not yet Fall failures in a row. Still
	// takes traffic. Checked servers also start here (HAProxy: "up, but will
	// fall down at first failure").
	GoingDown
	// NoCheck: not checked, so always considered up.
	NoCheck
)

// IsUp reports whether the state may take traffic.
func (o OpState) IsUp() bool { return o == Up || o == GoingDown || o == NoCheck }

func (o OpState) String() string {
	switch o {
	case Up:
		return "UP"
	case Down:
		return "DOWN"
	case GoingUp:
		return "GOING_UP"
	case GoingDown:
		return "GOING_DOWN"
	case NoCheck:
		return "NOCHECK"
	}
	return "OpState(" + strconv.Itoa(int(o)) + ")"
}

// AdminState is what an operator set: Ready (normal), Drain (no new
// traffic, but persistent sessions still reach it) or Maint (nothing, and
// checks are paused).
type AdminState uint32

const (
	Ready AdminState = iota
	Drain
	Maint
)

func (a AdminState) String() string {
	switch a {
	case Ready:
		return "READY"
	case Drain:
		return "DRAIN"
	case Maint:
		return "MAINT"
	}
	return "AdminState(" + strconv.Itoa(int(a)) + ")"
}

// Status is the outcome of one check, with HAProxy's check_status names
// (the stats CSV column) and descriptions (the "reason" of log lines).
type Status uint8

const (
	StatusUnknown Status = iota // UNK: no check ran
	StatusIni                   // INI: initialising, no result yet
	StatusSockErr               // SOCKERR: I/O error after the connection was made
	StatusL4OK                  // L4OK: TCP connect passed
	StatusL4TOut                // L4TOUT: connect timed out
	StatusL4Con                 // L4CON: connect failed (refused, unreachable)
	StatusL7TOut                // L7TOUT: connected, but no complete answer in time
	StatusL7Rsp                 // L7RSP: answer is not HTTP, is empty, or its body did not match
	StatusL7OK                  // L7OK: HTTP check passed
	StatusL7Sts                 // L7STS: HTTP status not expected
	StatusHana                  // HANA: live traffic errors (observe)
)

var statusNames = [...]struct{ name, desc string }{
	StatusUnknown: {"UNK", "Unknown"},
	StatusIni:     {"INI", "Initializing"},
	StatusSockErr: {"SOCKERR", "Socket error"},
	StatusL4OK:    {"L4OK", "Layer4 check passed"},
	StatusL4TOut:  {"L4TOUT", "Layer4 timeout"},
	StatusL4Con:   {"L4CON", "Layer4 connection problem"},
	StatusL7TOut:  {"L7TOUT", "Layer7 timeout"},
	StatusL7Rsp:   {"L7RSP", "Layer7 invalid response"},
	StatusL7OK:    {"L7OK", "Layer7 check passed"},
	StatusL7Sts:   {"L7STS", "Layer7 wrong status"},
	StatusHana:    {"HANA", "Health analyze"},
}

// String is HAProxy's short name, e.g. "L4CON".
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s].name
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// Description is HAProxy's text, e.g. "Layer4 connection problem".
func (s Status) Description() string {
	if int(s) < len(statusNames) {
		return statusNames[s].desc
	}
	return s.String()
}

// Passed reports whether the status counts as a passed check.
func (s Status) Passed() bool { return s == StatusL4OK || s == StatusL7OK }

// HasCode reports whether the status carries an HTTP code (HAProxy prints
// "code: N" for these only).
func (s Status) HasCode() bool { return s == StatusL7OK || s == StatusL7Sts }

// Result is one finished check.
type Result struct {
	Status Status
	// Code is the HTTP status, for L7OK and L7STS.
	Code int
	// Info is HAProxy's "info": the OS error ("Connection refused"), the
	// reason phrase of a wrong status, or the start of an invalid answer.
	Info string
	// Duration is how long the check took; negative when no check ran
	// (HANA), and then log lines leave it out, as HAProxy's do.
	Duration time.Duration
}
