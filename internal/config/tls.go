package config

import (
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tandemlb/tandem/lb"
	"github.com/tandemlb/tandem/lb/tlsconf"
)

// frontendTLS reads [frontend.tls]: nil when absent. Certificate files are
// loaded here, so that `tandem check` reports missing, unreadable,
// mismatched and expired ones (errors) and those expiring within 30 days
// (warnings) on their certificates entry. Relative paths are taken from
// the working directory, as HAProxy does without crt-base.
func (l *loader) frontendTLS(t *table) *tlsconf.Config {
	if !t.has("tls") {
		return nil
	}
	tt := t.sub("tls", t.name)
	if tt == nil {
		return nil
	}
	tt.name = t.name + ": tls"
	c := &tlsconf.Config{}
	keys := l.certificates(tt, c) // the key of each entry, for positions
	if tt.has("min_version") {
		v, err := tlsconf.ParseVersion(tt.str("min_version", ""))
		if err != nil {
			tt.errorf("min_version", "%v", err)
		}
		c.MinVersion = v
	}
	for i, name := range splitColons(tt, "ciphers") {
		id, err := tlsconf.ParseCipher(name)
		if err != nil {
			tt.errorf(fmt.Sprintf("ciphers[%d]", i), "%v", err)
			continue
		}
		c.Ciphers = append(c.Ciphers, id)
	}
	for i, name := range splitColons(tt, "curves") {
		id, err := tlsconf.ParseCurve(name)
		if err != nil {
			tt.errorf(fmt.Sprintf("curves[%d]", i), "%v", err)
			continue
		}
		c.Curves = append(c.Curves, id)
	}
	if tt.has("alpn") {
		c.ALPN = []string{}
		for i, p := range tt.strings("alpn") {
			if p == "" || len(p) > 255 {
				tt.errorf(fmt.Sprintf("alpn[%d]", i), "protocol names are 1 to 255 bytes")
				continue
			}
			c.ALPN = append(c.ALPN, p)
		}
	}
	c.NoTickets = !tt.boolean("session_tickets", true)
	c.TicketRotate = tt.duration("ticket_rotate", 0, false)
	tt.done()

	for _, p := range tlsconf.Check(c, time.Now()) {
		if p.Index < 0 {
			continue // no certificates: reported above
		}
		key := keys[p.Index]
		if p.Warning {
			l.d.warnf(tt.keyPath(key), "%s: %s: %v", tt.name, key, p.Err)
		} else {
			tt.errorf(key, "%v", p.Err)
		}
	}
	return c
}

// certificates reads certificates: a bundle path, or an array of bundle
// paths and { cert = "...", key = "..." } tables. It returns the key each
// entry's diagnostics are placed on.
func (l *loader) certificates(tt *table, c *tlsconf.Config) []string {
	v, ok := tt.get("certificates")
	if !ok {
		tt.errorf("", "needs certificates")
		return nil
	}
	var elems []any
	switch v := v.(type) {
	case string:
		c.Certificates = append(c.Certificates, tlsconf.Certificate{Cert: v})
		return []string{"certificates"}
	case []any:
		elems = v
	case []map[string]any:
		for _, m := range v {
			elems = append(elems, m)
		}
	default:
		tt.errorf("certificates", "must be a file name or an array of file names and { cert, key } tables, not %s", typeName(v))
		return nil
	}
	if len(elems) == 0 {
		tt.errorf("certificates", "needs at least one certificate")
	}
	var keys []string
	for i, e := range elems {
		key := fmt.Sprintf("certificates[%d]", i)
		switch e := e.(type) {
		case string:
			if e == "" {
				tt.errorf(key, "empty file name")
				continue
			}
			c.Certificates = append(c.Certificates, tlsconf.Certificate{Cert: e})
		case map[string]any:
			et := newTable(tt.d, tt.keyPath(key), tt.name+": "+key, e)
			cert := tlsconf.Certificate{Cert: et.str("cert", ""), Key: et.str("key", "")}
			et.done()
			if cert.Cert == "" {
				tt.errorf(key, "needs cert")
				continue
			}
			c.Certificates = append(c.Certificates, cert)
		default:
			tt.errorf(key, "must be a file name or a { cert, key } table, not %s", typeName(e))
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// splitColons reads a string or array of strings, each possibly a
// colon-separated OpenSSL-style list.
func splitColons(t *table, key string) []string {
	var out []string
	for _, s := range t.strings(key) {
		for _, p := range strings.Split(s, ":") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// serverTLS reads a server's ssl, verify, ca_file and sni: nil without
// ssl = true.
func (l *loader) serverTLS(t *table) *lb.ServerTLS {
	if !t.boolean("ssl", false) {
		for _, k := range []string{"verify", "ca_file", "sni"} {
			if _, ok := t.get(k); ok {
				t.errorf(k, "needs ssl = true")
			}
		}
		return nil
	}
	st := &lb.ServerTLS{Verify: true}
	switch v := t.str("verify", "required"); v {
	case "required":
	case "none":
		st.Verify = false
	default:
		t.errorf("verify", "must be \"required\" or \"none\", not %q", v)
	}
	st.CAFile = t.str("ca_file", "")
	if st.CAFile != "" {
		pem, err := os.ReadFile(st.CAFile)
		switch {
		case err != nil:
			t.errorf("ca_file", "cannot read CA certificates: %v", err)
		case !x509.NewCertPool().AppendCertsFromPEM(pem):
			t.errorf("ca_file", "no PEM certificate in %s", st.CAFile)
		}
		if !st.Verify {
			t.errorf("ca_file", "is not used with verify = \"none\"")
		}
	}
	st.SNI = t.str("sni", "")
	return st
}
