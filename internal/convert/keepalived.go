package convert

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"
)

type kresult struct {
	sections []*section
	issues   []Issue
}

// vrrpScript is a vrrp_script block.
type vrrpScript struct {
	src      srcRef
	script   string
	weight   int
	haproxy  bool
	lost     []lost
	scriptAt srcRef
}

type kconv struct {
	file        string
	fronts      []string
	haveHAProxy bool
	scripts     map[string]*vrrpScript
	syncGroup   map[string]string // instance -> group
	version     string
	garp        map[string]setting
	out         []*section
	top         *section // global_defs and other top-level lines
}

func convertKeepalived(file string, src []byte, fronts []string, haveHAProxy bool, readFile func(string) ([]byte, error), glob func(string) ([]string, error)) *kresult {
	nodes, issues := parseKeepalived(file, src, readFile, glob)
	c := &kconv{file: file, fronts: fronts, haveHAProxy: haveHAProxy, scripts: map[string]*vrrpScript{}, syncGroup: map[string]string{}, garp: map[string]setting{}}
	// The instances' sections hold the notes about global lines, since
	// tandem has no global VRRP section.
	c.top = &section{header: "", title: "keepalived"}
	// First the definitions instances refer to.
	for _, n := range nodes {
		if len(n.words) == 0 {
			continue
		}
		switch n.words[0] {
		case "global_defs":
			c.globalDefs(n)
		case "vrrp_script":
			c.script(n)
		case "vrrp_sync_group":
			c.syncGroupBlock(n)
		}
	}
	for _, n := range nodes {
		if len(n.words) == 0 {
			c.top.unconverted(n.src, "a block without a keyword")
			continue
		}
		switch n.words[0] {
		case "global_defs", "vrrp_script", "vrrp_sync_group":
		case "vrrp_instance":
			c.instance(n)
		case "virtual_server", "virtual_server_group", "real_server":
			c.top.unconverted(n.src, "LVS (IPVS) virtual servers are not supported: tandem is a proxy, convert the haproxy.cfg instead")
		case "static_ipaddress", "static_routes", "static_rules", "static_track_group":
			c.top.unconverted(n.src, "static addresses and routes are not supported: configure them on the host")
		case "vrrp_track_process", "track_file", "vrrp_track_file", "bfd_instance", "linkbeat_interfaces":
			c.top.unconverted(n.src, "not supported")
		default:
			c.top.unconverted(n.src, fmt.Sprintf("%s is not supported", n.words[0]))
		}
	}
	res := &kresult{issues: issues, sections: c.out}
	if len(c.top.ents) > 0 {
		// tandem has no global VRRP section: notes on global lines go with
		// the first instance, or stand alone as comments.
		if len(c.out) > 0 {
			c.out[0].ents = append(c.out[0].ents, c.top.ents...)
		} else {
			res.sections = append(res.sections, c.top)
		}
	}
	return res
}

func (c *kconv) globalDefs(n *knode) {
	for _, ch := range n.children {
		if len(ch.words) == 0 {
			continue
		}
		w, src := ch.words, ch.src
		switch w[0] {
		case "router_id", "enable_script_security", "script_user", "max_auto_priority", "process_names", "vrrp_no_swap", "checker_no_swap":
			c.top.comment(src, "not needed by tandem")
		case "vrrp_version":
			if len(w) == 2 && (w[1] == "2" || w[1] == "3") {
				c.version = w[1]
				c.top.comment(src, "applied to every instance")
			} else {
				c.top.unconverted(src, "vrrp_version must be 2 or 3")
			}
		case "vrrp_garp_master_delay", "vrrp_garp_master_repeat", "vrrp_garp_master_refresh":
			key := strings.TrimPrefix(w[0], "vrrp_")
			if v, ok := garpValue(key, w); ok {
				c.garp[key] = setting{value: v, src: src}
				c.top.comment(src, "applied to every instance")
			} else {
				c.top.unconverted(src, "invalid value")
			}
		case "notification_email", "notification_email_from", "smtp_server", "smtp_connect_timeout", "smtp_helo_name", "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker":
			c.top.unconverted(src, "e-mail notifications are not supported: use notify scripts")
		default:
			c.top.unconverted(src, fmt.Sprintf("global_defs %s is not supported", w[0]))
		}
	}
}

