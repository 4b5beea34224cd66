// Package http1 is the HTTP/1.1 message-framing room of the proxy's hot path:
// it parses request and response heads in place (views into the caller's
// buffer, no allocation in steady state) and follows chunked framing through
// bytes that are forwarded verbatim.
//
// Framing is the one place where tandem is stricter than HAProxy: anything a
// backend could frame differently from us (Content-Length together with
// Transfer-Encoding, differing Content-Length values, obs-fold, bare CR or
// LF, whitespace before the colon, a chunk-size line that is not exactly
// hex [ext] CRLF) is rejected with an *Error carrying the status a proxy
// answers with, never normalised and forwarded.
//
// Choices made where RFC 9112 leaves room, so that callers can rely on them:
//   - Several Content-Length lines are accepted only when their values are
//     byte-identical (as HAProxy and net/http do); any difference is a 400.
//   - Transfer-Encoding must be exactly one "chunked" coding (case
//     insensitive). Any other coding is 501 (tandem does not decode bodies,
//     and a backend that does could frame the message differently);
//     "chunked" applied twice is 400; Transfer-Encoding on an HTTP/1.0
//     request is 400.
//   - Empty lines before a request line are skipped (RFC 9112 §2.2) and are
//     counted in HeadLen.
//   - Response errors carry status 502, the answer a proxy gives its client
//     when the server's response cannot be framed.
//
// Use: ParseRequest / ParseResponse on the bytes read so far (ErrNeedMore
// means read more and call again with the whole buffer; a call re-parses from
// the start, which costs well under a microsecond for a typical head); then
// Body says how the message is framed, and a ChunkScanner follows a chunked
// body through the bytes being forwarded (DataRemaining/Advance let a caller
// splice chunk data without looking at it). Views stay valid while the
// buffer does; Request.Headers is reused across parses.
//
// The package does no I/O, keeps no state between calls other than what the
// caller passes in, does not log and must not import anything from lb.
package http1
