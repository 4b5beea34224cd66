package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/internal/privdrop"
	"github.com/tandemlb/tandem/internal/syslog"
	"github.com/tandemlb/tandem/lb"
	"github.com/tandemlb/tandem/lb/acl"
	"github.com/tandemlb/tandem/lb/balance"
	"github.com/tandemlb/tandem/lb/cookie"
	"github.com/tandemlb/tandem/lb/rules"
	"github.com/tandemlb/tandem/lb/stick"
	"github.com/tandemlb/tandem/stats"
	"github.com/tandemlb/tandem/vrrp"
)

// Config is the whole validated configuration, split into what each package
// consumes.
type Config struct {
	File   string
	Global Global
	Log    Log
	Proxy  lb.Config
	Stats  *stats.Config // nil without [stats]
	VRRP   []vrrp.Config
	Peers  *Peers // nil without [peers]
}

// Global holds [global] settings that cmd/tandem applies to the process.
type Global struct {
	MaxConn     int
	AdminSocket string
	// User, when set, is the account tandem drops to after opening what
	// needs root, keeping CAP_NET_ADMIN, CAP_NET_RAW, CAP_NET_BIND_SERVICE.
	User string
}

// Log holds the [log] section.
type Log struct {
	Target       string // "stderr" or "udp://host:port"
	Tag          string
	Facility     string
	WarnFacility string
	Level        string // minimum event level: debug, info, warn, error
	// Traffic enables the httplog/tcplog line per request (default true), as
	// HAProxy's `option httplog` with `log global`.
	Traffic bool
}

// Summary is the one-line description `tandem check` prints.
func (c *Config) Summary() string {
	servers := 0
	for _, b := range c.Proxy.Backends {
		servers += len(b.Servers)
	}
	return fmt.Sprintf("%d %s, %d %s, %d %s, %d %s",
		len(c.Proxy.Frontends), plural(len(c.Proxy.Frontends), "frontend"),
		len(c.Proxy.Backends), plural(len(c.Proxy.Backends), "backend"),
		servers, plural(servers, "server"),
		len(c.VRRP), plural(len(c.VRRP), "VRRP instance"))
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// Options tune what Load checks beyond the file itself.
type Options struct {
	// Host reports things that depend on this machine (a VRRP interface that
	// does not exist, a bind address that is not local). They are warnings in
	// `tandem check` and errors in `tandem run`.
	Host bool
	// HostErrors turns the host findings into errors.
	HostErrors bool
}

// LoadFile reads and validates a configuration file. name is used in
// diagnostics as given.
func LoadFile(name string, opts Options) (*Config, Diagnostics, error) {
	src, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, fmt.Errorf("read configuration: %w", err)
	}
	cfg, ds := Load(name, src, opts)
	return cfg, ds, nil
}

// Load validates src. It returns every diagnostic at once; cfg is nil when
// any of them is an error.
func Load(name string, src []byte, opts Options) (*Config, Diagnostics) {
	var raw map[string]any
	if _, err := toml.Decode(string(src), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, Diagnostics{{File: name, Pos: Pos{Line: pe.Position.Line, Col: pe.Position.Col}, Msg: pe.Message}}
		}
		return nil, Diagnostics{{File: name, Pos: Pos{Line: 1, Col: 1}, Msg: err.Error()}}
	}
	d := &diags{file: name, ix: indexPositions(string(src))}
	l := &loader{d: d, opts: opts}
	cfg := l.load(newTable(d, "", "", raw))
	ds := d.sorted()
	if len(ds.Errors()) > 0 {
		return nil, ds
	}
	cfg.File = name
	return cfg, ds
}

type loader struct {
	d    *diags
	opts Options
	// vips are the VRRP virtual addresses: a frontend may bind one this node
	// does not hold yet.
	vipSet map[netip.Addr]bool
}

// defaults is the [defaults] section, applied to every proxy.
type defaults struct {
	mode       lb.Mode
	timeouts   lb.Timeouts
	retries    int
	redispatch bool
	forwardfor *lb.ForwardFor
	balance    string
	hashType   string
	maxconn    int
	check      *health.CheckConfig
	cookie     *cookie.Config
}

