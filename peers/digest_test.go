package peers

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemlb/tandem/internal/config"
)

// pairConfig is a seed-like configuration for node lb1 or lb2; edit
// changes it for one test case.
func pairConfig(node string, edit func(string) string) string {
	prio, state, src, peer, other := "101", "master", "192.0.2.11", "192.0.2.12", "lb2"
	if node == "lb2" {
		prio, state, src, peer, other = "100", "backup", "192.0.2.12", "192.0.2.11", "lb1"
	}
	s := `
[global]
maxconn = 4096
admin_socket = "/run/tandem/` + node + `.sock"

[log]
target = "udp://127.0.0.1:5` + prio + `"

[[frontend]]
name = "http-in"
bind = ["*:9001"]
default_backend = "ms1"
acl.url_ms2 = "path_beg -i /ms2/"
use_backend = [ { backend = "ms2", if = "url_ms2" } ]

[[backend]]
name = "ms1"
balance = "roundrobin"
server = [
  { name = "ms1.srv1", address = "192.0.2.21:8080", weight = 1 },
  { name = "ms1.srv2", address = "192.0.2.22:8080" },
]

[[backend]]
name = "ms2"
server = [ { name = "ms2.srv1", address = "192.0.2.21:8081" } ]

[[vrrp.instance]]
name = "VI_1"
interface = "eth1"
state = "` + state + `"
virtual_router_id = 51
priority = ` + prio + `
unicast_src_ip = "` + src + `"
unicast_peer = ["` + peer + `"]
virtual_ipaddress = ["192.0.2.100/24"]

[peers]
local = "` + node + `"
peer = { name = "` + other + `", address = "` + peer + `:10000" }
secret = "0123456789abcdef"
`
	if edit != nil {
		s = edit(s)
	}
	return s
}

func digestOf(t *testing.T, src string) Digest {
	t.Helper()
	cfg, ds := config.Load("t.toml", []byte(src), config.Options{})
	if cfg == nil {
		t.Fatalf("config: %v", ds)
	}
	return ConfigDigest(cfg)
}

// TestConfigDigest: the two nodes' configurations digest the same although
// their node-specific keys differ; a real difference names its section.
func TestConfigDigest(t *testing.T) {
	t.Parallel()
	base := digestOf(t, pairConfig("lb1", nil))
	wantSections := []string{"backend ms1", "backend ms2", "frontend http-in", "global", "log", "vrrp VI_1"}
	if diff := cmp.Diff(wantSections, slices.Sorted(maps.Keys(base))); diff != "" {
		t.Errorf("sections (-want +got):\n%s", diff)
	}
	tests := []struct {
		name string
		node string
		edit func(string) string
		want []string
	}{
		{"same file", "lb1", nil, nil},
		{"the peer's file", "lb2", nil, nil},
		{"key order and defaults spelled out", "lb2", func(s string) string {
			return strings.Replace(s, `{ name = "ms1.srv2", address = "192.0.2.22:8080" }`,
				`{ address = "192.0.2.22:8080", name = "ms1.srv2", weight = 1 }`, 1)
		}, nil},
		{"server weight", "lb2", func(s string) string {
			return strings.Replace(s, `weight = 1 }`, `weight = 2 }`, 1)
		}, []string{"backend ms1"}},
		{"extra backend", "lb2", func(s string) string {
			return s + "\n[[backend]]\nname = \"ms3\"\nserver = [ { name = \"a\", address = \"192.0.2.21:1\" } ]\n"
		}, []string{"backend ms3"}},
		{"acl", "lb2", func(s string) string { return strings.Replace(s, "/ms2/", "/ms3/", 1) }, []string{"frontend http-in"}},
		{"vip", "lb2", func(s string) string { return strings.Replace(s, "192.0.2.100/24", "192.0.2.101/24", 1) }, []string{"vrrp VI_1"}},
		{"maxconn", "lb2", func(s string) string { return strings.Replace(s, "maxconn = 4096", "maxconn = 2000", 1) }, []string{"global"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			other := digestOf(t, pairConfig(tt.node, tt.edit))
			if diff := cmp.Diff(tt.want, base.Diff(other)); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
			// The keyed form a hello carries says the same.
			nonce := [nonceLen]byte{7}
			if diff := cmp.Diff(tt.want, base.diffKeyed([]byte("s"), nonce, other.keyed([]byte("s"), nonce))); diff != "" {
				t.Errorf("diffKeyed (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKeyedDigest: without the secret, the keyed sums do not match, so a
// captured hello does not reveal whether a guess of a section is right.
func TestKeyedDigest(t *testing.T) {
	t.Parallel()
	d := digestOf(t, pairConfig("lb1", nil))
	nonce := [nonceLen]byte{1}
	if got := d.diffKeyed([]byte("guess"), nonce, d.keyed([]byte("secret"), nonce)); len(got) != len(d) {
		t.Errorf("sections matching under the wrong secret: %d of %d differ", len(got), len(d))
	}
	if got := d.diffKeyed([]byte("secret"), [nonceLen]byte{2}, d.keyed([]byte("secret"), nonce)); len(got) != len(d) {
		t.Errorf("sections matching under another nonce: %d of %d differ", len(got), len(d))
	}
}
