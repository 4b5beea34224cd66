package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

// Node is one load balancer of the pair: the seed is lb1's configuration,
// lb2 differs only in its VRRP state wish and priority (the article's
// keepalived pair).
type Node struct {
	Name     string // "lb1"
	State    string // "master" | "backup"
	Priority int
}

// Nodes are the two load balancers, lb1 first.
var Nodes = []Node{
	{Name: "lb1", State: "master", Priority: 101},
	{Name: "lb2", State: "backup", Priority: 100},
}

// Overrides say how one generated configuration differs from the seed.
// The zero value (apart from Node) reproduces the seed.
type Overrides struct {
	Node Node
	// AddrMap replaces IPv4 addresses ("192.0.2.21" -> "192.168.8.111")
	// everywhere, comments included. With a map set, a lab (192.0.2.x)
	// address missing from it is an error, so none leaks unmapped.
	AddrMap map[string]string
	// LogTarget, AdminSocket and CheckInter replace [log] target,
	// [global] admin_socket and every backend's check inter when set.
	LogTarget   string
	AdminSocket string
	CheckInter  string
	// Strip names seed features left out because this tandem rejects them
	// as not built yet (keys of Features).
	Strip []string
	// Source names where the configuration is for, in the header comment.
	Source string
	// Peers adds the pair's [peers] section: this node and the other one
	// of Nodes at their lab addresses, port PeersPort, PeersSecret.
	Peers bool
	// Pinned adds the "pinned" backend (/pinned/ on the seed's frontend):
	// default_servers' servers with a stick table on the client's source
	// address and no cookie, so a client's pin lives only in the table and
	// only the [peers] link can carry it to the other node.
	Pinned bool
}

// The pair's [peers] link. The secret is a demo's: a real pair has its own.
const (
	PeersPort   = 10000
	PeersSecret = "tandem demo pair secret, change me"
)

// The pinned backend: its name (also its stick table's), the path prefix
// the seed's frontend routes to it, and its table's expiry.
const (
	PinnedBackend = "pinned"
	PinnedPath    = "/pinned/"
	PinnedExpire  = "10m"
)

// peerOf returns the other node of the pair.
func peerOf(n Node) Node {
	if n.Name == Nodes[0].Name {
		return Nodes[1]
	}
	return Nodes[0]
}

// peersAddr is where n's peers link listens: its lab address.
func peersAddr(n Node) string {
	return fmt.Sprintf("%s:%d", HostAddrs[n.Name].Addr(), PeersPort)
}

// seedServer is a server line of the pinned backend.
type seedServer struct{ name, address string }

// pinnedServers returns default_servers' servers, which the pinned
// backend shares.
func pinnedServers(m map[string]any) ([]seedServer, error) {
	for _, b := range tables(m["backend"]) {
		if b["name"] != "default_servers" {
			continue
		}
		var out []seedServer
		for _, s := range tables(b["server"]) {
			name, _ := s["name"].(string)
			addr, _ := s["address"].(string)
			out = append(out, seedServer{name, addr})
		}
		if len(out) == 0 {
			break
		}
		return out, nil
	}
	return nil, errors.New("seed has no default_servers backend with servers for the pinned backend")
}

func (o Overrides) checkInter() string {
	if o.CheckInter != "" {
		return o.CheckInter
	}
	return "2s"
}

