// Command soak is tandem's bounded soak test (`make soak`): it runs the
// real binary with HTTP, TLS (a generated self-signed ECDSA certificate)
// and TCP frontends, sends a mixed load (keep-alive and one-shot HTTP
// requests, HTTPS requests over kept-alive connections and over a new
// handshake each, TCP echo sessions), flaps the servers (their listeners
// close and reopen; health checks take them out and back), reloads the
// configuration every few seconds (every fourth reload invalid) for
// SOAK_DURATION (default 2m), then checks that no client request failed,
// that goroutines and open files came back to their baseline, that RSS is
// back near its baseline, and that tandem's counters match the load
// generator's. It prints the figures and exits 1 if a check failed.
//
// Run as root with iproute2, it builds a small network-namespace lab
// (TEST-NET 192.0.2.0/24 only): lb1 (VRRP master, priority 101) and lb2
// (backup, 100) on eth1 with VIP 192.0.2.100, the backends in a web
// namespace, the load from a client namespace through the VIP; at one and
// two thirds of the run the master steps down (`tandem ctl vrrp failover
// VI_1`), first lb1 to lb2, then back. Client failures are allowed only
// around a move, at most one second's worth of requests, and the outage is
// measured and reported; the counters of both nodes must add up to the
// load generator's. Sockets are made in a namespace by a thread that
// entered it, so the backends and clients stay in this process. Every
// namespace and process (by PID) is removed at the end, on failure and on
// Ctrl-C. Without root or ip (or with SOAK_VRRP=0) the soak runs on
// loopback and says that the VRRP part was skipped and why.
package main
