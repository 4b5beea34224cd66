// Package accesslog formats the proxy's traffic log lines in HAProxy's own
// formats, "option httplog" (AppendHTTP) and "option tcplog" (AppendTCP), so
// that halog and the parsers people already run over HAProxy logs read
// tandem's lines unchanged.
//
// It only appends bytes to a caller's buffer: no I/O, no clock, no
// allocation (the proxy engine formats one line per request on its hot path
// into a reused buffer and hands it to internal/syslog). It must not import
// lb or know how the numbers were measured.
package accesslog