// pinnedText is the pinned backend as the generated file writes it.
func pinnedText(servers []seedServer, o Overrides) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Not in the seed: %[1]s is default_servers' pair of servers, but a client is
# pinned to one by its source address in a stick table, with no cookie, so
# the pin exists only in the table and only [peers] carries it to the other
# node: after a failover the client stays on its server.
[[backend]]
name = %[2]q
balance = "roundrobin"
stick_table = { type = "ip", size = 1000, expire = %[3]q }
stick_on = "src"
check = { type = "http", path = "/", expect_status = "200-399", inter = %[4]q, rise = 2, fall = 3 }
server = [
`, PinnedPath, PinnedBackend, PinnedExpire, o.checkInter())
	for _, s := range servers {
		fmt.Fprintf(&b, "  { name = %q, address = %q, maxconn = 300, check = true },\n", s.name, s.address)
	}
	b.WriteString("]\n")
	return b.String()
}

// peersText is the [peers] section as the generated file writes it.
func peersText(n Node) string {
	p := peerOf(n)
	return fmt.Sprintf(`# Not in the seed: the pair acts as one. Stick-table entries and operators'
# server states (drain, maint, weight) are replicated to the other node,
# and the two configurations are compared section by section.
[peers]
local = %q
bind = %q
peer = { name = %q, address = %q }
secret = %q
`, n.Name, peersAddr(n), p.Name, peersAddr(p), PeersSecret)
}

// Features are the seed features a tandem may not have yet, by the name
// the demo uses, with how `tandem check` names them and what leaving them
// out removes.
var Features = map[string]struct {
	// matches reports whether a check message ("backend \"ms1\": cookie:
	// not supported yet") is about this feature.
	matches func(msg string) bool
	strip   func(m map[string]any)
}{
	"cookie": {
		matches: func(msg string) bool { return strings.Contains(msg, "cookie: not supported yet") },
		strip: func(m map[string]any) {
			for _, b := range tables(m["backend"]) {
				delete(b, "cookie")
				for _, s := range tables(b["server"]) {
					delete(s, "cookie")
				}
			}
		},
	},
	"stats": {
		matches: func(msg string) bool {
			return strings.HasPrefix(msg, "stats") && strings.Contains(msg, "not supported yet")
		},
		strip: func(m map[string]any) { delete(m, "stats") },
	},
}

// tables returns v as a list of tables (an array of tables or an array of
// inline tables); anything else gives nil.
func tables(v any) []map[string]any {
	switch v := v.(type) {
	case []map[string]any:
		return v
	case []any:
		var out []map[string]any
		for _, e := range v {
			if t, ok := e.(map[string]any); ok {
				out = append(out, t)
			}
		}
		return out
	}
	return nil
}

func table(v any) map[string]any {
	t, _ := v.(map[string]any)
	return t
}

var ipv4Addr = regexp.MustCompile(`\b[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\b`)

// Generate returns the configuration o describes. It edits the seed's text
// line by line so comments and layout survive, and checks the result
// against the same edits made on the decoded seed; if the text edits do not
// give exactly that (the seed's layout changed in a way they do not know),
// it writes the decoded form instead. Either way the result means exactly
// the seed plus o.
func Generate(seed []byte, o Overrides) ([]byte, error) {
	var want map[string]any
	if _, err := toml.Decode(string(seed), &want); err != nil {
		return nil, fmt.Errorf("decode seed: %w", err)
	}
	var pinned []seedServer
	if o.Pinned {
		var err error
		if pinned, err = pinnedServers(want); err != nil {
			return nil, err
		}
	}
	if err := editMap(want, o); err != nil {
		return nil, err
	}
	header := headerComment(o)
	text, err := editText(string(seed), o, pinned)
	if err == nil {
		var got map[string]any
		if _, derr := toml.Decode(text, &got); derr == nil && cmp.Equal(got, want) {
			return []byte(header + text), nil
		}
	}
	var buf bytes.Buffer
	enc := toml.NewEncoder(&buf)
	enc.Indent = ""
	if err := enc.Encode(want); err != nil {
		return nil, fmt.Errorf("encode %s configuration: %w", o.Node.Name, err)
	}
	return []byte(header + buf.String()), nil
}

func headerComment(o Overrides) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# tandem configuration of %s", o.Node.Name)
	if o.Source != "" {
		fmt.Fprintf(&b, " (%s)", o.Source)
	}
	b.WriteString(", generated by vagrant/demo from\n# deploy/examples/seed.toml (the seed article's HAProxy + keepalived setup).\n")
	fmt.Fprintf(&b, "# VRRP: state %s, priority %d.", o.Node.State, o.Node.Priority)
	switch {
	case o.Peers && o.Pinned:
		fmt.Fprintf(&b, " Added: [peers] (the link to %s) and the %s backend.", peerOf(o.Node).Name, PinnedBackend)
	case o.Peers:
		fmt.Fprintf(&b, " Added: [peers] (the link to %s).", peerOf(o.Node).Name)
	case o.Pinned:
		fmt.Fprintf(&b, " Added: the %s backend.", PinnedBackend)
	}
	if len(o.Strip) > 0 {
		fmt.Fprintf(&b, " Left out (not built yet in this tandem): %s.", strings.Join(o.Strip, ", "))
	}
	b.WriteString("\n# Do not edit: `go test ./vagrant/demo -update` rewrites the Vagrant copies.\n\n")
	return b.String()
}

func mapAddr(s string, m map[string]string) (string, error) {
	if m == nil {
		return s, nil
	}
	var missing []string
	out := ipv4Addr.ReplaceAllStringFunc(s, func(a string) string {
		if to, ok := m[a]; ok {
			return to
		}
		if strings.HasPrefix(a, "192.0.2.") {
			missing = append(missing, a)
		}
		return a
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("address %s has no mapping", missing[0])
	}
	return out, nil
}

// editMap applies o to a decoded configuration.
func editMap(m map[string]any, o Overrides) error {
	vr := table(m["vrrp"])
	insts := tables(vr["instance"])
	if len(insts) == 0 {
		return errors.New("seed has no [[vrrp.instance]]")
	}
	for _, in := range insts {
		in["state"] = o.Node.State
		in["priority"] = int64(o.Node.Priority)
	}
	if o.AdminSocket != "" {
		g := table(m["global"])
		if g == nil {
			g = map[string]any{}
			m["global"] = g
		}
		g["admin_socket"] = o.AdminSocket
	}
	if o.LogTarget != "" {
		l := table(m["log"])
		if l == nil {
			l = map[string]any{}
			m["log"] = l
		}
		l["target"] = o.LogTarget
	}
	if o.CheckInter != "" {
		for _, b := range tables(m["backend"]) {
			if c := table(b["check"]); c != nil {
				c["inter"] = o.CheckInter
			}
		}
	}
	if o.Pinned {
		if err := addPinned(m, o); err != nil {
			return err
		}
	}
	if o.Peers {
		p := peerOf(o.Node)
		m["peers"] = map[string]any{
			"local":  o.Node.Name,
			"bind":   peersAddr(o.Node),
			"peer":   map[string]any{"name": p.Name, "address": peersAddr(p)},
			"secret": PeersSecret,
		}
	}
	for _, f := range o.Strip {
		feat, ok := Features[f]
		if !ok {
			return fmt.Errorf("unknown feature %q", f)
		}
		feat.strip(m)
	}
	var walk func(v any) (any, error)
	walk = func(v any) (any, error) {
		switch v := v.(type) {
		case string:
			return mapAddr(v, o.AddrMap)
		case map[string]any:
			for k, e := range v {
				n, err := walk(e)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				v[k] = n
			}
		case []map[string]any:
			for i := range v {
				if _, err := walk(v[i]); err != nil {
					return nil, err
				}
			}
		case []any:
			for i := range v {
				n, err := walk(v[i])
				if err != nil {
					return nil, err
				}
				v[i] = n
			}
		}
		return v, nil
	}
	_, err := walk(m)
	return err
}

// addPinned adds the pinned backend and its route to a decoded
// configuration.
func addPinned(m map[string]any, o Overrides) error {
	servers, err := pinnedServers(m)
	if err != nil {
		return err
	}
	fes := tables(m["frontend"])
	if len(fes) == 0 {
		return errors.New("seed has no [[frontend]] to route " + PinnedPath + " from")
	}
	fe := fes[0]
	acl := table(fe["acl"])
	if acl == nil {
		acl = map[string]any{}
		fe["acl"] = acl
	}
	acl["url_pinned"] = "path_beg -i " + PinnedPath
	route := map[string]any{"backend": PinnedBackend, "if": "url_pinned"}
	switch ub := fe["use_backend"].(type) {
	case []map[string]any:
		fe["use_backend"] = append(ub, route)
	case []any:
		fe["use_backend"] = append(ub, route)
	case nil:
		fe["use_backend"] = []any{route}
	default:
		return fmt.Errorf("seed frontend use_backend is a %T, want an array of tables", ub)
	}
	var srv []any // as the decoder gives an array of inline tables
	for _, s := range servers {
		srv = append(srv, map[string]any{"name": s.name, "address": s.address, "maxconn": int64(300), "check": true})
	}
	b := map[string]any{
		"name":        PinnedBackend,
		"balance":     "roundrobin",
		"stick_table": map[string]any{"type": "ip", "size": int64(1000), "expire": PinnedExpire},
		"stick_on":    "src",
		"check": map[string]any{"type": "http", "path": "/", "expect_status": "200-399",
			"inter": o.checkInter(), "rise": int64(2), "fall": int64(3)},
		"server": srv,
	}
	switch bs := m["backend"].(type) {
	case []map[string]any:
		m["backend"] = append(bs, b)
	case []any:
		m["backend"] = append(bs, b)
	default:
		return errors.New("seed has no [[backend]] array")
	}
	return nil
}

var (
	headerLine  = regexp.MustCompile(`^\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$`)
	inlineInter = regexp.MustCompile(`(\binter\s*=\s*)"[^"]*"`)
	inlineCook  = regexp.MustCompile(`,\s*cookie\s*=\s*"[^"]*"`)
	cookieTable = regexp.MustCompile(`^\s*cookie\s*=\s*\{[^}]*\}\s*(#.*)?$`)
)

