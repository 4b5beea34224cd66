package tlsconf

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Certificate is one certificates entry: Cert is a PEM file with the
// certificate and its chain; Key is the private key file, or "" when Cert
// is an HAProxy-style bundle that holds the key too.
type Certificate struct {
	Cert string
	Key  string
}

// Config is a frontend's TLS settings, as the loader fills it.
type Config struct {
	// Certificates, the first one being the default for clients that send
	// no SNI or an unknown name.
	Certificates []Certificate
	// MinVersion is a crypto/tls version; 0 means TLS 1.2.
	MinVersion uint16
	// Ciphers are the TLS ≤ 1.2 cipher suites; nil means Go's defaults.
	// TLS 1.3 suites are not configurable (as in crypto/tls).
	Ciphers []uint16
	// Curves are the key exchanges in preference order; nil means
	// X25519MLKEM768, X25519, P-256.
	Curves []tls.CurveID
	// ALPN protocols offered, in preference order; nil means
	// ["h2", "http/1.1"] for HTTP frontends (the engine decides).
	ALPN []string
	// NoTickets disables session tickets (session resumption).
	NoTickets bool
	// TicketRotate is how often a new session ticket key is made; 0 means
	// DefaultTicketRotate. Tickets stay valid for TicketKeys rotations.
	TicketRotate time.Duration
}

// Defaults.
const (
	// DefaultTicketRotate is how often a fresh session ticket key is made.
	DefaultTicketRotate = time.Hour
	// TicketKeys is how many keys are kept: the newest encrypts, all
	// decrypt, so a ticket is accepted for (TicketKeys-1) to TicketKeys
	// rotations.
	TicketKeys = 3
	// ExpiryWarning is how close to its end a certificate is reported.
	ExpiryWarning = 30 * 24 * time.Hour
)

// DefaultCurves are the key exchanges offered when none are configured:
// the hybrid post-quantum one first, then the classic ones every client has.
var DefaultCurves = []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}

// ParseVersion reads a min_version: "1.0", "1.1", "1.2", "1.3", also with a
// "TLSv" prefix as HAProxy spells them.
func ParseVersion(s string) (uint16, error) {
	v := strings.TrimPrefix(strings.TrimPrefix(s, "TLSv"), "tlsv")
	switch v {
	case "1.0":
		return tls.VersionTLS10, nil
	case "1.1":
		return tls.VersionTLS11, nil
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("unknown TLS version %q (use \"1.2\" or \"1.3\")", s)
}

// VersionName is HAProxy's ssl_fc_protocol spelling: "TLSv1.3".
func VersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return tls.VersionName(v)
}

// opensslCiphers maps OpenSSL cipher names, as HAProxy configurations
// write them, to the suites crypto/tls implements.
var opensslCiphers = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// ParseCipher reads one TLS ≤ 1.2 cipher suite, by its OpenSSL name
// ("ECDHE-RSA-AES128-GCM-SHA256") or its IANA name
// ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"). Suites crypto/tls deems
// insecure are refused.
func ParseCipher(name string) (uint16, error) {
	if id, ok := opensslCiphers[name]; ok {
		return id, nil
	}
	for _, cs := range tls.CipherSuites() {
		if cs.Name == name {
			if slices.Contains(cs.SupportedVersions, tls.VersionTLS13) && !slices.Contains(cs.SupportedVersions, tls.VersionTLS12) {
				return 0, fmt.Errorf("cipher %q is a TLS 1.3 suite, which is not configurable", name)
			}
			return cs.ID, nil
		}
	}
	for _, cs := range tls.InsecureCipherSuites() {
		if cs.Name == name {
			return 0, fmt.Errorf("cipher %q is insecure", name)
		}
	}
	return 0, fmt.Errorf("unknown cipher %q", name)
}

// ParseCurve reads one key exchange: "X25519MLKEM768", "X25519", "P-256"
// (also "prime256v1", "secp256r1"), "P-384", "P-521".
func ParseCurve(name string) (tls.CurveID, error) {
	switch name {
	case "X25519MLKEM768":
		return tls.X25519MLKEM768, nil
	case "X25519", "x25519":
		return tls.X25519, nil
	case "P-256", "prime256v1", "secp256r1":
		return tls.CurveP256, nil
	case "P-384", "secp384r1":
		return tls.CurveP384, nil
	case "P-521", "secp521r1":
		return tls.CurveP521, nil
	}
	return 0, fmt.Errorf("unknown curve %q (use X25519MLKEM768, X25519, P-256, P-384 or P-521)", name)
}
