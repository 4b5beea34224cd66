package acl

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// matchDef compiles one definition and matches it against s.
func matchDef(t *testing.T, def string, s Sample) bool {
	t.Helper()
	set, err := NewSet(map[string]string{"a": def})
	if err != nil {
		t.Fatalf("NewSet(%q): %v", def, err)
	}
	c, err := set.Compile("a", false)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c.Match(s)
}

func TestFetches(t *testing.T) {
	t.Parallel()
	get := req("GET /ms1/demo.html?id=42&lang=fr&id=7", "Host: www.Example.com:8080", "Accept: text/html, application/json;q=0.9",
		"Accept: */*", "X-Empty:", "X-Num: 12abc", "X-Forwarded-For: 192.0.2.7, 2001:db8::1", "User-Agent: Mozilla \"a, b\" x")
	noq := req("POST /api/v1/users")
	tests := []struct {
		def  string
		s    Sample
		want bool
	}{
		// path and derived methods
		{"path /ms1/demo.html", get, true},
		{"path /ms1/", get, false},
		{"path -i /MS1/DEMO.HTML", get, true},
		{"path /MS1/DEMO.HTML", get, false},
		{"path_beg /ms1/", get, true},
		{"path_beg -i /MS1/", get, true},
		{"path_beg /MS1/", get, false},
		{"path_beg /ms2/ /ms1/", get, true},
		{"path_beg /ms1/demo.html/more", get, false},
		{"path_end .html", get, true},
		{"path_end -i .HTML", get, true},
		{"path_end .htm", get, false},
		{"path_sub demo", get, true},
		{"path_sub -i DEMO", get, true},
		{"path_sub id=42", get, false}, // query is not part of the path
		{"path_reg ^/ms[0-9]/.*\\.html$", get, true},
		{"path_reg -i ^/MS1/", get, true},
		{"path_reg ^/MS1/", get, false},
		{"path_dir ms1", get, true},
		{"path_dir /ms1/", get, true},
		{"path_dir ms", get, false},
		{"path_dir ms1/demo.html", get, true},
		{"path_dir -i MS1", get, true},
		{"path_dir v1", noq, true},
		{"path_len 14", get, true},
		{"path_len gt 20", get, false},
		{"path_len 10:20", get, true},
		{"path -m beg /ms1", get, true},
		{"path -m end html", get, true},
		{"path -m sub /demo", get, true},
		{"path -m reg demo", get, true},
		{"path -m len 14", get, true},
		{"path -m found", get, true},
		{"path -m dir demo.html", get, true},
		{"path -m dom ms1", get, true},
		{"path -i -m beg /MS1", get, true},
		{"path -- -i", req("GET -i"), true},
		{"path -- -i", get, false},
		// url
		{"url /ms1/demo.html?id=42&lang=fr&id=7", get, true},
		{"url_beg /ms1/demo.html?", get, true},
		{"url_sub lang=fr", get, true},
		{"url_sub -i LANG=FR", get, true},
		{"url_reg lang=(fr|de)", get, true},
		{"url_end id=7", get, true},
		{"url_len 33", get, true},
		{"url_dir ms1", get, true},
		// query
		{"query id=42&lang=fr&id=7", get, true},
		{"query -m sub lang=fr", get, true},
		{"query -m found", get, true},
		{"query -m found", noq, false},
		{"query -m len 0", req("GET /x?"), true},
		{"query -m found", req("GET /x?"), true},
		// url_param
		{"url_param(id) 42", get, true},
		{"url_param(id) 7", get, true}, // every occurrence is tried
		{"url_param(id) 4", get, false},
		{"urlp(lang) fr", get, true},
		{"urlp(lang) -i FR", get, true},
		{"urlp(lang) FR", get, false},
		{"urlp(Lang) fr", get, false}, // names are case-sensitive
		{"urlp(lan) fr", get, false},
		{"urlp(id) -m int gt 40", get, true},
		{"urlp(id) -m found", noq, false},
		{"urlp(a,;) 1", req("GET /x?b=2;a=1"), true},
		{"urlp_reg(id) ^4", get, true},
		// headers
		{"hdr(host) www.Example.com:8080", get, true},
		{"hdr(host) www.example.com:8080", get, false},
		{"hdr(HOST) -i www.example.com:8080", get, true},
		{"hdr_beg(host) -i www.", get, true},
		{"hdr_end(host) :8080", get, true},
		{"hdr_sub(host) Example", get, true},
		{"hdr_dom(host) -i example.com", get, true},
		{"hdr_dom(host) -i www.example.com", get, true},
		{"hdr_dom(host) -i ample.com", get, false},
		{"hdr_dom(host) -i com", get, true},
		{"hdr_dom(host) Example", get, true},
		{"hdr_reg(host) ^www\\.", get, true},
		{"hdr(host) -m beg www.", get, true},
		{"hdr(accept) application/json;q=0.9", get, true}, // each comma-separated value
		{"hdr(accept) */*", get, true},                    // every occurrence
		{`hdr(accept) "text/html, application/json;q=0.9"`, get, false},
		{"hdr(accept) -m sub json", get, true},
		{"hdr(user-agent) -m sub \"a, b\"", get, true}, // no split inside quotes
		{`hdr(user-agent) -m beg 'b"'`, get, false},
		{"hdr(x-forwarded-for) -m ip 192.0.2.0/24", get, true},
		{"hdr(x-forwarded-for) -m ip 2001:db8::/32", get, true},
		{"hdr(x-forwarded-for) -m ip 198.51.100.0/24", get, false},
		{"hdr(x-num) -m int 12", get, true}, // HAProxy's cast keeps the leading digits
		{"hdr(x-num) -m int gt 12", get, false},
		{"hdr(x-empty) -m found", get, true},
		{"hdr(x-empty) -m len 0", get, true},
		{"hdr(x-missing) -m found", get, false},
		{"hdr(x-missing) -m len 0", get, false},
		{"hdr_len(host) 20", get, true},
		{"hdr_len(host) lt 5", get, false},
		{"hdr_cnt(accept) 3", get, true},
		{"hdr_cnt(accept) gt 1", get, true},
		{"hdr_cnt(accept) eq 0", get, false},
		{"hdr_cnt(x-missing) eq 0", get, true},
		{"hdr_cnt(host) 1:3", get, true},
		{"hdr_cnt(accept) ge 4", get, false},
		{"hdr_cnt(accept) le 3", get, true},
		{"hdr_cnt(accept) lt 3", get, false},
		{"hdr_cnt 7", get, true}, // no name: every header field
		{"hdr_cnt(accept) -m bool", get, true},
		{"hdr_cnt(x-missing) -m bool", get, false},
		{"req.hdr(host) -m found", get, true},
		{"hdr -m sub json", get, true}, // no name: every header
		{"hdr() www.Example.com:8080", get, true},
		// method
		{"method GET HEAD", get, true},
		{"method HEAD", get, false},
		{"method get", get, false},
		{"method -i get", get, true},
		{"method POST", noq, true},
		// src
		{"src 192.0.2.200", get, true},
		{"src 192.0.2.0/24", get, true},
		{"src 198.51.100.0/24 192.0.2.128/25", get, true},
		{"src 192.0.2.0/255.255.255.0", get, true},
		{"src 192.0.2.0/255.255.255.128", get, false},
		{"src 198.51.100.0/24", get, false},
		{"src ::ffff:192.0.2.0/120", get, true}, // IPv6 pattern, IPv4 client
		{"src 192.0.2.0/24", req("GET /").from("::ffff:192.0.2.9"), true},
		{"src 2001:db8::/32", req("GET /").from("2001:db8::5"), true},
		{"src 2001:db8::/32", get, false},
		{"src 2001:db8::5", req("GET /").from("2001:db8::5"), true},
		{"src 192.0.2.0/24", req("GET /").from("2001:db8::5"), false},
		{"src -m found", get, true},
		{"src 127.0.0.1", req("GET /").from("127.0.0.1"), true},
		// dst_port
		{"dst_port 80", get, true},
		{"dst_port 443", get, false},
		{"dst_port 80:90", get, true},
		{"dst_port 81:90", get, false},
		{"dst_port :80", get, true},
		{"dst_port 80:", get, true},
		{"dst_port 443 8443 80", get, true},
		{"dst_port gt 79 lt 10", get, true}, // an operator applies until the next one
		{"dst_port ge 81", get, false},
		{"dst_port 9001", req("GET /").to(9001), true},
		// ssl
		{"ssl_fc", get, false},
		{"ssl_fc", req("GET /").tls(""), true},
		{"ssl_fc -m found", get, true},
		{"ssl_fc_sni www.example.com", req("GET /").tls("www.example.com"), true},
		{"ssl_fc_sni -i WWW.example.com", req("GET /").tls("www.example.com"), true},
		{"ssl_fc_sni -m found", req("GET /").tls(""), false},
		{"ssl_fc_sni -m found", get, false},
		{"ssl_fc_sni_end .example.com", req("GET /").tls("www.example.com"), true},
		{"ssl_fc_sni_reg ^www", req("GET /").tls("www.example.com"), true},
		{"ssl_fc_protocol TLSv1.3", req("GET /").tls(""), true},
		{"ssl_fc_protocol TLSv1.3", req("GET /").tls("").proto("TLSv1.2"), false},
		{"ssl_fc_protocol TLSv1.2 TLSv1.3", req("GET /").tls("").proto("TLSv1.2"), true},
		{"ssl_fc_protocol -i tlsv1.2", req("GET /").tls("").proto("TLSv1.2"), true},
		{"ssl_fc_protocol -m beg TLSv1.", req("GET /").tls("").proto("TLSv1.2"), true},
		{"ssl_fc_protocol TLSv1.3", get, false},
		{"ssl_fc_protocol -m found", req("GET /").tls(""), true},
		{"ssl_fc_protocol -m found", get, false},
		{"ssl_fc_protocol -m len 7", req("GET /").tls(""), true},
		// booleans
		{"always_true", get, true},
		{"always_false", get, false},
		{"req.proto_http", get, true},
		{"req.proto_http", &fake{}, false},
		// quoting as in haproxy.cfg
		{`hdr(user-agent) -m beg "Mozilla \"a"`, get, true},
		{`hdr(user-agent) -m beg 'Mozilla "a'`, get, true},
		{`hdr(user-agent) -m beg Mozilla\ "\"a"`, get, true},
		{`path_reg ^/ms1/demo\.html$`, get, true},
		{`path_reg ^/ms1/demo\.htm$`, get, false},
		{`path "" /ms1/demo.html`, get, true},
		{`path \x2fms1/demo.html`, get, true},
	}
	for _, tt := range tests {
		if got := matchDef(t, tt.def, tt.s); got != tt.want {
			t.Errorf("%q on %s: got %v, want %v", tt.def, tt.s.(*fake).url, got, tt.want)
		}
	}
}

func TestDefErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		def, want string
	}{
		{"", "empty definition (want 'FETCH [flags] [patterns...]')"},
		{"   ", "empty definition (want 'FETCH [flags] [patterns...]')"},
		{"path_bg /x", "unknown fetch 'path_bg'"},
		{"path_dom example.com", "fetch 'path_dom' is not supported"},
		{"cook(sess) x", "fetch 'cook' is not supported"},
		{"hdr(host x", "missing ')' in fetch 'hdr(host'"},
		{"hdr(host)x y", "unexpected 'x' after ')' in fetch 'hdr(host)x'"},
		{"hdr(host),lower x", "converters (',lower') are not supported"},
		{"path,lower x", "converters (',lower') are not supported"},
		{"path) x", "unexpected ')' in fetch 'path)'"},
		{"(x) y", "missing fetch name in '(x)'"},
		{"path(x) /", "fetch 'path' takes no argument"},
		{"hdr(host,1) x", "fetch 'hdr': only the header name is supported as argument, not an occurrence"},
		{"url_param x", "fetch 'url_param' needs a parameter name: url_param(NAME)"},
		{"urlp() x", "fetch 'urlp' needs a parameter name: urlp(NAME)"},
		{"urlp(a,bc) x", "fetch 'urlp': delimiter 'bc' must be one character"},
		{"urlp(a,b,c) x", "fetch 'urlp' takes at most a name and a delimiter"},
		{"path", "no pattern given (give at least one, or use '-m found' to test presence)"},
		{"path -i", "no pattern given (give at least one, or use '-m found' to test presence)"},
		{"path_beg -m sub /x", "'-m' cannot be used with 'path_beg', which already matches with '-m beg'; use 'path -m ...' instead"},
		{"path -m beg -m sub /x", "only one '-m' match method may be given"},
		{"path -m", "'-m' needs a match method"},
		{"path -m regex x", "unknown match method 'regex' (want str, beg, end, sub, reg, dom, dir, len, found, int, ip or bool)"},
		{"path -m bin 00", "match method 'bin' is not supported"},
		{"path -f /etc/x.lst", "loading patterns from a file ('-f') is not supported"},
		{"hdr(host) -M -f x.map", "map files ('-M') are not supported"},
		{"path -u 1 /x", "unique ACL ids ('-u') are not supported"},
		{"path -x /x", "unknown flag '-x' (put '--' before a pattern that starts with '-')"},
		{"path -m found /x", "'-m found' takes no pattern"},
		{"ssl_fc 1", "'ssl_fc' is a boolean and takes no pattern"},
		{"path -m bool", "match method 'bool' cannot be used on string fetch 'path'"},
		{"dst_port -m beg 8", "match method 'beg' cannot be used on integer fetch 'dst_port'"},
		{"src -m str 1.2.3.4", "match method 'str' cannot be used on address fetch 'src'"},
		{"ssl_fc -m int 1", "match method 'int' cannot be used on boolean fetch 'ssl_fc'"},
		{"path_reg ^/(?=x)", "invalid regex '^/(?=x)': invalid or unsupported Perl syntax (regexes use Go's RE2 syntax: PCRE-only lookarounds, backreferences, possessive quantifiers and atomic groups are not available)"},
		{`path_reg (a)\1`, `invalid regex '(a)\1': invalid escape sequence (regexes use Go's RE2 syntax: PCRE-only lookarounds, backreferences, possessive quantifiers and atomic groups are not available)`},
		{"path_reg a*+", "invalid regex 'a*+': invalid nested repetition operator (regexes use Go's RE2 syntax: PCRE-only lookarounds, backreferences, possessive quantifiers and atomic groups are not available)"},
		{"path_reg (a", "invalid regex '(a': missing closing ): '(a'"},
		{"dst_port 8o", "invalid integer '8o'"},
		{"dst_port 90:80", "integer range '90:80' is empty (min > max)"},
		{"dst_port :", "invalid integer range ':'"},
		{"dst_port 1:x", "invalid integer range '1:x'"},
		{"dst_port gt", "operator 'gt' needs a value after it"},
		{"dst_port gt lt 3", "operator 'lt' follows operator 'gt' without a value"},
		{"dst_port gt 1:3", "operator 'gt' cannot be combined with range '1:3'"},
		{"src www.example.com", "invalid address 'www.example.com' (names are not resolved; want an IPv4/IPv6 address or CIDR)"},
		{"src 192.0.2.0/33", "invalid prefix length in '192.0.2.0/33'"},
		{"src 192.0.2.0/255.0.255.0", "netmask in '192.0.2.0/255.0.255.0' is not contiguous"},
		{"src 192.0.2.0/255.0.x.0", "invalid netmask in '192.0.2.0/255.0.x.0'"},
		{"src fe80::1%eth0", "invalid address 'fe80::1%eth0': zones are not supported"},
		{"path_dir //", "pattern '//' is only delimiters and can never match"},
		{`path "/x`, "unterminated \" quote"},
		{`path '/x`, "unterminated ' quote"},
		{`path \xZZ`, `invalid escape '\x' at offset 5 (want \xHH)`},
	}
	for _, tt := range tests {
		_, err := NewSet(map[string]string{"a": tt.def})
		if err == nil {
			t.Errorf("NewSet(%q): no error, want %q", tt.def, tt.want)
			continue
		}
		var de DefErrors
		if !errors.As(err, &de) || len(de) != 1 {
			t.Fatalf("NewSet(%q): error %T %v, want DefErrors of one", tt.def, err, err)
		}
		if diff := cmp.Diff(tt.want, de[0].Msg); diff != "" {
			t.Errorf("NewSet(%q) message (-want +got):\n%s", tt.def, diff)
		}
		if de[0].Name != "a" || !strings.HasPrefix(err.Error(), "ACL 'a': ") {
			t.Errorf("NewSet(%q): error %q does not name the ACL", tt.def, err)
		}
	}
}

