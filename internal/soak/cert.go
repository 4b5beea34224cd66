package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// tlsServerName is the name the soak's certificate is for and the TLS
// client asks for (SNI) and verifies.
const tlsServerName = "soak.tandem.test"

// selfSigned writes a self-signed ECDSA P-256 certificate for
// tlsServerName (and the given IPs) and its key into dir, and returns the
// two paths and the certificate's PEM for the client's root pool.
// lb/tlsconf/tlstest does this for tests but takes a testing.TB.
func selfSigned(dir string, ips ...net.IP) (certFile, keyFile string, certPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, fmt.Errorf("generate the soak's TLS key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: tlsServerName, Organization: []string{"tandem soak"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		DNSNames:              []string{tlsServerName},
		IPAddresses:           ips,
		IsCA:                  true, // self-signed: it is its own root
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", nil, fmt.Errorf("create the soak's TLS certificate: %w", err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", nil, fmt.Errorf("encode the soak's TLS key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	certFile, keyFile = filepath.Join(dir, "soak.crt"), filepath.Join(dir, "soak.key")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return "", "", nil, fmt.Errorf("write the soak's TLS certificate: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", "", nil, fmt.Errorf("write the soak's TLS key: %w", err)
	}
	return certFile, keyFile, certPEM, nil
}
