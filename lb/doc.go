// Package lb is the proxy engine: listeners, frontends, ACL routing, backends
// and servers, balancing, persistence, HTTP/1.1 and TCP forwarding, TLS
// termination, traffic log lines and counters.
//
// It reads server health from the health package's events and exposes
// read-only snapshots for stats and peers. It must not import vrrp: VRRP
// sees the proxy only through internal/track signals wired in cmd/tandem.
package lb
