// Command soak is tandem's bounded soak test (`make soak`): it runs the
// real binary on loopback with HTTP and TCP frontends, sends a mixed load
// (keep-alive and one-shot HTTP requests, TCP echo sessions), flaps the
// servers (their listeners close and reopen; health checks take them out
// and back), reloads the configuration every few seconds (every fourth
// reload invalid) for SOAK_DURATION (default 2m), then checks that no
// client request failed, that goroutines and open files came back to
// their baseline, that RSS is back near its baseline, and that tandem's
// counters match the load generator's. It prints the figures and exits 1
// if a check failed.
//
// This is the single-node version: VRRP failover under load is covered by
// the netns end-to-end tests, not here. It touches nothing but loopback
// and the temporary directory it creates.
package main
