package rules

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemlb/tandem/lb/acl"
)

func testSet(t testing.TB) *acl.Set {
	t.Helper()
	set, err := acl.NewSet(map[string]string{
		"url_ms1": "path_beg -i /ms1/",
		"is_ssl":  "ssl_fc",
		"admin":   "path_beg /admin",
	})
	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	return set
}

func TestApply(t *testing.T) {
	t.Parallel()
	set := testSet(t)
	get := func() *msg {
		return newMsg("GET /ms1/demo.html?a=1&b=2", "Host: www.example.com:8080", "Accept: text/html, application/json",
			"Cookie: sid=abc; theme=dark", "Accept: */*", "X-Forwarded-For: 192.0.2.1")
	}
	tests := []struct {
		name      string
		rules     []Rule
		m         *msg
		want      Verdict
		wantEdits []string
	}{
		{
			name:  "no rules",
			m:     get(),
			rules: nil,
		},
		{
			name:      "set-header",
			rules:     []Rule{{Action: "set-header", Name: "X-Forwarded-Proto", Value: "https"}},
			m:         get(),
			wantEdits: []string{"set-header X-Forwarded-Proto: https"},
		},
		{
			name:      "set-header empty value",
			rules:     []Rule{{Action: "set-header", Name: "X-Empty"}},
			m:         get(),
			wantEdits: []string{"set-header X-Empty: "},
		},
		{
			name:      "add-header",
			rules:     []Rule{{Action: "add-header", Name: "Via", Value: "1.1 tandem"}},
			m:         get(),
			wantEdits: []string{"add-header Via: 1.1 tandem"},
		},
		{
			name:      "del-header",
			rules:     []Rule{{Action: "del-header", Name: "Cookie"}},
			m:         get(),
			wantEdits: []string{"del-header Cookie"},
		},
		{
			name: "set-header if condition",
			rules: []Rule{
				{Action: "set-header", Name: "X-Forwarded-Proto", Value: "https", If: "is_ssl"},
				{Action: "set-header", Name: "X-Forwarded-Proto", Value: "http", Unless: "is_ssl"},
			},
			m:         get(),
			wantEdits: []string{"set-header X-Forwarded-Proto: http"},
		},
		{
			name:      "samples and percent",
			rules:     []Rule{{Action: "set-header", Name: "X-Info", Value: "%[src]:%[dst_port] %[method] %[path]?%[query] %[url] sni=%[ssl_fc_sni] h=%[req.hdr(host)] a=%[hdr(Accept)] 100%%"}},
			m:         get().tls("www.example.com"),
			wantEdits: []string{"set-header X-Info: 192.0.2.200:80 GET /ms1/demo.html?a=1&b=2 /ms1/demo.html?a=1&b=2 sni=www.example.com h=www.example.com:8080 a=*/* 100%"},
		},
		{
			name:      "replace-header whole value",
			rules:     []Rule{{Action: "replace-header", Name: "cookie", Regex: `sid=([^;]*)`, Replace: `sid=\1; via=tandem`}},
			m:         get(),
			wantEdits: []string{"set-header-at 2: sid=abc; via=tandem"},
		},
		{
			name:      "replace-header every occurrence",
			rules:     []Rule{{Action: "replace-header", Name: "Accept", Regex: `^(.*)$`, Replace: `[\1]`}},
			m:         get(),
			wantEdits: []string{"set-header-at 1: [text/html, application/json]", "set-header-at 3: [*/*]"},
		},
		{
			name:  "replace-header no match",
			rules: []Rule{{Action: "replace-header", Name: "Accept", Regex: `xml`, Replace: `x`}},
			m:     get(),
		},
		{
			name:      "replace-value per element",
			rules:     []Rule{{Action: "replace-value", Name: "Accept", Regex: `^application/(.*)$`, Replace: `app/\1`}},
			m:         get(),
			wantEdits: []string{"set-header-at 1: text/html, app/json"},
		},
		{
			name:      "replace-value keeps separators",
			rules:     []Rule{{Action: "replace-value", Name: "X-Forwarded-For", Regex: `^192\.0\.2\.([0-9]+)$`, Replace: `10.0.0.\1`}},
			m:         newMsg("GET /", "X-Forwarded-For: 192.0.2.1 ,  192.0.2.2,198.51.100.1"),
			wantEdits: []string{"set-header-at 0: 10.0.0.1 ,  10.0.0.2,198.51.100.1"},
		},
		{
			name:      "set-path",
			rules:     []Rule{{Action: "set-path", Value: "/new/path"}},
			m:         get(),
			wantEdits: []string{"set-path /new/path"},
		},
		{
			name:      "set-path from samples",
			rules:     []Rule{{Action: "set-path", Value: "/v2%[path]"}},
			m:         get(),
			wantEdits: []string{"set-path /v2/ms1/demo.html"},
		},
		{
			name:      "replace-path",
			rules:     []Rule{{Action: "replace-path", Regex: `^/ms1/(.*)`, Replace: `/\1`}},
			m:         get(),
			wantEdits: []string{"set-path /demo.html"},
		},
		{
			name:      "replace-path to empty gives /",
			rules:     []Rule{{Action: "replace-path", Regex: `.*`, Replace: ``}},
			m:         get(),
			wantEdits: []string{"set-path /"},
		},
		{
			name:  "replace-path no match",
			rules: []Rule{{Action: "replace-path", Regex: `^/ms2/`, Replace: `/`}},
			m:     get(),
		},
		{
			name:      "set-query",
			rules:     []Rule{{Action: "set-query", Value: "x=1"}},
			m:         get(),
			wantEdits: []string{`set-query "x=1"`},
		},
		{
			name:      "set-query empty keeps an empty query",
			rules:     []Rule{{Action: "set-query"}},
			m:         get(),
			wantEdits: []string{`set-query ""`},
		},
		{
			name:  "set-query empty on a request without query",
			rules: []Rule{{Action: "set-query"}},
			m:     newMsg("GET /x"),
		},
		{
			name:  "deny default",
			rules: []Rule{{Action: "deny", If: "admin"}},
			m:     newMsg("GET /admin/x"),
			want:  Verdict{Kind: Deny, Status: 403},
		},
		{
			name:  "deny with status and body",
			rules: []Rule{{Action: "deny", Status: 429, ContentType: "text/plain", Body: "slow down\n"}},
			m:     get(),
			want:  Verdict{Kind: Deny, Status: 429, ContentType: []byte("text/plain"), Body: []byte("slow down\n")},
		},
		{
			name:  "deny not matching",
			rules: []Rule{{Action: "deny", If: "admin"}},
			m:     get(),
		},
		{
			name:  "return",
			rules: []Rule{{Action: "return", ContentType: "text/plain", Body: "ok"}},
			m:     get(),
			want:  Verdict{Kind: Return, Status: 200, ContentType: []byte("text/plain"), Body: []byte("ok")},
		},
		{
			name:  "return empty 204",
			rules: []Rule{{Action: "return", Status: 204}},
			m:     get(),
			want:  Verdict{Kind: Return, Status: 204},
		},
		{
			name:  "redirect location",
			rules: []Rule{{Action: "redirect", Location: "https://example.com/", Code: 301}},
			m:     get(),
			want:  Verdict{Kind: Redirect, Status: 301, Location: []byte("https://example.com/")},
		},
		{
			name:  "redirect location default code",
			rules: []Rule{{Action: "redirect", Location: "/maintenance.html"}},
			m:     get(),
			want:  Verdict{Kind: Redirect, Status: 302, Location: []byte("/maintenance.html")},
		},
		{
			name:  "redirect location with samples",
			rules: []Rule{{Action: "redirect", Location: "https://%[req.hdr(host)]%[path]", Code: 308}},
			m:     get(),
			want:  Verdict{Kind: Redirect, Status: 308, Location: []byte("https://www.example.com:8080/ms1/demo.html")},
		},
		{
			name:  "redirect prefix",
			rules: []Rule{{Action: "redirect", Prefix: "https://example.com", Code: 303}},
			m:     get(),
			want:  Verdict{Kind: Redirect, Status: 303, Location: []byte("https://example.com/ms1/demo.html?a=1&b=2")},
		},
		{
			name:  "redirect prefix drop-query",
			rules: []Rule{{Action: "redirect", Prefix: "https://example.com", DropQuery: true}},
			m:     get(),
			want:  Verdict{Kind: Redirect, Status: 302, Location: []byte("https://example.com/ms1/demo.html")},
		},
		{
			name:  "redirect prefix slash keeps path",
			rules: []Rule{{Action: "redirect", Prefix: "/", Code: 307}},
			m:     get(),
			want:  Verdict{Kind: Redirect, Status: 307, Location: []byte("/ms1/demo.html?a=1&b=2")},
		},
		{
			name:  "redirect prefix empty query kept",
			rules: []Rule{{Action: "redirect", Prefix: "http://a"}},
			m:     newMsg("GET /x?"),
			want:  Verdict{Kind: Redirect, Status: 302, Location: []byte("http://a/x?")},
		},
		{
			name:  "redirect scheme keeps host and port as sent",
			rules: []Rule{{Action: "redirect", Scheme: "https", Code: 301, Unless: "is_ssl"}},
			m:     get(),
			want:  Verdict{Kind: Redirect, Status: 301, Location: []byte("https://www.example.com:8080/ms1/demo.html?a=1&b=2")},
		},
		{
			name:  "redirect scheme drop-query",
			rules: []Rule{{Action: "redirect", Scheme: "https", DropQuery: true}},
			m:     get(),
			want:  Verdict{Kind: Redirect, Status: 302, Location: []byte("https://www.example.com:8080/ms1/demo.html")},
		},
		{
			name:  "redirect scheme without host",
			rules: []Rule{{Action: "redirect", Scheme: "https"}},
			m:     newMsg("GET /x"),
			want:  Verdict{Kind: Redirect, Status: 302, Location: []byte("https:///x")},
		},
		{
			name:  "redirect scheme skipped over TLS",
			rules: []Rule{{Action: "redirect", Scheme: "https", Unless: "is_ssl"}},
			m:     get().tls(""),
		},
		{
			name: "edits then the first final verdict stops",
			rules: []Rule{
				{Action: "set-header", Name: "A", Value: "1"},
				{Action: "deny", If: "admin"},
				{Action: "return", Status: 503, If: "url_ms1"},
				{Action: "set-header", Name: "B", Value: "2"},
				{Action: "deny"},
			},
			m:         get(),
			want:      Verdict{Kind: Return, Status: 503},
			wantEdits: []string{"set-header A: 1"},
		},
		{
			name:  "anonymous condition",
			rules: []Rule{{Action: "deny", Status: 401, If: `{ hdr_cnt(accept) gt 1 } !{ src 198.51.100.0/24 }`}},
			m:     get(),
			want:  Verdict{Kind: Deny, Status: 401},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := Compile(tt.rules, set)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got := l.Apply(tt.m)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("verdict (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantEdits, tt.m.edits); diff != "" {
				t.Errorf("edits (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyResponse(t *testing.T) {
	t.Parallel()
	l, err := CompileResponse([]Rule{
		{Action: "del-header", Name: "Server"},
		{Action: "set-header", Name: "Strict-Transport-Security", Value: "max-age=31536000", If: "is_ssl"},
		{Action: "deny", If: "{ hdr(x-leak) -m found }"},
	}, testSet(t))
	if err != nil {
		t.Fatal(err)
	}
	m := newMsg("GET /", "X-Leak: 1")
	got := l.Apply(m)
	if diff := cmp.Diff(Verdict{Kind: Deny, Status: 502}, got); diff != "" {
		t.Errorf("verdict (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"del-header Server"}, m.edits); diff != "" {
		t.Errorf("edits (-want +got):\n%s", diff)
	}
	if l.Len() != 3 {
		t.Errorf("Len() = %d, want 3", l.Len())
	}
}

func TestNilList(t *testing.T) {
	t.Parallel()
	var l *List
	if got := l.Apply(newMsg("GET /")); got.Kind != Continue {
		t.Errorf("nil List verdict %v", got.Kind)
	}
	if l.Len() != 0 {
		t.Errorf("nil List Len() = %d", l.Len())
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	got := []string{Continue.String(), Deny.String(), Redirect.String(), Return.String()}
	if diff := cmp.Diff([]string{"continue", "deny", "redirect", "return"}, got); diff != "" {
		t.Error(diff)
	}
}

const pcreHint = " (regexes use Go's RE2 syntax: PCRE-only lookarounds, backreferences, possessive quantifiers and atomic groups are not available)"

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	set := testSet(t)
	tests := []struct {
		name     string
		r        Rule
		response bool
		want     []RuleError
	}{
		{"missing action", Rule{}, false, []RuleError{{0, "action", "missing action (want redirect, set-header, add-header, del-header, replace-header, replace-value, set-path, replace-path, set-query, deny or return)"}}},
		{"unknown action", Rule{Action: "tarpit"}, false, []RuleError{{0, "action", "unknown action 'tarpit' (want redirect, set-header, add-header, del-header, replace-header, replace-value, set-path, replace-path, set-query, deny or return)"}}},
		{"if and unless", Rule{Action: "deny", If: "admin", Unless: "is_ssl"}, false, []RuleError{{0, "unless", "use either 'if' or 'unless', not both"}}},
		{"unknown acl", Rule{Action: "deny", If: "nope"}, false, []RuleError{{0, "if", "unknown ACL 'nope'"}}},
		{"bad unless", Rule{Action: "deny", Unless: "admin ||"}, false, []RuleError{{0, "unless", "missing ACL after the last '||'"}}},
		{"bad action and bad cond", Rule{Action: "nope", If: "x"}, false, []RuleError{
			{0, "if", "unknown ACL 'x'"},
			{0, "action", "unknown action 'nope' (want redirect, set-header, add-header, del-header, replace-header, replace-value, set-path, replace-path, set-query, deny or return)"},
		}},
		{"unused keys", Rule{Action: "set-header", Name: "X", Value: "1", Regex: "a", Code: 301, DropQuery: true, Body: "b"}, false, []RuleError{
			{0, "regex", "key 'regex' is not used by action 'set-header'"},
			{0, "code", "key 'code' is not used by action 'set-header'"},
			{0, "drop_query", "key 'drop_query' is not used by action 'set-header'"},
			{0, "body", "key 'body' is not used by action 'set-header'"},
		}},
		{"del-header value", Rule{Action: "del-header", Name: "X", Value: "1"}, false, []RuleError{{0, "value", "key 'value' is not used by action 'del-header'"}}},
		{"header name missing", Rule{Action: "set-header", Value: "1"}, false, []RuleError{{0, "action", "missing 'name' (the header name)"}}},
		{"header name invalid", Rule{Action: "add-header", Name: "X Y", Value: "1"}, false, []RuleError{{0, "name", "invalid character ' ' in header name 'X Y'"}}},
		{"framing header", Rule{Action: "set-header", Name: "Content-Length", Value: "0"}, false, []RuleError{{0, "name", "rewriting 'Content-Length' would change the message framing; not allowed"}}},
		{"framing header del", Rule{Action: "del-header", Name: "transfer-encoding"}, false, []RuleError{{0, "name", "rewriting 'transfer-encoding' would change the message framing; not allowed"}}},
		{"value CRLF", Rule{Action: "set-header", Name: "X", Value: "a\r\nEvil: 1"}, false, []RuleError{{0, "value", "control character '\\r' not allowed"}}},
		{"log-format var", Rule{Action: "set-header", Name: "X", Value: "%ci"}, false, []RuleError{{0, "value", "log-format variable '%ci' is not supported yet (write %% for a literal '%'; %[src], %[dst_port], %[ssl_fc_sni], %[path], %[query], %[url], %[method] and %[req.hdr(NAME)] are)"}}},
		{"log-format expr", Rule{Action: "set-header", Name: "X", Value: "%[req.cook(sid)]"}, false, []RuleError{{0, "value", "log-format expression '%[req.cook(sid)]' is not supported yet (%[src], %[dst_port], %[ssl_fc_sni], %[path], %[query], %[url], %[method] and %[req.hdr(NAME)] are)"}}},
		{"log-format converter", Rule{Action: "set-header", Name: "X", Value: "%[src,ipmask(24)]"}, false, []RuleError{{0, "value", "log-format expression '%[src,ipmask(24)]' is not supported yet (%[src], %[dst_port], %[ssl_fc_sni], %[path], %[query], %[url], %[method] and %[req.hdr(NAME)] are)"}}},
		{"log-format unclosed", Rule{Action: "set-header", Name: "X", Value: "a%[src"}, false, []RuleError{{0, "value", "missing ']' in '%[src'"}}},
		{"lone percent", Rule{Action: "set-header", Name: "X", Value: "100%"}, false, []RuleError{{0, "value", "lone '%' at the end (write %% for a literal '%')"}}},
		{"percent digit", Rule{Action: "set-header", Name: "X", Value: "50%-off"}, false, []RuleError{{0, "value", "'%' followed by '-' (write %% for a literal '%')"}}},
		{"replace needs regex", Rule{Action: "replace-header", Name: "X", Replace: "y"}, false, []RuleError{{0, "action", "action 'replace-header' needs 'regex'"}}},
		{"replace bad regex", Rule{Action: "replace-path", Regex: "(", Replace: "/"}, false, []RuleError{{0, "regex", "invalid regex: missing closing ): '('"}}},
		{"replace pcre regex", Rule{Action: "replace-path", Regex: "^/(?!api)", Replace: "/"}, false, []RuleError{{0, "regex", "invalid regex: invalid or unsupported Perl syntax: '(?!'" + pcreHint}}},
		{"replace group out of range", Rule{Action: "replace-value", Name: "X", Regex: "(a)", Replace: `\2`}, false, []RuleError{{0, "replace", `'\2' refers to a group the regex does not have (it has 1)`}}},
		{"replace trailing backslash", Rule{Action: "replace-path", Regex: "a", Replace: `/\`}, false, []RuleError{{0, "replace", `lone '\' at the end (write \\ for a literal backslash)`}}},
		{"set-path empty", Rule{Action: "set-path"}, false, []RuleError{{0, "action", "action 'set-path' needs 'value'"}}},
		{"set-path relative", Rule{Action: "set-path", Value: "x"}, false, []RuleError{{0, "value", "path 'x' must start with '/'"}}},
		{"redirect nothing", Rule{Action: "redirect"}, false, []RuleError{{0, "action", "action 'redirect' needs one of 'location', 'prefix' or 'scheme'"}}},
		{"redirect two", Rule{Action: "redirect", Location: "/a", Prefix: "/b"}, false, []RuleError{{0, "action", "action 'redirect' takes only one of 'location', 'prefix' or 'scheme'"}}},
		{"redirect code", Rule{Action: "redirect", Location: "/a", Code: 304}, false, []RuleError{{0, "code", "redirect code 304 is not one of 301, 302, 303, 307, 308"}}},
		{"redirect drop-query location", Rule{Action: "redirect", Location: "/a", DropQuery: true}, false, []RuleError{{0, "drop_query", "'drop_query' has no effect with 'location'"}}},
		{"redirect bad scheme", Rule{Action: "redirect", Scheme: "ht tps"}, false, []RuleError{{0, "scheme", "invalid scheme 'ht tps' (want e.g. \"https\")"}}},
		{"redirect location CRLF", Rule{Action: "redirect", Location: "/a\nb"}, false, []RuleError{{0, "location", "control character '\\n' not allowed"}}},
		{"redirect unused key", Rule{Action: "redirect", Location: "/a", Status: 301}, false, []RuleError{{0, "status", "key 'status' is not used by action 'redirect'"}}},
		{"deny bad status", Rule{Action: "deny", Status: 99}, false, []RuleError{{0, "status", "status 99 is outside 200-599"}}},
		{"return body without type", Rule{Action: "return", Body: "x"}, false, []RuleError{{0, "action", "'body' needs 'content_type'"}}},
		{"return type without body", Rule{Action: "return", ContentType: "text/plain"}, false, []RuleError{{0, "content_type", "'content_type' without 'body'"}}},
		{"return 204 body", Rule{Action: "return", Status: 204, ContentType: "text/plain", Body: "x"}, false, []RuleError{{0, "body", "a 204 response cannot have a body"}}},
		{"return bad content type", Rule{Action: "return", ContentType: "a\nb", Body: "x"}, false, []RuleError{{0, "content_type", "control character '\\n' not allowed"}}},
		{"return with name", Rule{Action: "return", Name: "X"}, false, []RuleError{{0, "name", "key 'name' is not used by action 'return'"}}},
		{"response set-path", Rule{Action: "set-path", Value: "/"}, true, []RuleError{{0, "action", "action 'set-path' is only valid in http_request"}}},
		{"response replace-path", Rule{Action: "replace-path", Regex: "a", Replace: "/"}, true, []RuleError{{0, "action", "action 'replace-path' is only valid in http_request"}}},
		{"response set-query", Rule{Action: "set-query", Value: "a"}, true, []RuleError{{0, "action", "action 'set-query' is only valid in http_request"}}},
		{"response redirect scheme", Rule{Action: "redirect", Scheme: "https"}, true, []RuleError{{0, "scheme", "redirects in http_response only take a 'location'"}}},
		{"response redirect prefix", Rule{Action: "redirect", Prefix: "/x"}, true, []RuleError{{0, "prefix", "redirects in http_response only take a 'location'"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			compile := Compile
			if tt.response {
				compile = CompileResponse
			}
			l, err := compile([]Rule{tt.r}, set)
			if err == nil {
				t.Fatalf("no error, want %v", tt.want)
			}
			if l != nil {
				t.Error("a List returned with an error")
			}
			var got Errors
			if !errors.As(err, &got) {
				t.Fatalf("error %T %v, want Errors", err, err)
			}
			if diff := cmp.Diff(Errors(tt.want), got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompileListsEveryRule(t *testing.T) {
	t.Parallel()
	_, err := Compile([]Rule{
		{Action: "set-header", Name: "X", Value: "1"},
		{Action: "deny", If: "nope"},
		{Action: "redirect", Scheme: "https", Code: 301, Unless: "is_ssl"},
		{Action: "bogus"},
	}, testSet(t))
	var got Errors
	if !errors.As(err, &got) {
		t.Fatalf("error %v, want Errors", err)
	}
	want := Errors{
		{1, "if", "unknown ACL 'nope'"},
		{3, "action", "unknown action 'bogus' (want redirect, set-header, add-header, del-header, replace-header, replace-value, set-path, replace-path, set-query, deny or return)"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if want := "rule 1: if: unknown ACL 'nope'; rule 3: action: unknown action"; err.Error()[:len(want)] != want {
		t.Errorf("Error() = %q", err.Error())
	}
	if s := (RuleError{Index: 2, Msg: "x"}).Error(); s != "rule 2: x" {
		t.Errorf("RuleError without key: %q", s)
	}
}

// The rules exactly as DESIGN.md writes them, with "ssl_fc" named directly.
func TestDesignExample(t *testing.T) {
	t.Parallel()
	l, err := Compile([]Rule{
		{Action: "redirect", Scheme: "https", Code: 301, Unless: "ssl_fc"},
		{Action: "set-header", Name: "X-Forwarded-Proto", Value: "https", If: "ssl_fc"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := newMsg("GET /ms1/x?y=1", "Host: lb.example")
	if diff := cmp.Diff(Verdict{Kind: Redirect, Status: 301, Location: []byte("https://lb.example/ms1/x?y=1")}, l.Apply(plain)); diff != "" {
		t.Errorf("plain HTTP (-want +got):\n%s", diff)
	}
	secure := newMsg("GET /ms1/x", "Host: lb.example").tls("lb.example")
	if diff := cmp.Diff(Verdict{}, l.Apply(secure)); diff != "" {
		t.Errorf("HTTPS verdict (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"set-header X-Forwarded-Proto: https"}, secure.edits); diff != "" {
		t.Errorf("HTTPS edits (-want +got):\n%s", diff)
	}
}

func TestCompileNilSet(t *testing.T) {
	t.Parallel()
	l, err := Compile([]Rule{{Action: "deny", Unless: "LOCALHOST"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Apply(newMsg("GET /")); got.Kind != Deny {
		t.Errorf("verdict %v, want deny", got.Kind)
	}
}

// The seed's redirect rule and X-Forwarded-Proto pair, as DESIGN.md writes
// them, make header edits without allocating.
func BenchmarkApplyHeaderEdits(b *testing.B) {
	l, err := Compile([]Rule{
		{Action: "redirect", Scheme: "https", Code: 301, Unless: "is_ssl"},
		{Action: "set-header", Name: "X-Forwarded-Proto", Value: "https", If: "is_ssl"},
		{Action: "add-header", Name: "Via", Value: "1.1 tandem"},
		{Action: "del-header", Name: "Proxy"},
	}, testSet(b))
	if err != nil {
		b.Fatal(err)
	}
	m := newMsg("GET /ms1/x", "Host: example.com").tls("example.com")
	m.record = false
	b.ReportAllocs()
	for b.Loop() {
		if v := l.Apply(m); v.Kind != Continue {
			b.Fatal(v.Kind)
		}
	}
}

func BenchmarkApplyDeny(b *testing.B) {
	l, err := Compile([]Rule{{Action: "deny", If: "admin"}, {Action: "return", Status: 503, If: "url_ms1"}}, testSet(b))
	if err != nil {
		b.Fatal(err)
	}
	m := newMsg("GET /MS1/x")
	m.record = false
	b.ReportAllocs()
	for b.Loop() {
		if v := l.Apply(m); v.Kind != Return {
			b.Fatal(v.Kind)
		}
	}
}
