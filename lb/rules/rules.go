package rules

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/tandemlb/tandem/lb/acl"
)

// Message is the request or response the rules edit; the engine implements
// it (edits are recorded and applied when the head is written out).
//
// Byte slices passed to the edit methods are never modified afterwards:
// literal values are shared by every request using the List, computed ones
// are fresh for each call, so a Message may keep them without copying.
type Message interface {
	acl.Sample
	SetHeader(name, value []byte) // remove all occurrences then add
	AddHeader(name, value []byte)
	DelHeader(name []byte)
	SetHeaderAt(i int, value []byte) // for replace-header
	SetPath(p []byte)
	SetQuery(q []byte) // nil removes the query
	Host() []byte
	Scheme() []byte // "http" or "https" (ssl_fc)
}

// Rule is one http_request or http_response entry as the config loader
// decodes it from TOML (keys in comments).
type Rule struct {
	Action                   string // action: redirect, set-header, add-header, del-header, replace-header, replace-value, set-path, replace-path, set-query, deny, return
	Name, Value              string // name, value
	Regex                    string // regex: replace-header / replace-value / replace-path pattern (RE2)
	Replace                  string // replace: replacement with \1..\9 back-references as HAProxy writes them
	Location, Prefix, Scheme string // location, prefix, scheme: redirect, exactly one of the three
	Code                     int    // code: redirect 301, 302 (default), 303, 307, 308
	DropQuery                bool   // drop_query: redirect option drop-query
	Status                   int    // status: deny (default 403, 502 in responses) / return (default 200)
	ContentType, Body        string // content_type, body: return and deny
	If, Unless               string // if, unless: condition (at most one)
}

// Kind is what the engine must do after the rules ran.
type Kind uint8

const (
	Continue Kind = iota // go on: route the request / forward the response
	Deny                 // answer with Status (and Body if any), do not forward
	Redirect             // answer Status with a Location header
	Return               // answer Status with ContentType and Body
)

func (k Kind) String() string {
	switch k {
	case Deny:
		return "deny"
	case Redirect:
		return "redirect"
	case Return:
		return "return"
	default:
		return "continue"
	}
}

// Verdict is the outcome of Apply. Its slices are shared with the List or
// freshly allocated; the engine must not modify them.
type Verdict struct {
	Kind              Kind
	Status            int
	Location          []byte // redirect
	ContentType, Body []byte
}

// RuleError is one problem with one rule.
type RuleError struct {
	Index int    // position in the list given to Compile
	Key   string // TOML key at fault ("action" for a missing key), "" for the rule itself
	Msg   string
}

func (e RuleError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("rule %d: %s", e.Index, e.Msg)
	}
	return fmt.Sprintf("rule %d: %s: %s", e.Index, e.Key, e.Msg)
}

// Errors lists every problem found by Compile, in rule order.
type Errors []RuleError

func (e Errors) Error() string {
	msgs := make([]string, len(e))
	for i, r := range e {
		msgs[i] = r.Error()
	}
	return strings.Join(msgs, "; ")
}

type action uint8

const (
	actRedirect action = iota
	actSetHeader
	actAddHeader
	actDelHeader
	actReplaceHeader
	actReplaceValue
	actSetPath
	actReplacePath
	actSetQuery
	actDeny
	actReturn
)

type actionDef struct {
	act      action
	keys     []string // keys the action uses
	request  bool     // valid in http_request
	response bool     // valid in http_response
}

var actions = map[string]actionDef{
	"redirect":       {actRedirect, []string{"location", "prefix", "scheme", "code", "drop_query"}, true, true},
	"set-header":     {actSetHeader, []string{"name", "value"}, true, true},
	"add-header":     {actAddHeader, []string{"name", "value"}, true, true},
	"del-header":     {actDelHeader, []string{"name"}, true, true},
	"replace-header": {actReplaceHeader, []string{"name", "regex", "replace"}, true, true},
	"replace-value":  {actReplaceValue, []string{"name", "regex", "replace"}, true, true},
	"set-path":       {actSetPath, []string{"value"}, true, false},
	"replace-path":   {actReplacePath, []string{"regex", "replace"}, true, false},
	"set-query":      {actSetQuery, []string{"value"}, true, false},
	"deny":           {actDeny, []string{"status", "content_type", "body"}, true, true},
	"return":         {actReturn, []string{"status", "content_type", "body"}, true, true},
}

const actionList = "redirect, set-header, add-header, del-header, replace-header, replace-value, set-path, replace-path, set-query, deny or return"

type redirType uint8

const (
	redirLocation redirType = iota
	redirPrefix
	redirScheme
)