func (l *loader) load(root *table) *Config {
	cfg := &Config{}
	if g := root.sub("global", "global"); g != nil {
		cfg.Global.MaxConn = g.integer("maxconn", 4096, 1, 1<<20)
		cfg.Global.AdminSocket = g.str("admin_socket", "/run/tandem/admin.sock")
		cfg.Proxy.HardStopAfter = g.duration("hard_stop_after", 30*time.Second, false)
		cfg.Proxy.BufSize = g.integer("tune_bufsize", 16384, 1024, 1<<20)
		cfg.Proxy.MaxHeaders = g.integer("tune_http_maxhdr", 100, 1, 32767)
		cfg.Global.User = g.str("user", "")
		if cfg.Global.User != "" && l.opts.Host {
			if _, err := privdrop.Lookup(cfg.Global.User); err != nil {
				l.hostf("global.user", "global: user: %v", err)
			}
		}
		g.unsupported("group", "nbthread", "daemon", "pidfile", "stats_socket")
		g.done()
	} else {
		cfg.Global.MaxConn = 4096
		cfg.Global.AdminSocket = "/run/tandem/admin.sock"
		cfg.Proxy.HardStopAfter = 30 * time.Second
		cfg.Proxy.BufSize = 16384
		cfg.Proxy.MaxHeaders = 100
	}
	cfg.Proxy.MaxConn = cfg.Global.MaxConn

	cfg.Log = Log{Target: "stderr", Tag: "tandem", Facility: "local0", WarnFacility: "local1", Level: "info", Traffic: true}
	if lg := root.sub("log", "log"); lg != nil {
		cfg.Log.Target = lg.str("target", cfg.Log.Target)
		cfg.Log.Tag = lg.str("tag", cfg.Log.Tag)
		cfg.Log.Facility = lg.str("facility", cfg.Log.Facility)
		cfg.Log.WarnFacility = lg.str("warn_facility", cfg.Log.WarnFacility)
		cfg.Log.Level = lg.str("level", cfg.Log.Level)
		cfg.Log.Traffic = lg.boolean("traffic", true)
		if err := checkLogTarget(cfg.Log.Target); err != nil {
			lg.errorf("target", "%v", err)
		}
		for _, k := range []string{"facility", "warn_facility"} {
			v := cfg.Log.Facility
			if k == "warn_facility" {
				v = cfg.Log.WarnFacility
			}
			if _, err := syslog.ParseFacility(v); err != nil {
				lg.errorf(k, "%v", err)
			}
		}
		switch cfg.Log.Level {
		case "debug", "info", "notice", "warning", "warn", "err", "error":
		default:
			lg.errorf("level", "unknown level %q (use debug, info, warning, error)", cfg.Log.Level)
		}
		if cfg.Log.Tag == "" || strings.ContainsAny(cfg.Log.Tag, " :[]") {
			lg.errorf("tag", "tag %q must be a non-empty word", cfg.Log.Tag)
		}
		lg.done()
	}

	def := l.defaults(root)
	for _, ft := range root.tables("frontend") {
		if fe, ok := l.frontend(ft, def, cfg.Global.MaxConn); ok {
			cfg.Proxy.Frontends = append(cfg.Proxy.Frontends, fe)
		}
	}
	for _, bt := range root.tables("backend") {
		if be, ok := l.backend(bt, def); ok {
			cfg.Proxy.Backends = append(cfg.Proxy.Backends, be)
		}
	}
	if v := root.sub("vrrp", "vrrp"); v != nil {
		for _, it := range v.tables("instance") {
			if inst, ok := l.vrrpInstance(it); ok {
				cfg.VRRP = append(cfg.VRRP, inst)
			}
		}
		v.done()
	}
	l.vipSet = map[netip.Addr]bool{}
	for _, c := range cfg.VRRP {
		for _, v := range c.VIPs {
			l.vipSet[v.Prefix.Addr()] = true
		}
	}
	l.crossCheckProxy(root, &cfg.Proxy)
	l.crossCheckVRRP(root, cfg)

	if st := root.sub("stats", "stats"); st != nil {
		cfg.Stats = l.stats(st)
	}
	cfg.Peers = l.peers(root)
	root.unsupported("listen", "resolvers", "userlist")
	root.done()
	return cfg
}

func (l *loader) defaults(root *table) defaults {
	def := defaults{
		mode: lb.ModeHTTP,
		timeouts: lb.Timeouts{
			Connect: 5 * time.Second,
			Client:  50 * time.Second,
			Server:  50 * time.Second,
		},
		retries: 3,
		balance: "roundrobin",
	}
	t := root.sub("defaults", "defaults")
	if t == nil {
		fillTimeouts(&def.timeouts)
		return def
	}
	def.mode = l.mode(t, def.mode)
	def.timeouts = l.timeouts(t, def.timeouts, true, true)
	def.retries = t.integer("retries", def.retries, 0, 100)
	def.redispatch = t.boolean("redispatch", false)
	def.forwardfor = l.forwardfor(t, nil)
	def.balance = t.str("balance", def.balance)
	def.hashType = t.str("hash_type", "")
	def.maxconn = t.integer("maxconn", 0, 0, 1<<20)
	def.check = l.check(t, "check", nil)
	def.cookie = l.cookie(t, nil, def.mode)
	if t.has("stick_table") {
		t.get("stick_table")
		t.errorf("stick_table", "not allowed in [defaults] (as in HAProxy): declare it in the backend")
	}
	t.unsupported("option", "log", "tls")
	t.done()
	return def
}

func (l *loader) mode(t *table, def lb.Mode) lb.Mode {
	switch s := t.str("mode", ""); s {
	case "":
		return def
	case "http":
		return lb.ModeHTTP
	case "tcp":
		return lb.ModeTCP
	default:
		t.errorf("mode", "unknown mode %q (use \"http\" or \"tcp\")", s)
		return def
	}
}

// timeouts reads the timeout_* keys that apply to a side: a frontend reads
// the client ones, a backend the server ones, defaults both.
func (l *loader) timeouts(t *table, def lb.Timeouts, client, server bool) lb.Timeouts {
	to := def
	if client {
		to.Client = t.duration("timeout_client", def.Client, false)
		to.HTTPRequest = t.duration("timeout_http_request", def.HTTPRequest, false)
		to.HTTPKeepAlive = t.duration("timeout_http_keep_alive", def.HTTPKeepAlive, false)
	}
	if server {
		to.Connect = t.duration("timeout_connect", def.Connect, false)
		to.Server = t.duration("timeout_server", def.Server, false)
		to.Queue = t.duration("timeout_queue", def.Queue, false)
		to.Tunnel = t.duration("timeout_tunnel", def.Tunnel, false)
	}
	return to
}

