// Package syslog sends tandem's logs to a syslog daemon as RFC 3164
// datagrams (`<PRI>Mmm dd hh:mm:ss tag[pid]: msg`, the form HAProxy sends and
// rsyslog 7 and 8 parse), over UDP or a local datagram socket.
//
// Two kinds of lines go through a Writer:
//
//   - traffic lines (lb/accesslog), written by the proxy engine with
//     Writer.Write at Info on the configured facility, without allocating;
//   - events, zerolog records adapted by NewZerologWriter: each record at
//     info and above goes to the facility (local0), and warnings and above
//     also to the warn facility (local1), so /var/log/tandem_warn.log holds
//     only what needs a human. The JSON record is rewritten as a readable
//     line, message first then key=value fields in the order logged:
//     `Server ms1/ms1.srv1 is DOWN backend=ms1 reason="Layer4 timeout"`.
//
// Console writes the same events for a terminal (stderr when tandem runs in
// the foreground): one human line per record, timestamp and level first,
// without colour so that journald and `2>file` stay clean. cmd/tandem builds
// the root logger from these pieces, for example:
//
//	w, err := syslog.Dial("udp://127.0.0.1:514", "tandem")
//	out := zerolog.MultiLevelWriter(syslog.NewZerologWriter(w, syslog.Local0, syslog.Local1), syslog.Console(os.Stderr))
//	log := zerolog.New(out).With().Timestamp().Logger()
//
// A log target of "stderr" is the caller's business: it then uses Console
// alone. Logging must never stall the proxy, so a Writer never retries: a
// datagram that cannot be sent is counted (Dropped) and forgotten.
//
// This package does not create a logger and does not decide what is logged.
package syslog
