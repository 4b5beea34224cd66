package tlsconf_test

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ocsp"

	"github.com/tandemlb/tandem/lb/tlsconf"
	"github.com/tandemlb/tandem/lb/tlsconf/tlstest"
)

// handshake runs a TLS handshake between srv and a client configured by
// cc over loopback TCP (net.Pipe is unbuffered, and TLS 1.3 has both sides
// write at once around a HelloRetryRequest).
func handshake(t *testing.T, srv *tls.Config, cc *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a, err := ln.Accept()
		if err != nil {
			return
		}
		defer a.Close()
		_ = a.SetDeadline(time.Now().Add(10 * time.Second))
		s := tls.Server(a, srv)
		if s.Handshake() == nil {
			// Let the client read its session ticket (TLS 1.3 sends it
			// after the handshake) before the connection closes.
			_, _ = s.Write([]byte{1})
		}
	}()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer wg.Wait()
	defer b.Close()
	_ = b.SetDeadline(time.Now().Add(10 * time.Second))
	c := tls.Client(b, cc)
	err = c.Handshake()
	if err == nil {
		_, _ = c.Read(make([]byte, 1))
	}
	return c.ConnectionState(), err
}

func TestCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	now := time.Now()
	good := ca.Issue(t, tlstest.Spec{Names: []string{"good.example"}})
	other := ca.Issue(t, tlstest.Spec{Names: []string{"other.example"}})
	expired := ca.Issue(t, tlstest.Spec{Names: []string{"old.example"}, NotBefore: now.Add(-400 * 24 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	soon := ca.Issue(t, tlstest.Spec{Names: []string{"soon.example"}, NotAfter: now.Add(10*24*time.Hour + time.Hour)})
	bundle := tlstest.Write(t, dir, "good.pem", good.Bundle())
	certOnly := tlstest.Write(t, dir, "good.crt", good.CertPEM)
	keyOnly := tlstest.Write(t, dir, "good.key", good.KeyPEM)
	otherKey := tlstest.Write(t, dir, "other.key", other.KeyPEM)
	expiredB := tlstest.Write(t, dir, "old.pem", expired.Bundle())
	soonB := tlstest.Write(t, dir, "soon.pem", soon.Bundle())
	garbage := tlstest.Write(t, dir, "garbage.pem", []byte("not a certificate\n"))
	ocspGood := tlstest.Write(t, dir, "ocspgood.pem", good.Bundle())
	tlstest.Write(t, dir, "ocspgood.pem.ocsp", ca.OCSP(t, good, ocsp.Good, now.Add(-time.Hour)))
	ocspRevoked := tlstest.Write(t, dir, "ocsprevoked.pem", good.Bundle())
	tlstest.Write(t, dir, "ocsprevoked.pem.ocsp", ca.OCSP(t, good, ocsp.Revoked, now.Add(-time.Hour)))
	ocspStale := tlstest.Write(t, dir, "ocspstale.pem", good.Bundle())
	tlstest.Write(t, dir, "ocspstale.pem.ocsp", ca.OCSP(t, good, ocsp.Good, now.Add(-48*time.Hour)))
	ocspJunk := tlstest.Write(t, dir, "ocspjunk.pem", good.Bundle())
	tlstest.Write(t, dir, "ocspjunk.pem.ocsp", []byte("junk"))

	tests := []struct {
		name string
		c    tlsconf.Certificate
		want []string // "error: substring" or "warning: substring"
	}{
		{"bundle", tlsconf.Certificate{Cert: bundle}, nil},
		{"pair", tlsconf.Certificate{Cert: certOnly, Key: keyOnly}, nil},
		{"missing", tlsconf.Certificate{Cert: dir + "/nope.pem"}, []string{"error: cannot read certificate: open " + dir + "/nope.pem: no such file or directory"}},
		{"missing key", tlsconf.Certificate{Cert: certOnly, Key: dir + "/nope.key"}, []string{"error: cannot read key: open " + dir + "/nope.key: no such file"}},
		{"unreadable", tlsconf.Certificate{Cert: dir}, []string{"error: cannot read certificate: read " + dir + ": is a directory"}},
		{"not PEM", tlsconf.Certificate{Cert: garbage}, []string{"error: no PEM certificate in " + garbage}},
		{"bundle without key", tlsconf.Certificate{Cert: certOnly}, []string{"error: no private key in " + certOnly}},
		{"key file without key", tlsconf.Certificate{Cert: certOnly, Key: certOnly}, []string{"error: no PEM private key in " + certOnly}},
		{"mismatch", tlsconf.Certificate{Cert: certOnly, Key: otherKey}, []string{"error: certificate " + certOnly + " and key " + otherKey + " do not match"}},
		{"expired", tlsconf.Certificate{Cert: expiredB}, []string{"error: certificate " + expiredB + " (CN=old.example) expired on " + expired.Cert.NotAfter.UTC().Format(time.DateOnly)}},
		{"expires soon", tlsconf.Certificate{Cert: soonB}, []string{"warning: certificate " + soonB + " (CN=soon.example) expires on " + soon.Cert.NotAfter.UTC().Format(time.DateOnly) + ", in 10 days"}},
		{"ocsp good", tlsconf.Certificate{Cert: ocspGood}, nil},
		{"ocsp revoked", tlsconf.Certificate{Cert: ocspRevoked}, []string{"warning: OCSP response " + ocspRevoked + ".ocsp not stapled: certificate status is not good"}},
		{"ocsp stale", tlsconf.Certificate{Cert: ocspStale}, []string{"warning: OCSP response " + ocspStale + ".ocsp not stapled: out of date"}},
		{"ocsp junk", tlsconf.Certificate{Cert: ocspJunk}, []string{"warning: OCSP response " + ocspJunk + ".ocsp not stapled: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps := tlsconf.Check(&tlsconf.Config{Certificates: []tlsconf.Certificate{tt.c}}, now)
			if len(ps) != len(tt.want) {
				t.Fatalf("got %v, want %q", ps, tt.want)
			}
			for i, p := range ps {
				kind := "error: "
				if p.Warning {
					kind = "warning: "
				}
				if got := kind + p.Error(); !strings.HasPrefix(got, tt.want[i]) {
					t.Errorf("problem %d = %q, want prefix %q", i, got, tt.want[i])
				}
				if p.Index != 0 {
					t.Errorf("problem %d index %d, want 0", i, p.Index)
				}
			}
		})
	}
	if ps := tlsconf.Check(&tlsconf.Config{}, now); len(ps) != 1 || ps[0].Index != -1 {
		t.Errorf("no certificates: %v", ps)
	}
}

// TestSNI: the certificate follows the SNI, ECDSA for clients that take
// it and RSA for the others, the first entry (and its twin) by default.
func TestSNI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	aEC := ca.Issue(t, tlstest.Spec{Names: []string{"a.example", "www.a.example"}})
	aRSA := ca.Issue(t, tlstest.Spec{Names: []string{"a.example", "www.a.example"}, RSA: true})
	b := ca.Issue(t, tlstest.Spec{Names: []string{"b.example"}, RSA: true})
	wild := ca.Issue(t, tlstest.Spec{Names: []string{"*.w.example"}})
	cfg := tlsconf.Config{Certificates: []tlsconf.Certificate{
		{Cert: tlstest.Write(t, dir, "a-rsa.crt", aRSA.CertPEM), Key: tlstest.Write(t, dir, "a-rsa.key", aRSA.KeyPEM)},
		{Cert: tlstest.Write(t, dir, "a-ec.pem", aEC.Bundle())},
		{Cert: tlstest.Write(t, dir, "b.pem", b.Bundle())},
		{Cert: tlstest.Write(t, dir, "w.pem", wild.Bundle())},
	}}
	st, warns, err := tlsconf.New(cfg, tlsconf.Options{})
	if err != nil || len(warns) > 0 {
		t.Fatalf("New: %v %v", err, warns)
	}
	rsaOnly := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	tests := []struct {
		name    string
		sni     string
		rsaOnly bool
		want    *tlstest.Leaf
	}{
		{"exact ECDSA", "a.example", false, aEC},
		{"exact RSA-only client", "a.example", true, aRSA},
		{"case and trailing dot", "WWW.A.Example.", false, aEC},
		{"other name", "b.example", false, b},
		{"wildcard", "x.w.example", false, wild},
		{"wildcard one level only", "y.x.w.example", false, aEC},
		{"unknown name: default", "nope.example", false, aEC},
		{"no SNI: default", "", false, aEC},
		{"no SNI, RSA-only client: default twin", "", true, aRSA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cc := &tls.Config{ServerName: tt.sni, InsecureSkipVerify: true}
			if tt.rsaOnly {
				cc.MaxVersion = tls.VersionTLS12
				cc.CipherSuites = rsaOnly
			}
			cs, err := handshake(t, st.TLSConfig(), cc)
			if err != nil {
				t.Fatal(err)
			}
			if got := cs.PeerCertificates[0]; !got.Equal(tt.want.Cert) {
				t.Errorf("got certificate %v %v, want %v", got.DNSNames, got.PublicKeyAlgorithm, tt.want.Cert.DNSNames)
			}
		})
	}
}

func TestDefaultsAndOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	leaf := ca.Issue(t, tlstest.Spec{Names: []string{"a.example"}})
	file := tlstest.Write(t, dir, "a.pem", leaf.Bundle())
	tlstest.Write(t, dir, "a.pem.ocsp", ca.OCSP(t, leaf, ocsp.Good, time.Now().Add(-time.Minute)))
	verify := &tls.Config{ServerName: "a.example", RootCAs: ca.Pool()}

	st, _, err := tlsconf.New(tlsconf.Config{Certificates: []tlsconf.Certificate{{Cert: file}}, ALPN: []string{"h2", "http/1.1"}}, tlsconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cc := verify.Clone()
	cc.NextProtos = []string{"h2", "http/1.1"}
	cs, err := handshake(t, st.TLSConfig(), cc)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{cs.Version, cs.CurveID, cs.NegotiatedProtocol, len(cs.OCSPResponse) > 0}
	want := []any{uint16(tls.VersionTLS13), tls.X25519MLKEM768, "h2", true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("version, curve, ALPN, OCSP (-want +got):\n%s", diff)
	}

	// min_version 1.3 refuses a 1.2 client; curves restrict the exchange.
	st13, _, err := tlsconf.New(tlsconf.Config{Certificates: []tlsconf.Certificate{{Cert: file}}, MinVersion: tls.VersionTLS13, Curves: []tls.CurveID{tls.CurveP256}}, tlsconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cc = verify.Clone()
	cc.MaxVersion = tls.VersionTLS12
	if _, err := handshake(t, st13.TLSConfig(), cc); err == nil {
		t.Error("TLS 1.2 client accepted with min_version 1.3")
	}
	cs, err = handshake(t, st13.TLSConfig(), verify.Clone())
	if err != nil {
		t.Fatal(err)
	}
	if cs.CurveID != tls.CurveP256 {
		t.Errorf("curve %v, want P-256", cs.CurveID)
	}

	// ciphers restrict TLS 1.2 suites.
	st12, _, err := tlsconf.New(tlsconf.Config{Certificates: []tlsconf.Certificate{{Cert: file}}, Ciphers: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, tlsconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cc = verify.Clone()
	cc.MaxVersion = tls.VersionTLS12
	cs, err = handshake(t, st12.TLSConfig(), cc)
	if err != nil {
		t.Fatal(err)
	}
	if cs.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 {
		t.Errorf("cipher %s", tls.CipherSuiteName(cs.CipherSuite))
	}
}

// TestTickets: sessions resume while their key is kept and not after
// TicketKeys rotations; NoTickets turns resumption off.
func TestTickets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	file := tlstest.Write(t, dir, "a.pem", ca.Issue(t, tlstest.Spec{Names: []string{"a.example"}}).Bundle())
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	st, _, err := tlsconf.New(tlsconf.Config{Certificates: []tlsconf.Certificate{{Cert: file}}, TicketRotate: time.Minute}, tlsconf.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cache := tls.NewLRUClientSessionCache(4)
		cc := &tls.Config{ServerName: "a.example", RootCAs: ca.Pool(), ClientSessionCache: cache, MaxVersion: v, Time: clock}
		var got []bool
		for _, step := range []time.Duration{0, 0, 61 * time.Second, 61 * time.Second, 0, 3 * 61 * time.Second} {
			advance(step)
			cs, err := handshake(t, st.TLSConfig(), cc)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, cs.DidResume)
		}
		// The ticket from handshake 5 is refused after three rotations.
		want := []bool{false, true, true, true, true, false}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s resumptions (-want +got):\n%s", tls.VersionName(v), diff)
		}
	}

	off, _, err := tlsconf.New(tlsconf.Config{Certificates: []tlsconf.Certificate{{Cert: file}}, NoTickets: true}, tlsconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cc := &tls.Config{ServerName: "a.example", RootCAs: ca.Pool(), ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	for range 2 {
		if cs, err := handshake(t, off.TLSConfig(), cc); err != nil || cs.DidResume {
			t.Fatalf("no tickets: resumed=%v err=%v", cs.DidResume, err)
		}
	}
}

// TestReload: renewed files are served after Reload; a broken file leaves
// the current certificates in place.
func TestReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "test CA")
	first := ca.Issue(t, tlstest.Spec{Names: []string{"a.example"}})
	second := ca.Issue(t, tlstest.Spec{Names: []string{"a.example"}})
	file := tlstest.Write(t, dir, "a.pem", first.Bundle())
	st, _, err := tlsconf.New(tlsconf.Config{Certificates: []tlsconf.Certificate{{Cert: file}}}, tlsconf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	served := func() *x509.Certificate {
		cs, err := handshake(t, st.TLSConfig(), &tls.Config{ServerName: "a.example", RootCAs: ca.Pool()})
		if err != nil {
			t.Fatal(err)
		}
		return cs.PeerCertificates[0]
	}
	if !served().Equal(first.Cert) {
		t.Fatal("not serving the first certificate")
	}
	tlstest.Write(t, dir, "a.pem", second.Bundle())
	if _, err := st.Reload(); err != nil {
		t.Fatal(err)
	}
	if !served().Equal(second.Cert) {
		t.Fatal("not serving the renewed certificate")
	}
	if err := os.WriteFile(file, second.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Reload(); err == nil || !strings.Contains(err.Error(), "no private key") {
		t.Fatalf("Reload of a broken file: %v", err)
	}
	if !served().Equal(second.Cert) {
		t.Fatal("broken reload changed the certificate")
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	type res struct {
		V   uint64
		Err string
	}
	run := func(v uint64, err error) res {
		r := res{V: v}
		if err != nil {
			r.Err = err.Error()
		}
		return r
	}
	ver := func(s string) res { v, err := tlsconf.ParseVersion(s); return run(uint64(v), err) }
	ciph := func(s string) res { v, err := tlsconf.ParseCipher(s); return run(uint64(v), err) }
	curve := func(s string) res { v, err := tlsconf.ParseCurve(s); return run(uint64(v), err) }
	got := []res{
		ver("1.2"), ver("TLSv1.3"), ver("1.4"),
		ciph("ECDHE-RSA-AES128-GCM-SHA256"), ciph("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
		ciph("TLS_AES_128_GCM_SHA256"), ciph("TLS_RSA_WITH_RC4_128_SHA"), ciph("BOGUS"),
		curve("X25519MLKEM768"), curve("prime256v1"), curve("brainpool"),
	}
	want := []res{
		{V: tls.VersionTLS12}, {V: tls.VersionTLS13}, {Err: `unknown TLS version "1.4" (use "1.2" or "1.3")`},
		{V: uint64(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)}, {V: uint64(tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)},
		{Err: `cipher "TLS_AES_128_GCM_SHA256" is a TLS 1.3 suite, which is not configurable`},
		{Err: `cipher "TLS_RSA_WITH_RC4_128_SHA" is insecure`}, {Err: `unknown cipher "BOGUS"`},
		{V: uint64(tls.X25519MLKEM768)}, {V: uint64(tls.CurveP256)},
		{Err: `unknown curve "brainpool" (use X25519MLKEM768, X25519, P-256, P-384 or P-521)`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
