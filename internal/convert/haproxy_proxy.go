package convert

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

type side int

const (
	sideFE side = 1 << iota
	sideBE
	sideBoth = sideFE | sideBE
)

// hproxy converts one defaults, frontend, backend or listen section.
type hproxy struct {
	c    *hconv
	kind string
	sec  *hsection
	name string
	set  *hsettings

	defaultsOnly []*entry // comments and unconverted lines of a defaults section

	feMisc, beMisc []*entry
	binds          []*bindSpec
	acls           []*aclDef
	defaultBackend *entry
	useBackends    []*item
	feReq, beReq   []*item
	feResp, beResp []*item
	beExtra        []*entry // stick tables and the like
	servers        []*serverSpec
	statsLines     []hline
}

func (p *hproxy) src() srcRef { return p.sec.head.src }

// misc records a comment or an unconverted line on a side.
func (p *hproxy) misc(sd side, e *entry) {
	switch {
	case p.kind == "defaults":
		p.defaultsOnly = append(p.defaultsOnly, e)
	case sd&sideFE != 0 && p.kind != "backend":
		p.feMisc = append(p.feMisc, e)
	default:
		p.beMisc = append(p.beMisc, e)
	}
}

func (p *hproxy) unconverted(sd side, src srcRef, reason string) {
	e := &entry{}
	e.from(src)
	e.demote(reason)
	p.misc(sd, e)
}

func (p *hproxy) lose(sd side, src srcRef, what, reason string) {
	e := &entry{}
	e.lose(src, what, reason)
	p.misc(sd, e)
}

func (p *hproxy) comment(sd side, src srcRef, format string, args ...any) {
	e := &entry{}
	e.from(src)
	e.note(format, args...)
	p.misc(sd, e)
}

// allows reports whether this kind of section takes keywords of side sd,
// reporting the line otherwise.
func (p *hproxy) allows(sd side, src srcRef) bool {
	switch {
	case p.kind == "frontend" && sd&sideFE == 0:
		p.unconverted(sideFE, src, "a backend keyword in a frontend (HAProxy ignores it there too)")
		return false
	case p.kind == "backend" && sd&sideBE == 0:
		p.unconverted(sideBE, src, "a frontend keyword in a backend (HAProxy ignores it there too)")
		return false
	}
	return true
}

func (p *hproxy) setVal(key, value string, src srcRef, notes ...string) {
	p.set.vals[key] = setting{value: value, src: src, notes: notes}
}

var timeoutKeys = map[string]struct {
	key  string
	side side
}{
	"connect": {"timeout_connect", sideBE}, "server": {"timeout_server", sideBE},
	"queue": {"timeout_queue", sideBE}, "tunnel": {"timeout_tunnel", sideBE},
	"client": {"timeout_client", sideFE}, "http-request": {"timeout_http_request", sideFE},
	"http-keep-alive": {"timeout_http_keep_alive", sideFE},
}

var oldTimeouts = map[string]string{"contimeout": "connect", "clitimeout": "client", "srvtimeout": "server"}

