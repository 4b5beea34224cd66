package demo

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const vagrantfile = "../Vagrantfile"

func TestVagrantfileRubySyntax(t *testing.T) {
	t.Parallel()
	ruby, err := exec.LookPath("ruby")
	if err != nil {
		t.Skip("ruby is not installed (Debian package ruby): cannot check the Vagrantfile's syntax")
	}
	out, err := exec.Command(ruby, "-c", vagrantfile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Syntax OK") {
		t.Fatalf("ruby -c %s: %v\n%s", vagrantfile, err, out)
	}
}

func TestProvisionScripts(t *testing.T) {
	t.Parallel()
	scripts, err := filepath.Glob("../provision/*.sh")
	if err != nil || len(scripts) != 3 {
		t.Fatalf("provision scripts: %v %v, want common.sh, lb.sh, web.sh", scripts, err)
	}
	shellcheck, _ := exec.LookPath("shellcheck")
	for _, s := range scripts {
		t.Run(filepath.Base(s), func(t *testing.T) {
			t.Parallel()
			if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
				t.Fatalf("bash -n: %v\n%s", err, out)
			}
			if shellcheck == "" {
				t.Skip("shellcheck is not installed (Debian package shellcheck); bash -n passed")
			}
			if out, err := exec.Command(shellcheck, s).CombinedOutput(); err != nil {
				t.Errorf("shellcheck: %v\n%s", err, out)
			}
		})
	}
}

// The Vagrantfile's boxes, addresses and web listeners are those of the
// lab mapped to the host-only network, and the web listeners are exactly
// the servers of the seed: the Vagrant demo and the namespace twin serve
// the same thing.
func TestVagrantfileMatchesLab(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(vagrantfile)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if strings.Contains(text, "192.0.2.") {
		t.Error("the Vagrantfile uses lab (192.0.2.x) addresses; it must use the host-only network's")
	}
	boxRE := regexp.MustCompile(`name: "([a-z0-9]+)", ip: "([0-9.]+)"`)
	got := map[string]string{}
	for _, m := range boxRE.FindAllStringSubmatch(text, -1) {
		got[m[1]] = m[2]
	}
	want := map[string]string{}
	for _, n := range []string{"lb1", "lb2", "web1", "web2"} {
		want[n] = VagrantAddrs[HostAddrs[n].Addr().String()]
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Vagrantfile boxes (-want +got):\n%s", d)
	}

	d := &Demo{Seed: readSeed(t)}
	if err := d.parseWebs(); err != nil {
		t.Fatal(err)
	}
	var wantSpecs []string
	for _, h := range []string{"web1", "web2"} {
		for _, s := range d.specs[h] {
			addr, err := mapAddr(s.addr, VagrantAddrs)
			if err != nil {
				t.Fatal(err)
			}
			wantSpecs = append(wantSpecs, s.group+":"+s.server+"@"+addr)
		}
	}
	specRE := regexp.MustCompile(`"([a-z0-9_]+:[a-z0-9_.]+@[0-9.]+:[0-9]+)"`)
	var gotSpecs []string
	for _, m := range specRE.FindAllStringSubmatch(text, -1) {
		gotSpecs = append(gotSpecs, m[1])
	}
	sort.Strings(wantSpecs)
	sort.Strings(gotSpecs)
	if d := cmp.Diff(wantSpecs, gotSpecs); d != "" {
		t.Errorf("Vagrantfile web listeners differ from the seed's servers (-want +got):\n%s", d)
	}

	lb, err := os.ReadFile("../provision/lb.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(lb), `vagrant/provision/$node.toml`) {
		t.Error("lb.sh does not install the generated vagrant/provision/NODE.toml")
	}
}

// lb.sh opens the peers port to the other node only, reading both from
// the installed configuration: its sed lines must find them in the
// generated files.
func TestProvisionPeersFirewall(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../provision/lb.sh")
	if err != nil {
		t.Fatal(err)
	}
	var script []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "peer_ip=") || strings.HasPrefix(line, "peers_port=") {
			script = append(script, line)
		}
	}
	if len(script) != 2 {
		t.Fatalf("lb.sh: want one peer_ip= and one peers_port= line, got %q", script)
	}
	script = append(script, `echo "$peer_ip $peers_port"`)
	for _, n := range Nodes {
		abs, err := filepath.Abs(vagrantFile(n))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(strings.Join(script, "\n"), "/etc/tandem/tandem.toml", abs)
		out, err := exec.Command("bash", "-c", text).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", n.Name, err, out)
		}
		want := fmt.Sprintf("%s %d", VagrantAddrs[HostAddrs[peerOf(n).Name].Addr().String()], PeersPort)
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("%s: lb.sh finds peer and port %q, want %q", n.Name, got, want)
		}
	}
}
