// Package vrrp implements VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798) for IPv4 in
// three layers: a packet codec, a pure state machine that turns events into
// actions with no I/O and no clock, and a driver that does the I/O (raw IP
// socket, netlink for the virtual IPs, gratuitous ARP).
//
// It knows the proxy only through the internal/track Tracker interface and
// must not import lb or health.
package vrrp