func garpValue(key string, w []string) (string, bool) {
	if len(w) != 2 {
		return "", false
	}
	if key == "garp_master_repeat" {
		n, err := parseUint(w[1], 100)
		if err != nil || n < 1 {
			return "", false
		}
		return tomlInt(n), true
	}
	d, err := parseSeconds(w[1])
	if err != nil {
		return "", false
	}
	return tomlString(fmtDur(d)), true
}

// script reads a vrrp_script and recognises the checks that mean "HAProxy
// is running", which become tracks of the converted frontends.
func (c *kconv) script(n *knode) {
	if len(n.words) < 2 {
		c.top.unconverted(n.src, "vrrp_script needs a name")
		return
	}
	s := &vrrpScript{src: n.src}
	c.scripts[n.words[1]] = s
	for _, ch := range n.children {
		if len(ch.words) == 0 {
			continue
		}
		w, src := ch.words, ch.src
		switch w[0] {
		case "script":
			if len(w) >= 2 {
				s.script = strings.Join(w[1:], " ")
				s.scriptAt = src
				s.haproxy = isHAProxyScript(s.script)
			}
		case "weight":
			if len(w) >= 2 {
				var v int
				if _, err := fmt.Sscanf(w[1], "%d", &v); err == nil && v >= -253 && v <= 253 {
					s.weight = v
				}
				if len(w) > 2 {
					s.lost = append(s.lost, lost{src: src, what: strings.Join(w[2:], " "), reason: "not supported"})
				}
			}
		case "interval", "timeout", "rise", "fall", "user", "init_fail":
			// tandem watches its frontends directly: no polling to tune.
		default:
			s.lost = append(s.lost, lost{src: src, what: strings.Join(w, " "), reason: "not supported"})
		}
	}
}

// isHAProxyScript recognises the checks that mean "HAProxy is running":
// killall -0 haproxy, pidof haproxy, pgrep haproxy and systemctl is-active
// haproxy, with paths, options and through sh -c.
func isHAProxyScript(script string) bool {
	words := strings.Fields(script)
	if len(words) == 0 {
		return false
	}
	cmd := path.Base(words[0])
	if (cmd == "sh" || cmd == "bash") && len(words) >= 3 && words[1] == "-c" {
		return isHAProxyScript(strings.Trim(strings.Join(words[2:], " "), `"'`))
	}
	var opts, rest []string
	for _, a := range words[1:] {
		if strings.HasPrefix(a, "-") {
			opts = append(opts, a)
		} else {
			rest = append(rest, a)
		}
	}
	switch cmd {
	case "killall":
		return slices.Contains(opts, "-0") && len(rest) == 1 && rest[0] == "haproxy"
	case "pidof", "pgrep":
		return len(rest) == 1 && rest[0] == "haproxy"
	case "systemctl":
		return len(rest) == 2 && rest[0] == "is-active" && (rest[1] == "haproxy" || rest[1] == "haproxy.service")
	}
	return false
}

func (c *kconv) syncGroupBlock(n *knode) {
	if len(n.words) < 2 {
		c.top.unconverted(n.src, "vrrp_sync_group needs a name")
		return
	}
	for _, ch := range n.children {
		if len(ch.words) == 0 {
			continue
		}
		switch ch.words[0] {
		case "group":
			for _, m := range ch.children {
				for _, name := range m.words {
					c.syncGroup[name] = n.words[1]
				}
			}
		default:
			c.top.unconverted(ch.src, "settings of a sync group (its notify scripts, tracking) are not supported: set them on its instances")
		}
	}
}

