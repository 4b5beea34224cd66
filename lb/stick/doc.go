// Package stick holds HAProxy-style stick tables: which server a key (a
// client address, an integer, a string fetched from the request) was last
// sent to. A table has a key type (ip, ipv6, integer, string), a size bound
// enforced by evicting the least recently used entry, and an expiry counted
// from the last time an entry was stored or matched. It is safe for
// concurrent use and does not allocate when it looks up or refreshes an
// existing entry.
//
// Tables are plain objects owned by whoever builds them (the engine, one
// per backend), so that a reload can hand them over by name and peer
// replication can follow them through the event hook and feed them with
// Learn. The package does no I/O, starts no goroutine (the owner calls
// Purge from its own ticker) and must not import lb.
package stick