func TestNewSetListsEveryError(t *testing.T) {
	t.Parallel()
	_, err := NewSet(map[string]string{
		"ok":       "path /",
		"bad name": "path /",
		"b":        "nope",
		"a":        "path",
		"":         "path /",
	})
	var de DefErrors
	if !errors.As(err, &de) {
		t.Fatalf("error %v, want DefErrors", err)
	}
	got := make([]string, len(de))
	for i, d := range de {
		got[i] = d.Error()
	}
	want := []string{
		"ACL '': empty ACL name",
		"ACL 'a': no pattern given (give at least one, or use '-m found' to test presence)",
		"ACL 'b': unknown fetch 'nope'",
		`ACL 'bad name': invalid character ' ' in ACL name (allowed: letters, digits, '-', '_', '.', ':')`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), "ACL 'b': unknown fetch 'nope'; ACL 'bad name'") {
		t.Errorf("joined error %q", err)
	}
}

func TestSplitWords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  a \t b  ", []string{"a", "b"}},
		{`"a b" c`, []string{"a b", "c"}},
		{`'a \" b'`, []string{`a \" b`}},
		{`x"a b"y`, []string{"xa by"}},
		{`""`, []string{""}},
		{`a\ b`, []string{"a b"}},
		{`\.\d\\`, []string{`\.\d\`}},
		{`"\"q\""`, []string{`"q"`}},
		{`\t\x41\`, []string{"\tA\\"}},
		{`{ path /x }`, []string{"{", "path", "/x", "}"}},
	}
	for _, tt := range tests {
		got, err := splitWords(tt.in)
		if err != nil {
			t.Errorf("splitWords(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("splitWords(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}
