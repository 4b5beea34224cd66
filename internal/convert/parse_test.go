package convert

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSplitHAProxyLine(t *testing.T) {
	t.Parallel()
	env := func(n string) (string, bool) {
		v, ok := map[string]string{"ADDR": "192.0.2.1", "EMPTY": ""}[n]
		return v, ok
	}
	tests := []struct {
		in    string
		words []string
		probs int
	}{
		{"  bind   *:80  ", []string{"bind", "*:80"}, 0},
		{"server a 192.0.2.1:80 # a comment", []string{"server", "a", "192.0.2.1:80"}, 0},
		{`http-request set-header X "a b" 'c d'`, []string{"http-request", "set-header", "X", "a b", "c d"}, 0},
		{`log-format %{+Q}o\ %t`, []string{"log-format", "%{+Q}o %t"}, 0},
		{`acl x path_reg ^/a\.b$`, []string{"acl", "x", "path_reg", `^/a\.b$`}, 0},
		{`x a\#b "c#d" e#f`, []string{"x", "a#b", "c#d", "e"}, 0},
		{`bind "${ADDR}:80"`, []string{"bind", "192.0.2.1:80"}, 0},
		{`bind "$ADDR:80"`, []string{"bind", "192.0.2.1:80"}, 0},
		{`bind ${ADDR}:80`, []string{"bind", "${ADDR}:80"}, 0},
		{`bind '${ADDR}:80'`, []string{"bind", "${ADDR}:80"}, 0},
		{`x "${UNSET-def}"`, []string{"x", "def"}, 0},
		{`x "${UNSET}"`, []string{"x", ""}, 1},
		{`x "\$ADDR"`, []string{"x", "$ADDR"}, 0},
		{`x "a\"b"`, []string{"x", `a"b`}, 0},
		{`x \x41\t`, []string{"x", "A\t"}, 0},
		{`x ""`, []string{"x", ""}, 0},
		{`x "open`, nil, 1},
		{`x \xZZ`, nil, 1},
		{`server a b \`, []string{"server", "a", "b", `\`}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			words, probs := splitHAProxyLine(tc.in, env)
			if diff := cmp.Diff(tc.words, words); diff != "" {
				t.Errorf("words (-want +got):\n%s", diff)
			}
			if len(probs) != tc.probs {
				t.Errorf("problems %q, want %d", probs, tc.probs)
			}
		})
	}
}

// TestQuoteWord: a word written by quoteWord reads back the same.
func TestQuoteWord(t *testing.T) {
	t.Parallel()
	for _, w := range []string{"plain", "", "a b", `a\.b`, "it's", `say "hi"`, "a#b", "$HOME", "tab\there", "new\nline", "x'y\"z\\"} {
		got, probs := splitHAProxyLine("k "+quoteWord(w), nil)
		if len(probs) > 0 || len(got) != 2 || got[1] != w {
			t.Errorf("quoteWord(%q) = %s reads back as %q (%v)", w, quoteWord(w), got, probs)
		}
	}
}

func TestSplitKeepalivedLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		words []string
	}{
		{"vrrp_instance VI_1 {", []string{"vrrp_instance", "VI_1", "{"}},
		{"  }", []string{"}"}},
		{"virtual_ipaddress { 192.0.2.1 }", []string{"virtual_ipaddress", "{", "192.0.2.1", "}"}},
		{`script "killall -0 haproxy"  # comment`, []string{"script", "killall -0 haproxy"}},
		{"priority 100 ! comment", []string{"priority", "100"}},
		{`notify "/a.sh 'x y'"`, []string{"notify", "/a.sh 'x y'"}},
		{`x "a\"b"`, []string{"x", `a"b`}},
	}
	for _, tc := range tests {
		words, _, err := splitKeepalivedLine(tc.in)
		if err != "" {
			t.Errorf("%q: %s", tc.in, err)
		}
		if diff := cmp.Diff(tc.words, words); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestHAProxyTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		unit time.Duration
		want string
		bad  bool
	}{
		{"5000", time.Millisecond, "5s", false},
		{"5000ms", time.Millisecond, "5s", false},
		{"50000ms", time.Millisecond, "50s", false},
		{"1500", time.Millisecond, "1500ms", false},
		{"30", time.Second, "30s", false},
		{"2m", time.Millisecond, "2m", false},
		{"90m", time.Millisecond, "90m", false},
		{"4h", time.Millisecond, "4h", false},
		{"1d", time.Millisecond, "24h", false},
		{"100us", time.Millisecond, "100us", false},
		{"5x", time.Millisecond, "", true},
		{"", time.Millisecond, "", true},
		{"-1", time.Millisecond, "", true},
		{"99999999999999999999", time.Millisecond, "", true},
	}
	for _, tc := range tests {
		d, err := parseHAProxyTime(tc.in, tc.unit)
		if (err != nil) != tc.bad {
			t.Errorf("%q: error %v, want bad=%v", tc.in, err, tc.bad)
			continue
		}
		if err == nil && fmtDur(d) != tc.want {
			t.Errorf("%q: %s, want %s", tc.in, fmtDur(d), tc.want)
		}
	}
}

func TestIsHAProxyScript(t *testing.T) {
	t.Parallel()
	for script, want := range map[string]bool{
		"killall -0 haproxy":                       true,
		"/usr/bin/killall -0 haproxy":              true,
		"pidof haproxy":                            true,
		"/usr/sbin/pidof haproxy":                  true,
		"pgrep -x haproxy":                         true,
		"systemctl is-active haproxy":              true,
		"systemctl is-active --quiet haproxy":      true,
		"/bin/systemctl is-active haproxy.service": true,
		`sh -c "pidof haproxy"`:                    true,
		"killall haproxy":                          false,
		"killall -0 nginx":                         false,
		"curl -f http://127.0.0.1/":                false,
		"systemctl status haproxy":                 false,
		"":                                         false,
	} {
		if got := isHAProxyScript(script); got != want {
			t.Errorf("isHAProxyScript(%q) = %v, want %v", script, got, want)
		}
	}
}

func TestBindAndServerAddr(t *testing.T) {
	t.Parallel()
	binds := map[string]string{
		"*:80": "*:80", ":80": "*:80", "0.0.0.0:443": "*:443", "192.0.2.1:8080": "192.0.2.1:8080",
		"ipv4@192.0.2.1:80": "192.0.2.1:80", ":::80": "[::]:80", "ipv6@2001:db8::1:443": "[2001:db8::1]:443",
		"[2001:db8::1]:443": "[2001:db8::1]:443",
		"localhost:80":      "", "/run/x.sock": "", "*:8000-8010": "", "*:0": "", "192.0.2.1": "",
	}
	for in, want := range binds {
		got, err := bindAddr(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("bindAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	servers := map[string]string{
		"192.0.2.1:80": "192.0.2.1:80", "ipv6@2001:db8::2:80": "[2001:db8::2]:80",
		"web1:80": "", "192.0.2.1": "", "192.0.2.1:+1": "", "unix@/x": "",
	}
	for in, want := range servers {
		got, err := serverAddr(in)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("serverAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
