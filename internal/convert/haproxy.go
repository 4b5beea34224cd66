package convert

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// setting is one inheritable proxy setting, already in TOML.
type setting struct {
	value string
	src   srcRef
	notes []string
}

// checkField is one key of a health check table.
type checkField struct {
	value string
	src   srcRef
	what  string
}

// checkSpec is a health check table being assembled from option httpchk,
// http-check, timeout check and default-server lines.
type checkSpec map[string]checkField

var checkOrder = []string{"type", "method", "path", "version", "host", "headers", "expect_status", "expect_string", "expect_regex", "inter", "fastinter", "downinter", "timeout", "rise", "fall", "port", "addr", "ssl"}

func (c checkSpec) clone() checkSpec {
	out := make(checkSpec, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

func (c checkSpec) kvs() []*kv {
	var out []*kv
	for _, k := range checkOrder {
		if f, ok := c[k]; ok {
			out = append(out, &kv{key: k, value: f.value, src: f.src, what: f.what})
		}
	}
	return out
}

func (c checkSpec) String() string { return renderKVs(c.kvs()) }

func (c checkSpec) srcs() []srcRef {
	var out []srcRef
	for _, k := range checkOrder {
		if f, ok := c[k]; ok && !slices.Contains(out, f.src) {
			out = append(out, f.src)
		}
	}
	return out
}

// hsettings is what a proxy inherits from its defaults section.
type hsettings struct {
	vals      map[string]setting
	check     checkSpec
	defServer []hline
	logs      []hline // log lines other than "log global"
	noLog     *hline
}

func newSettings() *hsettings {
	return &hsettings{vals: map[string]setting{}, check: checkSpec{}}
}

func (s *hsettings) clone() *hsettings {
	out := &hsettings{vals: make(map[string]setting, len(s.vals)), check: s.check.clone(), noLog: s.noLog}
	for k, v := range s.vals {
		out.vals[k] = v
	}
	out.defServer = slices.Clone(s.defServer)
	out.logs = slices.Clone(s.logs)
	return out
}

// Keys each side of a proxy reads, and those tandem's [defaults] takes.
var (
	frontendKeys = []string{"mode", "maxconn", "timeout_client", "timeout_http_request", "timeout_http_keep_alive", "forwardfor"}
	backendKeys  = []string{"mode", "balance", "hash_type", "uri_whole", "uri_len", "uri_depth", "timeout_connect", "timeout_server", "timeout_queue", "timeout_tunnel", "retries", "redispatch", "forwardfor", "allbackups", "fullconn", "cookie"}
	defaultsKeys = map[string]bool{
		"mode": true, "timeout_connect": true, "timeout_client": true, "timeout_server": true,
		"timeout_queue": true, "timeout_tunnel": true, "timeout_http_request": true,
		"timeout_http_keep_alive": true, "retries": true, "redispatch": true, "forwardfor": true,
		"balance": true, "hash_type": true, "maxconn": true,
	}
	// HAProxy's built-in values, for a proxy whose defaults section differs
	// from the one written as [defaults].
	builtin = map[string]string{
		"mode": `"tcp"`, "retries": "3", "redispatch": "false", "forwardfor": "false",
		"balance": `"roundrobin"`, "hash_type": `"map-based"`,
	}
	// Output order of keys in a section; others keep input order after them.
	keyRank = map[string]int{
		"name": 0, "mode": 1, "bind": 2, "tls": 3, "accept_proxy": 4, "maxconn": 5, "balance": 6, "hash_type": 7,
		"uri_whole": 8, "uri_len": 9, "uri_depth": 10, "timeout_connect": 11, "timeout_client": 12,
		"timeout_server": 13, "timeout_http_request": 14, "timeout_http_keep_alive": 15, "timeout_queue": 16,
		"timeout_tunnel": 17, "retries": 18, "redispatch": 19, "forwardfor": 20, "allbackups": 21,
		"fullconn": 22, "default_backend": 23, "cookie": 24, "stick_table": 25, "stick_on": 26,
		"stick_match": 27, "stick_store_request": 28, "check": 29, "acl": 30, "use_backend": 31,
		"http_request": 32, "http_response": 33, "server": 34,
	}
)

func rankOf(e *entry) int {
	k := e.key
	if strings.HasPrefix(k, "acl.") {
		k = "acl"
	}
	if r, ok := keyRank[k]; ok && k != "" {
		return r
	}
	return 100
}

func sortEntries(s *section) {
	slices.SortStableFunc(s.ents, func(a, b *entry) int { return rankOf(a) - rankOf(b) })
}

// hconv converts one haproxy.cfg.
type hconv struct {
	file string

	global, log, defaults *section
	fronts, backs         []*section
	stats                 *section
	d0                    *hsettings
	crtBase               string
	minTLS                string
	minTLSSrc             srcRef
	globalLogs            []hline
	frontNames            []string
}

type hresult struct {
	sections   []*section
	frontNames []string
	issues     []Issue
}

func convertHAProxy(file string, src []byte, lookupEnv func(string) (string, bool)) *hresult {
	c := &hconv{file: file}
	secs, issues := parseHAProxy(file, src, lookupEnv)
	c.global = &section{header: "[global]", title: "global"}
	c.log = &section{header: "[log]", title: "log"}
	c.defaults = &section{header: "[defaults]", title: "defaults"}

	// Every proxy takes the settings of the defaults section before it
	// (or the one it names with "from"); work out which, so that the
	// defaults section most proxies use becomes [defaults].
	type proxyDef struct {
		sec *hsection
		set *hsettings
	}
	var (
		proxies  []proxyDef
		last     = newSettings()
		named    = map[string]*hsettings{}
		uses     = map[*hsettings]int{}
		order    []*hsettings
		defLines = map[*hsettings]*hsection{}
	)
	for _, s := range secs {
		switch s.kind {
		case "global":
			c.globalSection(s)
		case "defaults":
			base := newSettings()
			if s.from != "" {
				if b, ok := named[s.from]; ok {
					base = b.clone()
				} else {
					issues = append(issues, Issue{File: file, Line: s.head.src.Line, Text: s.head.src.Text, Reason: fmt.Sprintf("no defaults section named %q before this line", s.from)})
				}
			}
			p := &hproxy{c: c, kind: "defaults", sec: s, set: base}
			for _, l := range s.lines {
				p.line(l)
			}
			last = p.set
			defLines[last] = s
			order = append(order, last)
			if s.name != "" {
				named[s.name] = last
			}
			for _, e := range p.defaultsOnly {
				c.defaults.add(e)
			}
		case "frontend", "backend", "listen":
			set := last
			if s.from != "" {
				if b, ok := named[s.from]; ok {
					set = b
				} else {
					issues = append(issues, Issue{File: file, Line: s.head.src.Line, Text: s.head.src.Text, Reason: fmt.Sprintf("no defaults section named %q before this line", s.from)})
				}
			}
			uses[set]++
			proxies = append(proxies, proxyDef{s, set})
		default:
			e := c.global.unconverted(s.head.src, fmt.Sprintf("%s sections are not supported", s.kind))
			for _, l := range s.lines {
				e.from(l.src)
			}
			e.srcs = e.srcs[:1]
		}
	}
	c.d0 = newSettings()
	best := 0
	for _, s := range order {
		if uses[s] > best {
			c.d0, best = s, uses[s]
		}
	}
	if best == 0 && len(order) > 0 {
		c.d0 = order[len(order)-1]
	}
	if s, ok := defLines[c.d0]; ok && len(order) > 1 {
		c.defaults.note("from the defaults section at %s:%d; proxies that use another one set their differences themselves", file, s.head.src.Line)
	}
	c.writeDefaults()
	for _, pd := range proxies {
		p := &hproxy{c: c, kind: pd.sec.kind, sec: pd.sec, name: pd.sec.name, set: pd.set.clone()}
		p.convert()
	}
	c.writeLog()

	res := &hresult{issues: issues, frontNames: c.frontNames}
	for _, s := range []*section{c.global, c.log, c.defaults} {
		if len(s.ents) > 0 || len(s.notes) > 0 {
			res.sections = append(res.sections, s)
		}
	}
	res.sections = append(res.sections, c.fronts...)
	res.sections = append(res.sections, c.backs...)
	if c.stats != nil {
		res.sections = append(res.sections, c.stats)
	}
	return res
}

func (c *hconv) globalSection(s *hsection) {
	g := c.global
	for _, l := range s.lines {
		w, src := l.words, l.src
		arg := func(i int) string {
			if i < len(w) {
				return w[i]
			}
			return ""
		}
		switch w[0] {
		case "daemon", "master-worker", "pidfile":
			g.comment(src, "not needed: tandem runs in the foreground under systemd, which tracks its process")
		case "nbproc":
			if arg(1) == "1" {
				g.comment(src, "not needed: tandem is one process")
			} else {
				g.unconverted(src, "tandem is one process; it uses every CPU through its threads")
			}
		case "nbthread", "cpu-map":
			g.comment(src, "not needed: tandem uses every CPU (GOMAXPROCS)")
		case "maxconn":
			if n, err := parseUint(arg(1), 1<<20); err == nil && len(w) == 2 {
				g.set("maxconn", tomlInt(n), src)
			} else {
				g.unconverted(src, "maxconn needs a number up to 1048576")
			}
		case "ulimit-n":
			g.comment(src, "not needed: tandem raises RLIMIT_NOFILE itself (maxconn*2+64)")
		case "user", "group":
			if len(w) == 2 {
				g.set(w[0], tomlString(w[1]), src)
			} else {
				g.unconverted(src, w[0]+" needs one name")
			}
		case "uid", "gid":
			g.unconverted(src, "numeric ids are not supported: use user/group with a name")
		case "chroot":
			g.unconverted(src, "tandem does not chroot; it drops to [global] user keeping only the network capabilities")
		case "stats":
			switch arg(1) {
			case "socket":
				if path, ok := strings.CutPrefix(arg(2), "unix@"); ok || strings.HasPrefix(arg(2), "/") {
					if !ok {
						path = arg(2)
					}
					e := g.set("admin_socket", tomlString(path), src)
					e.note("tandem's admin socket speaks 'tandem ctl', not HAProxy's CLI; its permissions are tandem's own")
				} else {
					g.unconverted(src, "only a Unix socket path can become tandem's admin_socket")
				}
			case "timeout", "maxconn":
				g.comment(src, "not needed: tandem's admin socket has its own limits")
			default:
				g.unconverted(src, "not supported")
			}
		case "log":
			c.globalLogs = append(c.globalLogs, l)
		case "log-tag":
			if len(w) == 2 {
				c.log.set("tag", tomlString(w[1]), src)
			}
		case "hard-stop-after":
			if d, err := parseHAProxyTime(arg(1), time.Millisecond); err == nil && d > 0 {
				g.set("hard_stop_after", tomlString(fmtDur(d)), src)
			} else {
				g.unconverted(src, "invalid time")
			}
		case "tune.bufsize":
			if n, err := parseUint(arg(1), 1<<20); err == nil {
				g.set("tune_bufsize", tomlInt(n), src)
			} else {
				g.unconverted(src, "invalid size")
			}
		case "tune.http.maxhdr":
			if n, err := parseUint(arg(1), 32767); err == nil {
				g.set("tune_http_maxhdr", tomlInt(n), src)
			} else {
				g.unconverted(src, "invalid number")
			}
		case "crt-base":
			c.crtBase = arg(1)
			g.comment(src, "applied to the relative certificate paths of the bind lines")
		case "ca-base":
			g.comment(src, "not needed: no CA file is converted")
		case "ssl-default-bind-options":
			var rest []string
			for _, o := range w[1:] {
				switch o {
				case "no-sslv3", "no-tlsv10":
					c.raiseTLS("TLSv1.1", src)
				case "no-tlsv11":
					c.raiseTLS("TLSv1.2", src)
				case "no-tlsv12":
					c.raiseTLS("TLSv1.3", src)
				default:
					rest = append(rest, o)
				}
			}
			if len(rest) > 0 {
				g.add(&entry{node: node{lost: []lost{{src: src, what: strings.Join(rest, " "), reason: "not supported"}}}})
			}
			if c.minTLS != "" {
				g.comment(src, "applied as min_version of the TLS frontends")
			}
		case "setenv", "presetenv", "unsetenv", "resetenv":
			g.comment(src, "applied to the variables of the lines below")
		case "description", "node", "default-path", "zero-warning", "expose-experimental-directives", "localpeer":
			g.comment(src, "not needed by tandem")
		default:
			g.unconverted(src, "not supported")
		}
	}
}

func (c *hconv) raiseTLS(v string, src srcRef) {
	if v > c.minTLS {
		c.minTLS, c.minTLSSrc = v, src
	}
}

// logTarget is a parsed HAProxy log line.
type logTarget struct {
	target   string // tandem's form
	facility string
	level    string // the max level: messages at least this severe
	src      srcRef
}

var severities = map[string]int{"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}

func parseLogLine(w []string) (logTarget, string) {
	// log <target> [len <n>] [format <f>] [sample <r>:<s>] <facility> [<level> [<minlevel>]]
	if len(w) < 3 {
		return logTarget{}, "log needs a target and a facility"
	}
	lt := logTarget{}
	t := w[1]
	switch {
	case t == "stdout" || t == "stderr":
		lt.target = "stderr"
	case strings.HasPrefix(t, "/"):
		lt.target = "unix://" + t
	case strings.HasPrefix(t, "unix@"):
		lt.target = "unix://" + strings.TrimPrefix(t, "unix@")
	default:
		for _, p := range []string{"udp@", "udp4@", "ipv4@"} {
			t = strings.TrimPrefix(t, p)
		}
		if strings.Contains(t, "@") {
			return lt, fmt.Sprintf("log target %q is not supported (use an IP address, a Unix socket path or stderr)", w[1])
		}
		if _, err := netip.ParseAddr(t); err == nil {
			t += ":514"
		}
		ap, err := netip.ParseAddrPort(t)
		if err != nil || !ap.Addr().Is4() {
			return lt, fmt.Sprintf("log target %q: tandem needs an IPv4 address and port (host names are not resolved)", w[1])
		}
		lt.target = "udp://" + ap.String()
	}
	i := 2
	for i < len(w) && (w[i] == "len" || w[i] == "format" || w[i] == "sample") {
		if w[i] == "format" && i+1 < len(w) && w[i+1] != "rfc3164" && w[i+1] != "raw" {
			return lt, fmt.Sprintf("log format %q is not supported (tandem writes RFC 3164 lines)", w[i+1])
		}
		if w[i] == "sample" {
			return lt, "log sampling is not supported"
		}
		i += 2
	}
	if i >= len(w) {
		return lt, "log needs a facility"
	}
	lt.facility = w[i]
	lt.level = "debug"
	if i+1 < len(w) {
		lt.level = w[i+1]
		if _, ok := severities[lt.level]; !ok {
			return lt, fmt.Sprintf("unknown log level %q", lt.level)
		}
	}
	if i+2 < len(w) {
		return lt, "a minimum level on a log line is not supported"
	}
	return lt, ""
}

// writeLog turns the global log lines into [log]: the first line gives the
// target, the facility for everything and the event level; a second line
// to the same target whose level is warning or more severe gives
// warn_facility.
func (c *hconv) writeLog() {
	var targets []logTarget
	for _, l := range c.globalLogs {
		lt, bad := parseLogLine(l.words)
		if bad != "" {
			c.log.unconverted(l.src, bad)
			continue
		}
		lt.src = l.src
		targets = append(targets, lt)
	}
	if len(targets) == 0 {
		return
	}
	first := targets[0]
	c.log.set("target", tomlString(first.target), first.src)
	c.log.set("facility", tomlString(first.facility), first.src)
	switch first.level {
	case "debug", "info", "notice":
		if first.level != "info" {
			c.log.set("level", tomlString(first.level), first.src)
		}
	case "warning", "err":
		c.log.set("level", tomlString(first.level), first.src)
	default:
		c.log.set("level", `"error"`, first.src).note("HAProxy's level %s: tandem's most severe event level is error", first.level)
	}
	warnSet := false
	for _, lt := range targets[1:] {
		if !warnSet && lt.target == first.target && severities[lt.level] <= severities["warning"] {
			c.log.set("warn_facility", tomlString(lt.facility), lt.src)
			warnSet = true
			continue
		}
		c.log.unconverted(lt.src, "tandem writes to one log target: traffic and events to facility, warnings also to warn_facility")
	}
	if !warnSet {
		e := c.log.set("warn_facility", tomlString(first.facility), first.src)
		e.note("one log line: warnings go to the same facility")
	}
	if first.target == "stderr" {
		c.log.get("target").note("tandem writes traffic lines and events to stderr (for the journal)")
	}
}

// writeDefaults writes the chosen defaults section as [defaults].
func (c *hconv) writeDefaults() {
	d := c.defaults
	keys := make([]string, 0, len(c.d0.vals))
	for k := range c.d0.vals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return keyRank[a] - keyRank[b] })
	hasMode := false
	for _, k := range keys {
		if !defaultsKeys[k] {
			continue
		}
		v := c.d0.vals[k]
		e := d.set(k, v.value, v.src)
		e.notes = append(e.notes, v.notes...)
		hasMode = hasMode || k == "mode"
	}
	if !hasMode {
		e := d.set("mode", `"tcp"`)
		e.note("HAProxy's default mode is tcp")
	}
	if len(c.d0.check) > 0 {
		e := &entry{key: "check", kvs: c.d0.check.kvs()}
		e.from(c.d0.check.srcs()...)
		d.add(e)
	}
	var missing []string
	for _, k := range []string{"connect", "client", "server"} {
		if _, ok := c.d0.vals["timeout_"+k]; !ok {
			missing = append(missing, "timeout "+k)
		}
	}
	if len(missing) > 0 {
		d.note("no %s in HAProxy (it would wait forever): tandem uses its defaults (connect 5s, client and server 50s)", strings.Join(missing, ", "))
	}
	sortEntries(d)
}
