package lb

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandemlb/tandem/internal/testbackend"
	"github.com/tandemlb/tandem/lb/rules"
	"github.com/tandemlb/tandem/lb/tlsconf"
	"github.com/tandemlb/tandem/lb/tlsconf/tlstest"
)

// tlsSetup is a test CA and a frontend TLS configuration with two sites:
// a.example (ECDSA, the default) and b.example (RSA).
type tlsSetup struct {
	ca   *tlstest.CA
	a, b *tlstest.Leaf
	cfg  *tlsconf.Config
}

func newTLSSetup(t *testing.T) *tlsSetup {
	t.Helper()
	dir := t.TempDir()
	s := &tlsSetup{ca: tlstest.NewCA(t, "tandem test CA")}
	s.a = s.ca.Issue(t, tlstest.Spec{Names: []string{"a.example", "127.0.0.1"}})
	s.b = s.ca.Issue(t, tlstest.Spec{Names: []string{"b.example"}, RSA: true})
	s.cfg = &tlsconf.Config{Certificates: []tlsconf.Certificate{
		{Cert: tlstest.Write(t, dir, "a.pem", s.a.Bundle())},
		{Cert: tlstest.Write(t, dir, "b.crt", s.b.CertPEM), Key: tlstest.Write(t, dir, "b.key", s.b.KeyPEM)},
	}}
	return s
}

func (s *tlsSetup) client(sni string, alpn ...string) *tls.Config {
	return &tls.Config{ServerName: sni, RootCAs: s.ca.Pool(), NextProtos: alpn}
}

// tlsSeed is the seed layout with TLS on http-in and the usual rules:
// X-Forwarded-Proto from ssl_fc, the SNI passed on, HSTS on responses.
func (h *harness) tlsSeed(ts *tlsSetup) Config {
	cfg := h.seedConfig()
	fe := &cfg.Frontends[0]
	fe.TLS = ts.cfg
	fe.HTTPRequest = []rules.Rule{
		{Action: "set-header", Name: "X-Forwarded-Proto", Value: "https", If: "ssl_fc"},
		{Action: "set-header", Name: "X-SNI-B", Value: "yes", If: "{ ssl_fc_sni b.example }"},
	}
	for i := range cfg.Backends {
		cfg.Backends[i].HTTPResponse = []rules.Rule{
			{Action: "set-header", Name: "Strict-Transport-Security", Value: "max-age=31536000", If: "ssl_fc"},
		}
	}
	return cfg
}

func readAll(t *testing.T, resp *http.Response, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTLSHTTP1: HTTP/1.1 over TLS picks the certificate by SNI, routes by
// ACL, forwards plain HTTP with the forwarded headers, applies response
// rules, and logs the frontend as "http-in~".
func TestTLSHTTP1(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ts := newTLSSetup(t)
	h.start(h.tlsSeed(ts))
	addr := h.addr("http-in")

	tests := []struct {
		sni, path string
		cert      *tlstest.Leaf
		want      []string
	}{
		{"a.example", "/echo", ts.a, []string{"GET /echo HTTP/1.1", "X-Forwarded-Proto: https", "X-Forwarded-For: 127.0.0.1"}},
		{"b.example", "/echo", ts.b, []string{"X-Forwarded-Proto: https", "X-Sni-B: yes"}},
		{"a.example", "/ms1/x", ts.a, []string{"ms1/ms1.srv"}},
		{"b.example", "/ms2/y", ts.b, []string{"ms2/ms2.srv"}},
		{"", "/echo", ts.a, []string{"X-Forwarded-Proto: https"}},
	}
	for _, tt := range tests {
		c, err := tls.Dial("tcp", addr, ts.client(tt.sni))
		if err != nil && tt.sni == "" {
			// No SNI: verify against the IP SAN of the default certificate.
			c, err = tls.Dial("tcp", addr, ts.client("127.0.0.1"))
		}
		if err != nil {
			t.Fatalf("sni %q: %v", tt.sni, err)
		}
		cs := c.ConnectionState()
		if !cs.PeerCertificates[0].Equal(tt.cert.Cert) {
			t.Errorf("sni %q: got certificate for %v", tt.sni, cs.PeerCertificates[0].DNSNames)
		}
		if cs.NegotiatedProtocol != "" {
			t.Errorf("ALPN %q without asking", cs.NegotiatedProtocol)
		}
		cl := &client{t: t, c: c, br: bufio.NewReader(c)}
		for range 2 { // keep-alive over TLS
			r := cl.get(tt.path)
			if r.StatusCode != 200 {
				t.Fatalf("sni %q %s: status %d", tt.sni, tt.path, r.StatusCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("sni %q: backend did not see %q:\n%s", tt.sni, w, r.body)
				}
			}
			if got := r.Header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
				t.Errorf("HSTS = %q", got)
			}
		}
		_ = c.Close()
	}
	h.waitLog(" http-in~ ms1/", `"GET /ms1/x HTTP/1.1"`)
	h.waitLog(" http-in~ ms2/", `"GET /ms2/y HTTP/1.1"`)
	h.waitLog(" http-in~ default_servers/", `"GET /echo HTTP/1.1"`)

	// A plain HTTP client on the TLS port gets nothing and is counted.
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if !c.closed() {
		t.Error("plain HTTP on the TLS port was not closed")
	}
}

