package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var scriptlets = []string{"preinstall.sh", "postinstall.sh", "preremove.sh", "postremove.sh"}

// shells are the /bin/sh of CentOS 7 (bash) and of Debian (dash).
func shells(t *testing.T) []string {
	var out []string
	for _, sh := range []string{"sh", "bash"} {
		if _, err := exec.LookPath(sh); err == nil {
			out = append(out, sh)
		}
	}
	if len(out) == 0 {
		t.Skip("skipping: no sh or bash")
	}
	return out
}

func TestScriptletSyntax(t *testing.T) {
	t.Parallel()
	for _, sh := range shells(t) {
		for _, s := range scriptlets {
			if out, errOut, err := runErr(sh, "-n", filepath.Join("scripts", s)); err != nil {
				t.Errorf("%s -n scripts/%s: %v\n%s%s", sh, s, err, out, errOut)
			}
		}
	}
}

// fakeCommands are the programs the scriptlets may call; the fakes record
// their arguments instead of touching the host.
var fakeCommands = []string{"systemctl", "sysctl", "getent", "groupadd", "useradd"}

// TestScriptletBehaviour runs each scriptlet with fake commands, with and
// without a running systemd (its /run/systemd/system test pointed at a
// temporary directory), and with every command failing.
func TestScriptletBehaviour(t *testing.T) {
	t.Parallel()
	const (
		reload  = "systemctl daemon-reload"
		sysctl  = "sysctl -p /usr/lib/sysctl.d/60-tandem.conf"
		rsyslog = "systemctl try-restart rsyslog.service"
		useradd = "useradd -r -g tandem -d /var/lib/tandem -s /sbin/nologin -c tandem load balancer tandem"
	)
	tests := []struct {
		name    string
		script  string
		arg     string
		systemd bool
		getent  string // exit status of getent: 0 = the account exists
		fail    bool   // every other command fails
		want    []string
	}{
		{name: "pre install", script: "preinstall.sh", arg: "1", getent: "2",
			want: []string{"getent group tandem", "groupadd -r tandem", "getent passwd tandem", useradd}},
		{name: "pre upgrade, account exists", script: "preinstall.sh", arg: "2", getent: "0",
			want: []string{"getent group tandem", "getent passwd tandem"}},
		{name: "pre, useradd fails", script: "preinstall.sh", arg: "1", getent: "2", fail: true,
			want: []string{"getent group tandem", "groupadd -r tandem", "getent passwd tandem", useradd}},
		{name: "post install", script: "postinstall.sh", arg: "1", systemd: true,
			want: []string{reload, "systemctl preset tandem.service", sysctl, rsyslog}},
		{name: "post upgrade", script: "postinstall.sh", arg: "2", systemd: true,
			want: []string{reload, sysctl, rsyslog}},
		{name: "post install, commands fail", script: "postinstall.sh", arg: "1", systemd: true, fail: true,
			want: []string{reload, "systemctl preset tandem.service", sysctl, rsyslog}},
		{name: "post install in a chroot", script: "postinstall.sh", arg: "1"},
		{name: "preun erase", script: "preremove.sh", arg: "0", systemd: true,
			want: []string{"systemctl --no-reload disable tandem.service", "systemctl stop tandem.service"}},
		{name: "preun erase, commands fail", script: "preremove.sh", arg: "0", systemd: true, fail: true,
			want: []string{"systemctl --no-reload disable tandem.service", "systemctl stop tandem.service"}},
		{name: "preun upgrade", script: "preremove.sh", arg: "1", systemd: true},
		{name: "preun erase in a chroot", script: "preremove.sh", arg: "0"},
		{name: "postun upgrade", script: "postremove.sh", arg: "1", systemd: true,
			want: []string{reload, "systemctl try-restart tandem.service"}},
		{name: "postun erase", script: "postremove.sh", arg: "0", systemd: true,
			want: []string{reload, rsyslog}},
		{name: "postun erase, commands fail", script: "postremove.sh", arg: "0", systemd: true, fail: true,
			want: []string{reload, rsyslog}},
		{name: "postun erase in a chroot", script: "postremove.sh", arg: "0"},
	}
	for _, sh := range shells(t) {
		for _, tt := range tests {
			t.Run(sh+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				bin := filepath.Join(dir, "bin")
				if err := os.Mkdir(bin, 0o755); err != nil {
					t.Fatal(err)
				}
				log := filepath.Join(dir, "calls")
				for _, c := range fakeCommands {
					fake := "#!/bin/sh\necho \"$(basename \"$0\") $*\" >> \"$FAKE_LOG\"\nexit ${FAKE_RC:-0}\n"
					if c == "getent" {
						fake = "#!/bin/sh\necho \"getent $*\" >> \"$FAKE_LOG\"\nexit ${FAKE_GETENT_RC:-0}\n"
					}
					if err := os.WriteFile(filepath.Join(bin, c), []byte(fake), 0o755); err != nil {
						t.Fatal(err)
					}
				}
				sd := filepath.Join(dir, "run-systemd-system")
				if tt.systemd {
					if err := os.Mkdir(sd, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				body, err := os.ReadFile(filepath.Join("scripts", tt.script))
				if err != nil {
					t.Fatal(err)
				}
				src := strings.ReplaceAll(string(body), "/run/systemd/system", sd)
				if strings.Contains(string(body), "systemctl") && !strings.Contains(src, sd) {
					t.Fatalf("scripts/%s calls systemctl without testing /run/systemd/system", tt.script)
				}
				script := filepath.Join(dir, tt.script)
				if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(sh, script, tt.arg)
				rc := "0"
				if tt.fail {
					rc = "1"
				}
				cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "FAKE_LOG=" + log, "FAKE_RC=" + rc, "FAKE_GETENT_RC=" + tt.getent}
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s %s %s: %v (a failing scriptlet fails the rpm transaction)\n%s", sh, tt.script, tt.arg, err, out)
				} else if len(out) > 0 {
					t.Errorf("%s printed %q; scriptlets should be quiet", tt.script, out)
				}
				var got []string
				if b, err := os.ReadFile(log); err == nil {
					got = strings.Split(strings.TrimSpace(string(b)), "\n")
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("commands run (-want +got):\n%s", diff)
				}
			})
		}
	}
}
