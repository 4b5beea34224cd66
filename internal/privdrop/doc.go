// Package privdrop moves a process that started as root to an unprivileged
// user while keeping the three capabilities tandem needs after start-up:
// CAP_NET_ADMIN (adding and removing the VRRP virtual IP with netlink),
// CAP_NET_RAW (VRRP adverts and gratuitous ARP on raw sockets) and
// CAP_NET_BIND_SERVICE (binding ports below 1024 again on reload).
//
// systemd 219 (CentOS 7) cannot grant ambient capabilities, so tandem runs
// as root and drops itself: PR_SET_KEEPCAPS, setgroups/setgid/setuid, then
// capset, each applied to every OS thread of the Go runtime. Linux keeps
// credentials per thread, and a thread left as root would be a hole, so the
// work goes through libcap's psx package: with CGO_ENABLED=0 (the shipped
// static binary) that is syscall.AllThreadsSyscall, with cgo (race tests)
// libpsx's signal-based broadcast. Drop checks every thread afterwards.
//
// The package only changes the process's credentials; it opens no sockets
// and does not log. cmd/tandem calls Drop once, after every listener, raw
// socket and netlink handle that needs root is open, and before serving.
package privdrop