// setKey replaces the scalar value of `key = value` on line and drops a
// trailing comment (it described the seed's value); ok is false when the
// line is not that key.
func setKey(line, key, value string) (string, bool) {
	re := regexp.MustCompile(`^(\s*` + regexp.QuoteMeta(key) + `\s*=\s*)("[^"]*"|[0-9]+)(.*)$`)
	m := re.FindStringSubmatch(line)
	if m == nil {
		return line, false
	}
	return m[1] + value, true
}

// editText applies o to the seed's text. The leading comment block (which
// describes the seed itself) is replaced by Generate's header.
func editText(seed string, o Overrides, pinned []seedServer) (string, error) {
	lines := strings.Split(seed, "\n")
	i := 0
	for i < len(lines) && (strings.HasPrefix(strings.TrimSpace(lines[i]), "#") || strings.TrimSpace(lines[i]) == "") {
		i++
	}
	lines = lines[i:]
	strip := func(f string) bool { return slices.Contains(o.Strip, f) }
	var out []string
	section := ""
	counts := map[string]int{}
	inRoutes := false
	for _, line := range lines {
		if m := headerLine.FindStringSubmatch(line); m != nil {
			if section == "backend" && m[1] != "backend" && o.Pinned && counts["pinned"] == 0 {
				out = append(out, strings.Split(pinnedText(pinned, o), "\n")...)
				counts["pinned"]++
			}
			section = m[1]
		}
		if section == "stats" && strip("stats") {
			continue
		}
		var ok bool
		switch section {
		case "frontend":
			if !o.Pinned || counts["route"] > 0 {
				break
			}
			switch t := strings.TrimSpace(line); {
			case strings.HasPrefix(t, "use_backend") && strings.HasSuffix(t, "["):
				out = append(out, fmt.Sprintf("acl.url_pinned = %q", "path_beg -i "+PinnedPath))
				inRoutes = true
			case inRoutes && t == "]":
				out = append(out, fmt.Sprintf("  { backend = %q, if = \"url_pinned\" },", PinnedBackend))
				inRoutes = false
				counts["route"]++
			}
		case "vrrp.instance":
			if line, ok = setKey(line, "state", fmt.Sprintf("%q", o.Node.State)); ok {
				counts["state"]++
			}
			if line, ok = setKey(line, "priority", fmt.Sprint(o.Node.Priority)); ok {
				counts["priority"]++
			}
		case "global":
			if o.AdminSocket != "" {
				if line, ok = setKey(line, "admin_socket", fmt.Sprintf("%q", o.AdminSocket)); ok {
					counts["admin_socket"]++
				}
			}
		case "log":
			if o.LogTarget != "" {
				if line, ok = setKey(line, "target", fmt.Sprintf("%q", o.LogTarget)); ok {
					counts["target"]++
				}
			}
		case "backend":
			if strip("cookie") {
				if cookieTable.MatchString(line) {
					continue
				}
				line = inlineCook.ReplaceAllString(line, "")
			}
			if o.CheckInter != "" && strings.HasPrefix(strings.TrimSpace(line), "check") {
				line = inlineInter.ReplaceAllString(line, `${1}"`+o.CheckInter+`"`)
			}
		}
		out = append(out, line)
	}
	if counts["state"] == 0 || counts["priority"] == 0 {
		return "", errors.New("seed text: no state/priority line under [[vrrp.instance]]")
	}
	if o.Pinned && (counts["route"] == 0 || counts["pinned"] == 0) {
		return "", errors.New("seed text: no multi-line use_backend array or no section after the backends")
	}
	text := strings.Join(out, "\n")
	if o.Peers {
		text = strings.TrimRight(text, "\n") + "\n\n" + peersText(o.Node)
	}
	text, err := mapAddr(text, o.AddrMap)
	if err != nil {
		return "", err
	}
	return text, nil
}

