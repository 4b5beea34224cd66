package lb

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/http2"
)

// HTTP/2 limits towards clients.
const (
	h2MaxStreams    = 100       // concurrent streams per connection
	h2MaxHeaderList = 16 << 10  // SETTINGS_MAX_HEADER_LIST_SIZE, as the HTTP/1.1 head limit
	h2StreamWindow  = 256 << 10 // request body buffered per stream
)

// h2Front serves HTTP/2 for one TLS frontend. Each stream becomes an
// HTTP/1.1 request handed to the engine's own session code over an
// in-memory connection, so ACLs, rules, persistence, balancing, retries,
// logging and counters are exactly those of HTTP/1.1; the log shows
// HTTP/2.0. x/net's server enforces the stream limit and the rapid-reset
// protection (streams reset before their handler ran are bounded, then
// the connection is closed with ENHANCE_YOUR_CALM).
//
// x/net's http2.Server is marked deprecated in favour of net/http's own
// HTTP/2, but net/http can only serve listeners: ServeConn is the one API
// that serves a single connection in the goroutine that accepted it, which
// keeps maxconn slots and connection counters exact.
type h2Front struct {
	f *frontend
	//lint:ignore SA1019 see above: ServeConn has no net/http equivalent
	srv  *http2.Server
	base *http.Server // limits and timeouts read by srv; never serves
}

func newH2Front(f *frontend) *h2Front {
	//lint:ignore SA1019 see h2Front
	h := &h2Front{f: f, srv: &http2.Server{}}
	h.base = &http.Server{
		MaxHeaderBytes: h2MaxHeaderList,
		IdleTimeout:    f.timeouts.HTTPKeepAlive,
		ErrorLog:       log.New(zlogWriter{f}, "", 0),
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams:      h2MaxStreams,
			MaxReceiveBufferPerStream: h2StreamWindow,
		},
	}
	// Registers the graceful shutdown (GOAWAY) of srv's connections on
	// base.Shutdown; base.TLSConfig is unused.
	//lint:ignore SA1019 see h2Front
	_ = http2.ConfigureServer(h.base, h.srv)
	return h
}

// zlogWriter sends x/net's log lines to the engine's logger at debug.
type zlogWriter struct{ f *frontend }

func (w zlogWriter) Write(b []byte) (int, error) {
	w.f.p.log.Debug().Str("frontend", w.f.name).Msg(strings.TrimSpace(string(b)))
	return len(b), nil
}

// serve runs one HTTP/2 client connection until it closes. When the proxy
// stops, the connection gets a GOAWAY and ends once its streams are done.
func (h *h2Front) serve(c *tls.Conn, sec *connSec) {
	p := h.f.p
	// Registered so that hard-stop-after can close it.
	reg := &session{conn: c}
	p.register(reg)
	defer p.unregister(reg)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-p.stop:
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_ = h.base.Shutdown(ctx) // sends GOAWAY on every connection, returns at once
		case <-done:
		}
	}()
	stream := *sec
	stream.h2 = true
	//lint:ignore SA1019 see h2Front
	h.srv.ServeConn(c, &http2.ServeConnOpts{
		BaseConfig: h.base,
		Handler:    &h2Handler{f: h.f, conn: c, sec: &stream},
	})
}

// h2Handler bridges the streams of one connection to HTTP/1.1 sessions.
type h2Handler struct {
	f    *frontend
	conn net.Conn
	sec  *connSec
}

// streamConn is the engine's end of one stream: an in-memory connection
// that reports the client connection's addresses, and leads to it through
// NetConn (a PROXY header read with accept_proxy is found that way).
type streamConn struct {
	net.Conn
	local, remote net.Addr
	client        net.Conn
}

func (c *streamConn) NetConn() net.Conn    { return c.client }
func (c *streamConn) LocalAddr() net.Addr  { return c.local }
func (c *streamConn) RemoteAddr() net.Addr { return c.remote }
func (c *streamConn) CloseWrite() error    { return nil }