// fillTimeouts derives the unset timeouts as HAProxy does: http-request
// falls back to client, keep-alive to http-request, queue to connect,
// tunnel to the larger of client and server.
func fillTimeouts(to *lb.Timeouts) {
	if to.HTTPRequest == 0 {
		to.HTTPRequest = to.Client
	}
	if to.HTTPKeepAlive == 0 {
		to.HTTPKeepAlive = to.HTTPRequest
	}
	if to.Queue == 0 {
		to.Queue = to.Connect
	}
	if to.Tunnel == 0 {
		to.Tunnel = max(to.Client, to.Server)
	}
}

func (l *loader) forwardfor(t *table, def *lb.ForwardFor) *lb.ForwardFor {
	v, ok := t.m["forwardfor"]
	if !ok {
		return def
	}
	switch v.(type) {
	case bool:
		if t.boolean("forwardfor", false) {
			return &lb.ForwardFor{Header: "X-Forwarded-For"}
		}
		return nil
	case map[string]any:
		ft := t.sub("forwardfor", t.name)
		ff := &lb.ForwardFor{Header: ft.str("header", "X-Forwarded-For")}
		for i, s := range ft.strings("except") {
			p, err := parsePrefix(s)
			if err != nil {
				ft.errorf(fmt.Sprintf("except[%d]", i), "%v", err)
				continue
			}
			ff.Except = append(ff.Except, p)
		}
		ft.done()
		return ff
	}
	t.get("forwardfor")
	t.errorf("forwardfor", "must be true/false or a table { except = [...], header = \"...\" }")
	return def
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid network %q", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid address %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (l *loader) frontend(t *table, def defaults, globalMaxConn int) (lb.FrontendConfig, bool) {
	fe := lb.FrontendConfig{Name: t.str("name", "")}
	if fe.Name == "" {
		t.errorf("", "frontend needs a name")
		return fe, false
	}
	t.name = fmt.Sprintf("frontend %q", fe.Name)
	fe.Mode = l.mode(t, def.mode)
	binds := t.strings("bind")
	if len(binds) == 0 {
		t.errorf("", "needs at least one bind address")
	}
	for i, b := range binds {
		ap, err := parseBind(b)
		if err != nil {
			t.errorf(fmt.Sprintf("bind[%d]", i), "%v", err)
			continue
		}
		fe.Binds = append(fe.Binds, ap)
	}
	fe.MaxConn = t.integer("maxconn", def.maxconn, 0, globalMaxConn)
	fe.DefaultBackend = t.str("default_backend", "")
	fe.Timeouts = l.timeouts(t, def.timeouts, true, false)
	fillTimeouts(&fe.Timeouts)
	fe.ForwardFor = l.forwardfor(t, def.forwardfor)
	fe.ACLs = l.acls(t)
	set := l.compileACLs(t, fe.ACLs)
	for i, ut := range t.tables("use_backend") {
		ub := lb.UseBackend{Backend: ut.str("backend", ""), If: ut.str("if", ""), Unless: ut.str("unless", "")}
		key := fmt.Sprintf("use_backend[%d]", i)
		if ub.Backend == "" {
			t.errorf(key, "needs a backend")
		}
		l.checkCond(t, key, set, ub.If, ub.Unless)
		ut.done()
		fe.UseBackends = append(fe.UseBackends, ub)
	}
	fe.HTTPRequest = l.rules(t, "http_request", set, fe.Mode)
	fe.AcceptProxy = t.boolean("accept_proxy", false)
	fe.TLS = l.frontendTLS(t)
	t.unsupported("tcp_request", "http_response", "capture", "option", "log")
	t.done()
	return fe, true
}

func (l *loader) acls(t *table) map[string]string {
	at := t.sub("acl", t.name)
	if at == nil {
		return nil
	}
	out := make(map[string]string, len(at.m))
	for name := range at.m {
		out[name] = at.str(name, "")
	}
	at.done()
	return out
}

// compileACLs checks every ACL definition, placing errors on its key.
func (l *loader) compileACLs(t *table, defs map[string]string) *acl.Set {
	good := make(map[string]string, len(defs))
	for name, expr := range defs {
		if _, err := acl.NewSet(map[string]string{name: expr}); err != nil {
			t.errorf("acl."+name, "%v", err)
			continue
		}
		good[name] = expr
	}
	set, err := acl.NewSet(good)
	if err != nil {
		t.errorf("acl", "%v", err)
		return nil
	}
	return set
}

func (l *loader) checkCond(t *table, key string, set *acl.Set, ifc, unless string) {
	if ifc != "" && unless != "" {
		t.errorf(key, "use either \"if\" or \"unless\", not both")
		return
	}
	if set == nil {
		return
	}
	expr, neg, ck := ifc, false, key+".if"
	if unless != "" {
		expr, neg, ck = unless, true, key+".unless"
	}
	if expr == "" {
		return
	}
	if _, err := set.Compile(expr, neg); err != nil {
		t.errorf(ck, "%v", err)
	}
}

