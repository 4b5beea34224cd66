package stats

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/tandemlb/tandem/health"
)

// Server is the [stats] listener: the HTML page at Config.URI, its `;csv`
// and `;json` forms, Prometheus metrics at /metrics, and (with admin) the
// page's POST actions.
type Server struct {
	cfg    Config
	src    *Source
	log    zerolog.Logger
	auth   *authenticator // nil: no authentication
	secret []byte         // CSRF token key, per process
	srv    *http.Server
	lns    []net.Listener
	mux    http.Handler
}

// NewServer checks cfg and returns a Server that reads src.
func NewServer(cfg Config, src *Source, log zerolog.Logger) (*Server, error) {
	if cfg.URI == "" {
		cfg.URI = "/stats"
	}
	if cfg.Realm == "" {
		cfg.Realm = "tandem statistics"
	}
	if cfg.Admin && len(cfg.Auth) == 0 {
		return nil, errors.New("stats: admin actions need auth")
	}
	s := &Server{cfg: cfg, src: src, log: log, secret: make([]byte, 32)}
	if _, err := rand.Read(s.secret); err != nil {
		return nil, fmt.Errorf("stats: make the admin form key: %w", err)
	}
	if len(cfg.Auth) > 0 {
		a, err := newAuthenticator(cfg.Auth)
		if err != nil {
			return nil, err
		}
		s.auth = a
	}
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(newCollector(src, cfg.HideVersion)); err != nil {
		return nil, fmt.Errorf("stats: register metrics: %w", err)
	}
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: promLogger{log}})
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.HandleFunc("/", s.servePage)
	s.mux = mux
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	return s, nil
}

type promLogger struct{ log zerolog.Logger }

func (l promLogger) Println(v ...any) { l.log.Warn().Msg(fmt.Sprint(v...)) }

// Listen opens every bind address; an error closes those already open.
func (s *Server) Listen() error {
	for _, b := range s.cfg.Binds {
		ln, err := net.Listen("tcp", b.String())
		if err != nil {
			s.closeListeners()
			return fmt.Errorf("stats: listen on %s: %w", b, err)
		}
		s.lns = append(s.lns, ln)
	}
	return nil
}

// Addrs returns the listening addresses (after Listen).
func (s *Server) Addrs() []net.Addr {
	out := make([]net.Addr, 0, len(s.lns))
	for _, ln := range s.lns {
		out = append(out, ln.Addr())
	}
	return out
}

func (s *Server) closeListeners() {
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	s.lns = nil
}

