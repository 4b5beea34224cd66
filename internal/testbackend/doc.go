// Package testbackend is a tiny real HTTP server used as a backend by the
// proxy tests and the demo. Normal pages name their group and server so a
// client can see which server answered (round-robin is visible in the
// responses); other paths misbehave on purpose (delay, reset, garbage,
// close after headers, HTTP/1.0 bodies until close, upgrade tunnels) so
// the proxy's fault handling can be tested against real sockets.
//
// It must stay dependency-free apart from the standard library and must
// not import lb: it is the other end of the wire, nothing more.
package testbackend