// line handles one line of a proxy section.
func (p *hproxy) line(l hline) {
	w, src := l.words, l.src
	arg := func(i int) string {
		if i < len(w) {
			return w[i]
		}
		return ""
	}
	switch w[0] {
	case "mode":
		switch arg(1) {
		case "http", "tcp":
			p.setVal("mode", tomlString(arg(1)), src)
		default:
			p.unconverted(sideBoth, src, fmt.Sprintf("mode %q is not supported (use http or tcp)", arg(1)))
		}
	case "timeout", "contimeout", "clitimeout", "srvtimeout":
		kind, val, note := arg(1), arg(2), ""
		if k, ok := oldTimeouts[w[0]]; ok {
			kind, val, note = k, arg(1), "an old spelling of timeout "+k
		}
		if kind == "check" {
			if !p.allows(sideBE, src) {
				return
			}
			if d, err := parseHAProxyTime(val, time.Millisecond); err == nil && d > 0 {
				p.set.check["timeout"] = checkField{value: tomlString(fmtDur(d)), src: src, what: "timeout check " + val}
			} else {
				p.unconverted(sideBE, src, "invalid time")
			}
			return
		}
		tk, ok := timeoutKeys[kind]
		if !ok {
			p.unconverted(sideBoth, src, fmt.Sprintf("timeout %s is not supported", kind))
			return
		}
		if p.kind == "frontend" && tk.side == sideBE || p.kind == "backend" && tk.side == sideFE {
			p.unconverted(tk.side, src, fmt.Sprintf("timeout %s does not apply to a %s (HAProxy ignores it there too)", kind, p.kind))
			return
		}
		d, err := parseHAProxyTime(val, time.Millisecond)
		if err != nil || d <= 0 {
			p.unconverted(tk.side, src, "timeout needs a positive time")
			return
		}
		var notes []string
		if note != "" {
			notes = append(notes, note)
		}
		p.setVal(tk.key, tomlString(fmtDur(d)), src, notes...)
	case "maxconn":
		if !p.allows(sideFE, src) {
			return
		}
		if n, err := parseUint(arg(1), 1<<20); err == nil {
			p.setVal("maxconn", tomlInt(n), src)
		} else {
			p.unconverted(sideFE, src, "maxconn needs a number")
		}
	case "retries":
		if !p.allows(sideBE, src) {
			return
		}
		if n, err := parseUint(arg(1), 100); err == nil {
			p.setVal("retries", tomlInt(n), src)
		} else {
			p.unconverted(sideBE, src, "retries needs a number up to 100")
		}
	case "fullconn":
		if !p.allows(sideBE, src) {
			return
		}
		if n, err := parseUint(arg(1), 1<<20); err == nil {
			p.setVal("fullconn", tomlInt(n), src)
		} else {
			p.unconverted(sideBE, src, "fullconn needs a number")
		}
	case "balance":
		if p.allows(sideBE, src) {
			p.balance(l)
		}
	case "hash-type":
		if p.allows(sideBE, src) {
			p.hashType(l)
		}
	case "cookie":
		if p.allows(sideBE, src) {
			p.cookie(l)
		}
	case "option", "no":
		p.option(l)
	case "http-check":
		if p.allows(sideBE, src) {
			p.httpCheck(l)
		}
	case "default-server":
		if p.allows(sideBE, src) {
			p.set.defServer = append(p.set.defServer, l)
		}
	case "server":
		if p.kind == "defaults" {
			p.unconverted(sideBE, src, "server lines are not allowed in defaults")
			return
		}
		if p.allows(sideBE, src) {
			p.servers = append(p.servers, &serverSpec{line: l})
		}
	case "bind":
		if p.kind == "defaults" {
			p.unconverted(sideFE, src, "bind lines are not allowed in defaults")
			return
		}
		if p.allows(sideFE, src) {
			p.binds = append(p.binds, p.bind(l))
		}
	case "acl":
		if p.kind == "defaults" {
			p.unconverted(sideBoth, src, "ACLs in a defaults section are not supported")
			return
		}
		p.acl(l)
	case "use_backend":
		if p.kind == "defaults" || !p.allows(sideFE, src) {
			return
		}
		p.useBackend(l)
	case "default_backend":
		if p.kind == "defaults" {
			p.unconverted(sideFE, src, "default_backend in defaults is not supported: set it in each frontend")
			return
		}
		if !p.allows(sideFE, src) {
			return
		}
		if len(w) != 2 || strings.Contains(w[1], "%[") {
			p.unconverted(sideFE, src, "default_backend takes one fixed backend name")
			return
		}
		p.defaultBackend = &entry{key: "default_backend", value: tomlString(w[1])}
		p.defaultBackend.from(src)
	case "http-request", "http-response", "redirect", "reqadd", "rspadd", "block":
		if p.kind == "defaults" {
			p.unconverted(sideBoth, src, "HTTP rules in a defaults section are not supported")
			return
		}
		p.rule(l)
	case "stick-table", "stick":
		if p.kind == "defaults" || !p.allows(sideBE, src) {
			if p.kind == "defaults" {
				p.unconverted(sideBE, src, "not allowed in defaults")
			}
			return
		}
		p.stick(l)
	case "stats":
		if p.kind == "defaults" {
			p.unconverted(sideFE, src, "stats in a defaults section (a stats page on every proxy) is not supported: tandem serves one [stats] listener")
			return
		}
		p.statsLines = append(p.statsLines, l)
	case "log":
		p.logLine(l)
	case "description", "id":
		p.comment(sideBoth, src, "not needed by tandem")
	case "errorfile", "errorfiles", "errorloc", "errorloc302", "errorloc303":
		p.unconverted(sideBoth, src, "custom error pages are not supported")
	case "compression":
		p.unconverted(sideBoth, src, "HTTP compression is not supported")
	case "capture", "declare":
		p.unconverted(sideFE, src, "captures are not supported (tandem's log line has no captured fields)")
	case "tcp-check":
		p.unconverted(sideBE, src, "tcp-check rules are not supported: the servers get a TCP connect check")
	case "tcp-request", "tcp-response":
		p.unconverted(sideBoth, src, "TCP rules are not supported")
	case "monitor-uri", "monitor":
		p.unconverted(sideFE, src, "monitor-uri is not supported (track the frontend from VRRP, or check a backend server)")
	case "log-format", "log-format-sd", "error-log-format", "unique-id-format", "unique-id-header":
		p.unconverted(sideFE, src, "custom log formats are not supported: tandem writes HAProxy's httplog and tcplog formats")
	default:
		p.unconverted(sideBoth, src, "not supported")
	}
}

