package convert

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// convert reads the proxy's lines and writes its frontend and/or backend
// (or the [stats] section).
func (p *hproxy) convert() {
	for _, l := range p.sec.lines {
		p.line(l)
	}
	defaultServerChecks(p.set.defServer, p.set.check)
	for _, s := range p.servers {
		p.server(s)
	}
	if p.set.noLog != nil {
		p.unconverted(sideBoth, p.set.noLog.src, "turning off the log of one proxy is not supported")
	}
	for _, l := range p.set.logs {
		p.unconverted(sideBoth, l.src, "tandem logs every proxy to the one [log] target")
	}

	routes := p.defaultBackend != nil || len(p.useBackends) > 0
	if len(p.statsLines) > 0 && len(p.servers) == 0 && !routes && p.kind != "backend" {
		p.statsSection()
		return
	}
	for _, l := range p.statsLines {
		p.unconverted(sideFE, l.src, "a stats page inside a proxy that also forwards traffic is not supported: tandem serves it on its own [stats] listener")
	}
	switch p.kind {
	case "frontend":
		p.frontend()
	case "backend":
		p.backend()
	case "listen":
		hasBE := len(p.servers) > 0 || !routes
		if hasBE && p.defaultBackend == nil {
			p.defaultBackend = &entry{key: "default_backend", value: tomlString(p.name)}
			p.defaultBackend.from(p.src())
			p.defaultBackend.note("a listen section is a frontend and a backend of the same name")
		}
		if len(p.binds) > 0 {
			p.frontend()
		} else {
			p.lose(sideFE, p.src(), "listen "+p.name, "no bind line: only its backend is converted")
		}
		if hasBE {
			p.backend()
		}
	}
}

func (p *hproxy) newSection(header, kind string) *section {
	s := &section{header: header, title: fmt.Sprintf("%s %q", kind, p.name)}
	s.set("name", tomlString(p.name))
	s.from(p.src())
	if p.kind == "listen" {
		s.note("from listen %s: a frontend and a backend of the same name", p.name)
	}
	return s
}

// settings writes the proxy's effective values of keys that differ from
// what tandem takes from [defaults].
func (p *hproxy) settings(s *section, keys []string) {
	for _, k := range keys {
		eff, ok := p.set.vals[k]
		d0, inD0 := p.c.d0.vals[k]
		if !defaultsKeys[k] {
			inD0 = false
		}
		effVal, d0Val := builtin[k], builtin[k]
		if ok {
			effVal = eff.value
		}
		if inD0 {
			d0Val = d0.value
		}
		if effVal == d0Val {
			continue
		}
		switch {
		case ok:
			e := s.set(k, eff.value, eff.src)
			e.notes = append(e.notes, eff.notes...)
		case builtin[k] != "":
			e := s.set(k, builtin[k])
			e.note("HAProxy's default: this proxy's defaults section does not set it")
		default:
			e := s.comment(d0.src, "this proxy's defaults section has no %s: tandem applies the [defaults] value", strings.ReplaceAll(k, "_", " "))
			e.srcs = nil
		}
	}
}

func (p *hproxy) frontend() {
	var plain, secure []*bindSpec
	for _, b := range p.binds {
		switch {
		case b.bad != "":
			p.unconverted(sideFE, b.src, b.bad)
		case b.ssl:
			secure = append(secure, b)
		default:
			plain = append(plain, b)
		}
	}
	if len(plain) > 0 || len(secure) == 0 {
		p.c.fronts = append(p.c.fronts, p.frontendWith(p.name, plain, nil))
		p.c.frontNames = append(p.c.frontNames, p.name)
	}
	if len(secure) > 0 {
		name := p.name
		if len(plain) > 0 {
			name += "-tls"
		}
		fe := p.frontendWith(name, secure, secure)
		if len(plain) > 0 {
			fe.note("the TLS bind lines of frontend %s: tandem's tls settings apply to a whole frontend", p.name)
		}
		p.c.fronts = append(p.c.fronts, fe)
		p.c.frontNames = append(p.c.frontNames, name)
	}
}

