package tlsconf

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Problem is what Check found wrong with one certificates entry.
type Problem struct {
	Index   int // in Config.Certificates
	Warning bool
	Err     error
}

func (p Problem) Error() string { return p.Err.Error() }

// Check loads every certificate of cfg the way New does and reports, per
// entry, what makes it unusable (missing or unreadable file, no
// certificate or key in it, key and certificate that do not match, expired
// certificate) as errors, and what deserves attention (expiry within
// ExpiryWarning, an unusable OCSP response) as warnings.
func Check(cfg *Config, now time.Time) []Problem {
	var out []Problem
	if len(cfg.Certificates) == 0 {
		out = append(out, Problem{Index: -1, Err: errors.New("no certificates")})
	}
	for i, c := range cfg.Certificates {
		_, warns, err := loadEntry(c, now)
		if err != nil {
			out = append(out, Problem{Index: i, Err: err})
		}
		for _, w := range warns {
			out = append(out, Problem{Index: i, Warning: true, Err: w})
		}
	}
	return out
}

// loaded is one certificates entry ready to serve.
type loaded struct {
	cert  *tls.Certificate
	names []string // lower-case DNS names, "*.example.com" for wildcards
	ecdsa bool     // ECDSA or Ed25519: preferred for clients that accept it
}

// loadEntry reads one certificates entry: the certificate and its chain,
// the key (in the same file for a bundle), and the OCSP response beside it.
func loadEntry(c Certificate, now time.Time) (*loaded, []error, error) {
	certFile := c.Cert
	raw, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read certificate: %w", err)
	}
	certPEM, keyPEM := splitPEM(raw)
	if len(certPEM) == 0 {
		return nil, nil, fmt.Errorf("no PEM certificate in %s", certFile)
	}
	keyFile := certFile
	if c.Key != "" {
		keyFile = c.Key
		kraw, err := os.ReadFile(c.Key)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot read key: %w", err)
		}
		if _, keyPEM = splitPEM(kraw); len(keyPEM) == 0 {
			return nil, nil, fmt.Errorf("no PEM private key in %s", c.Key)
		}
	} else if len(keyPEM) == 0 {
		return nil, nil, fmt.Errorf("no private key in %s: append the key to the bundle or give { cert = ..., key = ... }", certFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return nil, nil, fmt.Errorf("certificate %s and key %s do not match", certFile, keyFile)
		}
		return nil, nil, fmt.Errorf("load certificate %s with key %s: %w", certFile, keyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, nil, fmt.Errorf("parse certificate %s: %w", certFile, err)
		}
		cert.Leaf = leaf
	}
	subject := describe(leaf)
	if now.After(leaf.NotAfter) {
		return nil, nil, fmt.Errorf("certificate %s (%s) expired on %s", certFile, subject, leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	var warns []error
	if now.Before(leaf.NotBefore) {
		warns = append(warns, fmt.Errorf("certificate %s (%s) is not valid before %s", certFile, subject, leaf.NotBefore.UTC().Format(time.RFC3339)))
	}
	if left := leaf.NotAfter.Sub(now); left < ExpiryWarning {
		warns = append(warns, fmt.Errorf("certificate %s (%s) expires on %s, in %d days", certFile, subject, leaf.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24)))
	}
	if staple, err := loadOCSP(certFile+".ocsp", &cert, now); err != nil {
		warns = append(warns, err)
	} else {
		cert.OCSPStaple = staple
	}
	l := &loaded{cert: &cert, names: names(leaf)}
	switch cert.PrivateKey.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey:
		l.ecdsa = true
	}
	return l, warns, nil
}

// splitPEM separates certificate blocks from private key blocks and drops
// the rest (DH parameters and the like that HAProxy bundles may carry).
func splitPEM(raw []byte) (certs, keys []byte) {
	var cb, kb bytes.Buffer
	for {
		var b *pem.Block
		b, raw = pem.Decode(raw)
		if b == nil {
			break
		}
		switch {
		case b.Type == "CERTIFICATE":
			_ = pem.Encode(&cb, b)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			if kb.Len() == 0 {
				_ = pem.Encode(&kb, b)
			}
		}
	}
	return cb.Bytes(), kb.Bytes()
}