func (c *kconv) instance(n *knode) {
	s := &section{header: "[[vrrp.instance]]"}
	s.from(n.src)
	if len(n.words) < 2 {
		s.demote("vrrp_instance needs a name")
		c.out = append(c.out, s)
		return
	}
	name := n.words[1]
	s.title = fmt.Sprintf("vrrp instance %q", name)
	s.set("name", tomlString(name))
	var (
		track     = &entry{key: "track", array: true}
		priority  = int64(100)
		prioEntry *entry
		bonus     int64
		bonusSrc  []srcRef
	)
	if c.version != "" {
		s.set("version", c.version)
	}
	for _, k := range []string{"garp_master_delay", "garp_master_repeat", "garp_master_refresh"} {
		if v, ok := c.garp[k]; ok {
			s.set(k, v.value, v.src)
		}
	}
	if g, ok := c.syncGroup[name]; ok {
		s.set("sync_group", tomlString(g))
	}
	for _, ch := range n.children {
		if len(ch.words) == 0 {
			s.unconverted(ch.src, "a block without a keyword")
			continue
		}
		w, src := ch.words, ch.src
		arg := ""
		if len(w) > 1 {
			arg = w[1]
		}
		switch w[0] {
		case "state":
			switch strings.ToUpper(arg) {
			case "MASTER", "BACKUP":
				s.set("state", tomlString(strings.ToLower(arg)), src)
			default:
				s.unconverted(src, "state must be MASTER or BACKUP")
			}
		case "interface":
			s.set("interface", tomlString(arg), src)
		case "virtual_router_id":
			if v, err := parseUint(arg, 255); err == nil {
				s.set("virtual_router_id", tomlInt(v), src)
			} else {
				s.unconverted(src, "invalid virtual_router_id")
			}
		case "priority":
			if v, err := parseUint(arg, 255); err == nil {
				priority = v
				prioEntry = s.set("priority", tomlInt(v), src)
			} else {
				s.unconverted(src, "invalid priority")
			}
		case "advert_int":
			if d, err := parseSeconds(arg); err == nil && d > 0 {
				s.set("advert_int", tomlString(fmtDur(d)), src)
			} else {
				s.unconverted(src, "invalid advert_int")
			}
		case "version":
			s.set("version", arg, src)
		case "nopreempt":
			s.set("nopreempt", "true", src)
		case "preempt":
		case "preempt_delay", "garp_master_delay", "garp_master_refresh", "garp_master_repeat":
			if v, ok := garpValue(w[0], w); ok {
				if e := s.get(w[0]); e != nil {
					e.value, e.srcs = v, []srcRef{src}
				} else {
					s.set(w[0], v, src)
				}
			} else {
				s.unconverted(src, "invalid value")
			}
		case "authentication":
			c.auth(s, ch)
		case "virtual_ipaddress":
			c.vips(s, ch)
		case "unicast_src_ip":
			s.set("unicast_src_ip", tomlString(arg), src)
		case "unicast_peer":
			e := s.arrayEntry("unicast_peer")
			for _, p := range ch.children {
				if len(p.words) == 0 {
					continue
				}
				it := e.addItem(tomlString(p.words[0]), p.src)
				if len(p.words) > 1 {
					it.lose(p.src, strings.Join(p.words[1:], " "), "not supported")
				}
			}
		case "track_script":
			for _, t := range ch.children {
				if len(t.words) == 0 {
					continue
				}
				b, bs := c.trackScript(track, t)
				bonus += b
				bonusSrc = append(bonusSrc, bs...)
			}
		case "track_interface":
			for _, t := range ch.children {
				if len(t.words) == 0 {
					continue
				}
				weight, extra := trackWeight(t.words[1:])
				it := &item{kvs: []*kv{{key: "interface", value: tomlString(t.words[0])}}}
				it.from(t.src)
				if extra != "" {
					it.lose(t.src, extra, "not supported")
				}
				b := addWeight(it, weight)
				if b != 0 {
					bonus += b
					bonusSrc = append(bonusSrc, t.src)
				}
				track.items = append(track.items, it)
			}
		case "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify":
			e := s.set(w[0], tomlString(arg), src)
			if len(w) > 2 {
				e.lose(src, strings.Join(w[2:], " "), "running notify scripts as another user is not supported")
			}
		case "smtp_alert":
			s.unconverted(src, "e-mail notifications are not supported: use notify scripts")
		case "use_vmac":
			s.set("use_vmac", "true", src)
		case "debug", "dont_track_primary":
			s.comment(src, "not needed by tandem")
		default:
			s.unconverted(src, fmt.Sprintf("%s is not supported", w[0]))
		}
	}
	if len(track.items) > 0 {
		s.add(track)
	}
	if bonus != 0 {
		// keepalived adds a positive weight while the tracked object is
		// fine; tandem adds a (negative) weight while it fails. The same
		// effective priorities come from raising the base priority.
		p := min(priority+bonus, 254)
		if prioEntry == nil {
			prioEntry = s.set("priority", tomlInt(p))
		} else {
			prioEntry.value = tomlInt(p)
		}
		prioEntry.from(bonusSrc...)
		prioEntry.note("%d plus the positive track weights: keepalived adds them while the tracked objects are fine, tandem subtracts them (see track) while they fail", priority)
		if priority+bonus > 254 {
			prioEntry.lose(bonusSrc[0], "", "priority plus weights exceeds 254: capped")
		}
	}
	sortVRRP(s)
	c.out = append(c.out, s)
}

