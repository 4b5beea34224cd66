package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLIUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{nil, 2, "", "Usage:"},
		{[]string{"help"}, 0, "Commands:", ""},
		{[]string{"bogus"}, 2, "", `unknown command "bogus"`},
		{[]string{"version"}, 0, "tandem dev", ""},
		{[]string{"version", "extra"}, 2, "", `unexpected argument "extra"`},
		{[]string{"check", "--nope"}, 2, "", "flag provided but not defined: -nope"},
		{[]string{"check", "--help"}, 0, "", "Usage: tandem check"},
		{[]string{"help", "run"}, 0, "", "Usage: tandem run"},
		{[]string{"check", "-c", "/nonexistent/tandem.toml"}, 1, "", "no such file"},
		{[]string{"ctl"}, 2, "", "Usage: tandem ctl"},
		{[]string{"ctl", "-s", "/nonexistent/admin.sock", "show", "info"}, 1, "", "tandem is not running"},
		{[]string{"convert", "--haproxy", "/nonexistent/x.cfg"}, 1, "", "no such file"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, "_"), func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCLI(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			if !strings.Contains(out, tc.inStdout) {
				t.Errorf("stdout %q lacks %q", out, tc.inStdout)
			}
			if !strings.Contains(errOut, tc.inStderr) {
				t.Errorf("stderr %q lacks %q", errOut, tc.inStderr)
			}
		})
	}
}

func TestCheckCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(good, []byte(`
[[frontend]]
name = "web"
bind = ["127.0.0.1:18080"]
default_backend = "app"

[[backend]]
name = "app"
server = [ { name = "a", address = "127.0.0.1:18000" } ]
`), 0o644)
	os.WriteFile(bad, []byte(`
[[frontend]]
name = "web"
bind = ["127.0.0.1:18080"]
default_backend = "nope"
colour = "blue"
`), 0o644)

	code, out, errOut := runCLI("check", "-c", good)
	if code != 0 || !strings.Contains(out, good+": configuration is valid: 1 frontend, 1 backend, 1 server, 0 VRRP instances") {
		t.Errorf("good: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI("check", "-c", bad)
	want := bad + ":6:1: frontend \"web\": unknown key \"colour\"\n" +
		bad + ":5:1: frontend \"web\": default_backend: no backend named \"nope\"\n"
	if code != 1 || out != "" {
		t.Errorf("bad: exit %d, stdout %q", code, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		if !strings.Contains(errOut, line) {
			t.Errorf("bad: stderr %q lacks %q", errOut, line)
		}
	}
	if !strings.Contains(errOut, "2 errors") {
		t.Errorf("bad: stderr %q lacks the error count", errOut)
	}
}