func (l *loader) rules(t *table, key string, set *acl.Set, mode lb.Mode) []rules.Rule {
	compile := rules.Compile
	if key == "http_response" {
		compile = rules.CompileResponse
	}
	var out []rules.Rule
	for i, rt := range t.tables(key) {
		if mode == lb.ModeTCP {
			t.errorf(fmt.Sprintf("%s[%d]", key, i), "HTTP rules need mode \"http\"")
		}
		r := rules.Rule{
			Action:      rt.str("action", ""),
			Name:        rt.str("name", ""),
			Value:       rt.str("value", ""),
			Regex:       rt.str("regex", ""),
			Replace:     rt.str("replace", ""),
			Location:    rt.str("location", ""),
			Prefix:      rt.str("prefix", ""),
			Scheme:      rt.str("scheme", ""),
			Code:        rt.integer("code", 0, 0, 999),
			DropQuery:   rt.boolean("drop_query", false),
			Status:      rt.integer("status", 0, 0, 999),
			ContentType: rt.str("content_type", ""),
			Body:        rt.str("body", ""),
			If:          rt.str("if", ""),
			Unless:      rt.str("unless", ""),
		}
		rt.done()
		out = append(out, r)
	}
	if len(out) == 0 || set == nil {
		return out
	}
	if _, err := compile(out, set); err != nil {
		var list rules.Errors
		if errors.As(err, &list) {
			for _, re := range list {
				k := fmt.Sprintf("%s[%d]", key, re.Index)
				if re.Key != "" {
					k += "." + re.Key
				}
				t.errorf(k, "%s", re.Msg)
			}
		} else {
			t.errorf(key, "%v", err)
		}
	}
	return out
}

func (l *loader) backend(t *table, def defaults) (lb.BackendConfig, bool) {
	be := lb.BackendConfig{Name: t.str("name", "")}
	if be.Name == "" {
		t.errorf("", "backend needs a name")
		return be, false
	}
	t.name = fmt.Sprintf("backend %q", be.Name)
	be.Mode = l.mode(t, def.mode)
	be.Balance = t.str("balance", def.balance)
	if _, _, err := balance.ParseAlgorithm(be.Balance); err != nil {
		t.errorf("balance", "%v", err)
	} else if be.Mode == lb.ModeTCP && needsHTTP(be.Balance) {
		t.errorf("balance", "%q needs mode \"http\"", be.Balance)
	}
	be.HashType = t.str("hash_type", def.hashType)
	if _, err := balance.ParseHashType(be.HashType); err != nil {
		t.errorf("hash_type", "%v", err)
	}
	be.URIWhole = t.boolean("uri_whole", false)
	be.URILen = t.integer("uri_len", 0, 0, 1<<16)
	be.URIDepth = t.integer("uri_depth", 0, 0, 1<<10)
	be.Timeouts = l.timeouts(t, def.timeouts, false, true)
	fillTimeouts(&be.Timeouts)
	be.Retries = t.integer("retries", def.retries, 0, 100)
	be.Redispatch = t.boolean("redispatch", def.redispatch)
	be.ForwardFor = l.forwardfor(t, def.forwardfor)
	be.AllBackups = t.boolean("allbackups", false)
	be.Check = l.check(t, "check", def.check)
	be.ACLs = l.acls(t)
	set := l.compileACLs(t, be.ACLs)
	be.HTTPRequest = l.rules(t, "http_request", set, be.Mode)
	be.HTTPResponse = l.rules(t, "http_response", set, be.Mode)
	be.Cookie = l.cookie(t, def.cookie, be.Mode)
	be.StickTable = l.stickTable(t)
	be.Stick = l.stickRules(t, be, set)
	t.unsupported("option", "fullconn", "log")

	names := map[string]bool{}
	for i, st := range t.tables("server") {
		srv, ok := l.server(st, be, i)
		if !ok {
			continue
		}
		if names[srv.Name] {
			st.errorf("name", "duplicate server name %q", srv.Name)
			continue
		}
		names[srv.Name] = true
		be.Servers = append(be.Servers, srv)
	}
	t.done()
	return be, true
}

func needsHTTP(balance string) bool {
	return balance == "uri" || strings.HasPrefix(balance, "url_param") || strings.HasPrefix(balance, "hdr")
}

