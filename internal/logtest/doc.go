// Package logtest holds test helpers for tandem's logging: StartRsyslog
// runs a real rsyslogd (Debian package rsyslog) with deploy/rsyslog.conf,
// moved to a free loopback port and a temporary directory, so that tests
// check what lands in /var/log/tandem.log and /var/log/tandem_warn.log on a
// real host; WaitForLine polls such a file.
//
// It is for tests only. It never touches the system's rsyslog: its daemon
// has its own configuration, pid file, work directory and port, and is
// killed by PID when the test ends.
package logtest
