package peers

import (
	"net/netip"
	"time"
)

// Snapshot is the link's state for `tandem ctl show peers` and the stats
// page.
type Snapshot struct {
	Local, Peer string
	PeerAddr    netip.AddrPort
	Up          bool      // a session is established
	Since       time.Time // when Up last changed
	LastRecv    time.Time // last message received (zero: never)
	LastSent    time.Time // last message sent (zero: never)
	Connects    uint64    // sessions established

	EntriesSent, EntriesReceived uint64 // stick-table entries
	StatesSent, StatesReceived   uint64 // server states
	ResyncsSent, ResyncsReceived uint64 // full resyncs completed
	Pending                      int    // changes queued for the peer
	Dropped                      uint64 // queue overflows, each replaced by a full resync

	AuthFailures   uint64 // messages that failed the HMAC (wrong secret)
	ProtocolErrors uint64 // malformed or out-of-sequence messages

	// DigestKnown: a hello was received, so DigestMatch and Differs say
	// something. Differs names the configuration sections that differ.
	DigestKnown, DigestMatch bool
	Differs                  []string
}

// Snapshot reports the link's state and counters.
func (n *Node) Snapshot() Snapshot {
	if n == nil {
		return Snapshot{}
	}
	n.mu.Lock()
	s := Snapshot{
		Local: n.cfg.Local, Peer: n.cfg.Peer, PeerAddr: n.cfg.PeerAddr,
		Up: n.sess != nil, Since: n.since, LastRecv: n.lastRecv, LastSent: n.lastSent,
		Pending:     len(n.pend) + len(n.pendStates),
		DigestKnown: n.digestSeen, DigestMatch: n.digestSeen && len(n.differs) == 0,
		Differs: append([]string(nil), n.differs...),
	}
	n.mu.Unlock()
	s.Connects = n.connects.Load()
	s.EntriesSent, s.EntriesReceived = n.entriesSent.Load(), n.entriesRecv.Load()
	s.StatesSent, s.StatesReceived = n.statesSent.Load(), n.statesRecv.Load()
	s.ResyncsSent, s.ResyncsReceived = n.resyncsSent.Load(), n.resyncsRecv.Load()
	s.Dropped = n.dropped.Load()
	s.AuthFailures, s.ProtocolErrors = n.authFailures.Load(), n.protoErrors.Load()
	return s
}