// checkLine is "FILE:LINE:COL: message".
var checkLine = regexp.MustCompile(`^.*?:[0-9]+:[0-9]+: (.*)$`)

// MissingFeatures runs `tandem check -c file` and returns, for each seed
// feature it rejects as not built yet, the first message it gave about it
// (the demo prints it as the reason a step cannot pass). Any other error
// is returned as an error with check's output.
func MissingFeatures(ctx context.Context, tandem, file string) (map[string]string, error) {
	out, err := exec.CommandContext(ctx, tandem, "check", "-c", file).CombinedOutput()
	if err == nil {
		return nil, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return nil, fmt.Errorf("run tandem check: %w", err)
	}
	missing := map[string]string{}
	var other []string
	for _, line := range strings.Split(string(out), "\n") {
		m := checkLine.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(m[1], "warning:") {
			continue
		}
		found := false
		for _, name := range sortedFeatures() {
			if Features[name].matches(m[1]) {
				if _, seen := missing[name]; !seen {
					missing[name] = m[1]
				}
				found = true
				break
			}
		}
		if !found {
			other = append(other, line)
		}
	}
	if len(other) > 0 || len(missing) == 0 {
		return nil, fmt.Errorf("tandem check -c %s rejects the configuration:\n%s", file, bytes.TrimSpace(out))
	}
	return missing, nil
}

