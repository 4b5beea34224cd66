package testbackend

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is one running backend. Its handlers, by path:
//
//	…/demo.html            HTML page naming the group and server
//	/echo                  text: request line, headers (sorted), then the body
//	/status/NNN            answers status NNN (no body for 1xx, 204, 304)
//	/size/N                N bytes with Content-Length
//	/chunked/N             N bytes, chunked, written in several pieces
//	/delay/DUR             waits DUR (Go duration) then answers like demo.html
//	/block                 waits until Unblock or Close, then answers
//	/reset                 resets the connection (RST) without answering
//	/garbage               writes bytes that are not HTTP, then closes
//	/close-after-headers   sends a head announcing 100 bytes, then closes
//	/http10                HTTP/1.0 response without length, body until close
//	/upgrade               101 Switching Protocols, then echoes bytes back
//	anything else          200 text "GROUP/NAME PATH"
//
// Every normal response carries X-Group, X-Server and X-Remote-Addr (the
// address the request came from, so keep-alive reuse is visible).
type Server struct {
	Group, Name string
	Addr        netip.AddrPort

	ln  net.Listener
	srv *http.Server

	mu       sync.Mutex
	unblock  chan struct{}
	hijacked map[net.Conn]struct{}

	done     chan struct{}
	handlers sync.WaitGroup
	closed   atomic.Bool

	conns    atomic.Int64
	requests atomic.Int64
	blocked  atomic.Int64
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves until Close.
func Start(group, name, addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("testbackend %s/%s: listen on %s: %w", group, name, addr, err)
	}
	return Serve(ln, group, name), nil
}

// Serve serves on an existing listener until Close.
func Serve(ln net.Listener, group, name string) *Server {
	s := &Server{
		Group:    group,
		Name:     name,
		ln:       ln,
		unblock:  make(chan struct{}),
		hijacked: make(map[net.Conn]struct{}),
		done:     make(chan struct{}),
	}
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil {
		s.Addr = ap
	}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 30 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		},
		ErrorLog: nil,
	}
	s.handlers.Add(1)
	go func() {
		defer s.handlers.Done()
		_ = s.srv.Serve(ln)
	}()
	return s
}

// Conns is the number of TCP connections accepted so far.
func (s *Server) Conns() int64 { return s.conns.Load() }

// Requests is the number of requests received so far.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Blocked is the number of requests currently waiting in /block.
func (s *Server) Blocked() int64 { return s.blocked.Load() }

// Unblock releases every request waiting in /block.
func (s *Server) Unblock() {
	s.mu.Lock()
	close(s.unblock)
	s.unblock = make(chan struct{})
	s.mu.Unlock()
}

// Close stops the server, closes every connection and waits for the
// handlers to return.
func (s *Server) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.done)
	err := s.srv.Close()
	s.mu.Lock()
	for c := range s.hijacked {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.handlers.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return false
	}
	s.hijacked[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.hijacked, c)
	s.mu.Unlock()
	_ = c.Close()
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.handlers.Add(1)
	defer s.handlers.Done()
	s.requests.Add(1)
	h := w.Header()
	h.Set("X-Group", s.Group)
	h.Set("X-Server", s.Name)
	h.Set("X-Remote-Addr", r.RemoteAddr)

	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "demo.html"):
		s.demo(w)
	case p == "/echo":
		s.echo(w, r)
	case strings.HasPrefix(p, "/status/"):
		code, err := strconv.Atoi(strings.TrimPrefix(p, "/status/"))
		if err != nil || code < 100 || code > 599 {
			http.Error(w, "bad status", http.StatusBadRequest)
			return
		}
		w.WriteHeader(code)
		if code >= 200 && code != 204 && code != 304 && r.Method != http.MethodHead {
			fmt.Fprintf(w, "status %d\n", code)
		}
	case strings.HasPrefix(p, "/size/"):
		n, err := strconv.Atoi(strings.TrimPrefix(p, "/size/"))
		if err != nil || n < 0 {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		h.Set("Content-Length", strconv.Itoa(n))
		writeN(w, n, false)
	case strings.HasPrefix(p, "/chunked/"):
		n, err := strconv.Atoi(strings.TrimPrefix(p, "/chunked/"))
		if err != nil || n < 0 {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		writeN(w, n, true)
	case strings.HasPrefix(p, "/delay/"):
		d, err := time.ParseDuration(strings.TrimPrefix(p, "/delay/"))
		if err != nil {
			http.Error(w, "bad duration", http.StatusBadRequest)
			return
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-s.done:
			return
		case <-r.Context().Done():
			return
		}
		s.demo(w)
	case p == "/block":
		s.mu.Lock()
		ch := s.unblock
		s.mu.Unlock()
		s.blocked.Add(1)
		select {
		case <-ch:
		case <-s.done:
		case <-r.Context().Done():
		}
		s.blocked.Add(-1)
		s.demo(w)
	case p == "/reset", p == "/garbage", p == "/close-after-headers", p == "/http10", p == "/upgrade":
		s.hijack(w, r, p)
	default:
		h.Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s/%s %s\n", s.Group, s.Name, p)
	}
}

func (s *Server) demo(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprintf(w, "<html><body><h1>%s</h1><p>served by %s</p></body></html>\n", s.Group, s.Name)
}

func (s *Server) echo(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\n", r.Method, r.RequestURI, r.Proto)
	fmt.Fprintf(&b, "Host: %s\n", r.Host)
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(&b, "\nbody %d bytes\n", len(body))
	b.Write(body)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, b.String())
}

// writeN writes n bytes of a repeating alphabet; chunked responses are
// flushed in pieces so the proxy sees several chunks.
func writeN(w http.ResponseWriter, n int, chunked bool) {
	const alpha = "abcdefghijklmnopqrstuvwxyz0123456789\n"
	piece := 4096
	if chunked {
		piece = 1000
	}
	buf := make([]byte, piece)
	for i := range buf {
		buf[i] = alpha[i%len(alpha)]
	}
	f, _ := w.(http.Flusher)
	for n > 0 {
		m := min(n, piece)
		if _, err := w.Write(buf[:m]); err != nil {
			return
		}
		n -= m
		if chunked && f != nil {
			f.Flush()
		}
	}
}

func (s *Server) hijack(w http.ResponseWriter, r *http.Request, p string) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "no hijack", http.StatusInternalServerError)
		return
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	if !s.track(conn) {
		_ = conn.Close()
		return
	}
	defer s.untrack(conn)
	switch p {
	case "/reset":
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	case "/garbage":
		_, _ = conn.Write([]byte("THIS IS NOT HTTP\r\n\r\n"))
	case "/close-after-headers":
		_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Server: " + s.Name + "\r\n\r\npartial"))
	case "/http10":
		_, _ = fmt.Fprintf(conn, "HTTP/1.0 200 OK\r\nX-Server: %s\r\nContent-Type: text/plain\r\n\r\nhttp/1.0 body from %s until close\n", s.Name, s.Name)
	case "/upgrade":
		if r.Header.Get("Upgrade") == "" {
			_, _ = conn.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			return
		}
		_, _ = fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\nConnection: Upgrade\r\nX-Server: %s\r\n\r\n", r.Header.Get("Upgrade"), s.Name)
		echoTunnel(conn, rw.Reader)
	}
}

// echoTunnel echoes what arrives (including bytes net/http already
// buffered) until the peer closes its side, then closes ours.
func echoTunnel(conn net.Conn, br *bufio.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := br.Read(buf)
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