func (p *hproxy) logLine(l hline) {
	w := l.words
	switch {
	case len(w) == 2 && w[1] == "global":
		p.set.logs, p.set.noLog = nil, nil
	case w[0] == "no":
		p.set.noLog = &l
	default:
		// A proxy's own log line is kept if the global section has the
		// same one (or none, in which case it becomes [log]).
		lt, bad := parseLogLine(w)
		if bad != "" {
			p.unconverted(sideBoth, l.src, bad)
			return
		}
		if len(p.c.globalLogs) == 0 {
			p.c.globalLogs = append(p.c.globalLogs, l)
			p.comment(sideBoth, l.src, "written as [log]: tandem has one log target")
			return
		}
		g, _ := parseLogLine(p.c.globalLogs[0].words)
		if g.target == lt.target && g.facility == lt.facility {
			p.comment(sideBoth, l.src, "the same as the global log line")
			return
		}
		p.unconverted(sideBoth, l.src, "tandem logs every proxy to the one [log] target")
	}
}

func (p *hproxy) option(l hline) {
	w, src := l.words, l.src
	neg := w[0] == "no"
	if neg {
		if len(w) >= 2 && w[1] == "log" {
			p.unconverted(sideBoth, src, "turning off the log of one proxy is not supported")
			return
		}
		w = w[1:]
		if len(w) == 0 || w[0] != "option" {
			p.unconverted(sideBoth, src, "not supported")
			return
		}
	}
	if len(w) < 2 {
		p.unconverted(sideBoth, src, "option needs a name")
		return
	}
	name := w[1]
	switch name {
	case "redispatch":
		if !p.allows(sideBE, src) {
			return
		}
		if len(w) > 2 {
			p.unconverted(sideBE, src, "a redispatch interval is not supported")
			return
		}
		p.setVal("redispatch", tomlBool(!neg), src)
	case "forwardfor":
		if neg {
			delete(p.set.vals, "forwardfor")
			return
		}
		p.forwardfor(l)
	case "allbackups":
		if p.allows(sideBE, src) {
			p.setVal("allbackups", tomlBool(!neg), src)
		}
	case "httpchk":
		if !p.allows(sideBE, src) {
			return
		}
		if neg {
			delete(p.set.check, "type")
			return
		}
		p.httpchk(l)
	case "ssl-hello-chk", "mysql-check", "pgsql-check", "redis-check", "smtpchk", "ldap-check", "spop-check", "tcp-check", "external-check":
		if !p.allows(sideBE, src) {
			return
		}
		for _, k := range []string{"method", "path", "version", "host", "headers", "expect_status", "expect_string", "expect_regex"} {
			delete(p.set.check, k)
		}
		p.set.check["type"] = checkField{value: `"tcp"`, src: src, what: "option " + name}
		if name != "tcp-check" {
			e := &entry{}
			e.lose(src, "option "+name, "protocol checks are not supported: converted as a TCP connect check")
			p.misc(sideBE, e)
		}
	case "httplog", "tcplog":
		if len(w) > 2 {
			p.unconverted(sideFE, src, "log format variants are not supported")
			return
		}
		if neg {
			return
		}
		p.comment(sideFE, src, "not needed: tandem logs every request in HAProxy's %s format", name)
	case "http-keep-alive", "http-use-htx", "contstats", "log-separate-errors", "http-pretend-keepalive":
		if name == "http-keep-alive" && neg {
			p.unconverted(sideBoth, src, "tandem always keeps connections alive")
			return
		}
		p.comment(sideBoth, src, "not needed by tandem")
	case "http-server-close", "httpclose", "forceclose", "http-tunnel":
		if neg {
			return
		}
		p.unconverted(sideBoth, src, "tandem keeps client and server connections alive; closing them is not supported")
	case "dontlognull", "dontlog-normal", "logasap", "log-health-checks":
		p.unconverted(sideFE, src, "log filtering options are not supported")
	default:
		p.unconverted(sideBoth, src, fmt.Sprintf("option %s is not supported", name))
	}
}

