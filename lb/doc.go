// Package lb is the proxy engine: listeners, frontends, ACL routing, backends
// and servers, balancing, HTTP/1.1 and TCP forwarding, traffic log lines and
// counters.
//
// In HTTP mode one goroutine serves each client connection, request after
// request: the head is parsed in place (lb/http1) in a pooled buffer, ACLs
// and rules (lb/acl, lb/rules) read and edit it through small views, the
// balancer (lb/balance) picks an available server, the request goes out on a
// pooled keep-alive server connection and the response comes back with the
// framing tandem parsed. Steady-state requests allocate nothing (see
// BenchmarkProxyKeepAlive). Anything a server could frame differently is
// refused with 400, never forwarded.
//
// It reads server health from the health package and exposes read-only
// snapshots for stats and peers. It must not import vrrp: VRRP sees the
// proxy only through internal/track signals wired in cmd/tandem.
package lb
