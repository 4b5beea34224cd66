package convert

import (
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"
)

// bindSpec is one bind line.
type bindSpec struct {
	src         srcRef
	addrs       []string
	ssl         bool
	certs       []string
	alpn        []string
	minVer      string
	acceptProxy bool
	lost        []lost
	bad         string
}

// Bind options and how many arguments they take.
var bindOpts = map[string]int{
	"ssl": 0, "crt": 1, "alpn": 1, "ssl-min-ver": 1, "accept-proxy": 0, "name": 1, "id": 1,
	"no-sslv3": 0, "no-tlsv10": 0, "no-tlsv11": 0, "no-tlsv12": 0, "no-tlsv13": 0, "force-tlsv12": 0, "force-tlsv13": 0,
	"crt-list": 1, "ssl-max-ver": 1, "ciphers": 1, "ciphersuites": 1, "v4v6": 0, "v6only": 0, "transparent": 0,
	"interface": 1, "defer-accept": 0, "maxconn": 1, "process": 1, "thread": 1, "tfo": 0, "npn": 1, "ca-file": 1,
	"verify": 1, "strict-sni": 0, "prefer-client-ciphers": 0, "no-tls-tickets": 0, "level": 1, "mode": 1,
	"user": 1, "group": 1, "uid": 1, "gid": 1, "expose-fd": 1, "backlog": 1, "mss": 1, "nice": 1, "allow-0rtt": 0,
	"curves": 1, "ecdhe": 1, "crl-file": 1, "generate-certificates": 0, "ca-sign-file": 1, "ca-sign-pass": 1,
	"ocsp-update": 1, "namespace": 1, "proto": 1, "tcp-ut": 1, "quic-cc-algo": 1, "severity-output": 1, "sigalgs": 1,
	"client-sigalgs": 1, "no-ca-names": 0, "ssl_fc": 0, "guid-prefix": 1,
}

func (p *hproxy) bind(l hline) *bindSpec {
	w, src := l.words, l.src
	b := &bindSpec{src: src}
	if len(w) < 2 {
		b.bad = "bind needs an address"
		return b
	}
	for _, a := range strings.Split(w[1], ",") {
		s, err := bindAddr(a)
		if err != nil {
			b.bad = err.Error()
			return b
		}
		b.addrs = append(b.addrs, s)
	}
	for i := 2; i < len(w); i++ {
		o := w[i]
		n, known := bindOpts[o]
		if !known {
			b.lost = append(b.lost, lost{src: src, what: strings.Join(w[i:], " "), reason: fmt.Sprintf("unknown bind option %q", o)})
			break
		}
		if i+n >= len(w) {
			b.lost = append(b.lost, lost{src: src, what: o, reason: "needs a value"})
			break
		}
		v := ""
		if n == 1 {
			v = w[i+1]
		}
		switch o {
		case "ssl":
			b.ssl = true
		case "crt":
			if p.c.crtBase != "" && !strings.HasPrefix(v, "/") {
				v = path.Join(p.c.crtBase, v)
			}
			b.certs = append(b.certs, v)
		case "alpn":
			b.alpn = strings.Split(v, ",")
		case "ssl-min-ver":
			b.minVer = v
		case "no-sslv3", "no-tlsv10":
			b.minVer = max(b.minVer, "TLSv1.1")
		case "no-tlsv11":
			b.minVer = max(b.minVer, "TLSv1.2")
		case "no-tlsv12":
			b.minVer = max(b.minVer, "TLSv1.3")
		case "accept-proxy":
			b.acceptProxy = true
		case "name", "id":
			// Names a listener in HAProxy's stats; nothing to convert.
		default:
			what := o
			if n == 1 {
				what += " " + v
			}
			b.lost = append(b.lost, lost{src: src, what: what, reason: "not supported"})
		}
		i += n
	}
	if b.ssl && len(b.certs) == 0 {
		b.bad = "ssl without crt is not supported"
	}
	if !b.ssl && len(b.certs) > 0 {
		b.lost = append(b.lost, lost{src: src, what: "crt", reason: "ignored without ssl, as HAProxy does"})
		b.certs = nil
	}
	return b
}

