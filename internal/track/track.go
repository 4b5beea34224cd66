package track

import "sync"

// Tracker is what a VRRP instance watches: a named boolean that says whether
// the tracked object can do its job, with a notification on every change.
type Tracker interface {
	// Name identifies the object in logs, e.g. "frontend:http-in".
	Name() string
	// Healthy reports the current state.
	Healthy() bool
	// Subscribe returns a channel that receives a value (non-blocking, buffer
	// of one) whenever the state may have changed; the receiver re-reads
	// Healthy. cancel stops the notifications.
	Subscribe() (ch <-chan struct{}, cancel func())
}

// Signal is a Tracker whose state is set by its owner.
type Signal struct {
	name string

	mu      sync.Mutex
	healthy bool
	subs    map[chan struct{}]struct{}
}

// NewSignal returns a Signal with the given name and initial state.
func NewSignal(name string, healthy bool) *Signal {
	return &Signal{name: name, healthy: healthy, subs: make(map[chan struct{}]struct{})}
}

// Name implements Tracker.
func (s *Signal) Name() string { return s.name }

// Healthy implements Tracker.
func (s *Signal) Healthy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.healthy
}

// Set changes the state and notifies subscribers if it changed.
func (s *Signal) Set(healthy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.healthy == healthy {
		return
	}
	s.healthy = healthy
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Subscribe implements Tracker.
func (s *Signal) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}
}
