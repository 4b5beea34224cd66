package tlsconf

import (
	"crypto/tls"
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