// loadOCSP reads a DER OCSP response for cert, HAProxy's "<cert>.ocsp".
// None is not an error; one that does not fit the certificate, is not
// "good" or is out of date is reported and not stapled.
func loadOCSP(file string, cert *tls.Certificate, now time.Time) ([]byte, error) {
	der, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("OCSP response not stapled: %w", err)
	}
	var issuer *x509.Certificate
	if len(cert.Certificate) > 1 {
		issuer, _ = x509.ParseCertificate(cert.Certificate[1])
	}
	resp, err := ocsp.ParseResponseForCert(der, cert.Leaf, issuer)
	if err != nil {
		return nil, fmt.Errorf("OCSP response %s not stapled: %w", file, err)
	}
	if resp.Status != ocsp.Good {
		return nil, fmt.Errorf("OCSP response %s not stapled: certificate status is not good", file)
	}
	if !resp.NextUpdate.IsZero() && now.After(resp.NextUpdate) {
		return nil, fmt.Errorf("OCSP response %s not stapled: out of date since %s", file, resp.NextUpdate.UTC().Format(time.RFC3339))
	}
	return der, nil
}

func describe(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return "CN=" + c.Subject.CommonName
	}
	if len(c.DNSNames) > 0 {
		return "DNS:" + c.DNSNames[0]
	}
	return c.Subject.String()
}

// names are the DNS names a certificate is chosen for: its SANs, else its
// common name (HAProxy looks at both).
func names(c *x509.Certificate) []string {
	var out []string
	for _, n := range c.DNSNames {
		out = append(out, strings.ToLower(n))
	}
	if len(out) == 0 && c.Subject.CommonName != "" {
		out = append(out, strings.ToLower(c.Subject.CommonName))
	}
	return out
}

// certSet is the certificates of one load, indexed for SNI. Candidates for
// a name are listed ECDSA first, then in configuration order.
type certSet struct {
	exact map[string][]*tls.Certificate
	wild  map[string][]*tls.Certificate // "example.com" for *.example.com
	def   []*tls.Certificate
}

func buildSet(ls []*loaded) *certSet {
	s := &certSet{exact: map[string][]*tls.Certificate{}, wild: map[string][]*tls.Certificate{}}
	// Two passes, ECDSA first, keep configuration order within each.
	for _, wantECDSA := range []bool{true, false} {
		for i, l := range ls {
			if l.ecdsa != wantECDSA {
				continue
			}
			for _, n := range l.names {
				if rest, ok := strings.CutPrefix(n, "*."); ok {
					s.wild[rest] = appendNew(s.wild[rest], l.cert)
				} else {
					s.exact[n] = appendNew(s.exact[n], l.cert)
				}
			}
			// The default is the first entry, and any other entry for the
			// same names (its ECDSA or RSA twin).
			if i == 0 || sameNames(l.names, ls[0].names) {
				s.def = appendNew(s.def, l.cert)
			}
		}
	}
	return s
}

func appendNew(list []*tls.Certificate, c *tls.Certificate) []*tls.Certificate {
	for _, e := range list {
		if e == c {
			return list
		}
	}
	return append(list, c)
}

