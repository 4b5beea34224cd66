package acl

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testSet(t testing.TB) *Set {
	t.Helper()
	set, err := NewSet(map[string]string{
		"url_ms1": "path_beg -i /ms1/",
		"url_ms2": "path_beg -i /ms2/",
		"t":       "always_true",
		"f":       "always_false",
		"get":     "method GET",
		"local":   "src 192.0.2.0/24",
		"is_ssl":  "ssl_fc",
		"host_ex": "hdr(host) -i example.com",
		"TRUE":    "always_false", // user ACLs hide predefined ones, as in HAProxy
	})
	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	return set
}

func TestCondition(t *testing.T) {
	t.Parallel()
	set := testSet(t)
	ms1 := req("GET /MS1/x", "Host: example.com")
	other := req("POST /other").from("198.51.100.1")
	tests := []struct {
		cond   string
		unless bool
		s      Sample
		want   bool
	}{
		{"url_ms1", false, ms1, true},
		{"url_ms2", false, ms1, false},
		{"url_ms1", true, ms1, false},
		{"url_ms2", true, ms1, true},
		{"!url_ms1", false, ms1, false},
		{"! url_ms1", false, ms1, false},
		{"!!url_ms1", false, ms1, true},
		{"!url_ms2", false, ms1, true},
		// AND binds tighter than OR: f t || t  ==  (f && t) || t
		{"f t || t", false, ms1, true},
		{"t || t f", false, ms1, true},
		{"f || t f", false, ms1, false},
		{"t f || f", false, ms1, false},
		{"t t || f", false, ms1, true},
		{"f or t", false, ms1, true},
		{"f OR t", false, ms1, true},
		{"!f !f", false, ms1, true},
		{"!t || !f", false, ms1, true},
		{"!t || !t", false, ms1, false},
		{"url_ms1 get local", false, ms1, true},
		{"url_ms1 get local", false, other, false},
		{"url_ms1 || url_ms2 || local", false, other, false},
		{"url_ms1 !local || is_ssl", false, ms1, false},
		{"url_ms1 !local || is_ssl", true, ms1, true},
		{"host_ex get", false, ms1, true},
		// anonymous ACLs
		{"{ path_beg /MS1/ }", false, ms1, true},
		{"{ path_beg /ms1/ }", false, ms1, false},
		{"!{ path_beg /ms1/ }", false, ms1, true},
		{"! { path_beg /ms1/ }", false, ms1, true},
		{"{ path_beg -i /ms1/ } get", false, ms1, true},
		{"{ src 198.51.100.0/24 } || url_ms1", false, other, true},
		{"{ ssl_fc }", true, ms1, true},
		{"{ hdr(host) -m sub \"ample.c\" }", false, ms1, true},
		{"{ path_reg ^/MS1/.{1}$ }", false, ms1, true},
		// predefined
		{"TRUE", false, ms1, false}, // hidden by the set's own TRUE
		{"FALSE", false, ms1, false},
		{"METH_GET", false, ms1, true},
		{"METH_GET", false, req("HEAD /"), true},
		{"METH_POST", false, other, true},
		{"METH_PUT || METH_DELETE || METH_OPTIONS || METH_TRACE || METH_CONNECT || METH_HEAD", false, ms1, false},
		{"LOCALHOST", false, ms1, false},
		{"LOCALHOST", false, req("GET /").from("127.0.0.2"), true},
		{"HTTP", false, ms1, true},
		{"HTTP_URL_SLASH", false, ms1, true},
		{"HTTP_URL_ABS", false, req("GET http://example.com/x"), true},
		{"HTTP_URL_ABS", false, ms1, false},
		{"HTTP_URL_STAR", false, req("OPTIONS *"), true},
		// boolean fetches named directly (tandem extension, see DESIGN.md)
		{"ssl_fc", false, ms1, false},
		{"ssl_fc", true, ms1, true},
		{"!ssl_fc", false, req("GET /").tls(""), false},
		{"ssl_fc url_ms1", false, req("GET /ms1/").tls(""), true},
	}
	for _, tt := range tests {
		c, err := set.Compile(tt.cond, tt.unless)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.cond, err)
			continue
		}
		if got := c.Match(tt.s); got != tt.want {
			t.Errorf("%s on %s %s: got %v, want %v", c, tt.s.(*fake).method, tt.s.(*fake).url, got, tt.want)
		}
	}
}

func TestNilCondMatches(t *testing.T) {
	t.Parallel()
	var c *Cond
	if !c.Match(req("GET /")) {
		t.Error("nil *Cond does not match")
	}
	if c.String() != "" {
		t.Errorf("nil *Cond String() = %q", c.String())
	}
}

func TestNilSetPredefined(t *testing.T) {
	t.Parallel()
	var set *Set // a frontend without acl.* still has the predefined ACLs
	c, err := set.Compile("METH_GET", false)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Match(req("GET /")) {
		t.Error("METH_GET does not match GET")
	}
}

