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
// Persistence comes before balancing (persist.go): a backend's cookie
// (lb/cookie: insert, rewrite, prefix) or stick table (lb/stick, keyed on
// src, a header, a URL parameter or a cookie) names the server, which takes
// the request if it is up, even draining, waiting for a slot of its own if
// it is full; otherwise the balancer picks and the response inserts the
// cookie, the table records the server. TCP mode sticks on src. Tables live
// in objects a reload hands over by backend name (Options.StickTables), and
// report each change to Options.StickEvents for peer replication. PROXY
// protocol headers (lb/proxyproto) are read with accept_proxy and sent to
// servers with send_proxy / send_proxy_v2.
//
// It reads server health from the health package and exposes read-only
// snapshots for stats and peers. It must not import vrrp: VRRP sees the
// proxy only through internal/track signals wired in cmd/tandem.
package lb
