package lb_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tandemlb/tandem/internal/tandemtest"
	"github.com/tandemlb/tandem/internal/testbackend"
	"github.com/tandemlb/tandem/lb/tlsconf/tlstest"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestTLSEndToEnd runs the real binary with the usual HTTPS setup from the
// configuration file: port 80 redirects to HTTPS, the TLS frontend serves
// HTTP/1.1 and h2 with X-Forwarded-Proto and HSTS, and the backend is
// reached over TLS verified against ca_file.
func TestTLSEndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "e2e CA")
	site := ca.Issue(t, tlstest.Spec{Names: []string{"www.example", "127.0.0.1"}})
	bundle := tlstest.Write(t, dir, "site.pem", site.Bundle())
	caFile := tlstest.Write(t, dir, "ca.pem", ca.PEM)

	// A backend speaking TLS with a certificate of the same CA.
	beLeaf := ca.Issue(t, tlstest.Spec{Names: []string{"backend.example"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	be := testbackend.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{beLeaf.TLS}}), "web", "w1")
	t.Cleanup(func() { _ = be.Close() })

	httpPort, httpsPort := freePort(t), freePort(t)
	tandemtest.Start(t, fmt.Sprintf(`
[defaults]
mode = "http"
timeout_client = "10s"
timeout_server = "10s"
timeout_connect = "2s"
forwardfor = true

[[frontend]]
name = "http-in"
bind = ["127.0.0.1:%d"]
default_backend = "web"
http_request = [ { action = "redirect", scheme = "https", code = 301, unless = "ssl_fc" } ]

[[frontend]]
name = "https-in"
bind = ["127.0.0.1:%d"]
default_backend = "web"
http_request = [ { action = "set-header", name = "X-Forwarded-Proto", value = "https", if = "ssl_fc" } ]
tls = { certificates = [%q], alpn = ["h2", "http/1.1"] }

[[backend]]
name = "web"
http_response = [ { action = "set-header", name = "Strict-Transport-Security", value = "max-age=31536000", if = "ssl_fc" } ]
server = [ { name = "w1", address = %q, ssl = true, ca_file = %q, sni = "backend.example" } ]
`, httpPort, httpsPort, bundle, be.Addr.String(), caFile))

	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(fmt.Sprintf("http://127.0.0.1:%d/page?x=1", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := fmt.Sprintf("https://127.0.0.1:%d/page?x=1", httpPort); resp.StatusCode != 301 || resp.Header.Get("Location") != want {
		t.Errorf("port 80: %d %q, want 301 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}

	url := fmt.Sprintf("https://127.0.0.1:%d/echo", httpsPort)
	for _, h2 := range []bool{false, true} {
		var protos http.Protocols
		protos.SetHTTP1(!h2)
		protos.SetHTTP2(h2)
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "www.example"}, Protocols: &protos}
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("h2=%v: %v", h2, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.CloseIdleConnections()
		if resp.StatusCode != 200 || resp.ProtoMajor != map[bool]int{false: 1, true: 2}[h2] {
			t.Fatalf("h2=%v: %s %d %s", h2, resp.Proto, resp.StatusCode, body)
		}
		for _, w := range []string{"GET /echo HTTP/1.1", "X-Forwarded-Proto: https", "X-Forwarded-For: 127.0.0.1"} {
			if !strings.Contains(string(body), w) {
				t.Errorf("h2=%v: backend did not see %q:\n%s", h2, w, body)
			}
		}
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("h2=%v: no HSTS header", h2)
		}
	}

	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Log("curl not installed: skipping curl --http2 (Debian package curl)")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, "-sS", "--http2", "--cacert", caFile,
		"--resolve", fmt.Sprintf("www.example:%d:127.0.0.1", httpsPort),
		"-w", "\nproto=%{http_version} status=%{http_code}\n",
		fmt.Sprintf("https://www.example:%d/echo", httpsPort)).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("proto=2 status=200")) || !bytes.Contains(out, []byte("X-Forwarded-Proto: https")) {
		t.Errorf("curl --http2:\n%s", out)
	}
}
