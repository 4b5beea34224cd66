// Package tlsconf turns a frontend's [frontend.tls] settings into a
// crypto/tls server configuration: it loads certificates (HAProxy-style PEM
// bundles or cert/key pairs), picks one per connection by SNI (ECDSA for
// clients that support it, RSA otherwise, the first certificate as the
// default), staples OCSP responses found beside the certificates, rotates
// session ticket keys, and reports problems (missing, unreadable, expired,
// mismatched or soon-expiring certificates) for the configuration loader.
//
// It knows nothing of the proxy engine or of the TOML file: lb builds a
// Store from a Config, internal/config fills the Config and calls Check.
package tlsconf
