// Package track is the small health signal that joins the proxy to VRRP
// without either importing the other: lb and health publish Signals, vrrp
// consumes Trackers, and cmd/tandem wires them together.
package track
