package config

import (
	"fmt"
	"strings"

	"github.com/tandemlb/tandem/stats"
)

// stats reads the [stats] section.
func (l *loader) stats(t *table) *stats.Config {
	c := &stats.Config{
		URI:   t.str("uri", "/stats"),
		Realm: t.str("realm", "tandem statistics"),
	}
	for i, b := range t.strings("bind") {
		ap, err := parseBind(b)
		if err != nil {
			t.errorf(fmt.Sprintf("bind[%d]", i), "%v", err)
			continue
		}
		c.Binds = append(c.Binds, ap)
	}
	if len(c.Binds) == 0 {
		t.errorf("", "needs at least one bind address")
	}
	if !strings.HasPrefix(c.URI, "/") {
		t.errorf("uri", "must start with /")
	}
	c.Refresh = t.duration("refresh", 0, true)
	for i, a := range t.strings("auth") {
		user, pass, ok := strings.Cut(a, ":")
		if !ok || user == "" || pass == "" {
			t.errorf(fmt.Sprintf("auth[%d]", i), "want \"user:password\" (password plain or a crypt hash)")
			continue
		}
		c.Auth = append(c.Auth, stats.Credential{User: user, Password: pass})
	}
	c.HideVersion = t.boolean("hide_version", false)
	c.Admin = t.boolean("admin", false)
	if c.Admin && len(c.Auth) == 0 {
		t.errorf("admin", "admin actions need auth")
	}
	t.unsupported("tls")
	t.done()
	return c
}
