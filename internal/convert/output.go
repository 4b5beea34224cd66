package convert

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The output is a list of sections, each a list of entries; an entry is a
// key with a value, or an array whose elements are written one per line.
// Every part remembers the input lines it came from, so that it can be
// written as comments when it is not converted (by the converter, or later
// because the loader rejects it), and the lines of the output it occupies,
// so that a loader diagnostic can be traced back to it.

// lost is a part of an input line that was left out of a converted thing.
type lost struct {
	src    srcRef
	what   string // the words left out; "" for the whole line
	reason string
}

// node holds what sections, entries and items share.
type node struct {
	srcs    []srcRef
	notes   []string // comments explaining a mapping that is not one-to-one
	lost    []lost
	demoted bool
	reason  string
	line    int // first output line (1-based), set by render
	endLine int
}

func (n *node) from(s ...srcRef) {
	for _, r := range s {
		if r.valid() {
			n.srcs = append(n.srcs, r)
		}
	}
}

func (n *node) note(format string, args ...any) {
	n.notes = append(n.notes, fmt.Sprintf(format, args...))
}

func (n *node) lose(src srcRef, what, reason string) {
	n.lost = append(n.lost, lost{src: src, what: what, reason: reason})
}

func (n *node) demote(reason string) {
	if !n.demoted {
		n.demoted, n.reason = true, reason
	}
}

// kv is one key of an inline table that can be left out on its own (a
// server's cookie, say) when the loader rejects it.
type kv struct {
	key, value string
	what       string // the input words it came from
	src        srcRef
	dropped    bool
}

type item struct {
	node
	value string // inline TOML, or built from kvs
	kvs   []*kv
}

func (it *item) val() string {
	if it.kvs != nil {
		return renderKVs(it.kvs)
	}
	return it.value
}

type entry struct {
	node
	key   string // TOML key as written ("" for a comment-only entry)
	value string // inline TOML; unused for arrays
	kvs   []*kv  // when the value is an inline table of droppable keys
	array bool
	items []*item
}

func (e *entry) val() string {
	if e.kvs != nil {
		return renderKVs(e.kvs)
	}
	return e.value
}

func renderKVs(kvs []*kv) string {
	var t inline
	for _, p := range kvs {
		if !p.dropped {
			t.add(p.key, p.value)
		}
	}
	return t.String()
}

// dropKV leaves out the key a loader message names ("server a/b: cookie:
// not supported yet"); it reports whether one was found.
func dropKV(n *node, kvs []*kv, msg, reason string) bool {
	for _, p := range kvs {
		if p.dropped || p.key == "name" {
			continue
		}
		if strings.Contains(msg, ": "+p.key+": ") || strings.HasPrefix(msg, p.key+": ") {
			p.dropped = true
			what := p.what
			if what == "" {
				what = p.key + " = " + p.value
			}
			src := p.src
			if !src.valid() && len(n.srcs) > 0 {
				src = n.srcs[0]
			}
			n.lose(src, what, reason)
			return true
		}
	}
	return false
}

type section struct {
	node
	header string // "[global]", "[[frontend]]"
	title  string // `frontend "http-in"`, for messages
	lead   []string
	ents   []*entry
}

type document struct {
	lead     []string // comments at the top
	sections []*section
}

func (s *section) add(e *entry) *entry {
	s.ents = append(s.ents, e)
	return e
}

// set adds key = value.
func (s *section) set(key, value string, src ...srcRef) *entry {
	e := &entry{key: key, value: value}
	e.from(src...)
	return s.add(e)
}

// get returns the live entry for key, or nil.
func (s *section) get(key string) *entry {
	for _, e := range s.ents {
		if e.key == key && !e.demoted {
			return e
		}
	}
	return nil
}

// array returns the array entry for key, creating it.
func (s *section) arrayEntry(key string) *entry {
	for _, e := range s.ents {
		if e.key == key && e.array {
			return e
		}
	}
	return s.add(&entry{key: key, array: true})
}

