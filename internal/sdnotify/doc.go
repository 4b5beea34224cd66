// Package sdnotify tells systemd about tandem's state through the
// notification socket of a Type=notify unit ($NOTIFY_SOCKET), without cgo
// or libsystemd: each message is one datagram of NAME=value lines. It knows
// only the messages systemd 219 (CentOS 7) understands and tandem sends:
// READY=1, RELOADING=1, STOPPING=1 and STATUS=.
//
// Outside systemd (a shell, a test, another init) $NOTIFY_SOCKET is unset
// and every call does nothing. The package does not log; callers decide
// whether a failed notification matters.
package sdnotify
