// Package balance holds tandem's load-balancing algorithms with HAProxy's
// semantics: roundrobin, static-rr, leastconn, first, source, uri, url_param,
// hdr and random, with map-based or consistent hashing for the hashing ones.
//
// A balancer sees servers only through the small Server interface (available,
// weight, active connections), all of which the caller backs with atomics, and
// answers one question: which index of the slice it was built with takes the
// next connection. It knows nothing of HTTP or sockets: the HTTP layer computes
// the hash key (client address bytes, URI part, parameter or header value). It
// must not import lb or any package that does I/O, log or start goroutines.
//
// Pick is safe for concurrent use and does not allocate.
package balance