func sortedFeatures() []string {
	names := make([]string, 0, len(Features))
	for n := range Features {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// VagrantAddrs maps the lab's addresses to the Vagrant host-only network's,
// which are the seed article's (192.168.8.111/112 for the web servers,
// 192.168.8.201 for the VIP).
var VagrantAddrs = map[string]string{
	"192.0.2.11":  "192.168.8.101",
	"192.0.2.12":  "192.168.8.102",
	"192.0.2.21":  "192.168.8.111",
	"192.0.2.22":  "192.168.8.112",
	"192.0.2.100": "192.168.8.201",
}

// VagrantOverrides are the Vagrant box's configuration for n: the seed
// with the host-only network's addresses, logging to the local rsyslog the
// RPM configures, the default admin socket, and the pair's additions
// ([peers], the pinned backend).
func VagrantOverrides(n Node) Overrides {
	return Overrides{Node: n, AddrMap: VagrantAddrs, Peers: true, Pinned: true, Source: "Vagrant box " + n.Name + ", /etc/tandem/tandem.toml"}
}

// NetnsOverrides are the namespace demo's configuration for n: logs to
// stderr (the demo sends it to DIR/NODE.log), an admin socket per node in
// dir, faster health checks so the demo's steps take seconds, the pair's
// additions ([peers], the pinned backend) and the features this tandem
// does not have left out.
func NetnsOverrides(n Node, dir string, strip []string) Overrides {
	return Overrides{
		Node:        n,
		LogTarget:   "stderr",
		AdminSocket: dir + "/" + n.Name + ".sock",
		CheckInter:  "500ms",
		Strip:       strip,
		Peers:       true,
		Pinned:      true,
		Source:      "network-namespace demo",
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
