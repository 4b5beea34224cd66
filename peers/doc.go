// Package peers is the link between the two nodes of a pair: it replicates
// stick-table entries and operators' server states (admin state and
// weight) to the other node, and compares the two configurations so that
// drift is reported by section. The pair then acts as one: a client pinned
// to a server on lb1 stays on it after the VIP moves to lb2, and a server
// drained on one node is drained on the other.
//
// It sees the engine only through two small interfaces (Table: Entries and
// Learn; Runtime: SetServerState) and one hook (Node.TableEvent, fed from
// the tables' event hook), so it does not import lb and never touches
// connections or the hot path beyond a non-blocking enqueue. It must not
// log through a root logger of its own, nor exit.
//
// # Connection
//
// Both nodes listen. The node whose name sorts first dials, the other only
// accepts (and refuses a hello from a peer that should have waited), so
// there is at most one connection and nothing to deduplicate. The dialer
// redials with exponential backoff (100 ms doubling to 2 s) after a
// failure or a lost link. A newly authenticated connection replaces an
// older one (the peer restarted and the old one is half-open).
//
// # Frames
//
// Every message is one frame, integers big endian:
//
//	length uint32      bytes after this field, at most 1 MiB
//	type   uint8       hello, reject, heartbeat, entries, states, resync-begin, resync-end
//	seq    uint64      0 for hellos, then 1, 2, ... per direction
//	body               per type, below
//	mac    [32]byte    HMAC-SHA256 over everything before it
//
// A frame whose MAC does not verify is counted (Snapshot.AuthFailures),
// logged (at most every 10 s) and the connection dropped; so is one whose
// seq is not the next expected. Without a secret the MAC key is empty:
// frames are checked against corruption, not authenticated.
//
// Keys: the dialer's hello is authenticated with HMAC(secret, "tandem-peers
// hello"), the acceptor's with the same plus the dialer's nonce (so an old
// answer cannot be replayed to the dialer). After the hellos, each
// direction has its own key, HMAC(secret, "tandem-peers session" || dir ||
// dialer nonce || acceptor nonce): a recorded session cannot be replayed
// and a message cannot be reflected. The acceptor installs a session only
// after the dialer's first keyed message verified, so a replayed hello
// cannot displace a live link. Messages are not encrypted: stick-table
// keys (client addresses) and server names cross the link in clear, as
// with HAProxy's peers; run it on the pair's private network.
//
// # Bodies
//
//	hello:        "TNDP" | version u16 | node str8 | nonce [16] |
//	              n u16 | n × (section str16 | sum [16])
//	reject:       reason u8 (version, name, role; 0 = authentication)
//	heartbeat:    empty; sent after Heartbeat (1 s) without other traffic.
//	              Timeout (3 s) without any message drops the link.
//	entries:      table str8 | n u16 (≤ 512) |
//	              n × (key str16 | server id u32 | server name str8 | expire ms u32)
//	states:       n u16 (≤ 512) |
//	              n × (backend str8 | server str8 | admin u8 | weight u16 | stamp u64)
//	resync-begin: empty
//	resync-end:   entries u32 | states u32 (counts sent in the resync)
//
// str8 and str16 are a u8 or u16 length then the bytes. A hello's section
// sums are HMAC(secret, nonce || name || SHA-256 of the section) truncated
// to 16 bytes: the peer compares them with its own without anyone who
// lacks the secret being able to test guesses of a section's content
// (a stats password, a VRRP auth_pass).
//
// # Replication
//
// On every new session each side sends a full resync: all live entries of
// all tables, then all known server states. Afterwards, created and
// updated entries (the tables' events) are queued per peer, coalesced by
// key, and flushed every Flush (10 ms) or as soon as 512 are waiting, so
// an entry reaches the peer well within 100 ms on a LAN. The queue is
// bounded (MaxPending): when it overflows it is dropped and the next flush
// sends a full resync instead; without a link nothing is queued at all
// (the resync at the next connection covers it), so a missing peer costs
// no memory. Queuing a change costs a lock and a map store (about 60 ns,
// no allocation: BenchmarkTableEvent). Expired, evicted and deleted entries are not sent: each node
// expires and evicts on its own, and `clear table` is local, as in
// HAProxy. Received entries go through Table.Learn, which does not raise
// the table's event, so they are never sent back.
//
// Expiry crosses the link as milliseconds left, so the clocks need not
// agree. Server states carry a stamp from a hybrid clock (the larger of
// the wall clock in nanoseconds and one past the largest stamp seen): the
// newer state of a server wins, so the resync after a partition keeps the
// last operator's decision instead of swapping the two sides' states.
//
// # Configuration digest
//
// ConfigDigest hashes the typed configuration per section ("global",
// "log", "frontend NAME", "backend NAME", "vrrp NAME", "stats") leaving
// out what legitimately differs between the nodes ([peers], admin_socket,
// the log target, VRRP priority, initial state and unicast addresses).
// Each hello carries it; a difference is logged at warning naming the
// sections and shown by Snapshot.
package peers
