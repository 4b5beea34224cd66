package logtest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRsyslogRoutes checks the deploy file's rules as rsyslogd applies them:
// local0 to tandem.log only, local1 to tandem_warn.log only, other
// facilities to neither, with the hostname added.
func TestRsyslogRoutes(t *testing.T) {
	t.Parallel()
	r := StartRsyslog(t)
	c, err := net.Dial("udp", r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, d := range []string{
		"<134>Nov 25 16:50:00 tandem[42]: zero info",
		"<140>Nov 25 16:50:01 tandem[42]: one warning",
		"<14>Nov 25 16:50:02 tandem[42]: user info",
		"<134>Nov 25 16:50:03 tandem[42]: last",
	} {
		if _, err := c.Write([]byte(d)); err != nil {
			t.Fatalf("send %q: %v", d, err)
		}
	}
	WaitForLine(t, r.Log, "last", 10*time.Second)
	WaitForLine(t, r.WarnLog, "one warning", 10*time.Second)
	line := regexp.MustCompile(`^Nov 25 16:50:0[0-3] \S+ tandem\[42\]: `)
	for _, tt := range []struct {
		path string
		want []string
	}{
		{r.Log, []string{"zero info", "last"}},
		{r.WarnLog, []string{"one warning"}},
	} {
		var got []string
		for _, l := range Lines(tt.path) {
			if !line.MatchString(l) {
				t.Errorf("%s: line %q is not `Mmm dd hh:mm:ss host tag[pid]: msg`", filepath.Base(tt.path), l)
				continue
			}
			got = append(got, line.ReplaceAllString(l, ""))
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s holds %q, want %q", filepath.Base(tt.path), got, tt.want)
		}
	}
}

func TestRsyslogConfValidates(t *testing.T) {
	t.Parallel()
	bin := LookPath(t, "rsyslogd", "rsyslog")
	out, err := exec.Command(bin, "-N1", "-f", FindRepoFile(t, deployConf)).CombinedOutput()
	if err != nil || strings.Contains(strings.ToLower(string(out)), "error") || strings.Contains(string(out), "warning") {
		t.Fatalf("rsyslogd -N1 -f %s: %v\n%s", deployConf, err, out)
	}
}

func TestTestConfigRejectsUnexpectedShape(t *testing.T) {
	t.Parallel()
	if _, err := testConfig("$UDPServerRun 515\n", 1, "/d", "/l", "/w", "/p"); err == nil {
		t.Fatal("testConfig accepted a config without the expected lines")
	}
}

// TestLogrotateConf has logrotate parse the deploy file (debug mode: it
// rotates nothing and runs no script, so the system's rsyslog is never
// signalled), with the paths moved to a temporary directory.
func TestLogrotateConf(t *testing.T) {
	t.Parallel()
	bin := LookPath(t, "logrotate", "logrotate")
	src, err := os.ReadFile(FindRepoFile(t, "deploy/logrotate"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"daily", "rotate 7", "compress", "delaycompress", "missingok", "notifempty", "sharedscripts", "postrotate", "-HUP", "endscript"} {
		if !regexp.MustCompile(`(?m)^\s*`+regexp.QuoteMeta(want)+`\b`).Match(src) && !strings.Contains(string(src), want) {
			t.Errorf("deploy/logrotate lacks %q", want)
		}
	}
	dir := t.TempDir()
	conf := strings.ReplaceAll(string(src), "/var/log/", dir+"/")
	for _, f := range []string{"tandem.log", "tandem_warn.log"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	confPath := filepath.Join(dir, "logrotate.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-d", "-f", "-s", filepath.Join(dir, "state"), confPath).CombinedOutput()
	if err != nil || strings.Contains(string(out), "error:") {
		t.Fatalf("logrotate -d: %v\n%s", err, out)
	}
	for _, want := range []string{"rotating pattern: " + dir + "/tandem.log " + dir + "/tandem_warn.log", "forced from command line (7 rotations)", "running postrotate script"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("logrotate -d output lacks %q:\n%s", want, out)
		}
	}
}

// TestSysctlConf checks that every key names a real kernel setting and that
// the values are the ones the deployment needs.
func TestSysctlConf(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(FindRepoFile(t, "deploy/sysctl.conf"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"net.ipv4.tcp_tw_reuse":        "1",
		"net.ipv4.ip_local_port_range": "1024 65023",
		"net.ipv4.tcp_max_syn_backlog": "10240",
		"net.ipv4.tcp_max_tw_buckets":  "400000",
		"net.ipv4.tcp_max_orphans":     "60000",
		"net.ipv4.tcp_synack_retries":  "3",
		"net.core.somaxconn":           "10000",
		"net.ipv4.ip_nonlocal_bind":    "1",
	}
	got := map[string]string{}
	prevComment := false
	for i, l := range strings.Split(string(src), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
			prevComment = false
			continue
		case strings.HasPrefix(l, "#"):
			prevComment = true
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Errorf("deploy/sysctl.conf:%d: %q is not key = value", i+1, l)
			continue
		}
		k, v = strings.TrimSpace(k), strings.Join(strings.Fields(v), " ")
		if !prevComment {
			t.Errorf("deploy/sysctl.conf:%d: %s has no comment saying why", i+1, k)
		}
		prevComment = false
		got[k] = v
		if _, err := os.Stat("/proc/sys/" + strings.ReplaceAll(k, ".", "/")); err != nil {
			t.Errorf("deploy/sysctl.conf:%d: %s is not a kernel setting here: %v", i+1, k, err)
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("deploy/sysctl.conf sets %d keys, want %d: %v", len(got), len(want), got)
	}
}
