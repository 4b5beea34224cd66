package lb

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Conn opens a raw HTTP/2 connection: preface and SETTINGS sent.
func h2Conn(t *testing.T, addr string, ts *tlsSetup) (*tls.Conn, *http2.Framer) {
	t.Helper()
	c, err := tls.Dial("tcp", addr, ts.client("a.example", "h2"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return c, fr
}

func h2Headers(path string) []byte {
	var b bytes.Buffer
	e := hpack.NewEncoder(&b)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "a.example"}, {":path", path}} {
		_ = e.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	return b.Bytes()
}

// TestH2Limits: the server announces 100 streams and a 16 KiB header
// list, and a rapid-reset flood (streams opened and reset at once while
// their handlers are still busy) ends with GOAWAY ENHANCE_YOUR_CALM.
func TestH2Limits(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ts := newTLSSetup(t)
	cfg := h.tlsSeed(ts)
	h.start(cfg)
	c, fr := h2Conn(t, h.addr("http-in"), ts)

	settings := map[http2.SettingID]uint32{}
	goaway := make(chan http2.ErrCode, 1)
	gotSettings := make(chan struct{})
	go func() {
		defer close(goaway)
		first := true
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if first && !f.IsAck() {
					_ = f.ForeachSetting(func(s http2.Setting) error { settings[s.ID] = s.Val; return nil })
					first = false
					close(gotSettings)
				}
			case *http2.GoAwayFrame:
				goaway <- f.ErrCode
				return
			}
		}
	}()
	select {
	case <-gotSettings:
	case <-time.After(10 * time.Second):
		t.Fatal("no SETTINGS from the server")
	}
	// x/net adds 32 bytes of per-field overhead for ten typical fields.
	if hl := settings[http2.SettingMaxHeaderListSize]; settings[http2.SettingMaxConcurrentStreams] != h2MaxStreams || hl < h2MaxHeaderList || hl > h2MaxHeaderList+320 {
		t.Errorf("settings %v", settings)
	}
	// The writes happen in this goroutine only; the reader above only reads.
	block := h2Headers("/block")
	for i := range 1000 {
		id := uint32(2*i + 1)
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true}); err != nil {
			break // the server closed the connection
		}
		if err := fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
			break
		}
	}
	select {
	case code, ok := <-goaway:
		if !ok || code != http2.ErrCodeEnhanceYourCalm {
			t.Errorf("GOAWAY %v (received %v), want ENHANCE_YOUR_CALM", code, ok)
		}
	case <-time.After(10 * time.Second):
		t.Error("no GOAWAY after a rapid-reset flood")
	}
	_ = c.Close()
	for _, b := range h.be {
		b.Unblock()
	}
}

// TestH2Stop: stopping the proxy sends GOAWAY to idle HTTP/2 clients and
// Run returns without waiting for their idle timeout.
func TestH2Stop(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ts := newTLSSetup(t)
	cfg := h.tlsSeed(ts)
	cfg.Frontends[0].Binds = loop0()
	cfg.Frontends[0].Timeouts.HTTPKeepAlive = time.Minute
	cfg.HardStopAfter = time.Minute
	p, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	var protos http.Protocols
	protos.SetHTTP2(true)
	tr := &http.Transport{TLSClientConfig: ts.client("a.example"), Protocols: &protos}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + p.Addrs("http-in")[0].String() + "/ms1/x")
	readAll(t, resp, err)

	cancel()
	select {
	case err := <-done:
		done <- err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return with an idle HTTP/2 client")
	}
}
