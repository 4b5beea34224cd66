// Package vrrp implements VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798) for IPv4 in
// three layers, so that tandem can replace keepalived on the wire:
//
//   - packet.go: the codec (Packet, Parse, Marshal) that checks versions,
//     lengths and checksums and never panics on hostile bytes;
//   - machine.go: a pure state machine (Init, Backup, Master, Fault) that
//     turns events into actions with no I/O and no clock;
//   - router.go: the driver, Router.Run, that does the I/O through small
//     interfaces (Conn, Addresser, ARPSender, Clock): the Linux raw socket
//     for protocol 112 (conn_linux.go), netlink for the virtual addresses
//     and link state (netlink_linux.go) and gratuitous ARP (arp_linux.go).
//     vrrptest holds in-memory fakes of these interfaces.
//
// Behaviour follows keepalived where the RFCs leave room: start as backup
// unless priority 255, GARP 5 at once and 5 more after 5 s, priority 0 on
// any exit from master. Beyond keepalived, stale VIPs of a killed previous
// run are removed at start, a backup preempts a lower-priority master after
// its skew time rather than its Master_Down_Interval, and adverts that
// keepalived drops silently (other auth, interval, VIPs, version) are
// counted and logged at warn level as signs of split brain.
//
// It knows the proxy only through the internal/track Tracker interface and
// must not import lb or health. Only the driver logs, to the zerolog.Logger
// it is given.
package vrrp