func (l *loader) server(t *table, be lb.BackendConfig, i int) (lb.ServerConfig, bool) {
	srv := lb.ServerConfig{Name: t.str("name", "")}
	if srv.Name == "" {
		t.errorf("", "server[%d] needs a name", i)
		return srv, false
	}
	t.name = fmt.Sprintf("server %s/%s", be.Name, srv.Name)
	addr := t.str("address", "")
	ap, err := parseServerAddr(addr)
	if err != nil {
		t.errorf("address", "%v", err)
	}
	srv.Addr = ap
	srv.Weight = t.integer("weight", 1, 0, 256)
	srv.MaxConn = t.integer("maxconn", 0, 0, 1<<20)
	srv.Backup = t.boolean("backup", false)
	srv.Disabled = t.boolean("disabled", false)
	srv.Slowstart = t.duration("slowstart", 0, true)

	// check = true uses the backend's check; a table overrides it field by field.
	switch v := t.m["check"].(type) {
	case nil:
	case bool:
		t.get("check")
		if v {
			srv.Check = true
			c := health.CheckConfig{Type: "tcp"}
			if be.Check != nil {
				c = *be.Check
			}
			srv.CheckConfig = &c
		}
	case map[string]any:
		srv.Check = true
		srv.CheckConfig = l.check(t, "check", be.Check)
	default:
		t.get("check")
		t.errorf("check", "must be true/false or a table of check settings")
	}
	srv.Cookie = t.str("cookie", srv.Name)
	if be.Cookie != nil {
		if ck, err := cookie.New(*be.Cookie); err == nil {
			if err := ck.CheckServerValue(srv.Cookie); err != nil {
				key := "cookie"
				if !t.has(key) {
					key = "name"
				}
				t.errorf(key, "%v", err)
			}
		}
	}
	v1, v2 := t.boolean("send_proxy", false), t.boolean("send_proxy_v2", false)
	switch {
	case v1 && v2:
		t.errorf("send_proxy_v2", "use either send_proxy or send_proxy_v2, not both")
	case v1:
		srv.SendProxy = 1
	case v2:
		srv.SendProxy = 2
	}
	srv.TLS = l.serverTLS(t)
	l.observe(t, &srv, be.Mode)
	t.unsupported("track")
	t.done()
	return srv, err == nil
}

// observe reads a server's observe, error_limit and on_error (HAProxy's
// server options) into its check configuration: live traffic counts as
// checks do, so HAProxy accepts them only on a checked server.
func (l *loader) observe(t *table, srv *lb.ServerConfig, beMode lb.Mode) {
	mode := t.str("observe", "")
	limit := t.integer("error_limit", 0, 1, 1<<20)
	onErr := t.str("on_error", "")
	switch mode {
	case "", "layer4":
	case "none":
		mode = ""
	case "layer7":
		if beMode == lb.ModeTCP {
			t.errorf("observe", "\"layer7\" needs mode \"http\" (use \"layer4\" in mode \"tcp\")")
			mode = ""
		}
	default:
		t.errorf("observe", "unknown mode %q (use \"layer4\" or \"layer7\")", mode)
		mode = ""
	}
	switch onErr {
	case "", "fastinter", "fail-check", "sudden-death", "mark-down":
	default:
		t.errorf("on_error", "unknown action %q (use \"fastinter\", \"fail-check\", \"sudden-death\" or \"mark-down\")", onErr)
		onErr = ""
	}
	if mode != "" && !srv.Check {
		t.errorf("observe", "needs check = true: only a checked server can be observed")
		return
	}
	if mode == "" {
		for _, k := range []string{"error_limit", "on_error"} {
			if t.has(k) && (!t.has("observe") || t.m["observe"] == "none") {
				msg := k + ": has no effect without observe"
				if t.name != "" {
					msg = t.name + ": " + msg
				}
				t.d.warnf(t.keyPath(k), "%s", msg)
			}
		}
		return
	}
	if srv.CheckConfig == nil {
		return
	}
	// A copy: the server's check may still be the backend's.
	c := *srv.CheckConfig
	c.Observe, c.ErrorLimit, c.OnError = mode, limit, onErr
	srv.CheckConfig = &c
}

// check reads a check table, starting from def (backend or defaults values).
func (l *loader) check(t *table, key string, def *health.CheckConfig) *health.CheckConfig {
	if !t.has(key) {
		return def
	}
	ct := t.sub(key, t.name)
	if ct == nil {
		return def
	}
	c := health.CheckConfig{Type: "tcp"}
	if def != nil {
		c = *def
	}
	c.Type = ct.str("type", c.Type)
	if c.Type != "tcp" && c.Type != "http" {
		ct.errorf("type", "unknown check type %q (use \"tcp\" or \"http\")", c.Type)
	}
	c.Method = ct.str("method", c.Method)
	c.Path = ct.str("path", c.Path)
	c.Version = ct.str("version", c.Version)
	if c.Version != "" && c.Version != "HTTP/1.0" && c.Version != "HTTP/1.1" {
		ct.errorf("version", "must be \"HTTP/1.0\" or \"HTTP/1.1\"")
	}
	c.Host = ct.str("host", c.Host)
	if ht := ct.sub("headers", t.name); ht != nil {
		c.Headers = nil
		for name := range ht.m {
			c.Headers = append(c.Headers, [2]string{name, ht.str(name, "")})
		}
		ht.done()
	}
	if ct.has("expect_status") {
		es := strings.Join(ct.strings("expect_status"), ",")
		r, err := health.ParseExpectStatus(es)
		if err != nil {
			ct.errorf("expect_status", "%v", err)
		}
		c.ExpectStatus = r
	}
	c.ExpectString = ct.str("expect_string", c.ExpectString)
	if re := ct.str("expect_regex", ""); re != "" {
		compiled, err := compileRegex(re)
		if err != nil {
			ct.errorf("expect_regex", "%v", err)
		}
		c.ExpectRegex = compiled
	}
	c.Inter = ct.duration("inter", c.Inter, false)
	c.FastInter = ct.duration("fastinter", c.FastInter, false)
	c.DownInter = ct.duration("downinter", c.DownInter, false)
	c.Timeout = ct.duration("timeout", c.Timeout, false)
	c.Rise = ct.integer("rise", c.Rise, 1, 1000)
	c.Fall = ct.integer("fall", c.Fall, 1, 1000)
	c.Port = ct.integer("port", c.Port, 0, 65535)
	if a := ct.str("addr", ""); a != "" {
		addr, err := netip.ParseAddr(a)
		if err != nil {
			ct.errorf("addr", "invalid address %q", a)
		}
		c.Addr = addr
	}
	if c.Type == "tcp" && (c.Path != "" || c.Method != "" || len(c.ExpectStatus) > 0 || c.ExpectString != "" || c.ExpectRegex != nil) {
		ct.errorf("type", "HTTP check settings need type = \"http\"")
	}
	ct.unsupported("ssl", "sni", "send_proxy")
	ct.done()
	return &c
}

