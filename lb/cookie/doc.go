// Package cookie implements HAProxy's cookie-based persistence for one
// backend: finding the persistence cookie among a request's Cookie headers
// (and the dates maxidle/maxlife keep in it), stripping it (indirect) or its
// "SRVID~" prefix (prefix mode) before the request reaches the server,
// deleting, rewriting or prefixing the server's own Set-Cookie, building the
// Set-Cookie value that insert mode adds, deciding whether a response is
// cacheable (for nocache's "Cache-Control: private"), and the two cookie
// status characters of the log's termination state (--NI, --VN, --DI...).
//
// It is pure: it parses header values in place and appends its output to
// caller-supplied buffers, knows nothing of sockets or of the engine's
// server type (Lookup takes anything with a cookie and a persistence
// usability), and does not allocate on the request path. It must not import
// lb or anything that does I/O.
package cookie