// bindAddr turns one HAProxy bind address into tandem's form.
func bindAddr(a string) (string, error) {
	for _, pre := range []string{"ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@"} {
		a = strings.TrimPrefix(a, pre)
	}
	if strings.HasPrefix(a, "/") || strings.Contains(a, "@") {
		return "", fmt.Errorf("bind address %q: only IP sockets are supported", a)
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return "", fmt.Errorf("bind address %q needs a port", a)
	}
	host, port := a[:i], a[i+1:]
	if strings.Contains(port, "-") {
		return "", fmt.Errorf("bind address %q: port ranges are not supported", a)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("bind address %q: invalid port", a)
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	switch host {
	case "", "*", "0.0.0.0":
		return "*:" + port, nil
	case "::":
		return "[::]:" + port, nil
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return "", fmt.Errorf("bind address %q: tandem needs an IP address (host names are not resolved)", a)
	}
	return netip.AddrPortFrom(addr, uint16(n)).String(), nil
}

// serverSpec is one server line, with the default-server options applied
// before its own.
type serverSpec struct {
	line   hline
	name   string
	addr   string
	check  bool
	own    checkSpec // check settings written on the server line
	kvs    []*kv
	lost   []lost
	bad    string
	srcRef srcRef
}

// Server options and how many arguments they take.
var serverOpts = map[string]int{
	"check": 0, "no-check": 0, "inter": 1, "fastinter": 1, "downinter": 1, "rise": 1, "fall": 1, "port": 1, "addr": 1,
	"weight": 1, "backup": 0, "no-backup": 0, "disabled": 0, "enabled": 0, "cookie": 1, "maxconn": 1, "slowstart": 1,
	"send-proxy": 0, "send-proxy-v2": 0, "no-send-proxy": 0, "no-send-proxy-v2": 0, "ssl": 0, "no-ssl": 0, "check-ssl": 0,
	"no-check-ssl": 0, "observe": 1, "error-limit": 1, "on-error": 1, "track": 1, "id": 1, "minconn": 1, "maxqueue": 1,
	"verify": 1, "ca-file": 1, "crt": 1, "sni": 1, "alpn": 1, "check-sni": 1, "check-alpn": 1, "resolvers": 1,
	"resolve-prefer": 1, "init-addr": 1, "agent-check": 0, "no-agent-check": 0, "agent-port": 1, "agent-inter": 1, "agent-addr": 1,
	"agent-send": 1, "source": 1, "pool-max-conn": 1, "pool-purge-delay": 1, "pool-low-conn": 1, "tfo": 0, "namespace": 1,
	"proto": 1, "ws": 1, "on-marked-down": 1, "on-marked-up": 1, "redir": 1, "ciphers": 1, "ciphersuites": 1,
	"no-sslv3": 0, "no-tlsv10": 0, "no-tlsv11": 0, "no-tlsv12": 0, "no-tlsv13": 0, "force-tlsv12": 0, "ssl-min-ver": 1,
	"ssl-max-ver": 1, "check-send-proxy": 0, "check-proto": 1, "no-verifyhost": 0, "verifyhost": 1, "crl-file": 1,
	"send-proxy-v2-ssl": 0, "send-proxy-v2-ssl-cn": 0, "proxy-v2-options": 1, "max-reuse": 1, "resolve-net": 1,
	"resolve-opts": 1, "hash-key": 1, "log-proto": 1, "shard": 1, "guid": 1, "ssl-reuse": 0, "no-ssl-reuse": 0,
	"tls-tickets": 0, "no-tls-tickets": 0, "npn": 1, "allow-0rtt": 0, "sni-auto": 0,
}

// Output order of a server's keys.
var serverKeyOrder = []string{"weight", "backup", "disabled", "cookie", "maxconn", "slowstart", "send_proxy", "send_proxy_v2", "ssl", "observe", "error_limit", "on_error", "track", "check"}

func (p *hproxy) server(s *serverSpec) {
	w, src := s.line.words, s.line.src
	s.srcRef = src
	if len(w) < 3 {
		s.bad = "server needs a name and an address"
		return
	}
	s.name = w[1]
	addr, err := serverAddr(w[2])
	if err != nil {
		s.bad = err.Error()
		return
	}
	s.addr = addr
	s.own = checkSpec{}
	vals := map[string]*kv{}
	apply := func(words []string, src srcRef, fromDefault bool) {
		for i := 0; i < len(words); i++ {
			o := words[i]
			n, known := serverOpts[o]
			if !known {
				s.lost = append(s.lost, lost{src: src, what: strings.Join(words[i:], " "), reason: fmt.Sprintf("unknown server option %q", o)})
				return
			}
			if i+n >= len(words) {
				s.lost = append(s.lost, lost{src: src, what: o, reason: "needs a value"})
				return
			}
			v := ""
			if n == 1 {
				v = words[i+1]
			}
			what := o
			if n == 1 {
				what += " " + v
			}
			i += n
			setKV := func(k, val string) { vals[k] = &kv{key: k, value: val, what: what, src: src} }
			dur := func() (string, bool) {
				d, err := parseHAProxyTime(v, time.Millisecond)
				if err != nil || d <= 0 {
					s.lost = append(s.lost, lost{src: src, what: what, reason: "invalid time"})
					return "", false
				}
				return tomlString(fmtDur(d)), true
			}
			num := func(max int64) (string, bool) {
				x, err := parseUint(v, max)
				if err != nil {
					s.lost = append(s.lost, lost{src: src, what: what, reason: err.Error()})
					return "", false
				}
				return tomlInt(x), true
			}
			switch o {
			case "check":
				s.check = true
			case "no-check":
				s.check = false
			case "inter", "fastinter", "downinter":
				if d, ok := dur(); ok {
					p.checkParam(s, fromDefault, o, d, src, what)
				}
			case "rise", "fall":
				if x, ok := num(1000); ok {
					p.checkParam(s, fromDefault, o, x, src, what)
				}
			case "port":
				if x, ok := num(65535); ok {
					p.checkParam(s, fromDefault, "port", x, src, what)
				}
			case "addr":
				if _, err := netip.ParseAddr(v); err != nil {
					s.lost = append(s.lost, lost{src: src, what: what, reason: "check address must be an IP address"})
					continue
				}
				p.checkParam(s, fromDefault, "addr", tomlString(v), src, what)
			case "check-ssl":
				p.checkParam(s, fromDefault, "ssl", "true", src, what)
			case "no-check-ssl":
				delete(s.own, "ssl")
			case "weight":
				if x, ok := num(256); ok {
					setKV("weight", x)
				}
			case "backup":
				setKV("backup", "true")
			case "no-backup":
				delete(vals, "backup")
			case "disabled":
				setKV("disabled", "true")
			case "enabled":
				delete(vals, "disabled")
			case "cookie":
				setKV("cookie", tomlString(v))
			case "maxconn":
				if x, ok := num(1 << 20); ok {
					setKV("maxconn", x)
				}
			case "slowstart":
				if d, ok := dur(); ok {
					setKV("slowstart", d)
				}
			case "send-proxy":
				setKV("send_proxy", "true")
			case "send-proxy-v2":
				setKV("send_proxy_v2", "true")
			case "no-send-proxy":
				delete(vals, "send_proxy")
			case "no-send-proxy-v2":
				delete(vals, "send_proxy_v2")
			case "ssl":
				setKV("ssl", "true")
			case "no-ssl":
				delete(vals, "ssl")
			case "observe":
				setKV("observe", tomlString(v))
			case "error-limit":
				if x, ok := num(1000); ok {
					setKV("error_limit", x)
				}
			case "on-error":
				setKV("on_error", tomlString(v))
			case "track":
				setKV("track", tomlString(v))
			case "id":
				// Only numbers the server in HAProxy's stats.
			default:
				s.lost = append(s.lost, lost{src: src, what: what, reason: "not supported"})
			}
		}
	}
	for _, d := range p.set.defServer {
		apply(d.words[1:], d.src, true)
	}
	apply(w[3:], src, false)
	s.kvs = []*kv{{key: "name", value: tomlString(s.name)}, {key: "address", value: tomlString(s.addr)}}
	for _, k := range serverKeyOrder {
		if v, ok := vals[k]; ok {
			s.kvs = append(s.kvs, v)
		}
	}
}

// checkParam records a check setting from a server or default-server line:
// default-server ones belong to the backend's check table, a server's own
// to the server (until they are found common to all servers).
func (p *hproxy) checkParam(s *serverSpec, fromDefault bool, key, value string, src srcRef, what string) {
	if fromDefault {
		return // applied to the backend's table by defaultServerChecks
	}
	s.own[key] = checkField{value: value, src: src, what: what}
}

// defaultServerChecks moves the check settings of default-server lines
// into a check table.
func defaultServerChecks(lines []hline, c checkSpec) {
	for _, l := range lines {
		w := l.words
		for i := 1; i < len(w); i++ {
			o := w[i]
			n := serverOpts[o]
			if i+n >= len(w) {
				break
			}
			v := ""
			if n == 1 {
				v = w[i+1]
			}
			what := o + " " + v
			switch o {
			case "inter", "fastinter", "downinter":
				if d, err := parseHAProxyTime(v, time.Millisecond); err == nil && d > 0 {
					c[o] = checkField{value: tomlString(fmtDur(d)), src: l.src, what: what}
				}
			case "rise", "fall":
				if x, err := parseUint(v, 1000); err == nil {
					c[o] = checkField{value: tomlInt(x), src: l.src, what: what}
				}
			case "port":
				if x, err := parseUint(v, 65535); err == nil {
					c["port"] = checkField{value: tomlInt(x), src: l.src, what: what}
				}
			case "addr":
				if _, err := netip.ParseAddr(v); err == nil {
					c["addr"] = checkField{value: tomlString(v), src: l.src, what: what}
				}
			case "check-ssl":
				c["ssl"] = checkField{value: "true", src: l.src, what: o}
			}
			i += n
		}
	}
}

// serverAddr reads ADDRESS:PORT with an IP address.
func serverAddr(a string) (string, error) {
	for _, pre := range []string{"ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@"} {
		a = strings.TrimPrefix(a, pre)
	}
	if strings.HasPrefix(a, "/") || strings.Contains(a, "@") {
		return "", fmt.Errorf("server address %q: only IP addresses are supported", a)
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return "", fmt.Errorf("server address %q has no port: HAProxy would use the client's destination port, tandem needs one", a)
	}
	host, port := a[:i], a[i+1:]
	if port == "" || port[0] == '+' || port[0] == '-' {
		return "", fmt.Errorf("server address %q: port offsets are not supported", a)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("server address %q: invalid port", a)
	}
	addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return "", fmt.Errorf("server address %q: tandem needs an IP address (host names are not resolved)", a)
	}
	return netip.AddrPortFrom(addr, uint16(n)).String(), nil
}
