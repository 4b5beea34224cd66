package health

import "strconv"

// TrafficResult is what lb saw on one live exchange with a server, for
// observe layer4/layer7 (HAProxy's analyze statuses).
type TrafficResult uint8

const (
	// TrafficL4OK: connection established.
	TrafficL4OK TrafficResult = iota
	// TrafficL4Err: connect refused, unreachable or timed out.
	TrafficL4Err
	// TrafficHTTPOK: a valid response with a status below 500, or 501/505.
	TrafficHTTPOK
	// TrafficHTTPStatus: a 5xx response other than 501 and 505.
	TrafficHTTPStatus
	// TrafficHTTPInvalid: a response tandem refuses after its head parsed
	// (HAProxy's "Invalid http response").
	TrafficHTTPInvalid
	// TrafficHTTPReadError: a read error before the response head was
	// complete.
	TrafficHTTPReadError
	// TrafficHTTPReadTimeout: no complete response head within the server
	// timeout.
	TrafficHTTPReadTimeout
	// TrafficHTTPBrokenPipe: the server closed before the response head
	// was complete.
	TrafficHTTPBrokenPipe
	// TrafficHTTPInvalidHead: a response head that does not parse.
	TrafficHTTPInvalidHead
)

// For each result, what layer4 and layer7 observing make of it: 0 ignore,
// 1 error, 2 success (clears the error count). HAProxy's analyze_statuses.
var analyze = [...]struct {
	desc string
	lr   [2]uint8
}{
	TrafficL4OK:            {"L4 successful connection", [2]uint8{2, 0}},
	TrafficL4Err:           {"L4 unsuccessful connection", [2]uint8{1, 1}},
	TrafficHTTPOK:          {"Correct http response", [2]uint8{0, 2}},
	TrafficHTTPStatus:      {"Wrong http response", [2]uint8{0, 1}},
	TrafficHTTPInvalid:     {"Invalid http response", [2]uint8{0, 1}},
	TrafficHTTPReadError:   {"Read error (http)", [2]uint8{0, 1}},
	TrafficHTTPReadTimeout: {"Read timeout (http)", [2]uint8{0, 1}},
	TrafficHTTPBrokenPipe:  {"Close from server (http)", [2]uint8{0, 1}},
	TrafficHTTPInvalidHead: {"Invalid http response (headers)", [2]uint8{0, 1}},
}

const (
	observeNone uint32 = iota
	observeL4
	observeL7
)

const (
	onErrFastinter uint32 = iota
	onErrFailCheck
	onErrSuddenDeath
	onErrMarkDown
)

// configureObserve copies the observe settings of cfg (with defaults).
func (s *Server) configureObserve(cfg *CheckConfig) {
	mode := observeNone
	switch cfg.Observe {
	case "layer4":
		mode = observeL4
	case "layer7":
		mode = observeL7
	}
	onErr := onErrFastinter
	switch cfg.OnError {
	case "fail-check":
		onErr = onErrFailCheck
	case "sudden-death":
		onErr = onErrSuddenDeath
	case "mark-down":
		onErr = onErrMarkDown
	}
	s.errLimit.Store(int32(max(cfg.ErrorLimit, 1)))
	s.onError.Store(onErr)
	s.observe.Store(mode)
}

// setHanaHook installs the Checker's reporter of changes caused by live
// traffic.
func (s *Server) setHanaHook(h func(Result, transition)) {
	s.mu.Lock()
	s.hanaHook = h
	s.mu.Unlock()
}

// ReportTraffic feeds one live-traffic result to observe layer4/layer7. It
// is cheap (atomics only) unless the error limit is reached, when the
// configured action runs: the next check comes within fastinter and,
// depending on on_error, a failed check is counted or the server is
// marked down. A no-op when the server does not observe.
func (s *Server) ReportTraffic(r TrafficResult) {
	mode := s.observe.Load()
	if mode == observeNone || int(r) >= len(analyze) || s.checksOff.Load() {
		// Not observing, or checks stopped at runtime: the state stays
		// frozen, since no check would ever bring the server back.
		return
	}
	switch analyze[r].lr[mode-1] {
	case 0:
		return
	case 2:
		if s.consecErr.Load() != 0 {
			s.consecErr.Store(0)
		}
		return
	}
	n := s.consecErr.Add(1)
	if n < s.errLimit.Load() {
		return
	}
	// Only the report that reaches the limit acts; it starts the count
	// again.
	if !s.consecErr.CompareAndSwap(n, 0) {
		return
	}
	res := Result{
		Status:   StatusHana,
		Info:     "Detected " + strconv.Itoa(int(n)) + " consecutive errors, last one was: " + analyze[r].desc,
		Duration: -1,
	}
	var tr transition
	act := s.onError.Load()
	s.mu.Lock()
	if s.checksOff.Load() {
		s.mu.Unlock()
		return
	}
	s.hanaFail++
	switch act {
	case onErrSuddenDeath:
		if s.health > s.rise {
			s.health = s.rise + 1
		}
	case onErrMarkDown:
		s.health = s.rise
	}
	now := s.now()
	hook := s.hanaHook
	s.mu.Unlock()
	if act != onErrFastinter {
		tr = s.record(res, now)
	}
	s.fastNow.Store(true)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	if hook != nil && tr.crossed {
		hook(res, tr)
	}
}

// takeFastNow reports whether observed errors asked for a check within
// fastinter.
func (s *Server) takeFastNow() bool { return s.fastNow.Swap(false) }
