// Package netnstest builds the lab of DESIGN.md ("Lab addresses") out of
// Linux network namespaces for tests: one namespace per host, each with an
// interface eth1 on 192.0.2.0/24, all joined by a bridge that lives in a
// namespace of its own, so the test machine's own namespace is never
// touched. Everything is removed in t.Cleanup, also when the test fails.
//
// Tests that cannot run as root (or without iproute2) are skipped with the
// reason. Only TEST-NET-1 addresses are used.
//
//	lab := netnstest.New(t, "lb1", "lb2", "client")
//	cmd := lab.Host("lb1").Command("keepalived", "-n", ...)
//	held, _ := lab.Host("lb2").HasAddr(netip.MustParseAddr("192.0.2.100"))
package netnstest
