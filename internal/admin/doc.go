// Package admin is tandem's runtime API: an HAProxy-style command socket
// (a unix socket, one command per line, `;` between commands, answers
// ending with an empty line, optional prompt mode and severity prefixes)
// serving show info / show stat / show servers state / show vrrp and the
// server and VRRP actions, plus the client `tandem ctl` uses. It reads and
// acts through stats.Source only; it never touches lb or vrrp directly.
package admin