var vrrpOrder = map[string]int{
	"name": 0, "interface": 1, "state": 2, "virtual_router_id": 3, "priority": 4, "version": 5, "advert_int": 6,
	"auth_pass": 7, "nopreempt": 8, "preempt_delay": 9, "unicast_src_ip": 10, "unicast_peer": 11,
	"virtual_ipaddress": 12, "track": 13, "sync_group": 14, "garp_master_delay": 15, "garp_master_repeat": 16,
	"garp_master_refresh": 17, "notify_master": 18, "notify_backup": 19, "notify_fault": 20, "notify_stop": 21, "notify": 22,
}

func sortVRRP(s *section) {
	rank := func(e *entry) int {
		if r, ok := vrrpOrder[e.key]; ok && e.key != "" {
			return r
		}
		return 100
	}
	slices.SortStableFunc(s.ents, func(a, b *entry) int { return rank(a) - rank(b) })
}

// trackWeight reads "weight N [reverse]".
func trackWeight(w []string) (int64, string) {
	if len(w) >= 2 && w[0] == "weight" {
		var v int64
		if _, err := fmt.Sscanf(w[1], "%d", &v); err == nil && v >= -254 && v <= 254 {
			return v, strings.Join(w[2:], " ")
		}
	}
	return 0, strings.Join(w, " ")
}

// addWeight gives a track item tandem's weight for keepalived's, and
// returns the amount to add to the base priority (for a positive weight).
func addWeight(it *item, w int64) int64 {
	switch {
	case w < 0:
		it.kvs = append(it.kvs, &kv{key: "weight", value: tomlInt(w)})
	case w > 0:
		it.kvs = append(it.kvs, &kv{key: "weight", value: tomlInt(-w)})
		it.note("keepalived's weight %d while up: the base priority is raised by %d and tandem takes %d while it fails", w, w, w)
		return w
	}
	return 0
}