// unconverted records an input line that has no equivalent.
func (s *section) unconverted(src srcRef, reason string) *entry {
	e := &entry{}
	e.from(src)
	e.demote(reason)
	return s.add(e)
}

// comment adds a comment-only entry that is not an issue.
func (s *section) comment(src srcRef, format string, args ...any) *entry {
	e := &entry{}
	e.from(src)
	e.note(format, args...)
	return s.add(e)
}

func (e *entry) addItem(value string, src ...srcRef) *item {
	it := &item{value: value}
	it.from(src...)
	e.items = append(e.items, it)
	return it
}

// Copies, for a part written twice (the plain and TLS halves of a
// frontend): each copy records its own output lines and rejections.

func (n node) clone() node {
	n.srcs = slices.Clone(n.srcs)
	n.notes = slices.Clone(n.notes)
	n.lost = slices.Clone(n.lost)
	return n
}

func cloneKVs(kvs []*kv) []*kv {
	if kvs == nil {
		return nil
	}
	out := make([]*kv, len(kvs))
	for i, p := range kvs {
		c := *p
		out[i] = &c
	}
	return out
}

func cloneItems(items []*item) []*item {
	out := make([]*item, len(items))
	for i, it := range items {
		out[i] = &item{node: it.node.clone(), value: it.value, kvs: cloneKVs(it.kvs)}
	}
	return out
}

func (e *entry) clone() *entry {
	return &entry{node: e.node.clone(), key: e.key, value: e.value, kvs: cloneKVs(e.kvs), array: e.array, items: cloneItems(e.items)}
}

func cloneEntries(ents []*entry) []*entry {
	out := make([]*entry, len(ents))
	for i, e := range ents {
		out[i] = e.clone()
	}
	return out
}

// writer renders the document and records output line numbers.
type writer struct {
	b    strings.Builder
	line int // lines written so far
}

func (w *writer) put(s string) {
	w.b.WriteString(s)
	w.b.WriteByte('\n')
	w.line++
}

func (w *writer) comment(indent, s string) {
	for _, l := range strings.Split(s, "\n") {
		w.put(indent + "# " + commentSafe(l))
	}
}

// commentSafe writes the bytes TOML forbids in comments (control
// characters, invalid UTF-8) as \xNN.
func commentSafe(s string) string {
	ok := utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f })
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || r < 0x20 && r != '\t' || r == 0x7f {
			fmt.Fprintf(&b, "\\x%02x", s[i])
			i++
			continue
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}

// explain writes where a thing came from and why it is not (fully) there.
func (w *writer) explain(indent string, n *node, always bool) {
	if always || n.demoted || len(n.notes) > 0 || len(n.lost) > 0 {
		for _, s := range n.srcs {
			w.comment(indent, s.comment())
		}
	}
	for _, s := range n.notes {
		w.comment(indent, s)
	}
	for _, l := range n.lost {
		if l.what != "" {
			w.comment(indent, fmt.Sprintf("not converted: %s: %s", clip(l.what, 80), l.reason))
		} else {
			w.comment(indent, fmt.Sprintf("not converted: %s: %s", l.src.comment(), l.reason))
		}
	}
	if n.demoted && n.reason != "" {
		w.comment(indent, "not converted: "+n.reason)
	}
}

func (d *document) render() []byte {
	w := &writer{}
	for _, l := range d.lead {
		w.comment("", l)
	}
	for _, s := range d.sections {
		w.section(s)
	}
	return []byte(w.b.String())
}

func (w *writer) section(s *section) {
	if w.line > 0 {
		w.put("")
	}
	for _, l := range s.lead {
		w.comment("", l)
	}
	w.explain("", &s.node, false)
	s.line = w.line + 1
	off := s.demoted
	if s.header != "" {
		w.value("", off, s.header)
	}
	for _, e := range s.ents {
		w.entry(e, off)
	}
	s.endLine = w.line
}

