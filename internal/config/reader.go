package config

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Diagnostic is one error or warning about the configuration, with its place.
type Diagnostic struct {
	File    string
	Pos     Pos
	Msg     string
	Warning bool
}

func (d Diagnostic) String() string {
	kind := ""
	if d.Warning {
		kind = "warning: "
	}
	return fmt.Sprintf("%s:%d:%d: %s%s", d.File, d.Pos.Line, d.Pos.Col, kind, d.Msg)
}

// Diagnostics is every problem found in one load, in source order.
type Diagnostics []Diagnostic

// Errors returns only the errors (not the warnings).
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if !d.Warning {
			out = append(out, d)
		}
	}
	return out
}

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// diags collects diagnostics with positions from the index.
type diags struct {
	file string
	ix   *posIndex
	list Diagnostics
}

func (d *diags) errorf(path, format string, args ...any) {
	d.list = append(d.list, Diagnostic{File: d.file, Pos: d.ix.lookup(path), Msg: fmt.Sprintf(format, args...)})
}

func (d *diags) warnf(path, format string, args ...any) {
	d.list = append(d.list, Diagnostic{File: d.file, Pos: d.ix.lookup(path), Msg: fmt.Sprintf(format, args...), Warning: true})
}

func (d *diags) sorted() Diagnostics {
	sort.SliceStable(d.list, func(i, j int) bool {
		a, b := d.list[i].Pos, d.list[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return d.list
}

// table reads one TOML table strictly: every key read is marked, and done
// reports the keys nobody asked for.
type table struct {
	d    *diags
	path string
	name string // human name for messages, e.g. `backend "ms1"`
	m    map[string]any
	used map[string]bool
}

func newTable(d *diags, path, name string, m map[string]any) *table {
	return &table{d: d, path: path, name: name, m: m, used: make(map[string]bool)}
}

// keyPath turns a message key such as "use_backend[1].if" into an index path.
func (t *table) keyPath(key string) string {
	return join(t.path, indexReplacer.Replace(key))
}

var indexReplacer = strings.NewReplacer("[", ".", "]", "")

func (t *table) errorf(key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if key != "" {
		msg = key + ": " + msg
	}
	if t.name != "" {
		msg = t.name + ": " + msg
	}
	t.d.errorf(t.keyPath(key), "%s", msg)
}

func (t *table) get(key string) (any, bool) {
	v, ok := t.m[key]
	if ok {
		t.used[key] = true
	}
	return v, ok
}

func (t *table) has(key string) bool {
	_, ok := t.m[key]
	return ok
}

func (t *table) str(key, def string) string {
	v, ok := t.get(key)
	if !ok {
		return def
	}
	s, ok := v.(string)
	if !ok {
		t.errorf(key, "must be a string, not %s", typeName(v))
		return def
	}
	return s
}

func (t *table) boolean(key string, def bool) bool {
	v, ok := t.get(key)
	if !ok {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		t.errorf(key, "must be true or false, not %s", typeName(v))
		return def
	}
	return b
}

// integer reads an integer in [lo, hi].
func (t *table) integer(key string, def, lo, hi int) int {
	v, ok := t.get(key)
	if !ok {
		return def
	}
	n, ok := v.(int64)
	if !ok {
		t.errorf(key, "must be an integer, not %s", typeName(v))
		return def
	}
	if n < int64(lo) || n > int64(hi) {
		t.errorf(key, "%d is out of range %d-%d", n, lo, hi)
		return def
	}
	return int(n)
}

// duration reads a duration string such as "5s"; it must be positive unless
// zero is allowed.
func (t *table) duration(key string, def time.Duration, allowZero bool) time.Duration {
	v, ok := t.get(key)
	if !ok {
		return def
	}
	s, ok := v.(string)
	if !ok {
		t.errorf(key, `must be a duration string such as "5s" or "500ms", not %s`, typeName(v))
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.errorf(key, `invalid duration %q (use units such as "500ms", "5s", "1m")`, s)
		return def
	}
	if d < 0 || d == 0 && !allowZero {
		t.errorf(key, "duration %q must be positive", s)
		return def
	}
	return d
}

// strings reads a string or an array of strings.
func (t *table) strings(key string) []string {
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				t.errorf(key+"["+strconv.Itoa(i)+"]", "must be a string, not %s", typeName(e))
				continue
			}
			out = append(out, s)
		}
		return out
	}
	t.errorf(key, "must be a string or an array of strings, not %s", typeName(v))
	return nil
}