func TestCondErrors(t *testing.T) {
	t.Parallel()
	set := testSet(t)
	tests := []struct {
		cond, want string
	}{
		{"", "empty condition"},
		{"   ", "empty condition"},
		{"nope", "unknown ACL 'nope'"},
		{"url_ms1 nope", "unknown ACL 'nope'"},
		{"!nope", "unknown ACL 'nope'"},
		{"and", "unknown ACL 'and'"},
		{"path", "unknown ACL 'path'"}, // only boolean fetches may be named directly
		{"ssl_fc_sni", "unknown ACL 'ssl_fc_sni'"},
		{"HTTP_1.1", "predefined ACL 'HTTP_1.1' is not supported"},
		{"|| url_ms1", "missing ACL before '||'"},
		{"url_ms1 || || t", "missing ACL before '||'"},
		{"or t", "missing ACL before 'or'"},
		{"url_ms1 ||", "missing ACL after the last '||'"},
		{"!", "'!' at the end negates nothing"},
		{"t !", "'!' at the end negates nothing"},
		{"! || t", "'!' before '||' negates nothing"},
		{"{ path /x", "missing '}' closing the anonymous ACL"},
		{"{ }", "empty anonymous ACL '{ }'"},
		{"}", "'}' without a matching '{'"},
		{"{ path { /x } }", "anonymous ACLs cannot be nested"},
		{"{path /x }", "'{' and '}' must be separated by blanks from what they enclose, in '{path'"},
		{"{ path /x}", "missing '}' closing the anonymous ACL"},
		{"t}", "'{' and '}' must be separated by blanks from what they enclose, in 't}'"},
		{"{ path_bg /x }", "anonymous ACL '{ path_bg /x }': unknown fetch 'path_bg'"},
		{"{ path }", "anonymous ACL '{ path }': no pattern given (give at least one, or use '-m found' to test presence)"},
		{`"t`, "unterminated \" quote"},
	}
	for _, tt := range tests {
		_, err := set.Compile(tt.cond, false)
		if err == nil {
			t.Errorf("Compile(%q): no error, want %q", tt.cond, tt.want)
			continue
		}
		if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
			t.Errorf("Compile(%q) (-want +got):\n%s", tt.cond, diff)
		}
	}
}

// FuzzCondition: any condition string against a small set compiles or
// fails cleanly, and a compiled one matches without panicking.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{"url_ms1", "!a b", "a || b", "a or b", "{ path_beg /x } b",
		"! { src 192.0.2.0/24 } || { hdr_cnt(host) gt 1 }", "{ { }", "!!!", `"{" a`, "url_ms1 ||"} {
		f.Add(s, false)
	}
	set := testSet(f)
	s := req("GET /ms1/x?a=1", "Host: a, b", "X: \"q,")
	f.Fuzz(func(t *testing.T, cond string, unless bool) {
		c, err := set.Compile(cond, unless)
		if err != nil {
			if c != nil {
				t.Fatalf("Compile(%q) returned a Cond and an error", cond)
			}
			return
		}
		c.Match(s)
		c.Match(&fake{})
	})
}

// FuzzACL: any definition compiles or fails cleanly, and a compiled one
// matches any sample without panicking.
func FuzzACL(f *testing.F) {
	for _, s := range []string{"path_beg -i /ms1/", "hdr(host) -m dom example.com", "dst_port gt 1 lt 2 80:90",
		"src 192.0.2.0/255.255.255.0 ::1", "urlp(a,;) -m int le 3", "path_reg (?i)^/x", `path "a\x41" 'b'`,
		"hdr_cnt(x) -m bool", "path_dir /a/b/", "ssl_fc", "-- x", "hdr(x) -m ip 10.0.0.0/8"} {
		f.Add(s, "/a/b?x=1", "Host", "a.b:80, \"c,d\"")
	}
	f.Fuzz(func(t *testing.T, def, target, hname, hval string) {
		set, err := NewSet(map[string]string{"x": def})
		if err != nil {
			if set != nil {
				t.Fatalf("NewSet(%q) returned a Set and an error", def)
			}
			return
		}
		c, err := set.Compile("x", false)
		if err != nil {
			t.Fatalf("Compile(x) after NewSet(%q): %v", def, err)
		}
		s := req("GET "+target, hname+":"+hval)
		c.Match(s)
		c.Match(&fake{hdrs: [][2][]byte{{[]byte(hname), []byte(hval)}}})
	})
}

func BenchmarkPathBegIgnoreCase(b *testing.B) {
	set := testSet(b)
	c, err := set.Compile("url_ms1", false)
	if err != nil {
		b.Fatal(err)
	}
	s := req("GET /MS1/demo.html?x=1", "Host: example.com", "Accept: */*", "User-Agent: bench")
	b.ReportAllocs()
	for b.Loop() {
		if !c.Match(s) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkThreeTermCondition(b *testing.B) {
	set := testSet(b)
	c, err := set.Compile("url_ms2 || url_ms1 !{ src 198.51.100.0/24 } host_ex", false)
	if err != nil {
		b.Fatal(err)
	}
	s := req("GET /MS1/demo.html?x=1", "Accept: */*", "User-Agent: bench", "Host: Example.com")
	b.ReportAllocs()
	for b.Loop() {
		if !c.Match(s) {
			b.Fatal("no match")
		}
	}
}

func BenchmarkHdrDomRegex(b *testing.B) {
	set, err := NewSet(map[string]string{"d": "hdr_dom(host) -i example.com", "r": `path_reg ^/ms[0-9]+/.*\.html$`})
	if err != nil {
		b.Fatal(err)
	}
	c, err := set.Compile("d r", false)
	if err != nil {
		b.Fatal(err)
	}
	s := req("GET /ms12/demo.html", "Host: www.Example.com:8080")
	b.ReportAllocs()
	for b.Loop() {
		if !c.Match(s) {
			b.Fatal("no match")
		}
	}
}