// value writes a line of TOML, commented out when off.
func (w *writer) value(indent string, off bool, s string) {
	if off {
		w.put(indent + "# " + s)
		return
	}
	w.put(indent + s)
}

func (w *writer) entry(e *entry, off bool) {
	w.explain("", &e.node, false)
	e.line = w.line + 1
	off = off || e.demoted
	switch {
	case e.key == "":
	case !e.array:
		w.value("", off, e.key+" = "+e.val())
	case len(e.items) == 1 && !e.items[0].demoted && len(e.items[0].notes) == 0 && len(e.items[0].lost) == 0 && e.items[0].kvs == nil && !strings.HasPrefix(e.items[0].value, "{"):
		// A one-element array of a plain value fits on one line.
		e.items[0].line = w.line + 1
		w.value("", off, e.key+" = ["+e.items[0].val()+"]")
		e.items[0].endLine = w.line
	default:
		w.value("", off, e.key+" = [")
		for _, it := range e.items {
			w.explain("  ", &it.node, false)
			it.line = w.line + 1
			w.value("  ", off || it.demoted, it.val()+",")
			it.endLine = w.line
		}
		w.value("", off, "]")
	}
	e.endLine = w.line
}

// reject applies one loader error found on output line n to the live part
// of the document written there: a key of an inline table when the message
// names one, else an array element, else an entry, else a section (its
// header line or a line inside it that belongs to no entry). It reports
// whether anything changed.
func (d *document) reject(n int, msg, reason string) bool {
	for _, s := range d.sections {
		if s.demoted || n < s.line || n > s.endLine {
			continue
		}
		for _, e := range s.ents {
			if e.demoted || e.key == "" || n < e.line || n > e.endLine {
				continue
			}
			for _, it := range e.items {
				if !it.demoted && n >= it.line && n <= it.endLine {
					if !dropKV(&it.node, it.kvs, msg, reason) {
						it.demote(reason)
					}
					return true
				}
			}
			if !dropKV(&e.node, e.kvs, msg, reason) {
				e.demote(reason)
			}
			return true
		}
		s.demote(reason)
		return true
	}
	return false
}

// issues lists every part that was not converted.
func (d *document) issues() []Issue {
	var out []Issue
	add := func(n *node) {
		for _, l := range n.lost {
			text := l.what
			if text == "" {
				text = l.src.Text
			}
			out = append(out, Issue{File: l.src.File, Line: l.src.Line, Text: text, Reason: l.reason})
		}
		if n.demoted && len(n.srcs) > 0 {
			s := n.srcs[0]
			out = append(out, Issue{File: s.File, Line: s.Line, Text: s.Text, Reason: n.reason})
		}
	}
	for _, s := range d.sections {
		add(&s.node)
		if s.demoted {
			continue
		}
		for _, e := range s.ents {
			add(&e.node)
			if e.demoted {
				continue
			}
			for _, it := range e.items {
				add(&it.node)
			}
		}
	}
	return sortIssues(out)
}

// TOML value helpers.

// tomlBareKey quotes a key that is not a bare key (no dots allowed).
func tomlBareKey(k string) string {
	if k == "" || strings.ContainsFunc(k, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) {
		return tomlString(k)
	}
	return k
}

// tomlString writes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 || r == 0x7f || r == 0xfffd {
				fmt.Fprintf(&b, `\u%04X`, r)
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func tomlInt(n int64) string { return strconv.FormatInt(n, 10) }

func tomlBool(v bool) string { return strconv.FormatBool(v) }

// inline builds an inline table from key/value pairs in order.
type inline struct{ kv []string }

func (t *inline) add(k, v string) *inline {
	t.kv = append(t.kv, tomlBareKey(k)+" = "+v)
	return t
}

func (t *inline) str(k, v string) *inline { return t.add(k, tomlString(v)) }

func (t *inline) String() string {
	if len(t.kv) == 0 {
		return "{}"
	}
	return "{ " + strings.Join(t.kv, ", ") + " }"
}

func tomlStrings(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = tomlString(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