func (p *hproxy) forwardfor(l hline) {
	w, src := l.words, l.src
	t := &inline{}
	table := false
	for i := 2; i < len(w); i++ {
		switch w[i] {
		case "except":
			if i+1 >= len(w) {
				p.unconverted(sideBoth, src, "except needs a network")
				return
			}
			t.add("except", tomlStrings([]string{w[i+1]}))
			table = true
			i++
		case "header":
			if i+1 >= len(w) {
				p.unconverted(sideBoth, src, "header needs a name")
				return
			}
			t.str("header", w[i+1])
			table = true
			i++
		case "if-none":
			p.lose(sideBoth, src, "if-none", "not supported: tandem always adds the header")
		default:
			p.unconverted(sideBoth, src, fmt.Sprintf("unknown forwardfor option %q", w[i]))
			return
		}
	}
	if table {
		p.setVal("forwardfor", t.String(), src)
		return
	}
	p.setVal("forwardfor", "true", src)
}

func (p *hproxy) balance(l hline) {
	w, src := l.words, l.src
	if len(w) < 2 {
		p.unconverted(sideBE, src, "balance needs an algorithm")
		return
	}
	alg := w[1]
	rest := w[2:]
	switch {
	case alg == "roundrobin", alg == "static-rr", alg == "leastconn", alg == "first", alg == "source", alg == "random":
		p.setVal("balance", tomlString(alg), src)
		if alg == "random" && len(rest) > 0 {
			p.lose(sideBE, src, strings.Join(rest, " "), "not supported")
		} else if len(rest) > 0 {
			p.lose(sideBE, src, strings.Join(rest, " "), "unexpected arguments")
		}
	case strings.HasPrefix(alg, "random("):
		p.setVal("balance", tomlString(alg), src)
	case alg == "uri":
		p.setVal("balance", `"uri"`, src)
		for i := 0; i < len(rest); i++ {
			switch rest[i] {
			case "whole":
				p.setVal("uri_whole", "true", src)
			case "len", "depth":
				if i+1 < len(rest) {
					if n, err := parseUint(rest[i+1], 1<<16); err == nil {
						p.setVal("uri_"+rest[i], tomlInt(n), src)
						i++
						continue
					}
				}
				p.lose(sideBE, src, rest[i], "needs a number")
			default:
				p.lose(sideBE, src, rest[i], "not supported")
			}
		}
	case alg == "url_param":
		if len(rest) == 0 {
			p.unconverted(sideBE, src, "url_param needs a parameter name")
			return
		}
		p.setVal("balance", tomlString("url_param("+rest[0]+")"), src)
		if len(rest) > 1 {
			p.lose(sideBE, src, strings.Join(rest[1:], " "), "not supported")
		}
	case strings.HasPrefix(alg, "hdr(") && strings.HasSuffix(alg, ")"):
		p.setVal("balance", tomlString(alg), src)
		if len(rest) > 0 {
			p.lose(sideBE, src, strings.Join(rest, " "), "not supported")
		}
	default:
		p.unconverted(sideBE, src, fmt.Sprintf("balance %s is not supported", alg))
	}
}