func (l *loader) crossCheckProxy(root *table, p *lb.Config) {
	backends := map[string]lb.Mode{}
	for i, be := range p.Backends {
		if _, dup := backends[be.Name]; dup {
			l.d.errorf(fmt.Sprintf("backend.%d.name", i), "duplicate backend name %q", be.Name)
			continue
		}
		backends[be.Name] = be.Mode
	}
	fronts := map[string]bool{}
	binds := map[netip.AddrPort]string{}
	for i, fe := range p.Frontends {
		path := fmt.Sprintf("frontend.%d", i)
		if fronts[fe.Name] {
			l.d.errorf(path+".name", "duplicate frontend name %q", fe.Name)
		}
		fronts[fe.Name] = true
		for _, b := range fe.Binds {
			if other, dup := binds[b]; dup {
				l.d.errorf(path+".bind", "frontend %q: bind %s is already used by frontend %q", fe.Name, b, other)
			}
			binds[b] = fe.Name
		}
		ref := func(key, name string) {
			p := path + "." + indexReplacer.Replace(key)
			mode, ok := backends[name]
			switch {
			case !ok:
				l.d.errorf(p, "frontend %q: %s: no backend named %q", fe.Name, key, name)
			case mode != fe.Mode:
				l.d.errorf(p, "frontend %q: %s: backend %q is in a different mode", fe.Name, key, name)
			}
		}
		if fe.DefaultBackend != "" {
			ref("default_backend", fe.DefaultBackend)
		}
		for j, ub := range fe.UseBackends {
			if ub.Backend != "" {
				ref(fmt.Sprintf("use_backend[%d].backend", j), ub.Backend)
			}
		}
		if fe.DefaultBackend == "" && len(fe.UseBackends) == 0 {
			l.d.errorf(path, "frontend %q: needs default_backend or use_backend", fe.Name)
		}
		if l.opts.Host {
			for _, b := range fe.Binds {
				if !b.Addr().IsUnspecified() && !isLocalAddr(b.Addr()) && !l.vipSet[b.Addr()] && !nonlocalBind() {
					l.hostf(path+".bind", "frontend %q: bind address %s is not configured on this host", fe.Name, b.Addr())
				}
			}
		}
	}
}

func (l *loader) hostf(path, format string, args ...any) {
	if l.opts.HostErrors {
		l.d.errorf(path, format, args...)
	} else {
		l.d.warnf(path, format, args...)
	}
}

func (l *loader) vrrpInstance(t *table) (vrrp.Config, bool) {
	c := vrrp.DefaultConfig()
	c.Name = t.str("name", "")
	if c.Name == "" {
		t.errorf("", "VRRP instance needs a name")
		return c, false
	}
	t.name = fmt.Sprintf("vrrp instance %q", c.Name)
	c.Interface = t.str("interface", "")
	switch s := strings.ToLower(t.str("state", "backup")); s {
	case "backup":
		c.InitialState = vrrp.StateBackup
	case "master":
		c.InitialState = vrrp.StateMaster
	default:
		t.errorf("state", "must be \"master\" or \"backup\", not %q", s)
	}
	if !t.has("virtual_router_id") {
		t.errorf("", "needs virtual_router_id")
	}
	c.VRID = uint8(t.integer("virtual_router_id", 1, 1, 255))
	c.Priority = uint8(t.integer("priority", 100, 1, 255))
	c.Version = t.integer("version", 2, 2, 3)
	c.AdvertInt = t.duration("advert_int", time.Second, false)
	c.AuthPass = t.str("auth_pass", "")
	c.Preempt = !t.boolean("nopreempt", false)
	c.PreemptDelay = t.duration("preempt_delay", 0, true)
	c.GARPMasterDelay = t.duration("garp_master_delay", 5*time.Second, true)
	c.GARPMasterRepeat = t.integer("garp_master_repeat", 5, 1, 100)
	c.GARPMasterRefresh = t.duration("garp_master_refresh", 0, true)
	c.SyncGroup = t.str("sync_group", "")
	c.NotifyTimeout = t.duration("notify_timeout", 10*time.Second, false)
	c.NotifyMaster = t.str("notify_master", "")
	c.NotifyBackup = t.str("notify_backup", "")
	c.NotifyFault = t.str("notify_fault", "")
	c.NotifyStop = t.str("notify_stop", "")
	c.Notify = t.str("notify", "")
	if s := t.str("unicast_src_ip", ""); s != "" {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			t.errorf("unicast_src_ip", "invalid IPv4 address %q", s)
		}
		c.UnicastSrc = a
	}
	for i, s := range t.strings("unicast_peer") {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			t.errorf(fmt.Sprintf("unicast_peer[%d]", i), "invalid IPv4 address %q", s)
			continue
		}
		c.UnicastPeers = append(c.UnicastPeers, a)
	}
	vipErrs := len(l.d.list)
	l.vips(t, &c)
	vipErrs = len(l.d.list) - vipErrs
	for i, tt := range t.tables("track") {
		key := fmt.Sprintf("track[%d]", i)
		var ts vrrp.TrackSpec
		n := 0
		for _, kind := range []string{"frontend", "backend", "interface"} {
			if tt.has(kind) {
				ts.Kind, ts.Name = kind, tt.str(kind, "")
				n++
			}
		}
		ts.Weight = tt.integer("weight", 0, -254, 254)
		tt.done()
		if n != 1 {
			t.errorf(key, "needs exactly one of frontend, backend or interface")
			continue
		}
		c.Track = append(c.Track, ts)
	}
	t.unsupported("use_vmac", "smtp_alert", "track_script", "virtual_routes")
	t.done()
	// Validate knows the protocol's ranges; its errors start with the key.
	if err := c.Validate(); err != nil {
		for _, e := range unjoin(err) {
			key, msg, _ := strings.Cut(e.Error(), ": ")
			if key == "virtual_ipaddress" && vipErrs > 0 {
				continue // the bad addresses were reported one by one
			}
			t.errorf(key, "%s", msg)
		}
	}
	return c, true
}