// Serve serves the listeners opened by Listen until ctx ends, then shuts
// down, giving open requests a second to finish.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, len(s.lns))
	for _, ln := range s.lns {
		go func() { errc <- s.srv.Serve(ln) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		err = fmt.Errorf("stats: serve: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if serr := s.srv.Shutdown(sctx); serr != nil {
		_ = s.srv.Close()
	}
	return err
}

// ServeHTTP authenticates, then serves the page, its exports or /metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user := ""
	if s.auth != nil {
		u, p, ok := r.BasicAuth()
		if !ok || !s.auth.check(u, p) {
			if ok {
				s.log.Warn().Str("user", u).Str("client", r.RemoteAddr).Msg("stats: authentication failed")
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="`+strings.ReplaceAll(s.cfg.Realm, `"`, "'")+`", charset="UTF-8"`)
			http.Error(w, "401 Unauthorized: this page needs a valid user and password.", http.StatusUnauthorized)
			return
		}
		user = u
	}
	r = r.WithContext(context.WithValue(r.Context(), userKey{}, user))
	s.mux.ServeHTTP(w, r)
}

type userKey struct{}

// pageOptions are the `;`-separated words after the stats URI, in the
// path ("/stats;csv") or the query ("/stats?stats;csv"), as HAProxy reads
// them.
type pageOptions struct {
	csv, json, norefresh bool
	status               string // st=…: the outcome of the last action
}

func (s *Server) parseOptions(r *http.Request) (pageOptions, bool) {
	var o pageOptions
	p := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(p, s.cfg.URI)
	if !ok {
		return o, false
	}
	rest = strings.TrimPrefix(rest, "/")
	if rest != "" && rest[0] != ';' {
		return o, false
	}
	words := strings.Split(rest, ";")
	words = append(words, strings.Split(r.URL.RawQuery, ";")...)
	for _, w := range words {
		switch {
		case w == "csv":
			o.csv = true
		case w == "json":
			o.json = true
		case w == "norefresh":
			o.norefresh = true
		case strings.HasPrefix(w, "st="):
			o.status, _ = url.QueryUnescape(w[3:])
		}
	}
	return o, true
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	o, ok := s.parseOptions(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	user, _ := r.Context().Value(userKey{}).(string)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		if !s.cfg.Admin {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "405 Method Not Allowed: admin actions are not enabled", http.StatusMethodNotAllowed)
			return
		}
		s.serveAction(w, r, user)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "405 Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "no-cache, no-store")
	v := s.src.View()
	var buf bytes.Buffer
	var err error
	switch {
	case o.csv:
		h.Set("Content-Type", "text/plain; charset=utf-8")
		err = WriteCSV(&buf, v.Rows())
	case o.json:
		h.Set("Content-Type", "application/json")
		err = WriteJSON(&buf, v, s.cfg.HideVersion)
	default:
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		p := &page{View: v, URI: s.cfg.URI, HideVersion: s.cfg.HideVersion, Admin: s.cfg.Admin, User: user}
		if s.cfg.Refresh > 0 && !o.norefresh {
			p.Refresh = max(int(s.cfg.Refresh/time.Second), 1)
		}
		if s.cfg.Admin {
			p.Token = s.token(user)
		}
		p.Message, p.MessageOK = statusMessage(o.status)
		err = renderPage(&buf, p)
	}
	if err != nil {
		s.log.Error().Err(err).Msg("stats: render")
		http.Error(w, "500 Internal Server Error", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(buf.Bytes())
}

// statusMessage turns the st= of a redirect after an action into the
// message shown on the page. Only known codes are shown, so a crafted
// link cannot put text on the page.
func statusMessage(st string) (string, bool) {
	code, n, _ := strings.Cut(st, "-")
	switch code {
	case "DONE":
		return "Action applied to " + n + " server(s).", true
	case "NONE":
		return "Nothing to do: no server was selected.", false
	case "DENY":
		return "Action refused: the form was stale or came from another site. Reload the page and try again.", false
	case "ERR":
		return "Action failed: unknown backend, server or action (see the log).", false
	}
	return "", false
}

// token is the CSRF token of the admin form: an HMAC of the user with
// the process's secret, so it is per user and changes at each restart.
func (s *Server) token(user string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(user))
	return hex.EncodeToString(m.Sum(nil))
}

// sameOrigin checks Origin, or Referer when the browser sent no Origin,
// against the Host the request was sent to.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" || src == "null" {
		src = r.Header.Get("Referer")
		if src == "" {
			// Neither header (curl, old browsers): the token decides.
			return r.Header.Get("Origin") == ""
		}
	}
	u, err := url.Parse(src)
	if err != nil {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, r.Host)
}

func (s *Server) serveAction(w http.ResponseWriter, r *http.Request, user string) {
	redirect := func(st string) {
		http.Redirect(w, r, s.cfg.URI+";st="+st, http.StatusSeeOther)
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "400 Bad Request: "+err.Error(), http.StatusBadRequest)
		return
	}
	tok := r.PostForm.Get("token")
	if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(tok), []byte(s.token(user))) != 1 {
		s.log.Warn().Str("user", user).Str("client", r.RemoteAddr).Msg("stats: admin action refused: bad token or cross-site request")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("403 Forbidden: the admin form token or origin is wrong; reload the stats page.\n"))
		return
	}
	who := "stats page user " + user + " from " + r.RemoteAddr
	var apply func(backend, server string) error
	switch action := r.PostForm.Get("action"); action {
	case "ready", "drain", "maint":
		state := map[string]health.AdminState{"ready": health.Ready, "drain": health.Drain, "maint": health.Maint}[action]
		apply = func(b, sv string) error { return s.src.SetServerAdmin(b, sv, state, who) }
	case "ehlth", "dhlth":
		// HAProxy's action names; servers without checks are skipped.
		apply = func(b, sv string) error { return s.src.SetServerChecks(b, sv, action == "ehlth", who) }
	default:
		redirect("ERR")
		return
	}
	backend := r.PostForm.Get("b")
	servers := r.PostForm["s"]
	if len(servers) == 0 {
		redirect("NONE")
		return
	}
	done := 0
	for _, sv := range servers {
		if err := apply(backend, sv); err != nil {
			s.log.Warn().Err(err).Str("user", user).Msg("stats: admin action failed")
			continue
		}
		done++
	}
	if done == 0 {
		redirect("ERR")
		return
	}
	redirect(fmt.Sprintf("DONE-%d", done))
}
