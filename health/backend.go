package health

import (
	"sync"
	"sync/atomic"

	"github.com/tandemlb/tandem/internal/track"
)

// Backend groups the servers of one backend to answer how many can take
// traffic, for the log lines ("1 active and 0 backup servers left") and for
// VRRP: its Signal, named "backend:NAME", is healthy while at least one
// server is available.
type Backend struct {
	name           string
	active, backup []*Server
	signal         *track.Signal

	mu         sync.Mutex // serialises recounts so the signal ends right
	nAct, nBck atomic.Int32
}

type counts struct{ active, backup int }

func (c counts) total() int { return c.active + c.backup }

// NewBackend groups servers; each server belongs to one backend only.
// Call it before the servers are used (before NewChecker).
func NewBackend(name string, active, backup []*Server) *Backend {
	b := &Backend{name: name, active: active, backup: backup}
	for _, s := range active {
		s.backend, s.backup = b, false
	}
	for _, s := range backup {
		s.backend, s.backup = b, true
	}
	c := b.count()
	b.nAct.Store(int32(c.active))
	b.nBck.Store(int32(c.backup))
	b.signal = track.NewSignal("backend:"+name, c.total() > 0)
	return b
}

// Name returns the backend's name.
func (b *Backend) Name() string { return b.name }

// Servers returns the active and backup servers, in configuration order.
func (b *Backend) Servers() (active, backup []*Server) { return b.active, b.backup }

// Signal is healthy while at least one server is available.
func (b *Backend) Signal() *track.Signal { return b.signal }

// Counts returns how many active and backup servers are available: Usable
// and with a non-zero weight, as HAProxy counts srv_act and srv_bck.
func (b *Backend) Counts() (active, backup int) {
	return int(b.nAct.Load()), int(b.nBck.Load())
}

// UsableCount is the number of available servers, active and backup.
func (b *Backend) UsableCount() int {
	a, k := b.Counts()
	return a + k
}

func (b *Backend) count() counts {
	var c counts
	for _, s := range b.active {
		if s.Usable() && s.Weight() > 0 {
			c.active++
		}
	}
	for _, s := range b.backup {
		if s.Usable() && s.Weight() > 0 {
			c.backup++
		}
	}
	return c
}

// recount refreshes the figures after a server changed. The lock makes the
// last recount the one that sets the signal, so it cannot end stale.
func (b *Backend) recount() (before, after counts) {
	b.mu.Lock()
	defer b.mu.Unlock()
	before = counts{int(b.nAct.Load()), int(b.nBck.Load())}
	after = b.count()
	b.nAct.Store(int32(after.active))
	b.nBck.Store(int32(after.backup))
	b.signal.Set(after.total() > 0)
	return before, after
}