func (p *hproxy) frontendWith(name string, binds, tls []*bindSpec) *section {
	s := p.newSection("[[frontend]]", "frontend")
	s.ents[0].value = tomlString(name)
	p.settings(s, frontendKeys)
	be := s.arrayEntry("bind")
	acceptProxy := false
	for _, b := range binds {
		for i, a := range b.addrs {
			it := be.addItem(tomlString(a), b.src)
			if i == 0 {
				it.lost = append(it.lost, b.lost...)
			}
		}
		acceptProxy = acceptProxy || b.acceptProxy
	}
	if acceptProxy {
		e := s.set("accept_proxy", "true")
		for _, b := range binds {
			if b.acceptProxy {
				e.from(b.src)
			}
		}
	}
	if len(tls) > 0 {
		var certs, alpn []string
		minVer, minSrc := p.c.minTLS, p.c.minTLSSrc
		e := &entry{key: "tls"}
		for _, b := range tls {
			e.from(b.src)
			for _, c := range b.certs {
				if !slices.Contains(certs, c) {
					certs = append(certs, c)
				}
			}
			if len(b.alpn) > 0 {
				alpn = b.alpn
			}
			if b.minVer > minVer {
				minVer, minSrc = b.minVer, b.src
			}
		}
		e.kvs = []*kv{{key: "certificates", value: tomlStrings(certs)}}
		if len(alpn) > 0 {
			e.kvs = append(e.kvs, &kv{key: "alpn", value: tomlStrings(alpn), what: "alpn " + strings.Join(alpn, ",")})
		}
		if minVer != "" {
			e.kvs = append(e.kvs, &kv{key: "min_version", value: tomlString(minVer), what: "ssl-min-ver " + minVer, src: minSrc})
		}
		s.add(e)
	}
	if p.defaultBackend != nil {
		s.add(p.defaultBackend.clone())
	}
	for _, a := range p.acls {
		s.add(a.entry())
	}
	if len(p.useBackends) > 0 {
		s.arrayEntry("use_backend").items = cloneItems(p.useBackends)
	}
	if len(p.feReq) > 0 {
		s.arrayEntry("http_request").items = cloneItems(p.feReq)
	}
	if len(p.feResp) > 0 {
		s.arrayEntry("http_response").items = cloneItems(p.feResp)
	}
	s.ents = append(s.ents, cloneEntries(p.feMisc)...)
	sortEntries(s)
	return s
}

func (p *hproxy) backend() {
	s := p.newSection("[[backend]]", "backend")
	p.settings(s, backendKeys)
	s.ents = append(s.ents, p.beExtra...)

	// Check settings written on every checked server alike are the
	// backend's (as in HAProxy configurations that repeat "inter 2s" on
	// each line); otherwise each server keeps its own.
	check := p.set.check.clone()
	var checked []*serverSpec
	for _, sv := range p.servers {
		if sv.bad == "" && sv.check {
			checked = append(checked, sv)
		}
	}
	if len(checked) > 0 && len(checked[0].own) > 0 {
		same := true
		for _, sv := range checked[1:] {
			if !sameCheck(sv.own, checked[0].own) {
				same = false
				break
			}
		}
		if same {
			for k, f := range checked[0].own {
				check[k] = f
			}
			for _, sv := range checked {
				sv.own = nil
			}
		}
	}
	if check.String() != p.c.d0.check.String() {
		if len(check) == 0 {
			e := s.set("check", `{ type = "tcp" }`)
			e.note("HAProxy's default check: this proxy's defaults section has none")
		} else {
			e := &entry{key: "check", kvs: check.kvs()}
			e.from(check.srcs()...)
			s.add(e)
		}
	}
	if len(p.beReq) > 0 || len(p.beResp) > 0 {
		for _, a := range p.acls {
			s.add(a.entry())
		}
	}
	if len(p.beReq) > 0 {
		s.arrayEntry("http_request").items = p.beReq
	}
	if len(p.beResp) > 0 {
		s.arrayEntry("http_response").items = p.beResp
	}
	if len(p.servers) > 0 {
		arr := s.arrayEntry("server")
		for _, sv := range p.servers {
			it := &item{}
			it.from(sv.line.src)
			if sv.bad != "" {
				it.value = "{ name = " + tomlString(sv.name) + " }"
				if len(sv.line.words) > 1 {
					it.value = "{ name = " + tomlString(sv.line.words[1]) + " }"
				}
				it.demote(sv.bad)
				arr.items = append(arr.items, it)
				continue
			}
			it.kvs = sv.kvs
			if sv.check {
				v := "true"
				if len(sv.own) > 0 {
					v = sv.own.String()
				}
				it.kvs = append(it.kvs, &kv{key: "check", value: v, what: "check"})
			}
			it.lost = append(it.lost, sv.lost...)
			arr.items = append(arr.items, it)
		}
	}
	s.ents = append(s.ents, p.beMisc...)
	sortEntries(s)
	p.c.backs = append(p.c.backs, s)
}