func (l *loader) vips(t *table, c *vrrp.Config) {
	v, ok := t.m["virtual_ipaddress"]
	if !ok {
		return // Validate reports it
	}
	arr, ok := v.([]any)
	if !ok {
		t.get("virtual_ipaddress")
		t.errorf("virtual_ipaddress", "must be an array of \"ADDRESS/PREFIX\" strings or { address, dev, label } tables")
		return
	}
	t.get("virtual_ipaddress")
	for i, e := range arr {
		key := fmt.Sprintf("virtual_ipaddress[%d]", i)
		var vip vrrp.VIP
		var addr string
		switch e := e.(type) {
		case string:
			addr = e
		case map[string]any:
			vt := newTable(t.d, join(t.keyPath("virtual_ipaddress"), fmt.Sprint(i)), t.name, e)
			addr = vt.str("address", "")
			vip.Dev = vt.str("dev", "")
			vip.Label = vt.str("label", "")
			vt.done()
		default:
			t.errorf(key, "must be a string or a table")
			continue
		}
		if !strings.Contains(addr, "/") {
			addr += "/32"
		}
		p, err := netip.ParsePrefix(addr)
		if err != nil || !p.Addr().Is4() {
			t.errorf(key, "invalid IPv4 address %q (want e.g. \"192.0.2.100/24\")", addr)
			continue
		}
		vip.Prefix = p
		c.VIPs = append(c.VIPs, vip)
	}
}

func (l *loader) crossCheckVRRP(root *table, cfg *Config) {
	fronts := map[string]bool{}
	for _, fe := range cfg.Proxy.Frontends {
		fronts[fe.Name] = true
	}
	backs := map[string]bool{}
	for _, be := range cfg.Proxy.Backends {
		backs[be.Name] = true
	}
	names := map[string]bool{}
	vrids := map[string]string{}
	for i, c := range cfg.VRRP {
		path := fmt.Sprintf("vrrp.instance.%d", i)
		if names[c.Name] {
			l.d.errorf(path+".name", "duplicate VRRP instance name %q", c.Name)
		}
		names[c.Name] = true
		key := fmt.Sprintf("%s/%d", c.Interface, c.VRID)
		if other, dup := vrids[key]; dup {
			l.d.errorf(path+".virtual_router_id", "vrrp instance %q: virtual_router_id %d on %s is already used by %q", c.Name, c.VRID, c.Interface, other)
		}
		vrids[key] = c.Name
		for j, tr := range c.Track {
			tp := fmt.Sprintf("%s.track.%d.%s", path, j, tr.Kind)
			switch {
			case tr.Kind == "frontend" && !fronts[tr.Name]:
				l.d.errorf(tp, "vrrp instance %q: track[%d]: no frontend named %q", c.Name, j, tr.Name)
			case tr.Kind == "backend" && !backs[tr.Name]:
				l.d.errorf(tp, "vrrp instance %q: track[%d]: no backend named %q", c.Name, j, tr.Name)
			case tr.Kind == "interface" && l.opts.Host && !interfaceExists(tr.Name):
				l.hostf(tp, "vrrp instance %q: track[%d]: interface %q does not exist on this host", c.Name, j, tr.Name)
			}
		}
		if l.opts.Host && c.Interface != "" && !interfaceExists(c.Interface) {
			l.hostf(path+".interface", "vrrp instance %q: interface %q does not exist on this host", c.Name, c.Interface)
		}
	}
}