func (p *hproxy) hashType(l hline) {
	w, src := l.words, l.src
	if len(w) < 2 || (w[1] != "map-based" && w[1] != "consistent") {
		p.unconverted(sideBE, src, "hash-type must be map-based or consistent")
		return
	}
	p.setVal("hash_type", tomlString(w[1]), src)
	for _, o := range w[2:] {
		if o != "sdbm" {
			p.lose(sideBE, src, o, "only HAProxy's default hash function (sdbm, without avalanche) is supported")
		}
	}
}

func (p *hproxy) cookie(l hline) {
	w, src := l.words, l.src
	if len(w) < 2 {
		p.unconverted(sideBE, src, "cookie needs a name")
		return
	}
	t := &inline{}
	t.str("name", w[1])
	mode := ""
	var flags []string
	for i := 2; i < len(w); i++ {
		switch o := w[i]; o {
		case "insert", "rewrite", "prefix":
			mode = o
		case "indirect", "nocache", "postonly", "preserve", "httponly", "secure", "dynamic":
			flags = append(flags, o)
		case "domain", "maxidle", "maxlife", "attr":
			if i+1 >= len(w) {
				p.unconverted(sideBE, src, o+" needs a value")
				return
			}
			v := w[i+1]
			i++
			switch o {
			case "maxidle", "maxlife":
				d, err := parseHAProxyTime(v, time.Second)
				if err != nil {
					p.unconverted(sideBE, src, fmt.Sprintf("%s: %v", o, err))
					return
				}
				flags = append(flags, o+"="+tomlString(fmtDur(d)))
			default:
				flags = append(flags, o+"="+tomlString(v))
			}
		default:
			p.unconverted(sideBE, src, fmt.Sprintf("unknown cookie option %q", o))
			return
		}
	}
	if mode == "" {
		mode = "rewrite"
	}
	t.str("mode", mode)
	for _, f := range flags {
		if k, v, ok := strings.Cut(f, "="); ok {
			t.add(k, v)
		} else {
			t.add(f, "true")
		}
	}
	p.setVal("cookie", t.String(), src)
}

func (p *hproxy) stick(l hline) {
	w, src := l.words, l.src
	if w[0] == "stick-table" {
		t := &inline{}
		for i := 1; i < len(w); i++ {
			if i+1 >= len(w) && w[i] != "nopurge" {
				p.unconverted(sideBE, src, fmt.Sprintf("%s needs a value", w[i]))
				return
			}
			switch o := w[i]; o {
			case "type":
				t.str("type", w[i+1])
				i++
				if i+2 < len(w) && w[i+1] == "len" {
					if n, err := parseUint(w[i+2], 1<<16); err == nil {
						t.add("len", tomlInt(n))
					}
					i += 2
				}
			case "size":
				n, err := parseSize(w[i+1])
				if err != nil {
					p.unconverted(sideBE, src, err.Error())
					return
				}
				t.add("size", tomlInt(n))
				i++
			case "expire":
				d, err := parseHAProxyTime(w[i+1], time.Millisecond)
				if err != nil {
					p.unconverted(sideBE, src, err.Error())
					return
				}
				t.str("expire", fmtDur(d))
				i++
			case "peers":
				t.str("peers", w[i+1])
				i++
			case "nopurge":
				t.add("nopurge", "true")
			case "store", "srvkey", "write-to", "recv-only":
				p.lose(sideBE, src, o+" "+w[i+1], "not supported")
				i++
			default:
				p.unconverted(sideBE, src, fmt.Sprintf("unknown stick-table option %q", o))
				return
			}
		}
		e := &entry{key: "stick_table", value: t.String()}
		e.from(src)
		p.beExtra = append(p.beExtra, e)
		return
	}
	// stick on|match|store-request <pattern> [table <t>] [if|unless cond]
	if len(w) < 3 {
		p.unconverted(sideBE, src, "stick needs a pattern")
		return
	}
	key := map[string]string{"on": "stick_on", "match": "stick_match", "store-request": "stick_store_request"}[w[1]]
	if key == "" {
		p.unconverted(sideBE, src, fmt.Sprintf("stick %s is not supported", w[1]))
		return
	}
	if len(w) > 3 {
		p.lose(sideBE, src, strings.Join(w[3:], " "), "tables and conditions on stick rules are not supported")
	}
	e := &entry{key: key, value: tomlString(w[2])}
	e.from(src)
	p.beExtra = append(p.beExtra, e)
}