func sameCheck(a, b checkSpec) bool {
	if len(a) != len(b) {
		return false
	}
	for _, k := range slices.Collect(maps.Keys(a)) {
		if b[k].value != a[k].value {
			return false
		}
	}
	return true
}

// statsSection turns a proxy made only of a stats page (the seed's
// "listen stats") into [stats].
func (p *hproxy) statsSection() {
	s := &section{header: "[stats]", title: "stats"}
	s.from(p.src())
	s.note("from %s %s: tandem serves its stats page on its own listener", p.kind, p.name)
	if p.c.stats != nil {
		s.demote("tandem has one stats page ([stats] section)")
		p.c.backs = append(p.c.backs, s)
		return
	}
	p.c.stats = s
	binds := s.arrayEntry("bind")
	for _, b := range p.binds {
		switch {
		case b.bad != "":
			s.unconverted(b.src, b.bad)
		case b.ssl:
			e := s.unconverted(b.src, "a TLS stats page is not supported")
			e.lost = b.lost
		default:
			for _, a := range b.addrs {
				binds.addItem(tomlString(a), b.src)
			}
		}
	}
	uri := ""
	for _, l := range p.statsLines {
		w, src := l.words, l.src
		sub := ""
		if len(w) > 1 {
			sub = w[1]
		}
		switch sub {
		case "enable":
		case "uri":
			if len(w) == 3 {
				uri = w[2]
				s.set("uri", tomlString(w[2]), src)
				continue
			}
			s.unconverted(src, "stats uri needs one path")
		case "refresh":
			if len(w) == 3 {
				if d, err := parseHAProxyTime(w[2], time.Second); err == nil {
					s.set("refresh", tomlString(fmtDur(d)), src)
					continue
				}
			}
			s.unconverted(src, "invalid refresh time")
		case "auth":
			if len(w) == 3 && strings.Contains(w[2], ":") {
				s.arrayEntry("auth").addItem(tomlString(w[2]), src)
				continue
			}
			s.unconverted(src, "stats auth needs user:password")
		case "realm":
			if len(w) >= 3 {
				s.set("realm", tomlString(strings.Join(w[2:], " ")), src)
				continue
			}
			s.unconverted(src, "stats realm needs a name")
		case "hide-version":
			s.set("hide_version", "true", src)
		case "admin":
			_, key, expr := cond(w[2:])
			if key == "if" && (expr == "TRUE" || expr == "always_true") {
				s.set("admin", "true", src)
				continue
			}
			s.unconverted(src, "tandem's admin actions are allowed to every authenticated user or none: only 'stats admin if TRUE' converts")
		default:
			s.unconverted(src, fmt.Sprintf("stats %s is not supported", sub))
		}
	}
	if uri == "" {
		e := s.set("uri", tomlString("/haproxy?stats"))
		e.note("HAProxy's default stats URI")
	}
	// The proxy's other settings (mode, timeouts, maxconn) applied to
	// HAProxy's stats proxy; tandem's stats listener has its own.
	for _, l := range p.sec.lines {
		switch l.words[0] {
		case "bind", "stats":
		case "mode", "timeout", "maxconn", "log", "option", "balance", "retries":
			s.comment(l.src, "not needed: applies to HAProxy's stats proxy; tandem's stats listener has its own")
		}
	}
	for _, e := range append(p.feMisc, p.beMisc...) {
		if e.demoted {
			s.add(e)
		}
	}
	sortEntries(s)
}
