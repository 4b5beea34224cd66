package demo

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"

	"github.com/tandemlb/tandem/internal/tandemtest"
)

var update = flag.Bool("update", false, "rewrite vagrant/provision/*.toml from the seed")

const seedPath = "../../deploy/examples/seed.toml"

func readSeed(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(seedPath)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if _, err := toml.Decode(string(b), &m); err != nil {
		t.Fatalf("decode generated configuration: %v\n%s", err, b)
	}
	return m
}

func vagrantFile(n Node) string { return filepath.Join("..", "provision", n.Name+".toml") }

// The Vagrant boxes' configurations are committed files; they must be what
// the generator makes of the current seed.
func TestVagrantConfigsAreCurrent(t *testing.T) {
	t.Parallel()
	seed := readSeed(t)
	for _, n := range Nodes {
		want, err := Generate(seed, VagrantOverrides(n))
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(vagrantFile(n), want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(vagrantFile(n))
		if err != nil {
			t.Fatalf("%v (run go test ./vagrant/demo -update)", err)
		}
		if d := cmp.Diff(string(want), string(got)); d != "" {
			t.Errorf("%s is stale, run go test ./vagrant/demo -update (-want +got):\n%s", vagrantFile(n), d)
		}
	}
}

// The namespace twin and the Vagrant boxes run the same configuration: the
// netns files, with the Vagrant addresses put back and the netns-only
// overrides undone, must equal the committed Vagrant files.
func TestNetnsAndVagrantDoNotDrift(t *testing.T) {
	t.Parallel()
	seed := readSeed(t)
	for _, strip := range [][]string{nil, {"cookie"}, {"cookie", "stats"}} {
		for _, n := range Nodes {
			netns, err := Generate(seed, NetnsOverrides(n, "/tmp/lab", strip))
			if err != nil {
				t.Fatal(err)
			}
			vb, err := os.ReadFile(vagrantFile(n))
			if err != nil {
				t.Fatal(err)
			}
			vagrant := decode(t, vb)
			// Undo the Vagrant addresses, then make the netns edits.
			if err := editMap(vagrant, Overrides{Node: n, AddrMap: invert(VagrantAddrs), LogTarget: "stderr",
				AdminSocket: "/tmp/lab/" + n.Name + ".sock", CheckInter: "500ms", Strip: strip}); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(vagrant, decode(t, netns)); d != "" {
				t.Errorf("%s strip %v: netns and Vagrant configurations differ (-vagrant +netns):\n%s", n.Name, strip, d)
			}
		}
	}
}

func invert(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	seed := readSeed(t)
	tests := []struct {
		name string
		o    Overrides
		want []string // lines that must appear
		not  []string // substrings that must not
	}{
		{
			name: "lb1 netns",
			o:    NetnsOverrides(Nodes[0], "/tmp/x", nil),
			want: []string{`state = "master"`, `priority = 101`, `target = "stderr"`, `admin_socket = "/tmp/x/lb1.sock"`, `inter = "500ms"`, `cookie = "ms1.srv1"`, `[stats]`,
				`[peers]`, `local = "lb1"`, `bind = "192.0.2.11:10000"`, `peer = { name = "lb2", address = "192.0.2.12:10000" }`,
				`acl.url_pinned = "path_beg -i /pinned/"`, `  { backend = "pinned", if = "url_pinned" },`, `name = "pinned"`,
				`stick_table = { type = "ip", size = 1000, expire = "10m" }`, `stick_on = "src"`,
				`  { name = "def.srv2", address = "192.0.2.22:8082", maxconn = 300, check = true },`},
			not: []string{"udp://", `inter = "2s"`},
		},
		{
			name: "the zero overrides reproduce the seed",
			o:    Overrides{Node: Nodes[0]},
			want: []string{`state = "master"`, `priority = 101`, `target = "udp://127.0.0.1:514"`},
			not:  []string{"[peers]", "pinned", "stick_"},
		},
		{
			name: "lb2 netns without cookies and stats",
			o:    NetnsOverrides(Nodes[1], "/tmp/x", []string{"cookie", "stats"}),
			want: []string{`state = "backup"`, `priority = 100`, `virtual_ipaddress = ["192.0.2.100/24"]`},
			not:  []string{"cookie =", "[stats]", "HA_STICKY", "admin:admin"},
		},
		{
			name: "lb2 vagrant",
			o:    VagrantOverrides(Nodes[1]),
			want: []string{`state = "backup"`, `priority = 100`, `virtual_ipaddress = ["192.168.8.201/24"]`, `target = "udp://127.0.0.1:514"`, `inter = "2s"`, `[stats]`,
				`local = "lb2"`, `bind = "192.168.8.102:10000"`, `peer = { name = "lb1", address = "192.168.8.101:10000" }`, `secret = "` + PeersSecret + `"`},
			not: []string{"192.0.2.", `admin_socket = "/tmp`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := Generate(seed, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			s := string(b)
			for _, w := range tt.want {
				if !strings.Contains(s, w) {
					t.Errorf("missing %q in:\n%s", w, s)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(s, w) {
					t.Errorf("unexpected %q in:\n%s", w, s)
				}
			}
			// The text edits keep the seed's comments: the readable form
			// was used, not the re-encoded fallback.
			if !strings.Contains(s, "# raises RLIMIT_NOFILE") {
				t.Errorf("comments lost (fallback encoding used):\n%s", s)
			}
		})
	}
}

// An unknown 192.0.2.x address in the seed must not slip into the Vagrant
// files unmapped.
func TestGenerateUnmappedAddress(t *testing.T) {
	t.Parallel()
	seed := append(readSeed(t), []byte("\n# extra\n")...)
	seed = []byte(strings.Replace(string(seed), "192.0.2.22:8082", "192.0.2.23:8082", 1))
	if _, err := Generate(seed, VagrantOverrides(Nodes[0])); err == nil || !strings.Contains(err.Error(), "192.0.2.23") {
		t.Fatalf("Generate with an unmapped address: err = %v, want one naming 192.0.2.23", err)
	}
}

// Every generated configuration passes `tandem check` once the features
// it reports as not built are left out, and nothing else is rejected.
func TestGeneratedConfigsCheck(t *testing.T) {
	t.Parallel()
	bin := tandemtest.Binary(t)
	seed := readSeed(t)
	dir := t.TempDir()
	full, err := Generate(seed, NetnsOverrides(Nodes[0], dir, nil))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "full.toml")
	if err := os.WriteFile(file, full, 0o644); err != nil {
		t.Fatal(err)
	}
	missing, err := MissingFeatures(context.Background(), bin, file)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("features this tandem does not have yet: %v", missing)
	strip := sortedKeys(missing)
	for _, o := range []Overrides{NetnsOverrides(Nodes[0], dir, strip), NetnsOverrides(Nodes[1], dir, strip)} {
		b, err := Generate(seed, o)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, o.Node.Name+".toml")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if m, err := MissingFeatures(context.Background(), bin, f); err != nil || len(m) > 0 {
			t.Errorf("%s: tandem check: missing %v, err %v", o.Node.Name, m, err)
		}
	}
	for _, n := range Nodes {
		if m, err := MissingFeatures(context.Background(), bin, vagrantFile(n)); err != nil {
			t.Errorf("%s: tandem check rejects more than unbuilt features: %v", vagrantFile(n), err)
		} else if len(m) > 0 {
			t.Logf("%s: needs features not built yet: %v", vagrantFile(n), m)
		}
	}
}
