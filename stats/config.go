package stats

import (
	"net/netip"
	"time"
)

// Config is the [stats] section.
type Config struct {
	Binds       []netip.AddrPort
	URI         string        // default "/stats"
	Refresh     time.Duration // 0 = no auto-refresh
	Realm       string        // basic-auth realm, default "tandem statistics"
	Auth        []Credential  // empty = no authentication
	HideVersion bool
	Admin       bool // enables the admin actions on the page (needs Auth)
}

// Credential is one `auth` entry: "user:password", where password is plain
// text or a crypt hash ($2a$/$2b$/$2y$ bcrypt, $5$/$6$ SHA-crypt).
type Credential struct {
	User     string
	Password string
}