var h2BufPool = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

func (h *h2Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := h.f.p
	p.conns.Add(1)
	defer p.conns.Done()
	cli, eng := net.Pipe()
	sessDone := make(chan struct{})
	go func() {
		defer close(sessDone)
		h.f.serveHTTP(&streamConn{Conn: eng, local: h.conn.LocalAddr(), remote: h.conn.RemoteAddr(), client: h.conn}, h.sec)
	}()
	// A reset stream or a closed connection aborts the session.
	stop := context.AfterFunc(r.Context(), func() { _ = cli.Close() })
	reqDone := make(chan struct{})
	defer func() {
		stop()
		_ = cli.Close()
		<-reqDone
		<-sessDone
	}()

	head, chunked := appendH1Request(make([]byte, 0, 1024), r)
	go func() {
		defer close(reqDone)
		writeH1Request(cli, head, r, chunked)
	}()

	br := bufio.NewReaderSize(cli, 4096)
	var resp *http.Response
	for {
		var err error
		resp, err = http.ReadResponse(br, r)
		if err != nil {
			// The session closed without an answer: client gone or hard stop.
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		// Interim responses: x/net sends 100 Continue itself when the
		// body is read.
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	hdr := w.Header()
	for k, vs := range resp.Header {
		if h2Hop(k) {
			continue
		}
		hdr[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	bp := h2BufPool.Get().(*[]byte)
	defer h2BufPool.Put(bp)
	fl, _ := w.(http.Flusher)
	for {
		n, err := resp.Body.Read(*bp)
		if n > 0 {
			if _, werr := w.Write((*bp)[:n]); werr != nil {
				return
			}
			// Flush when nothing more is at hand, so streamed responses
			// are not held back.
			if fl != nil && br.Buffered() == 0 {
				fl.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}

// h2Hop reports response headers that have no place in HTTP/2.
func h2Hop(k string) bool {
	switch k {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

// appendH1Request writes r's head as HTTP/1.1. Cookie fields, which HTTP/2
// may split, are joined with "; " (RFC 9113 8.2.3). chunked: the body has
// no known length and goes chunked.
func appendH1Request(dst []byte, r *http.Request) ([]byte, bool) {
	dst = append(dst, r.Method...)
	dst = append(dst, ' ')
	target := r.RequestURI
	if target == "" {
		target = "/"
	}
	dst = append(dst, target...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, r.Host...)
	dst = append(dst, "\r\n"...)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Proxy-Connection", "Upgrade":
			continue
		}
		vs := r.Header[k]
		if k == "Cookie" && len(vs) > 1 {
			vs = []string{strings.Join(vs, "; ")}
		}
		for _, v := range vs {
			dst = append(dst, k...)
			dst = append(dst, ": "...)
			dst = append(dst, v...)
			dst = append(dst, "\r\n"...)
		}
	}
	chunked := false
	switch {
	case r.ContentLength > 0:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, r.ContentLength, 10)
		dst = append(dst, "\r\n"...)
	case r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
		chunked = true
	case r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch:
		dst = append(dst, "Content-Length: 0\r\n"...)
	}
	return append(dst, "\r\n"...), chunked
}

// writeH1Request sends the head and the body to the session; it ends when
// the body is sent or the pipe is closed.
func writeH1Request(c net.Conn, head []byte, r *http.Request, chunked bool) {
	if _, err := c.Write(head); err != nil {
		return
	}
	switch {
	case chunked:
		cw := httputil.NewChunkedWriter(c)
		if _, err := io.Copy(cw, r.Body); err != nil {
			return
		}
		if cw.Close() == nil {
			_, _ = io.WriteString(c, "\r\n")
		}
	case r.ContentLength > 0:
		_, _ = io.CopyN(c, r.Body, r.ContentLength)
	}
}