func (c *kconv) trackScript(track *entry, t *knode) (int64, []srcRef) {
	name := t.words[0]
	sc, ok := c.scripts[name]
	if !ok {
		it := track.addItem(`{ frontend = "" }`, t.src)
		it.demote(fmt.Sprintf("no vrrp_script named %q", name))
		return 0, nil
	}
	weight := int64(sc.weight)
	extra := ""
	if len(t.words) > 1 {
		weight, extra = trackWeight(t.words[1:])
	}
	if !sc.haproxy {
		it := track.addItem(`{ frontend = "" }`, t.src, sc.scriptAt)
		it.demote(fmt.Sprintf("script %q is not run by tandem: only checks that HAProxy runs (killall -0, pidof, pgrep, systemctl is-active haproxy) convert, to tracks of the frontends", sc.script))
		return 0, nil
	}
	if len(c.fronts) == 0 {
		it := track.addItem(`{ frontend = "" }`, t.src, sc.scriptAt)
		if c.haveHAProxy {
			it.demote("tracks HAProxy, but no frontend was converted from the haproxy.cfg")
		} else {
			it.demote("tracks HAProxy: convert its haproxy.cfg too (--haproxy) so that the frontends are tracked")
		}
		return 0, nil
	}
	var bonus int64
	var srcs []srcRef
	for i, f := range c.fronts {
		it := &item{kvs: []*kv{{key: "frontend", value: tomlString(f)}}}
		it.from(t.src, sc.scriptAt)
		if i == 0 {
			it.note("%q checks that HAProxy runs: tandem tracks its frontends instead", sc.script)
			it.lost = append(it.lost, sc.lost...)
			if extra != "" {
				it.lose(t.src, extra, "not supported")
			}
			if len(c.fronts) > 1 && weight != 0 {
				it.note("the weight applies to each frontend that fails, not once for HAProxy")
			}
		}
		b := addWeight(it, weight)
		if i == 0 && b != 0 {
			bonus, srcs = b, []srcRef{sc.src}
		}
		track.items = append(track.items, it)
	}
	return bonus, srcs
}

func (c *kconv) auth(s *section, n *knode) {
	typ, pass := "", ""
	var passSrc srcRef
	for _, ch := range n.children {
		if len(ch.words) < 2 {
			continue
		}
		switch ch.words[0] {
		case "auth_type":
			typ = strings.ToUpper(ch.words[1])
		case "auth_pass":
			pass, passSrc = ch.words[1], ch.src
		}
	}
	switch {
	case typ == "AH":
		s.unconverted(n.src, "IPsec AH authentication is not supported (only PASS)")
	case pass == "":
		s.unconverted(n.src, "authentication without auth_pass")
	default:
		e := s.set("auth_pass", tomlString(pass), passSrc)
		if len(pass) > 8 {
			e.value = tomlString(pass[:8])
			e.note("keepalived uses the first 8 characters")
		}
	}
}

func (c *kconv) vips(s *section, n *knode) {
	e := s.arrayEntry("virtual_ipaddress")
	for _, ch := range n.children {
		if len(ch.words) == 0 {
			continue
		}
		addr := ch.words[0]
		if _, err := netip.ParsePrefix(addr); err != nil {
			if a, err := netip.ParseAddr(addr); err == nil {
				addr = netip.PrefixFrom(a, a.BitLen()).String()
			}
		}
		t := &inline{}
		t.str("address", addr)
		var rest []string
		simple := true
		for i := 1; i < len(ch.words); i++ {
			switch o := ch.words[i]; o {
			case "dev", "label":
				if i+1 < len(ch.words) {
					t.str(o, ch.words[i+1])
					simple = false
					i++
					continue
				}
				rest = append(rest, o)
			case "brd", "scope", "metric", "preferred_lft":
				if i+1 < len(ch.words) {
					rest = append(rest, o+" "+ch.words[i+1])
					i++
					continue
				}
				rest = append(rest, o)
			default:
				rest = append(rest, o)
			}
		}
		v := tomlString(addr)
		if !simple {
			v = t.String()
		}
		it := e.addItem(v, ch.src)
		if len(rest) > 0 {
			it.lose(ch.src, strings.Join(rest, " "), "not supported")
		}
	}
}