type compiled struct {
	act       action
	cond      *acl.Cond
	name      []byte
	value     tmpl // set/add-header, set-path, set-query, redirect target, replacement
	re        *regexp.Regexp
	redir     redirType
	slash     bool // prefix "/": keep the path as is
	dropQuery bool
	verdict   Verdict // precomputed part of a final verdict
}

// List is a compiled rule list. It is immutable and safe for concurrent use.
type List struct {
	rules []compiled
}

// Len returns the number of rules.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.rules)
}

// Compile validates and compiles http_request rules against an ACL set (a
// nil set still knows the predefined ACLs). It returns Errors listing every
// bad rule, not only the first.
func Compile(rules []Rule, set *acl.Set) (*List, error) {
	return compile(rules, set, false)
}

// CompileResponse is Compile for http_response rules: the path and query
// actions are refused, redirect takes only a location, and deny defaults
// to 502 as in HAProxy.
func CompileResponse(rules []Rule, set *acl.Set) (*List, error) {
	return compile(rules, set, true)
}

func compile(rules []Rule, set *acl.Set, response bool) (*List, error) {
	l := &List{rules: make([]compiled, 0, len(rules))}
	var errs Errors
	for i := range rules {
		c, es := compileRule(i, &rules[i], set, response)
		if len(es) > 0 {
			errs = append(errs, es...)
			continue
		}
		l.rules = append(l.rules, c)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return l, nil
}

// compileRule checks one rule; it reports as many independent problems as
// it can find rather than stopping at the first.
func compileRule(idx int, r *Rule, set *acl.Set, response bool) (compiled, Errors) {
	var errs Errors
	bad := func(key, format string, a ...any) {
		errs = append(errs, RuleError{Index: idx, Key: key, Msg: fmt.Sprintf(format, a...)})
	}
	var c compiled

	// The condition is checked whatever the action, so a bad action does
	// not hide a bad condition.
	switch {
	case r.If != "" && r.Unless != "":
		bad("unless", "use either 'if' or 'unless', not both")
	case r.If != "" || r.Unless != "":
		key, expr := "if", r.If
		if r.Unless != "" {
			key, expr = "unless", r.Unless
		}
		cond, err := set.Compile(expr, key == "unless")
		if err != nil {
			bad(key, "%v", err)
		}
		c.cond = cond
	}

	def, ok := actions[r.Action]
	switch {
	case r.Action == "":
		bad("action", "missing action (want %s)", actionList)
		return c, errs
	case !ok:
		bad("action", "unknown action '%s' (want %s)", r.Action, actionList)
		return c, errs
	case response && !def.response:
		bad("action", "action '%s' is only valid in http_request", r.Action)
		return c, errs
	}
	c.act = def.act

	given := map[string]bool{
		"name": r.Name != "", "value": r.Value != "", "regex": r.Regex != "", "replace": r.Replace != "",
		"location": r.Location != "", "prefix": r.Prefix != "", "scheme": r.Scheme != "",
		"code": r.Code != 0, "drop_query": r.DropQuery, "status": r.Status != 0,
		"content_type": r.ContentType != "", "body": r.Body != "",
	}
	for _, k := range []string{"name", "value", "regex", "replace", "location", "prefix", "scheme", "code", "drop_query", "status", "content_type", "body"} {
		if given[k] && !contains(def.keys, k) {
			bad(k, "key '%s' is not used by action '%s'", k, r.Action)
		}
	}

	switch c.act {
	case actSetHeader, actAddHeader, actDelHeader, actReplaceHeader, actReplaceValue:
		if msg := checkHeaderName(r.Name); msg != "" {
			key := "name"
			if r.Name == "" {
				key = "action"
			}
			bad(key, "%s", msg)
		}
		c.name = []byte(r.Name)
	}

	switch c.act {
	case actSetHeader, actAddHeader:
		c.value = valueTmpl(r.Value, "value", bad)
	case actReplaceHeader, actReplaceValue, actReplacePath:
		c.re, c.value = replaceTmpl(r, bad)
	case actSetPath:
		if r.Value == "" {
			bad("action", "action 'set-path' needs 'value'")
			break
		}
		c.value = valueTmpl(r.Value, "value", bad)
		if c.value.static && c.value.lit[0] != '/' {
			bad("value", "path '%s' must start with '/'", r.Value)
		}
	case actSetQuery:
		c.value = valueTmpl(r.Value, "value", bad)
	case actRedirect:
		compileRedirect(&c, r, response, bad)
	case actDeny, actReturn:
		compileReply(&c, r, response, bad)
	}
	return c, errs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type badFunc func(key, format string, a ...any)

// framing headers are refused: rewriting them would let the rules change
// how the message is delimited, which tandem never lets a peer do either.
var framing = map[string]bool{"content-length": true, "transfer-encoding": true}

func checkHeaderName(n string) string {
	if n == "" {
		return "missing 'name' (the header name)"
	}
	for i := 0; i < len(n); i++ {
		if !isTokenChar(n[i]) {
			return fmt.Sprintf("invalid character %q in header name '%s'", n[i], n)
		}
	}
	if framing[strings.ToLower(n)] {
		return fmt.Sprintf("rewriting '%s' would change the message framing; not allowed", n)
	}
	return ""
}

func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func checkFieldValue(key, s string, bad badFunc) bool {
	if i := strings.IndexAny(s, "\r\n\x00"); i >= 0 {
		bad(key, "control character %q not allowed", s[i])
		return false
	}
	return true
}

func valueTmpl(s, key string, bad badFunc) tmpl {
	if !checkFieldValue(key, s, bad) {
		return tmpl{}
	}
	t, err := parseTmpl(s, false)
	if err != nil {
		bad(key, "%v", err)
	}
	return t
}

func replaceTmpl(r *Rule, bad badFunc) (*regexp.Regexp, tmpl) {
	var (
		re  *regexp.Regexp
		t   tmpl
		err error
	)
	if r.Regex == "" {
		bad("action", "action '%s' needs 'regex'", r.Action)
	} else if re, err = regexp.Compile(r.Regex); err != nil {
		msg := err.Error()
		if se, ok := err.(*syntax.Error); ok {
			msg = fmt.Sprintf("invalid regex: %s: '%s'", se.Code, se.Expr)
			switch se.Code {
			case syntax.ErrInvalidPerlOp, syntax.ErrInvalidEscape, syntax.ErrInvalidRepeatOp, syntax.ErrInvalidNamedCapture:
				msg += " (regexes use Go's RE2 syntax: PCRE-only lookarounds, backreferences, possessive quantifiers and atomic groups are not available)"
			}
		}
		bad("regex", "%s", msg)
		re = nil
	}
	if checkFieldValue("replace", r.Replace, bad) {
		if t, err = parseTmpl(r.Replace, true); err != nil {
			bad("replace", "%v", err)
		} else if re != nil && t.maxGroup > re.NumSubexp() {
			bad("replace", "'\\%d' refers to a group the regex does not have (it has %d)", t.maxGroup, re.NumSubexp())
		}
	}
	return re, t
}

func compileRedirect(c *compiled, r *Rule, response bool, bad badFunc) {
	n := 0
	for _, s := range []string{r.Location, r.Prefix, r.Scheme} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		bad("action", "action 'redirect' needs one of 'location', 'prefix' or 'scheme'")
		return
	case n > 1:
		bad("action", "action 'redirect' takes only one of 'location', 'prefix' or 'scheme'")
		return
	}
	switch {
	case r.Location != "":
		c.redir = redirLocation
		c.value = valueTmpl(r.Location, "location", bad)
		if r.DropQuery {
			bad("drop_query", "'drop_query' has no effect with 'location'")
		}
	case response:
		key := "prefix"
		if r.Scheme != "" {
			key = "scheme"
		}
		bad(key, "redirects in http_response only take a 'location'")
		return
	case r.Prefix != "":
		c.redir = redirPrefix
		c.value = valueTmpl(r.Prefix, "prefix", bad)
		c.slash = r.Prefix == "/"
	default:
		c.redir = redirScheme
		c.value = valueTmpl(r.Scheme, "scheme", bad)
		if c.value.static && !validScheme(r.Scheme) {
			bad("scheme", "invalid scheme '%s' (want e.g. \"https\")", r.Scheme)
		}
	}
	c.dropQuery = r.DropQuery
	code := r.Code
	switch code {
	case 0:
		code = 302
	case 301, 302, 303, 307, 308:
	default:
		bad("code", "redirect code %d is not one of 301, 302, 303, 307, 308", r.Code)
	}
	c.verdict = Verdict{Kind: Redirect, Status: code}
	if c.redir == redirLocation && c.value.static {
		c.verdict.Location = c.value.lit
	}
}

func validScheme(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func compileReply(c *compiled, r *Rule, response bool, bad badFunc) {
	kind, status := Return, 200
	if c.act == actDeny {
		kind, status = Deny, 403
		if response {
			status = 502
		}
	}
	if r.Status != 0 {
		status = r.Status
		if status < 200 || status > 599 {
			bad("status", "status %d is outside 200-599", r.Status)
		}
	}
	if r.Body != "" {
		if status == 204 || status == 304 {
			bad("body", "a %d response cannot have a body", status)
		}
		if r.ContentType == "" {
			bad("action", "'body' needs 'content_type'")
		}
	} else if r.ContentType != "" {
		bad("content_type", "'content_type' without 'body'")
	}
	checkFieldValue("content_type", r.ContentType, bad)
	c.verdict = Verdict{Kind: kind, Status: status}
	if r.ContentType != "" {
		c.verdict.ContentType = []byte(r.ContentType)
	}
	if r.Body != "" {
		c.verdict.Body = []byte(r.Body)
	}
}

// Apply runs the rules in order on m; the first final verdict (deny,
// redirect, return) stops. Conditions read m as the engine presents it; in
// tandem edits are recorded and applied when the head is written, so a
// later condition sees the original message, not earlier rewrites. Literal
// header edits do not allocate; computed values and redirect locations do.
func (l *List) Apply(m Message) Verdict {
	if l == nil {
		return Verdict{}
	}
	for i := range l.rules {
		r := &l.rules[i]
		if !r.cond.Match(m) {
			continue
		}
		switch r.act {
		case actSetHeader:
			m.SetHeader(r.name, r.value.expand(nil, m, nil, nil))
		case actAddHeader:
			m.AddHeader(r.name, r.value.expand(nil, m, nil, nil))
		case actDelHeader:
			m.DelHeader(r.name)
		case actReplaceHeader:
			r.replaceHeader(m)
		case actReplaceValue:
			r.replaceValue(m)
		case actSetPath:
			p := r.value.expand(nil, m, nil, nil)
			if len(p) == 0 {
				p = []byte("/")
			}
			m.SetPath(p)
		case actReplacePath:
			p := m.Path()
			if match := r.re.FindSubmatchIndex(p); match != nil {
				np := r.value.expand(make([]byte, 0, len(p)+len(r.value.lit)+16), m, p, match)
				if len(np) == 0 {
					np = []byte("/")
				}
				m.SetPath(np)
			}
		case actSetQuery:
			q := r.value.expand(nil, m, nil, nil)
			// As HAProxy: an empty value leaves a present query empty ("/p?")
			// and adds nothing to a request without one.
			if len(q) == 0 && m.Query() == nil {
				continue
			}
			if q == nil {
				q = []byte{}
			}
			m.SetQuery(q)
		case actRedirect:
			v := r.verdict
			if v.Location == nil {
				v.Location = r.location(m)
			}
			return v
		case actDeny, actReturn:
			return r.verdict
		}
	}
	return Verdict{}
}

// location builds a redirect target as HAProxy's http_apply_redirect_rule:
// prefix + path[?query] (a prefix of "/" alone keeps the path as is), or
// scheme "://" Host path[?query] with the Host header as sent, port
// included, and "/" when there is no path. drop_query drops "?query".
func (r *compiled) location(m Message) []byte {
	if r.redir == redirLocation {
		return r.value.expand(nil, m, nil, nil)
	}
	path, query := m.Path(), m.Query()
	host := m.Host()
	loc := make([]byte, 0, 16+len(r.value.lit)+len(host)+len(path)+len(query))
	switch r.redir {
	case redirScheme:
		loc = r.value.expand(loc, m, nil, nil)
		loc = append(loc, "://"...)
		loc = append(loc, host...)
	case redirPrefix:
		if !r.slash {
			loc = r.value.expand(loc, m, nil, nil)
		}
	}
	if len(path) == 0 {
		path = []byte("/")
	}
	loc = append(loc, path...)
	if query != nil && !r.dropQuery {
		loc = append(loc, '?')
		loc = append(loc, query...)
	}
	return loc
}

func (r *compiled) replaceHeader(m Message) {
	n := m.NumHeaders()
	for i := 0; i < n; i++ {
		name, v := m.HeaderAt(i)
		if !equalFoldBoth(name, r.name) {
			continue
		}
		// HAProxy replaces the whole value with the expanded replacement
		// when the regex matches anywhere in it.
		if match := r.re.FindSubmatchIndex(v); match != nil {
			m.SetHeaderAt(i, r.value.expand(make([]byte, 0, len(v)+16), m, v, match))
		}
	}
}

// replaceValue applies the regex to each comma-separated element, keeping
// the separators and blanks around the elements as they were.
func (r *compiled) replaceValue(m Message) {
	n := m.NumHeaders()
	for i := 0; i < n; i++ {
		name, v := m.HeaderAt(i)
		if !equalFoldBoth(name, r.name) {
			continue
		}
		var out []byte
		done := 0 // v[:done] is already in out
		for pos := 0; pos <= len(v); {
			var s, e int
			s, e, pos = acl.NextValue(v, pos)
			elem := v[s:e]
			match := r.re.FindSubmatchIndex(elem)
			if match == nil {
				continue
			}
			if out == nil {
				out = make([]byte, 0, len(v)+16)
			}
			out = append(out, v[done:s]...)
			out = r.value.expand(out, m, elem, match)
			done = e
		}
		if out != nil {
			out = append(out, v[done:]...)
			m.SetHeaderAt(i, out)
		}
	}
}

func equalFoldBoth(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