// TestTLSH2: HTTP/2 clients (ALPN h2) are served through the same path:
// ACL routing, rules, bodies both ways, concurrent streams, one log line
// per request with HTTP/2.0.
func TestTLSH2(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ts := newTLSSetup(t)
	h.start(h.tlsSeed(ts))
	addr := h.addr("http-in")
	var protos http.Protocols
	protos.SetHTTP2(true)
	tr := &http.Transport{TLSClientConfig: ts.client("a.example"), Protocols: &protos}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	resp, err := hc.Get("https://" + addr + "/echo?q=1")
	body := readAll(t, resp, err)
	if resp.ProtoMajor != 2 {
		t.Fatalf("proto %s", resp.Proto)
	}
	for _, w := range []string{"GET /echo?q=1 HTTP/1.1", "X-Forwarded-Proto: https", "X-Forwarded-For: 127.0.0.1", "Host: " + addr} {
		if !strings.Contains(body, w) {
			t.Errorf("backend did not see %q:\n%s", w, body)
		}
	}
	if resp.Header.Get("Strict-Transport-Security") == "" || resp.Header.Get("X-Group") != "default" {
		t.Errorf("response headers %v", resp.Header)
	}
	h.waitLog(" http-in~ default_servers/", `"GET /echo?q=1 HTTP/2.0"`)

	// Bodies: known length, unknown length (chunked towards the server),
	// and a large chunked response.
	post := bytes.Repeat([]byte("0123456789"), 10000)
	resp, err = hc.Post("https://"+addr+"/echo", "text/plain", bytes.NewReader(post))
	body = readAll(t, resp, err)
	if !strings.Contains(body, "Content-Length: 100000") || !strings.HasSuffix(body, string(post)) {
		t.Errorf("POST with length: backend saw %.200q", body)
	}
	resp, err = hc.Post("https://"+addr+"/echo", "text/plain", io.MultiReader(strings.NewReader("abc"), strings.NewReader("def")))
	body = readAll(t, resp, err)
	if !strings.Contains(body, "Transfer-Encoding: chunked") && !strings.Contains(body, "body 6 bytes\nabcdef") {
		t.Errorf("POST without length: backend saw %q", body)
	}
	resp, err = hc.Get("https://" + addr + "/chunked/200000")
	if n := len(readAll(t, resp, err)); n != 200000 {
		t.Errorf("chunked response: %d bytes", n)
	}
	// Cookies split into several fields are joined for HTTP/1.1.
	req, _ := http.NewRequest("GET", "https://"+addr+"/echo", nil)
	req.Header.Add("Cookie", "a=1")
	req.Header.Add("Cookie", "b=2")
	resp, err = hc.Do(req)
	body = readAll(t, resp, err)
	if !strings.Contains(body, "Cookie: a=1; b=2\n") {
		t.Errorf("cookies: %s", body)
	}
	// Rules answer locally over HTTP/2 too.
	resp, err = hc.Get("https://" + addr + "/status/404")
	readAll(t, resp, err)
	if resp.StatusCode != 404 {
		t.Errorf("status %d", resp.StatusCode)
	}

	// Concurrent streams on one connection.
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Get(fmt.Sprintf("https://%s/ms%d/x%d", addr, i%2+1, i))
			if err != nil {
				errs <- err
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("/ms%d/x%d\n", i%2+1, i); !strings.HasSuffix(string(b), want) {
				errs <- fmt.Errorf("stream %d: %q", i, b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	h.waitLog(`"GET /ms2/x49 HTTP/2.0"`)
	if got := h.p.feByName["http-in"].st.requests.Load(); got < 56 {
		t.Errorf("frontend counted %d requests", got)
	}
}

// TestTLSH2Curl: curl --http2 (nghttp2) against the frontend.
func TestTLSH2Curl(t *testing.T) {
	t.Parallel()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed (Debian package curl)")
	}
	if out, _ := exec.Command(curl, "--version").Output(); !bytes.Contains(out, []byte("HTTP2")) {
		t.Skip("this curl has no HTTP/2 support")
	}
	h := newHarness(t)
	ts := newTLSSetup(t)
	h.start(h.tlsSeed(ts))
	addr := h.addr("http-in")
	caFile := tlstest.Write(t, t.TempDir(), "ca.pem", ts.ca.PEM)
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, "-sS", "--http2", "--cacert", caFile,
		"--resolve", "b.example:"+port+":127.0.0.1",
		"-w", "\nproto=%{http_version} status=%{http_code}\n",
		"https://b.example:"+port+"/echo").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	for _, w := range []string{"proto=2 status=200", "X-Forwarded-Proto: https", "X-Sni-B: yes"} {
		if !bytes.Contains(out, []byte(w)) {
			t.Errorf("curl output lacks %q:\n%s", w, out)
		}
	}
	h.waitLog(" http-in~ default_servers/", `"GET /echo HTTP/2.0"`)
}

// TestRedirectToHTTPS: the port-80 frontend sends clients to HTTPS unless
// they came over TLS.
func TestRedirectToHTTPS(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ts := newTLSSetup(t)
	cfg := h.tlsSeed(ts)
	plain := cfg.Frontends[0]
	plain.Name = "http-80"
	plain.TLS = nil
	plain.HTTPRequest = []rules.Rule{{Action: "redirect", Scheme: "https", Code: 301, Unless: "ssl_fc"}}
	https := cfg.Frontends[0]
	https.HTTPRequest = append([]rules.Rule{{Action: "redirect", Scheme: "https", Code: 301, Unless: "ssl_fc"}}, https.HTTPRequest...)
	cfg.Frontends = []FrontendConfig{plain, https}
	h.start(cfg)

	c := dial(t, h.addr("http-80"))
	c.send("GET /ms1/page?x=1 HTTP/1.1\r\nHost: www.example\r\n\r\n")
	r := c.read("GET")
	if r.StatusCode != 301 || r.Header.Get("Location") != "https://www.example/ms1/page?x=1" {
		t.Errorf("redirect: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	h.waitLog(" http-80 http-80/<NOSRV> ", " 301 ")

	tc, err := tls.Dial("tcp", h.addr("http-in"), ts.client("a.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	cl := &client{t: t, c: tc, br: bufio.NewReader(tc)}
	if r := cl.get("/ms1/page"); r.StatusCode != 200 {
		t.Errorf("over TLS: status %d", r.StatusCode)
	}
}

// tlsBackend starts a testbackend that speaks TLS with a certificate of
// ca for 127.0.0.1 and srv.example, recording the SNI it was sent.
func tlsBackend(t *testing.T, ca *tlstest.CA, group, name string) (*testbackend.Server, *sniLog) {
	t.Helper()
	leaf := ca.Issue(t, tlstest.Spec{Names: []string{"srv.example", "127.0.0.1"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := &sniLog{}
	cfg := &tls.Config{GetCertificate: func(hi *tls.ClientHelloInfo) (*tls.Certificate, error) {
		sl.add(hi.ServerName)
		return &leaf.TLS, nil
	}}
	s := testbackend.Serve(tls.NewListener(ln, cfg), group, name)
	t.Cleanup(func() { _ = s.Close() })
	return s, sl
}

type sniLog struct {
	mu    sync.Mutex
	names []string
}

func (l *sniLog) add(n string) { l.mu.Lock(); l.names = append(l.names, n); l.mu.Unlock() }
func (l *sniLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.names) == 0 {
		return "<none>"
	}
	return l.names[len(l.names)-1]
}

// TestBackendTLS: ssl to servers with verification against ca_file (a
// wrong CA fails the connection: 503), verify none, and sni.
func TestBackendTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "backend CA")
	other := tlstest.NewCA(t, "another CA")
	caFile := tlstest.Write(t, dir, "ca.pem", ca.PEM)
	otherFile := tlstest.Write(t, dir, "other.pem", other.PEM)

	tests := []struct {
		name    string
		tls     ServerTLS
		status  int
		wantSNI string
	}{
		{"verify by IP", ServerTLS{Verify: true, CAFile: caFile}, 200, ""},
		{"verify with sni", ServerTLS{Verify: true, CAFile: caFile, SNI: "srv.example"}, 200, "srv.example"},
		{"wrong sni", ServerTLS{Verify: true, CAFile: caFile, SNI: "nope.example"}, 503, "nope.example"},
		{"wrong CA", ServerTLS{Verify: true, CAFile: otherFile}, 503, ""},
		{"system roots", ServerTLS{Verify: true}, 503, ""},
		{"verify none", ServerTLS{CAFile: otherFile}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, sni := tlsBackend(t, ca, "be", "s1")
			h := newHarness(t)
			st := tt.tls
			cfg := h.oneBackend(BackendConfig{Servers: []ServerConfig{{Name: "s1", Addr: srv.Addr, Weight: 1, TLS: &st}}})
			h.start(cfg)
			c := dial(t, h.addr("fe"))
			for range 2 { // the second request reuses the pooled TLS connection
				r := c.get("/echo")
				if r.StatusCode != tt.status {
					t.Fatalf("status %d, want %d: %s", r.StatusCode, tt.status, r.body)
				}
				if tt.status == 200 && !strings.Contains(r.body, "GET /echo HTTP/1.1") {
					t.Errorf("backend saw %q", r.body)
				}
				if tt.status != 200 {
					break
				}
			}
			if tt.status == 503 {
				h.waitLog(" fe be/s1 ", " 503 ", " SC")
			}
			if got := sni.last(); tt.wantSNI != "" && got != tt.wantSNI || tt.wantSNI == "" && got != "" && got != "<none>" {
				t.Errorf("server saw SNI %q, want %q", got, tt.wantSNI)
			}
		})
	}
	// The checker's dialer speaks TLS to ssl servers only.
	srv, _ := tlsBackend(t, ca, "be", "s1")
	h := newHarness(t)
	plain := h.startBackends("be", "plain")[0]
	st := ServerTLS{Verify: true, CAFile: caFile, SNI: "srv.example"}
	h.start(h.oneBackend(BackendConfig{Servers: []ServerConfig{{Name: "s1", Addr: srv.Addr, Weight: 1, TLS: &st}, plain}}))
	d := h.p.HealthDialer(nil)
	for _, a := range []string{srv.Addr.String(), plain.Addr.String()} {
		c, err := d.DialContext(context.Background(), "tcp", a)
		if err != nil {
			t.Fatalf("health dial %s: %v", a, err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(c)
		_ = c.Close()
		if !bytes.HasPrefix(b, []byte("HTTP/1.1 200")) {
			t.Errorf("check over %s: %q", a, b)
		}
	}
}
