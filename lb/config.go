package lb

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/lb/cookie"
	"github.com/tandemlb/tandem/lb/rules"
	"github.com/tandemlb/tandem/lb/stick"
	"github.com/tandemlb/tandem/lb/tlsconf"
)

// Mode is a proxy's mode: HTTP (layer 7) or TCP (layer 4).
type Mode int

// The modes, as HAProxy's `mode http` and `mode tcp`.
const (
	ModeHTTP Mode = iota
	ModeTCP
)

func (m Mode) String() string {
	if m == ModeTCP {
		return "tcp"
	}
	return "http"
}

// Defaults applied by New where the loader left zero values.
const (
	DefaultBufSize    = 16384
	DefaultMaxHeaders = 100
	// DefaultTimeout stands for an unset timeout_client, timeout_server or
	// timeout_connect. HAProxy warns and waits forever; tandem bounds the wait
	// so a forgotten timeout cannot pin connections for ever.
	DefaultTimeout = 50 * time.Second
	// DefaultXFF is the header option forwardfor appends to.
	DefaultXFF = "X-Forwarded-For"
)

// Config is the proxy part of tandem's configuration, as the loader fills it.
type Config struct {
	MaxConn       int // [global] maxconn: accepting stops at maxconn, resumes below; 0 = no limit
	BufSize       int // max request/response head, default 16384
	MaxHeaders    int // default 100
	HardStopAfter time.Duration
	Frontends     []FrontendConfig
	Backends      []BackendConfig
}

// Timeouts are a proxy's timeouts; zero means unset (see each use).
type Timeouts struct{ Connect, Client, Server, HTTPRequest, HTTPKeepAlive, Queue, Tunnel time.Duration }

// ForwardFor is `option forwardfor`.
type ForwardFor struct {
	Header string // default X-Forwarded-For
	Except []netip.Prefix
}

// FrontendConfig is one [[frontend]].
type FrontendConfig struct {
	Name           string
	Mode           Mode
	Binds          []netip.AddrPort // "*:9001" arrives as 0.0.0.0:9001
	MaxConn        int              // 0 = global
	ACLs           map[string]string
	UseBackends    []UseBackend
	DefaultBackend string
	HTTPRequest    []rules.Rule
	Timeouts       Timeouts
	ForwardFor     *ForwardFor     // nil = off
	TLS            *tlsconf.Config // [frontend.tls]; nil = plain
	AcceptProxy    bool            // every connection starts with a PROXY header (v1 or v2)
}

// UseBackend is one use_backend entry; at most one of If and Unless.
type UseBackend struct{ Backend, If, Unless string }

// BackendConfig is one [[backend]].
type BackendConfig struct {
	Name         string
	Mode         Mode
	Balance      string // "roundrobin" (default), "static-rr", "leastconn", "first", "source", "uri", "url_param(NAME)", "hdr(NAME)", "random", "random(N)"
	HashType     string // "", "map-based", "consistent"
	URIWhole     bool
	URILen       int
	URIDepth     int
	ACLs         map[string]string
	HTTPRequest  []rules.Rule
	HTTPResponse []rules.Rule
	Timeouts     Timeouts
	Retries      int
	Redispatch   bool
	ForwardFor   *ForwardFor
	Check        *health.CheckConfig // backend defaults, nil = none
	AllBackups   bool
	Servers      []ServerConfig
	Cookie       *cookie.Config // cookie persistence (HTTP mode); nil = none
	StickTable   *stick.Config  // the backend's stick table; nil = none
	Stick        []StickRule    // stick_on / stick_match / stick_store_request, in order
}

// StickKind is what a stick rule does with the backend's table.
type StickKind uint8

// Stick rule kinds, as HAProxy's `stick on`, `stick match` and `stick
// store-request`.
const (
	StickOn           StickKind = iota + 1 // match, and store the server used
	StickMatch                             // send to the server the table names
	StickStoreRequest                      // store the server used
)

func (k StickKind) String() string {
	switch k {
	case StickOn:
		return "stick_on"
	case StickMatch:
		return "stick_match"
	case StickStoreRequest:
		return "stick_store_request"
	}
	return "StickKind(" + strconv.Itoa(int(k)) + ")"
}

// StickRule is one stick rule. Fetch is "src", "hdr(NAME)",
// "url_param(NAME)" or "req.cook(NAME)" (the last three in HTTP mode
// only); at most one of If and Unless.
type StickRule struct {
	Kind       StickKind
	Fetch      string
	If, Unless string
}

// ServerConfig is one server of a backend.
type ServerConfig struct {
	Name        string
	Addr        netip.AddrPort
	Weight      int // default 1, 0..256
	MaxConn     int // 0 = unlimited
	Check       bool
	CheckConfig *health.CheckConfig // effective check config, nil if !Check
	Backup      bool
	Disabled    bool
	Slowstart   time.Duration
	Cookie      string     // persistence value, default server name
	TLS         *ServerTLS // ssl = true; nil = plain
	SendProxy   int        // PROXY header on each connection: 0 none, 1 (send_proxy), 2 (send_proxy_v2)
}

// validate reports every problem New cannot work around. The loader has
// already placed errors in the file; these are the engine's own invariants.
func (c *Config) validate() error {
	var errs []error
	be := make(map[string]bool, len(c.Backends))
	for _, b := range c.Backends {
		if b.Name == "" {
			errs = append(errs, errors.New("backend without a name"))
		}
		if be[b.Name] {
			errs = append(errs, fmt.Errorf("backend %q defined twice", b.Name))
		}
		be[b.Name] = true
		errs = append(errs, validatePersist(&b)...)
		srv := make(map[string]bool, len(b.Servers))
		for _, s := range b.Servers {
			if srv[s.Name] {
				errs = append(errs, fmt.Errorf("backend %q: server %q defined twice", b.Name, s.Name))
			}
			srv[s.Name] = true
			if !s.Addr.IsValid() {
				errs = append(errs, fmt.Errorf("backend %q: server %q has no address", b.Name, s.Name))
			}
			if s.Weight < 0 || s.Weight > 256 {
				errs = append(errs, fmt.Errorf("backend %q: server %q: weight %d outside 0..256", b.Name, s.Name, s.Weight))
			}
		}
	}
	fe := make(map[string]bool, len(c.Frontends))
	for _, f := range c.Frontends {
		if fe[f.Name] {
			errs = append(errs, fmt.Errorf("frontend %q defined twice", f.Name))
		}
		fe[f.Name] = true
		if len(f.Binds) == 0 {
			errs = append(errs, fmt.Errorf("frontend %q has no bind address", f.Name))
		}
		if f.DefaultBackend != "" && !be[f.DefaultBackend] {
			errs = append(errs, fmt.Errorf("frontend %q: default_backend %q does not exist", f.Name, f.DefaultBackend))
		}
		for _, u := range f.UseBackends {
			if !be[u.Backend] {
				errs = append(errs, fmt.Errorf("frontend %q: use_backend %q does not exist", f.Name, u.Backend))
			}
			if u.If != "" && u.Unless != "" {
				errs = append(errs, fmt.Errorf("frontend %q: use_backend %q has both if and unless", f.Name, u.Backend))
			}
		}
	}
	return errors.Join(errs...)
}

// orDefault returns d when v is unset.
func orDefault(v, d time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return d
}
