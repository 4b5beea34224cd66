package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tandemlb/tandem/lb/tlsconf/tlstest"
)

// TestTLSExpiryWarning: a certificate expiring within 30 days is a warning
// on its certificates entry (check exits 0), and the configuration loads.
func TestTLSExpiryWarning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	soon := ca.Issue(t, tlstest.Spec{Names: []string{"soon.example"}, NotAfter: time.Now().Add(20*24*time.Hour + time.Hour)})
	file := tlstest.Write(t, dir, "soon.pem", soon.Bundle())
	src := fmt.Sprintf(`[[frontend]]
name = "fe"
bind = ["127.0.0.1:8443"]
default_backend = "be"
tls = { certificates = [%q] }

[[backend]]
name = "be"
server = [ { name = "s1", address = "127.0.0.1:8080" } ]
`, file)
	cfg, ds := Load("t.toml", []byte(src), Options{})
	if cfg == nil {
		t.Fatalf("not loaded: %v", ds)
	}
	if len(ds) != 1 || !ds[0].Warning {
		t.Fatalf("diagnostics %v, want one warning", ds)
	}
	want := fmt.Sprintf(`t.toml:5:25: warning: frontend "fe": tls: certificates[0]: certificate %s (CN=soon.example) expires on %s, in 20 days`,
		file, soon.Cert.NotAfter.UTC().Format(time.DateOnly))
	if got := ds[0].String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if tc := cfg.Proxy.Frontends[0].TLS; tc == nil || len(tc.Certificates) != 1 || !strings.HasSuffix(tc.Certificates[0].Cert, "soon.pem") {
		t.Errorf("frontend TLS %+v", tc)
	}
}