// httpchk reads option httpchk [<method>] [<uri>] [<version>], where the
// version of old configurations may carry headers after "\r\n".
func (p *hproxy) httpchk(l hline) {
	w, src := l.words, l.src
	args := w[2:]
	c := p.set.check
	what := strings.Join(w, " ")
	set := func(k, v string) { c[k] = checkField{value: v, src: src, what: what} }
	set("type", `"http"`)
	method, uri, version := "OPTIONS", "/", ""
	switch len(args) {
	case 0:
	case 1:
		uri = args[0]
	case 2:
		method, uri = args[0], args[1]
	default:
		method, uri, version = args[0], args[1], strings.Join(args[2:], " ")
	}
	set("method", tomlString(method))
	set("path", tomlString(uri))
	if version != "" {
		v, hdrs, _ := strings.Cut(version, "\r\n")
		set("version", tomlString(v))
		for _, h := range strings.Split(hdrs, "\r\n") {
			name, val, ok := strings.Cut(h, ":")
			if !ok {
				continue
			}
			name, val = strings.TrimSpace(name), strings.TrimSpace(val)
			if strings.EqualFold(name, "host") {
				set("host", tomlString(val))
			} else {
				p.addCheckHeader(name, val, src, what)
			}
		}
	}
	if len(args) == 0 {
		e := &entry{}
		e.from(src)
		e.note("HAProxy's check request is OPTIONS / HTTP/1.0: kept (tandem's own default is GET)")
		p.misc(sideBE, e)
	}
}

func (p *hproxy) addCheckHeader(name, val string, src srcRef, what string) {
	t := &inline{}
	if f, ok := p.set.check["headers"]; ok {
		inner := strings.TrimSuffix(strings.TrimPrefix(f.value, "{ "), " }")
		if inner != "{}" && inner != "" {
			t.kv = append(t.kv, inner)
		}
	}
	t.str(name, val)
	p.set.check["headers"] = checkField{value: t.String(), src: src, what: what}
}