// unjoin returns the errors inside an errors.Join result.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// cookie reads a `cookie` table: the backend's own, else def (from
// [defaults], ignored by TCP backends as HAProxy does).
func (l *loader) cookie(t *table, def *cookie.Config, mode lb.Mode) *cookie.Config {
	if !t.has("cookie") {
		if mode == lb.ModeTCP {
			return nil
		}
		return def
	}
	ct := t.sub("cookie", t.name+": cookie")
	if ct == nil {
		return def
	}
	c := cookie.Config{
		Name:     ct.str("name", ""),
		Indirect: ct.boolean("indirect", false),
		NoCache:  ct.boolean("nocache", false),
		PostOnly: ct.boolean("postonly", false),
		Preserve: ct.boolean("preserve", false),
		HTTPOnly: ct.boolean("httponly", false),
		Secure:   ct.boolean("secure", false),
		Domains:  ct.strings("domain"),
		Attrs:    ct.strings("attr"),
		MaxIdle:  ct.duration("maxidle", 0, true),
		MaxLife:  ct.duration("maxlife", 0, true),
	}
	if c.Name == "" {
		ct.errorf("", "needs a name")
	}
	switch m := ct.str("mode", ""); m {
	case "":
		ct.errorf("", "needs a mode (\"insert\", \"rewrite\" or \"prefix\")")
	default:
		cm, err := cookie.ParseMode(m)
		if err != nil {
			ct.errorf("mode", "%v", err)
		}
		c.Mode = cm
	}
	if ct.boolean("dynamic", false) {
		ct.errorf("dynamic", "dynamic cookies are not supported yet")
	}
	ct.done()
	if mode == lb.ModeTCP {
		t.errorf("cookie", "cookie persistence needs mode \"http\"")
		return nil
	}
	if c.Name == "" || c.Mode == 0 {
		return nil
	}
	if _, err := cookie.New(c); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			t.errorf("cookie", "%s", line)
		}
		return nil
	}
	return &c
}

// stickTable reads a backend's `stick_table`.
func (l *loader) stickTable(t *table) *stick.Config {
	st := t.sub("stick_table", t.name+": stick_table")
	if st == nil {
		return nil
	}
	var c stick.Config
	typ, err := stick.ParseType(st.str("type", ""))
	if err != nil {
		if st.has("type") {
			st.errorf("type", "%v", err)
		} else {
			st.errorf("", "needs a type (\"ip\", \"ipv6\", \"integer\" or \"string\")")
		}
	}
	c.Type = typ
	if !st.has("size") {
		st.errorf("", "needs a size (the maximum number of entries)")
	}
	c.Size = st.integer("size", 0, 1, 1<<26)
	c.Expire = st.duration("expire", 0, true)
	if st.has("len") && typ != stick.String && typ != 0 {
		st.errorf("len", "only string tables take a len")
	}
	c.Len = st.integer("len", 0, 1, 1<<16)
	st.done()
	if typ == 0 || c.Size == 0 {
		return nil
	}
	if typ != stick.String {
		c.Len = 0
	}
	return &c
}

// stickRules reads stick_match, stick_on and stick_store_request, in that
// order (matches run before stores). Each is a fetch string, a table
// { fetch, if, unless }, or an array of those.
func (l *loader) stickRules(t *table, be lb.BackendConfig, set *acl.Set) []lb.StickRule {
	var out []lb.StickRule
	for _, kind := range []lb.StickKind{lb.StickMatch, lb.StickOn, lb.StickStoreRequest} {
		key := kind.String()
		v, ok := t.get(key)
		if !ok {
			continue
		}
		elems, isArray := v.([]any)
		if !isArray {
			elems = []any{v}
		}
		if m, ok := v.([]map[string]any); ok {
			elems, isArray = nil, true
			for _, e := range m {
				elems = append(elems, e)
			}
		}
		for i, e := range elems {
			k := key
			if isArray {
				k = fmt.Sprintf("%s[%d]", key, i)
			}
			r := lb.StickRule{Kind: kind}
			switch e := e.(type) {
			case string:
				r.Fetch = e
			case map[string]any:
				rt := newTable(t.d, t.keyPath(k), t.name+": "+k, e)
				r.Fetch = rt.str("fetch", "")
				r.If = rt.str("if", "")
				r.Unless = rt.str("unless", "")
				rt.done()
				if r.Fetch == "" {
					t.errorf(k, "needs a fetch (src, hdr(NAME), url_param(NAME), req.cook(NAME))")
					continue
				}
				l.checkCond(t, k, set, r.If, r.Unless)
			default:
				t.errorf(k, "must be a fetch string or a table { fetch, if, unless }, not %s", typeName(e))
				continue
			}
			if err := checkStickFetch(r.Fetch, be.Mode); err != nil {
				t.errorf(k, "%v", err)
				continue
			}
			out = append(out, r)
		}
	}
	if len(out) > 0 && !t.has("stick_table") {
		t.errorf(out[0].Kind.String(), "stick rules need a stick_table in the same backend")
	}
	return out
}

// checkStickFetch accepts the fetches the engine knows for stick rules.
func checkStickFetch(f string, mode lb.Mode) error {
	if f == "src" {
		return nil
	}
	for _, p := range []string{"hdr(", "url_param(", "req.cook("} {
		if strings.HasPrefix(f, p) && strings.HasSuffix(f, ")") && len(f) > len(p)+1 && !strings.ContainsAny(f[len(p):len(f)-1], " \t(),") {
			if mode == lb.ModeTCP {
				return fmt.Errorf("fetch %q needs mode \"http\" (TCP mode sticks on src)", f)
			}
			return nil
		}
	}
	return fmt.Errorf("unknown fetch %q (use src, hdr(NAME), url_param(NAME) or req.cook(NAME))", f)
}
