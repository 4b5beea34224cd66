// Command tlsload measures full TLS handshakes per second through a proxy,
// for bench/run.sh's handshake scenarios (wrk cannot: it resumes sessions
// and keeps its connections).
//
// C workers loop for a fixed time: each connects, makes a full handshake
// (no client session cache, no tickets, one key exchange: X25519 by
// default, so that both proxies do the same work), sends one small
// HTTP/1.1 request with "Connection: close", reads the whole response,
// waits for the server to close and starts over. A handshake that resumed
// a session (ConnectionState().DidResume) or agreed on another key
// exchange is counted as an error: the figure is full handshakes only.
//
// At the end it prints one line in the format of bench/run.sh's wrk hook,
//
//	BENCH requests=N duration_us=D p50_us=P p99_us=Q errors=E status_errors=S resumed=R
//
// where a request is one connection (handshake plus request) and the
// latencies are per connection, and a human summary on stderr. It only
// talks to the address it is given (the bench uses 127.0.0.1).
package main