func (p *hproxy) httpCheck(l hline) {
	w, src := l.words, l.src
	c := p.set.check
	what := strings.Join(w, " ")
	if len(w) < 2 {
		p.unconverted(sideBE, src, "http-check needs an action")
		return
	}
	switch w[1] {
	case "expect":
		args := w[2:]
		if len(args) > 0 && args[0] == "!" {
			p.unconverted(sideBE, src, "negated expectations are not supported")
			return
		}
		if len(args) != 2 {
			p.unconverted(sideBE, src, "expect options are not supported")
			return
		}
		if _, ok := c["expect_status"]; ok {
			p.unconverted(sideBE, src, "tandem takes one expectation per check")
			return
		}
		if _, ok := c["expect_string"]; ok {
			p.unconverted(sideBE, src, "tandem takes one expectation per check")
			return
		}
		switch args[0] {
		case "status":
			c["expect_status"] = checkField{value: tomlString(args[1]), src: src, what: what}
		case "string":
			c["expect_string"] = checkField{value: tomlString(args[1]), src: src, what: what}
		case "rstring":
			c["expect_regex"] = checkField{value: tomlString(args[1]), src: src, what: what}
		default:
			p.unconverted(sideBE, src, fmt.Sprintf("expect %s is not supported (use status, string or rstring)", args[0]))
		}
	case "send":
		if _, ok := c["type"]; !ok {
			c["type"] = checkField{value: `"http"`, src: src, what: what}
		}
		for i := 2; i+1 < len(w); i += 2 {
			switch v := w[i+1]; w[i] {
			case "meth":
				c["method"] = checkField{value: tomlString(v), src: src, what: what}
			case "uri":
				c["path"] = checkField{value: tomlString(v), src: src, what: what}
			case "ver":
				c["version"] = checkField{value: tomlString(v), src: src, what: what}
			case "hdr":
				if i+2 >= len(w) {
					p.lose(sideBE, src, "hdr "+v, "needs a value")
					return
				}
				if strings.EqualFold(v, "host") {
					c["host"] = checkField{value: tomlString(w[i+2]), src: src, what: what}
				} else {
					p.addCheckHeader(v, w[i+2], src, what)
				}
				i++
			default:
				p.lose(sideBE, src, w[i]+" "+v, "not supported")
			}
		}
	case "disable-on-404", "send-state", "connect", "comment", "set-var", "unset-var":
		p.unconverted(sideBE, src, fmt.Sprintf("http-check %s is not supported", w[1]))
	default:
		p.unconverted(sideBE, src, "not supported")
	}
}

// aclDef is a named ACL: HAProxy ORs the lines of one name; tandem takes
// one definition, so lines with the same fetch and flags are merged.
type aclDef struct {
	name string
	head []string // fetch and flags
	pats []string
	srcs []srcRef
}

func (p *hproxy) acl(l hline) {
	w, src := l.words, l.src
	if len(w) < 3 {
		p.unconverted(sideFE, src, "acl needs a name and a criterion")
		return
	}
	def := w[2:]
	i := 1
	for i < len(def) && len(def[i]) > 1 && def[i][0] == '-' {
		if def[i] == "--" {
			i++
			break
		}
		if def[i] == "-m" || def[i] == "-f" || def[i] == "-M" {
			i++
		}
		i++
	}
	i = min(i, len(def))
	head, pats := def[:i], def[i:]
	for _, a := range p.acls {
		if a.name != w[1] {
			continue
		}
		if slices.Equal(a.head, head) && len(pats) > 0 && len(a.pats) > 0 {
			a.pats = append(a.pats, pats...)
			a.srcs = append(a.srcs, src)
			return
		}
		p.unconverted(sideFE, src, fmt.Sprintf("tandem takes one definition per ACL name: this %q line differs in fetch or flags from line %d", w[1], a.srcs[0].Line))
		return
	}
	p.acls = append(p.acls, &aclDef{name: w[1], head: head, pats: pats, srcs: []srcRef{src}})
}

func (a *aclDef) entry() *entry {
	e := &entry{key: "acl." + tomlBareKey(a.name), value: tomlString(joinWords(append(slices.Clone(a.head), a.pats...)))}
	e.from(a.srcs...)
	if len(a.srcs) > 1 {
		e.note("%d acl lines of the same name merged into one", len(a.srcs))
	}
	return e
}

// cond splits "... if|unless COND" and returns the words before, the key
// ("if" or "unless") and the condition in HAProxy syntax.
func cond(w []string) (before []string, key, expr string) {
	for i, x := range w {
		if x == "if" || x == "unless" {
			return w[:i], x, joinWords(w[i+1:])
		}
	}
	return w, "", ""
}

func (p *hproxy) useBackend(l hline) {
	w, src := l.words, l.src
	before, key, expr := cond(w)
	if len(before) != 2 || strings.Contains(before[1], "%[") {
		p.unconverted(sideFE, src, "use_backend takes one fixed backend name (dynamic names are not supported)")
		return
	}
	it := &item{kvs: []*kv{{key: "backend", value: tomlString(before[1])}}}
	it.from(src)
	if key != "" {
		it.kvs = append(it.kvs, &kv{key: key, value: tomlString(expr)})
	}
	p.useBackends = append(p.useBackends, it)
}
