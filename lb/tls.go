package lb

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/tandemlb/tandem/lb/tlsconf"
)

// netConn is a connection as the engine reads and writes it: a
// *net.TCPConn, a *tls.Conn over one, or one HTTP/2 stream.
type netConn interface {
	net.Conn
	CloseWrite() error
}

// connSec is what a client connection's TLS layer tells fetches and the
// log; nil for plain connections.
type connSec struct {
	sni      []byte
	protocol []byte // "TLSv1.3", as ssl_fc_protocol
	alpn     string
	h2       bool // this session is one HTTP/2 stream
}

// feTLS is a frontend's TLS termination.
type feTLS struct {
	store   *tlsconf.Store
	cfg     *tls.Config
	logName string // frontend name with HAProxy's "~" suffix
	h2      *h2Front
}

// defaultALPN is offered by HTTP frontends that configure none.
var defaultALPN = []string{"h2", "http/1.1"}

func (f *frontend) initTLS(fc FrontendConfig) error {
	if fc.TLS == nil {
		return nil
	}
	c := *fc.TLS
	if c.ALPN == nil && fc.Mode == ModeHTTP {
		c.ALPN = defaultALPN
	}
	store, warns, err := tlsconf.New(c, tlsconf.Options{Now: f.p.now})
	if err != nil {
		return fmt.Errorf("frontend %q: tls: %w", fc.Name, err)
	}
	for _, w := range warns {
		f.p.log.Warn().Str("frontend", fc.Name).Err(w).Msg("tls certificate")
	}
	f.tls = &feTLS{store: store, cfg: store.TLSConfig(), logName: fc.Name + "~"}
	if fc.Mode == ModeHTTP && slices.Contains(c.ALPN, "h2") {
		f.tls.h2 = newH2Front(f)
	}
	return nil
}

// ReloadCertificates re-reads every frontend's certificate files (renewed
// certificates, fresh OCSP responses) for new connections. A frontend
// whose files are broken keeps its current certificates; the errors are
// returned together.
func (p *Proxy) ReloadCertificates() error {
	var errs []error
	for _, f := range p.frontends {
		if f.tls == nil {
			continue
		}
		warns, err := f.tls.store.Reload()
		for _, w := range warns {
			p.log.Warn().Str("frontend", f.name).Err(w).Msg("tls certificate")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("frontend %q: reload certificates: %w", f.name, err))
		}
	}
	return errors.Join(errs...)
}

// logName is the frontend as the traffic log names it: HAProxy appends
// "~" when the connection came over TLS.
func (f *frontend) logName(sec *connSec) string {
	if sec != nil && f.tls != nil {
		return f.tls.logName
	}
	return f.name
}

// serveConn runs one accepted connection: TLS handshake if the frontend
// terminates TLS, then HTTP/2, HTTP/1.1 or TCP forwarding. True: an event
// loop relays the connection from now on (serveTCP).
func (f *frontend) serveConn(c *net.TCPConn) (parked bool) {
	if f.tls == nil {
		if f.cfg.Mode == ModeTCP {
			return f.serveTCP(c, nil)
		}
		f.serveHTTP(c, nil)
		return false
	}
	tc, sec := f.handshake(c)
	if tc == nil {
		return false
	}
	switch {
	case f.cfg.Mode == ModeTCP:
		f.serveTCP(tc, sec)
	case sec.alpn == "h2" && f.tls.h2 != nil:
		f.tls.h2.serve(tc, sec)
	default:
		f.serveHTTP(tc, sec)
	}
	return false
}

// handshake runs the server side of the TLS handshake within the time a
// client has to send its request (timeout_http_request, else
// timeout_client). nil: failed, connection closed.
func (f *frontend) handshake(c *net.TCPConn) (*tls.Conn, *connSec) {
	to := f.timeouts.HTTPRequest
	if f.cfg.Mode == ModeTCP {
		to = f.timeouts.Client
	}
	_ = c.SetDeadline(time.Now().Add(to))
	tc := tls.Server(c, f.tls.cfg)
	if err := tc.Handshake(); err != nil {
		f.st.errReq.Add(1)
		f.p.log.Debug().Err(err).Str("frontend", f.name).Stringer("client", c.RemoteAddr()).Msg("TLS handshake failed")
		_ = c.Close()
		return nil, nil
	}
	_ = c.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	sec := &connSec{protocol: protoNames[st.Version], alpn: st.NegotiatedProtocol}
	if st.ServerName != "" {
		sec.sni = []byte(st.ServerName)
	}
	if sec.protocol == nil {
		sec.protocol = []byte(tlsconf.VersionName(st.Version))
	}
	return tc, sec
}

// protoNames are ssl_fc_protocol values, shared by every connection.
var protoNames = map[uint16][]byte{
	tls.VersionTLS10: []byte("TLSv1"),
	tls.VersionTLS11: []byte("TLSv1.1"),
	tls.VersionTLS12: []byte("TLSv1.2"),
	tls.VersionTLS13: []byte("TLSv1.3"),
}

// proto is the request's protocol as the log shows it.
func (s *session) proto() []byte {
	if s.sec != nil && s.sec.h2 {
		return protoH2
	}
	return s.req.Proto
}

var (
	protoH2     = []byte("HTTP/2.0")
	schemeHTTPS = []byte("https")
)

func (m *reqMsg) SSL() bool { return m.sec != nil }

func (m *reqMsg) SNI() []byte {
	if m.sec == nil {
		return nil
	}
	return m.sec.sni
}

// SSLProtocol is ssl_fc_protocol: "TLSv1.2", "TLSv1.3"; nil when plain.
func (m *reqMsg) SSLProtocol() []byte {
	if m.sec == nil {
		return nil
	}
	return m.sec.protocol
}

func (m *reqMsg) Scheme() []byte {
	if m.sec != nil {
		return schemeHTTPS
	}
	return schemeHTTP
}

func (t *tcpSample) SSL() bool { return t.sec != nil }

func (t *tcpSample) SNI() []byte {
	if t.sec == nil {
		return nil
	}
	return t.sec.sni
}

// SSLProtocol is ssl_fc_protocol for TCP mode.
func (t *tcpSample) SSLProtocol() []byte {
	if t.sec == nil {
		return nil
	}
	return t.sec.protocol
}
