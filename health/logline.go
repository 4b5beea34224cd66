package health

import (
	"fmt"
	"strconv"
	"strings"
)

// The sentences below are HAProxy's (srv_append_status and friends), so
// that people and scripts used to HAProxy's logs read tandem's unchanged.

// statusPart is ", reason: ...[, code: N][, info: "..."], check duration: Nms".
func statusPart(r Result) string {
	var b strings.Builder
	b.WriteString(", reason: ")
	b.WriteString(r.Status.Description())
	if r.Status.HasCode() {
		b.WriteString(", code: ")
		b.WriteString(strconv.Itoa(r.Code))
	}
	if r.Info != "" {
		b.WriteString(`, info: "`)
		b.WriteString(asciiEncode(r.Info))
		b.WriteByte('"')
	}
	if r.Duration >= 0 {
		b.WriteString(", check duration: ")
		b.WriteString(strconv.FormatInt(r.Duration.Milliseconds(), 10))
		b.WriteString("ms")
	}
	return b.String()
}

// downMessage: "Server B/S <what>. N active and M backup servers left. ..."
func downMessage(ev *Event, what string) string {
	return fmt.Sprintf("%sServer %s/%s %s. %d active and %d backup servers left.%s"+
		" %d sessions active, %d requeued, %d remaining in queue.",
		backupPrefix(ev.Backup, "Backup "), ev.Backend, ev.Server, what,
		ev.ActiveLeft, ev.BackupLeft, runningOnBackup(ev),
		ev.Traffic.Active, ev.Traffic.Requeued, ev.Traffic.Queued)
}

// upMessage: "Server B/S <what>. N active and M backup servers online. ..."
func upMessage(ev *Event, what string) string {
	return fmt.Sprintf("%sServer %s/%s %s. %d active and %d backup servers online.%s"+
		" %d sessions requeued, %d total in queue.",
		backupPrefix(ev.Backup, "Backup "), ev.Backend, ev.Server, what,
		ev.ActiveLeft, ev.BackupLeft, runningOnBackup(ev),
		ev.Traffic.Requeued, ev.Traffic.Queued)
}

func noServerMessage(backend string) string {
	return "backend " + backend + " has no server available!"
}

func runningOnBackup(ev *Event) string {
	if ev.ActiveLeft == 0 && ev.BackupLeft > 0 {
		return " Running on backup."
	}
	return ""
}

func backupPrefix(backup bool, p string) string {
	if backup {
		return p
	}
	return ""
}

// healthFraction is the "2/3 UP" of HAProxy's per-check lines: while up,
// the steps left before going down; while down, the passes so far.
func healthFraction(s ServerSnapshot) string {
	if s.Op.IsUp() {
		return strconv.Itoa(s.Health-s.Rise+1) + "/" + strconv.Itoa(s.Fall)
	}
	return strconv.Itoa(s.Health) + "/" + strconv.Itoa(s.Rise)
}

// asciiEncode escapes what a log line must not carry raw, as HAProxy's
// chunk_asciiencode: control bytes, non-ASCII, '<', '>' and the quote
// become "<XX>".
func asciiEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"' {
			fmt.Fprintf(&b, "<%02X>", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
