package syslog

import (
	"fmt"
	"strings"
)

// Facility is a syslog facility (RFC 3164 section 4.1.1).
type Facility int

// Facilities, with the numbers of <syslog.h>.
const (
	Kern Facility = iota
	User
	Mail
	Daemon
	Auth
	Syslog
	LPR
	News
	UUCP
	Cron
	AuthPriv
	FTP
	NTP
	Audit
	FacAlert // the "alert" facility (14); Alert is the severity
	Cron2
	Local0
	Local1
	Local2
	Local3
	Local4
	Local5
	Local6
	Local7
)

var facilityNames = [...]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "cron2",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// ParseFacility parses a facility name as syslog.conf and HAProxy spell it
// ("local0", "daemon", ...), case-insensitively.
func ParseFacility(s string) (Facility, error) {
	for i, n := range facilityNames {
		if strings.EqualFold(s, n) {
			return Facility(i), nil
		}
	}
	return 0, fmt.Errorf("unknown syslog facility %q (want one of %s)", s, strings.Join(facilityNames[:], ", "))
}

func (f Facility) String() string {
	if f >= 0 && int(f) < len(facilityNames) {
		return facilityNames[f]
	}
	return fmt.Sprintf("facility(%d)", int(f))
}

// MarshalText and UnmarshalText let a config struct hold a Facility directly
// (BurntSushi/toml then reports a bad name with its position).
func (f Facility) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText parses a facility name, see ParseFacility.
func (f *Facility) UnmarshalText(b []byte) error {
	v, err := ParseFacility(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// Severity is a syslog severity (RFC 3164 section 4.1.1).
type Severity int

// Severities, with the numbers of <syslog.h>.
const (
	Emerg Severity = iota
	Alert
	Crit
	Err
	Warning
	Notice
	Info
	Debug
)

var severityNames = [...]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

func (s Severity) String() string {
	if s >= 0 && int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", int(s))
}