// sub returns the sub-table at key, or nil when absent.
func (t *table) sub(key, name string) *table {
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.errorf(key, "must be a table, not %s", typeName(v))
		return nil
	}
	return newTable(t.d, t.keyPath(key), name, m)
}

// tables returns the elements of an array of tables (or of an array of inline
// tables) at key.
func (t *table) tables(key string) []*table {
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	var elems []map[string]any
	switch v := v.(type) {
	case []map[string]any:
		elems = v
	case []any:
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				t.errorf(key+"["+strconv.Itoa(i)+"]", "must be a table, not %s", typeName(e))
				continue
			}
			elems = append(elems, m)
		}
	case map[string]any:
		elems = []map[string]any{v}
	default:
		t.errorf(key, "must be an array of tables, not %s", typeName(v))
		return nil
	}
	out := make([]*table, len(elems))
	for i, m := range elems {
		name := key + "[" + strconv.Itoa(i) + "]"
		if t.name != "" {
			name = t.name + ": " + name
		}
		out[i] = newTable(t.d, join(t.keyPath(key), strconv.Itoa(i)), name, m)
	}
	return out
}

// unsupported reports keys of features that tandem parses but has not built
// yet, so they are never silently ignored.
func (t *table) unsupported(keys ...string) {
	for _, k := range keys {
		if _, ok := t.get(k); ok {
			t.errorf(k, "not supported yet")
		}
	}
}

// done reports every key that was not read.
func (t *table) done() {
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		if !t.used[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.errorf("", "unknown key %q", k)
		// Point at the key itself rather than the table.
		t.d.list[len(t.d.list)-1].Pos = t.d.ix.lookup(t.keyPath(k))
	}
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date"
	}
	return fmt.Sprintf("%T", v)
}

// parseBind reads "*:9001", ":80", "0.0.0.0:80", "127.0.0.1:8080" or
// "[::]:443".
func parseBind(s string) (netip.AddrPort, error) {
	host, port, ok := cutLast(s, ':')
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("bind %q: want ADDRESS:PORT, e.g. \"*:80\"", s)
	}
	p, err := parsePort(port)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bind %q: %w", s, err)
	}
	var addr netip.Addr
	switch {
	case host == "" || host == "*":
		addr = netip.IPv4Unspecified()
	case strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]"):
		addr, err = netip.ParseAddr(host[1 : len(host)-1])
	default:
		addr, err = netip.ParseAddr(host)
	}
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bind %q: address must be an IP address or \"*\"", s)
	}
	return netip.AddrPortFrom(addr.Unmap(), p), nil
}

// parseServerAddr reads "192.0.2.21:8080" or "[2001:db8::1]:80".
func parseServerAddr(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		host, _, ok := cutLast(s, ':')
		if ok && host != "" {
			if _, aerr := netip.ParseAddr(strings.Trim(host, "[]")); aerr != nil {
				return netip.AddrPort{}, fmt.Errorf("address %q: host names are not supported yet, use an IP address", s)
			}
		}
		return netip.AddrPort{}, fmt.Errorf("address %q: want IP:PORT, e.g. \"192.0.2.21:8080\"", s)
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("address %q: port must be 1-65535", s)
	}
	if ap.Addr().IsUnspecified() {
		return netip.AddrPort{}, fmt.Errorf("address %q: a server needs a specific address", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q must be 1-65535", s)
	}
	return uint16(n), nil
}

func cutLast(s string, sep byte) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}
