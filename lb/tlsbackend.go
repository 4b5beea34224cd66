package lb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/tandemlb/tandem/health"
)

// ServerTLS is a server's `ssl = true` with its options.
type ServerTLS struct {
	Verify bool   // verify = "required" (the default): check the chain and the name
	CAFile string // PEM roots for Verify; "" = the system's
	SNI    string // server name sent and verified; "" = none sent, the address is verified
}

// clientTLSConfig builds the client side of a server's TLS.
func clientTLSConfig(st *ServerTLS, addr string, mode Mode) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         st.SNI,
		ClientSessionCache: tls.NewLRUClientSessionCache(16),
	}
	if mode == ModeHTTP {
		cfg.NextProtos = []string{"http/1.1"}
	}
	if !st.Verify {
		cfg.InsecureSkipVerify = true
		return cfg, nil
	}
	if cfg.ServerName == "" {
		// No sni: the certificate must then name the address (IP SAN).
		cfg.ServerName = addr
	}
	if st.CAFile != "" {
		pem, err := os.ReadFile(st.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", st.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// initTLS prepares the server's client-side TLS, if configured.
func (s *server) initTLS() error {
	if s.cfg.TLS == nil {
		return nil
	}
	cfg, err := clientTLSConfig(s.cfg.TLS, s.addr.Addr().String(), s.be.cfg.Mode)
	if err != nil {
		return fmt.Errorf("ssl: %w", err)
	}
	s.tls = cfg
	return nil
}

// clientTLS runs the TLS handshake with a server that has ssl on, within
// timeout_connect; a failure is a connection failure (retried, then 503).
func (s *server) clientTLS(c *net.TCPConn) (netConn, error) {
	if s.tls == nil {
		return c, nil
	}
	_ = c.SetDeadline(time.Now().Add(s.be.timeouts.Connect))
	tc := tls.Client(c, s.tls)
	if err := tc.Handshake(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("TLS handshake with %s/%s %s: %w", s.be.name, s.name, s.addr, err)
	}
	_ = c.SetDeadline(time.Time{})
	return tc, nil
}

// HealthDialer returns health.Options.Dialer for this configuration: checks
// of servers with ssl on run over TLS (as HAProxy's checks follow the
// server's ssl setting), others are plain. base opens the TCP connection;
// nil means a net.Dialer. A check sent to another address or port than
// the server's (check addr/port) stays plain.
func (p *Proxy) HealthDialer(base health.Dialer) health.Dialer {
	if base == nil {
		base = &net.Dialer{}
	}
	d := &tlsDialer{base: base, cfgs: map[string]*tls.Config{}}
	for _, b := range p.backends {
		for _, s := range b.servers {
			if s.tls == nil {
				continue
			}
			cfg := s.tls.Clone()
			// A check speaks HTTP/1.x whatever the mode, and needs no session
			// shared with the traffic.
			cfg.NextProtos = nil
			cfg.ClientSessionCache = nil
			d.cfgs[s.addr.String()] = cfg
		}
	}
	return d
}

type tlsDialer struct {
	base health.Dialer
	cfgs map[string]*tls.Config // by "ip:port"
}

func (d *tlsDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.base.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := d.cfgs[addr]
	if cfg == nil {
		return c, nil
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}