func sameNames(a, b []string) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for _, n := range a {
		found := false
		for _, m := range b {
			if n == m {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// pick chooses the certificate for a ClientHello: by SNI (exact, then
// wildcard, then the default), the first of the candidates the client
// supports (ECDSA come first), else the first candidate.
func (s *certSet) pick(hello *tls.ClientHelloInfo) *tls.Certificate {
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	cands := s.exact[name]
	if len(cands) == 0 && name != "" {
		if i := strings.IndexByte(name, '.'); i > 0 {
			cands = s.wild[name[i+1:]]
		}
	}
	if len(cands) == 0 {
		cands = s.def
	}
	for _, c := range cands {
		if hello.SupportsCertificate(c) == nil {
			return c
		}
	}
	return cands[0]
}

// Options are a Store's injected dependencies; all optional.
type Options struct {
	Now  func() time.Time // default time.Now
	Rand io.Reader        // session ticket keys; default crypto/rand
}

// Store serves a frontend's certificates. The tls.Config it hands out reads
// the certificates through an atomic pointer, so Reload swaps them for new
// connections without touching established ones.
type Store struct {
	cfg  Config
	now  func() time.Time
	rand io.Reader
	set  atomic.Pointer[certSet]
	base *tls.Config

	tmu        sync.Mutex
	keys       [][32]byte
	nextRotate atomic.Int64 // unix nanoseconds
}

// New loads cfg's certificates. Any entry that Check would report as an
// error makes it fail; warnings are returned for the caller to log.
func New(cfg Config, opts Options) (*Store, []error, error) {
	s := &Store{cfg: cfg, now: opts.Now, rand: opts.Rand}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	warns, err := s.load()
	if err != nil {
		return nil, warns, err
	}
	min := cfg.MinVersion
	if min == 0 {
		min = tls.VersionTLS12
	}
	curves := cfg.Curves
	if len(curves) == 0 {
		curves = DefaultCurves
	}
	s.base = &tls.Config{
		MinVersion:             min,
		CipherSuites:           cfg.Ciphers,
		CurvePreferences:       curves,
		NextProtos:             cfg.ALPN,
		SessionTicketsDisabled: cfg.NoTickets,
		Time:                   s.now,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.set.Load().pick(hello), nil
		},
	}
	if !cfg.NoTickets {
		s.rotate(s.now())
		// Rotation happens on the handshakes themselves: no timer to stop,
		// and an idle frontend does no work.
		s.base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			s.rotate(s.now())
			return nil, nil
		}
	}
	return s, warns, nil
}

// load reads every certificate and installs the set; on error the current
// set stays.
func (s *Store) load() ([]error, error) {
	now := s.now()
	var errs, warns []error
	var ls []*loaded
	for _, c := range s.cfg.Certificates {
		l, w, err := loadEntry(c, now)
		warns = append(warns, w...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ls = append(ls, l)
	}
	if len(s.cfg.Certificates) == 0 {
		errs = append(errs, errors.New("no certificates"))
	}
	if len(errs) > 0 {
		return warns, errors.Join(errs...)
	}
	s.set.Store(buildSet(ls))
	return warns, nil
}

// Reload reads the certificate files again (renewed certificates, new
// OCSP responses). New handshakes use them; on error nothing changes.
func (s *Store) Reload() ([]error, error) { return s.load() }

// TLSConfig is the server configuration for the frontend's listeners.
// Use it as is: a Clone would keep the session ticket keys of the moment
// (set ALPN in the Config instead).
func (s *Store) TLSConfig() *tls.Config { return s.base }

// rotate makes a new session ticket key when the current one is older than
// the rotation period, keeping the previous ones for decryption.
func (s *Store) rotate(now time.Time) {
	if now.UnixNano() < s.nextRotate.Load() {
		return
	}
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if now.UnixNano() < s.nextRotate.Load() {
		return
	}
	every := s.cfg.TicketRotate
	if every <= 0 {
		every = DefaultTicketRotate
	}
	// Rotation is lazy (on handshakes): after a quiet spell, make as many
	// keys as periods went by, so old tickets expire on time.
	n := 1
	if next := s.nextRotate.Load(); next > 0 {
		n += int(now.Sub(time.Unix(0, next)) / every)
	}
	keys := make([][32]byte, min(n, TicketKeys), TicketKeys)
	for i := range keys {
		if _, err := io.ReadFull(s.rand, keys[i][:]); err != nil {
			return // keep the current keys; crypto/rand does not fail
		}
	}
	keys = append(keys, s.keys[:min(len(s.keys), TicketKeys-len(keys))]...)
	s.keys = keys
	s.base.SetSessionTicketKeys(keys)
	s.nextRotate.Store(now.Add(every).UnixNano())
}
