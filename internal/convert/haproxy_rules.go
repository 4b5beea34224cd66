package convert

import (
	"fmt"
	"strings"
)

// rule converts http-request, http-response, redirect, reqadd, rspadd and
// block lines into http_request / http_response tables.
func (p *hproxy) rule(l hline) {
	w, src := l.words, l.src
	response := w[0] == "http-response" || w[0] == "rspadd"
	var args []string
	switch w[0] {
	case "http-request", "http-response":
		args = w[1:]
	case "redirect":
		args = w
	case "block":
		args = append([]string{"deny"}, w[1:]...)
	case "reqadd", "rspadd":
		// reqadd "Name: value" [cond]: an old spelling of add-header.
		if len(w) < 2 {
			p.unconverted(sideFE, src, w[0]+" needs a header line")
			return
		}
		name, val, ok := strings.Cut(w[1], ":")
		if !ok {
			p.unconverted(sideFE, src, w[0]+" needs \"Name: value\"")
			return
		}
		args = append([]string{"add-header", strings.TrimSpace(name), strings.TrimSpace(val)}, w[2:]...)
	}
	sd := sideFE
	if response {
		sd = sideBE
	}
	if len(args) == 0 {
		p.unconverted(sd, src, "needs an action")
		return
	}
	before, ckey, expr := cond(args)
	it := &item{}
	it.from(src)
	add := func(k, v string) { it.kvs = append(it.kvs, &kv{key: k, value: v}) }
	action := before[0]
	a := before[1:]
	need := func(n int) bool {
		if len(a) < n {
			p.unconverted(sd, src, fmt.Sprintf("%s needs %d argument(s)", action, n))
			return false
		}
		if len(a) > n {
			it.lose(src, strings.Join(a[n:], " "), "not supported")
		}
		return true
	}
	switch action {
	case "redirect":
		add("action", `"redirect"`)
		if len(a) < 2 || (a[0] != "location" && a[0] != "prefix" && a[0] != "scheme") {
			p.unconverted(sd, src, "redirect needs location, prefix or scheme and a target")
			return
		}
		add(a[0], tomlString(a[1]))
		for i := 2; i < len(a); i++ {
			switch a[i] {
			case "code":
				if i+1 < len(a) {
					if n, err := parseUint(a[i+1], 999); err == nil {
						add("code", tomlInt(n))
						i++
						continue
					}
				}
				it.lose(src, "code", "needs a number")
			case "drop-query":
				add("drop_query", "true")
			case "set-cookie", "clear-cookie":
				if i+1 < len(a) {
					it.lose(src, a[i]+" "+a[i+1], "not supported")
					i++
				}
			default:
				it.lose(src, a[i], "not supported")
			}
		}
	case "set-header", "add-header":
		if !need(2) {
			return
		}
		add("action", tomlString(action))
		add("name", tomlString(a[0]))
		add("value", tomlString(a[1]))
	case "del-header":
		if len(a) < 1 {
			p.unconverted(sd, src, "del-header needs a name")
			return
		}
		if len(a) > 1 {
			p.unconverted(sd, src, "del-header match methods are not supported")
			return
		}
		add("action", `"del-header"`)
		add("name", tomlString(a[0]))
	case "replace-header", "replace-value":
		if !need(3) {
			return
		}
		add("action", tomlString(action))
		add("name", tomlString(a[0]))
		add("regex", tomlString(a[1]))
		add("replace", tomlString(a[2]))
	case "set-path", "set-query":
		if !need(1) {
			return
		}
		add("action", tomlString(action))
		add("value", tomlString(a[0]))
	case "replace-path":
		if !need(2) {
			return
		}
		add("action", `"replace-path"`)
		add("regex", tomlString(a[0]))
		add("replace", tomlString(a[1]))
	case "deny", "return":
		add("action", tomlString(action))
		for i := 0; i < len(a); i++ {
			if i+1 >= len(a) {
				it.lose(src, a[i], "not supported")
				break
			}
			switch a[i] {
			case "status", "deny_status":
				n, err := parseUint(a[i+1], 999)
				if err != nil {
					p.unconverted(sd, src, "invalid status")
					return
				}
				add("status", tomlInt(n))
			case "content-type":
				add("content_type", tomlString(a[i+1]))
			case "string":
				add("body", tomlString(a[i+1]))
			default:
				it.lose(src, a[i]+" "+a[i+1], "not supported")
			}
			i++
		}
	default:
		p.unconverted(sd, src, fmt.Sprintf("%s %s is not supported", w[0], action))
		return
	}
	if ckey != "" {
		add(ckey, tomlString(expr))
	}
	switch {
	case response && p.kind == "frontend":
		p.feResp = append(p.feResp, it)
	case response:
		p.beResp = append(p.beResp, it)
	case p.kind == "backend":
		p.beReq = append(p.beReq, it)
	default:
		p.feReq = append(p.feReq, it)
	}
}
