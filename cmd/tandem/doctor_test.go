package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandemlb/tandem/internal/config"
)

// The sysctls `check --host` expects are the ones the RPM installs.
func TestTunedSysctlsMatchDeployFile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../deploy/sysctl.conf")
	if err != nil {
		t.Fatal(err)
	}
	file := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		file[strings.TrimSpace(k)] = strings.Join(strings.Fields(v), " ")
	}
	if len(file) != len(tunedSysctls) {
		t.Errorf("deploy/sysctl.conf has %d settings, check --host knows %d", len(file), len(tunedSysctls))
	}
	for _, s := range tunedSysctls {
		if file[s.key] != s.value {
			t.Errorf("%s: deploy/sysctl.conf says %q, check --host expects %q", s.key, file[s.key], s.value)
		}
	}
}

// checkHost against a fake /proc: one sysctl off, syslog not listening.
func TestCheckHost(t *testing.T) {
	t.Parallel()
	proc := t.TempDir()
	for _, s := range tunedSysctls {
		path := filepath.Join(proc, "sys", strings.ReplaceAll(s.key, ".", "/"))
		os.MkdirAll(filepath.Dir(path), 0o755)
		v := s.value
		if s.key == "net.core.somaxconn" {
			v = "4096"
		}
		os.WriteFile(path, []byte(strings.ReplaceAll(v, " ", "\t")+"\n"), 0o644)
	}
	os.MkdirAll(filepath.Join(proc, "self"), 0o755)
	os.WriteFile(filepath.Join(proc, "self", "status"), []byte("Name:\ttandem\nCapEff:\t0000000000003000\n"), 0o644)
	os.MkdirAll(filepath.Join(proc, "net"), 0o755)
	os.WriteFile(filepath.Join(proc, "net", "udp"), []byte("  sl  local_address rem_address\n   0: 0100007F:0035 00000000:0000 07\n"), 0o644)

	cfg, ds := config.Load("t.toml", []byte(`
[global]
maxconn = 100
[log]
target = "udp://127.0.0.1:514"
[[frontend]]
name = "web"
bind = ["*:80"]
default_backend = "app"
[[backend]]
name = "app"
server = [ { name = "a", address = "127.0.0.1:8000" } ]
[[vrrp.instance]]
name = "VI_1"
interface = "eth1"
virtual_router_id = 51
virtual_ipaddress = ["192.0.2.100/24"]
`), config.Options{})
	if cfg == nil {
		t.Fatal(ds)
	}
	var out bytes.Buffer
	code := checkHost(cfg, proc, &out)
	got := out.String()
	for _, want := range []string{
		"ok   sysctl net.ipv4.ip_local_port_range = 1024 65023",
		"fix  sysctl net.core.somaxconn is 4096, want 10000",
		"ok   capability CAP_NET_ADMIN",
		"ok   capability CAP_NET_RAW",
		"fix  capability CAP_NET_BIND_SERVICE missing (frontend web binds port 80)",
		"fix  log target udp://127.0.0.1:514: nothing listens on UDP port 514",
		"3 things to change on this host",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	// 0x0202 = 514 listening: the syslog finding turns ok.
	os.WriteFile(filepath.Join(proc, "net", "udp"), []byte("  sl  local_address rem_address\n   0: 0100007F:0202 00000000:0000 07\n"), 0o644)
	out.Reset()
	checkHost(cfg, proc, &out)
	if !strings.Contains(out.String(), "ok   log target udp://127.0.0.1:514: a syslog daemon listens on UDP port 514") {
		t.Errorf("syslog listening not seen:\n%s", out.String())
	}
}
