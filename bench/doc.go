// Package bench holds `make bench`: run.sh puts tandem and HAProxy under the
// same wrk load in front of the same nginx, on pinned CPUs, and prints the
// ratios tandem/HAProxy that DESIGN.md's "Performance method" asks for.
//
// The Go code here only tests the script (it runs, reports every figure and
// leaves no process behind); cmd/idleconns is the helper that holds idle
// keep-alive connections for the memory figure, cmd/tlsload the client that
// makes full TLS handshakes (wrk resumes sessions) for hs-ecdsa and hs-rsa. Nothing in this directory is
// imported by tandem, and the script only ever uses 127.0.0.1.
package bench
