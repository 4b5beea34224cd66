// Command idleconns opens many idle HTTP/1.1 keep-alive connections to a
// proxy, for bench/run.sh's "KiB per idle keep-alive connection" figure.
//
// Each connection sends one GET, reads the whole response and then stays
// open and silent, which is the state a proxy holds for a browser between
// two clicks. When all connections are ready it prints "ready N" on stdout
// and holds them until SIGTERM/SIGINT arrives or -hold expires, then closes
// them all and exits. It only talks to the address it is given (the bench
// uses 127.0.0.1) and never retries.
package main
