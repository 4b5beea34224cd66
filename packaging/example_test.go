package packaging

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tlsCertPath is the certificate bundle deploy/examples/tls.toml names.
// The package ships no key, so the example is check-clean only once the
// admin has put the site's certificate there.
const tlsCertPath = "/etc/tandem/site.pem"

// checkTLSExample checks the installed tls.toml: as shipped, `tandem check`
// reports the missing certificate and nothing else; with a certificate at
// that path (a throw-away one, in a copy of the file) it is valid.
func checkTLSExample(t *testing.T, bin, example string) {
	t.Helper()
	src, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(src, []byte(`"`+tlsCertPath+`"`)) {
		t.Fatalf("%s does not name %s", example, tlsCertPath)
	}
	if _, err := os.Stat(tlsCertPath); errors.Is(err, fs.ErrNotExist) {
		out, errOut, err := runErr(bin, "check", "-c", example)
		want := `certificates[0]: cannot read certificate: open ` + tlsCertPath + `: no such file or directory`
		if err == nil || !strings.Contains(errOut, want) || !strings.HasSuffix(strings.TrimSpace(errOut), ": 1 error") {
			t.Errorf("installed tandem check -c %s: %v, want exactly one error, %q\n%s%s", example, err, want, out, errOut)
		}
	}
	dir := t.TempDir()
	bundle := filepath.Join(dir, "site.pem")
	writeTestBundle(t, bundle)
	conf := filepath.Join(dir, "tls.toml")
	if err := os.WriteFile(conf, bytes.ReplaceAll(src, []byte(tlsCertPath), []byte(bundle)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := runErr(bin, "check", "-c", conf); err != nil {
		t.Errorf("tandem check of the installed tls.toml with a certificate in place: %v\n%s%s", err, out, errOut)
	}
}

// writeTestBundle writes a self-signed ECDSA P-256 certificate for
// www.example.com followed by its key, as an admin would build site.pem.
func writeTestBundle(t *testing.T, path string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "www.example.com"},
		DNSNames:     []string{"www.example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour), // no expiry warning
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTLSExample runs checkTLSExample on the repository's copy (TestRPM
// does the same on the installed one).
func TestTLSExample(t *testing.T) {
	t.Parallel()
	checkTLSExample(t, tandemBinary(t), filepath.Join(repoRoot, "deploy/examples/tls.toml"))
}
