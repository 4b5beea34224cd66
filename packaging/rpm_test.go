package packaging

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const repoRoot = ".."

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// tandemBinary returns a static tandem: $TANDEM_BIN (`make test` sets it)
// or one built like `make build` does, once per test process.
func tandemBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TANDEM_BIN"); p != "" {
		return p
	}
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tandem-packaging-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "tandem")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", binPath, "./cmd/tandem")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/tandem: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// run runs a command with a deadline and returns its stdout; it fails the
// test with stderr when the command fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, errOut, err := runErr(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func runErr(name string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func needPrograms(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("skipping: %s not found (Debian package %s)", n, debianPackage[n])
		}
	}
}

var debianPackage = map[string]string{
	"rpm": "rpm", "rpm2cpio": "rpm", "logrotate": "logrotate", "systemd-analyze": "systemd",
	"gzip": "gzip", "bash": "bash",
}

func TestRPMVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"v1.2.3", "1.2.3"},
		{"1.2.3", "1.2.3"},
		{"v1.2.3-4-gabc1234", "1.2.3.4.gabc1234"},
		{"v1.2.3-4-gabc1234-dirty", "1.2.3.4.gabc1234.dirty"},
		{"v1.0.0-rc1", "1.0.0.rc1"},
		{"abc1234", "0.0.0.abc1234"},
		{"abc1234-dirty", "0.0.0.abc1234.dirty"},
		{"dev", "0.0.0.dev"},
		{" v2.0\n", "2.0"},
		{"v1.2/3", "0.0.0.v1.2.3"},
	}
	for _, tt := range tests {
		got, err := RPMVersion(tt.in)
		if err != nil {
			t.Errorf("RPMVersion(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("RPMVersion(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if _, err := RPMVersion(""); err == nil {
		t.Error("RPMVersion(\"\") succeeded, want an error")
	}
}

func TestCheckBinary(t *testing.T) {
	t.Parallel()
	text := filepath.Join(t.TempDir(), "text")
	if err := os.WriteFile(text, []byte("#!/bin/sh\n"+strings.Repeat("# not a binary\n", 10)), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, wantErr string
	}{
		{"static tandem", "", ""},
		{"dynamic", "/bin/sh", "dynamically linked"},
		{"not ELF", text, "bad magic"},
		{"missing", filepath.Join(t.TempDir(), "absent"), "no such file"},
	}
	for _, tt := range tests {
		path := tt.path
		if path == "" {
			path = tandemBinary(t)
		}
		err := checkBinary(path)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	bin := tandemBinary(t)
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"no version", Options{Root: repoRoot, Binary: bin}, "empty version"},
		{"no binary", Options{Root: repoRoot, Binary: "/nonexistent/tandem", Version: "1"}, "no such file"},
		{"wrong root", Options{Root: t.TempDir(), Binary: bin, Version: "1"}, "packaging/nfpm.yaml"},
	}
	for _, tt := range tests {
		tt.opts.OutDir = t.TempDir()
		_, err := Build(tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

// shipped maps every file in the package to its source in the repository
// ("" for the binary and for directories).
var shipped = map[string]string{
	"/etc/logrotate.d/tandem":                           "deploy/logrotate",
	"/etc/rsyslog.d/tandem.conf":                        "deploy/rsyslog.conf",
	"/etc/tandem":                                       "",
	"/etc/tandem/tandem.toml":                           "deploy/examples/tandem.toml",
	"/usr/lib/sysctl.d/60-tandem.conf":                  "deploy/sysctl.conf",
	"/usr/lib/systemd/system/tandem.service":            "deploy/tandem.service",
	"/usr/sbin/tandem":                                  "",
	"/usr/share/doc/tandem":                             "",
	"/usr/share/doc/tandem/examples":                    "",
	"/usr/share/doc/tandem/examples/active-active.toml": "deploy/examples/active-active.toml",
	"/usr/share/doc/tandem/examples/l4.toml":            "deploy/examples/l4.toml",
	"/usr/share/doc/tandem/examples/quickstart.toml":    "deploy/examples/quickstart.toml",
	"/usr/share/doc/tandem/examples/tandem.toml":        "deploy/examples/tandem.toml",
	"/usr/share/doc/tandem/examples/tls.toml":           "deploy/examples/tls.toml",
	"/var/lib/tandem":                                   "",
}

var (
	toolsOnce sync.Once
	mkrpmPath string
	tinyPath  string
	toolsErr  error
)

// tools builds, once, the mkrpm command as `make rpm` runs it (without the
// race detector, which makes xz compression minutes long) and a tiny static
// program that stands in for tandem in packages built only to test upgrades.
func tools(t *testing.T) (mkrpm, tiny string) {
	t.Helper()
	toolsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tandem-packaging-tools-")
		if err != nil {
			toolsErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		mkrpmPath = filepath.Join(dir, "mkrpm")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", mkrpmPath, "./packaging/cmd/mkrpm")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			toolsErr = fmt.Errorf("go build ./packaging/cmd/mkrpm: %v\n%s", err, out)
			return
		}
		src := filepath.Join(dir, "tiny.go")
		if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
			toolsErr = err
			return
		}
		tinyPath = filepath.Join(dir, "tiny")
		cmd = exec.CommandContext(ctx, "go", "build", "-o", tinyPath, src)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GO111MODULE=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			toolsErr = fmt.Errorf("go build tiny.go: %v\n%s", err, out)
		}
	})
	if toolsErr != nil {
		t.Fatal(toolsErr)
	}
	return mkrpmPath, tinyPath
}

// mkrpm runs the builder as `make rpm` does and returns the package's path.
func mkrpm(t *testing.T, root, bin, version string) string {
	t.Helper()
	cmd, _ := tools(t)
	out := run(t, cmd, "-root", root, "-bin", bin, "-version", version, "-out", t.TempDir())
	return strings.TrimSpace(out)
}

func buildRPM(t *testing.T, version string) string {
	t.Helper()
	return mkrpm(t, repoRoot, tandemBinary(t), version)
}

func TestRPM(t *testing.T) {
	needPrograms(t, "rpm", "rpm2cpio")
	t.Parallel()
	pkg := buildRPM(t, "v1.2.3")
	if got, want := filepath.Base(pkg), "tandem-1.2.3-1.el7.x86_64.rpm"; got != want {
		t.Errorf("package file %s, want %s", got, want)
	}

	t.Run("info", func(t *testing.T) {
		got := map[string]string{}
		for _, line := range strings.Split(run(t, "rpm", "-qip", pkg), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if ok && !strings.HasPrefix(line, " ") {
				got[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		want := map[string]string{
			"Name": "tandem", "Version": "1.2.3", "Release": "1.el7", "Architecture": "x86_64",
			"License": "Proprietary", "Group": "System Environment/Daemons",
			"Summary": "Two-node HA load balancer (L4/L7 proxy and VRRP) in one binary",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("rpm -qip %s: %q, want %q", k, got[k], v)
			}
		}
		// CentOS 7's rpm 4.11 cannot read zstd.
		if got := run(t, "rpm", "-qp", "--qf", "%{PAYLOADCOMPRESSOR} %{OS}", pkg); got != "xz linux" {
			t.Errorf("payload compressor and OS %q, want \"xz linux\"", got)
		}
		if got := run(t, "rpm", "-qp", "--requires", pkg); !cmp.Equal(strings.Fields(got), []string{"shadow-utils", "systemd", "procps-ng"}) {
			t.Errorf("requires %q, want shadow-utils systemd procps-ng", got)
		}
	})

	t.Run("digests", func(t *testing.T) {
		if got := run(t, "rpm", "-K", "--nosignature", pkg); !strings.Contains(got, "digests OK") {
			t.Errorf("rpm -K: %q", got)
		}
		// rpm2cpio decompresses the xz payload to a newc cpio archive and
		// exits 0 only when its size matches the signature header's
		// (see fixPayloadSize).
		if got := run(t, "rpm2cpio", pkg); !strings.HasPrefix(got, "070701") {
			t.Errorf("rpm2cpio output starts %q, want the newc magic 070701", got[:min(6, len(got))])
		}
	})

	t.Run("files", func(t *testing.T) {
		var want []string
		for f := range shipped {
			want = append(want, f)
		}
		got := strings.Fields(run(t, "rpm", "-qlp", pkg))
		if diff := cmp.Diff(want, got, cmpSorted); diff != "" {
			t.Errorf("rpm -qlp (-want +got):\n%s", diff)
		}
	})

	t.Run("owners modes flags", func(t *testing.T) {
		// flags: c config, n noreplace, d doc.
		want := strings.Join([]string{
			"/etc/logrotate.d/tandem -rw-r--r-- root root cn",
			"/etc/rsyslog.d/tandem.conf -rw-r--r-- root root cn",
			"/etc/tandem drwxr-xr-x root root -",
			"/etc/tandem/tandem.toml -rw-r----- root tandem cn",
			"/usr/lib/sysctl.d/60-tandem.conf -rw-r--r-- root root -",
			"/usr/lib/systemd/system/tandem.service -rw-r--r-- root root -",
			"/usr/sbin/tandem -rwxr-xr-x root root -",
			"/usr/share/doc/tandem drwxr-xr-x root root -",
			"/usr/share/doc/tandem/examples drwxr-xr-x root root -",
			"/usr/share/doc/tandem/examples/active-active.toml -rw-r--r-- root root d",
			"/usr/share/doc/tandem/examples/l4.toml -rw-r--r-- root root d",
			"/usr/share/doc/tandem/examples/quickstart.toml -rw-r--r-- root root d",
			"/usr/share/doc/tandem/examples/tandem.toml -rw-r--r-- root root d",
			"/usr/share/doc/tandem/examples/tls.toml -rw-r--r-- root root d",
			"/var/lib/tandem drwxr-x--- tandem tandem -",
		}, "\n")
		var got []string
		out := run(t, "rpm", "-qp", "--qf", `[%{FILENAMES}|%{FILEMODES:perms}|%{FILEUSERNAME}|%{FILEGROUPNAME}|%{FILEFLAGS:fflags}\n]`, pkg)
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Split(line, "|")
			if len(f) == 5 && f[4] == "" {
				f[4] = "-"
			}
			got = append(got, strings.Join(f, " "))
		}
		if diff := cmp.Diff(strings.Split(want, "\n"), got, cmpSorted); diff != "" {
			t.Errorf("file owners, modes and flags (-want +got):\n%s", diff)
		}
	})

	t.Run("scriptlets", func(t *testing.T) {
		got := run(t, "rpm", "-qp", "--scripts", pkg)
		for kind, file := range map[string]string{
			"preinstall": "preinstall.sh", "postinstall": "postinstall.sh",
			"preuninstall": "preremove.sh", "postuninstall": "postremove.sh",
		} {
			body, err := os.ReadFile(filepath.Join("scripts", file))
			if err != nil {
				t.Fatal(err)
			}
			want := kind + " scriptlet (using /bin/sh):\n" + strings.TrimRight(string(body), "\n")
			if !strings.Contains(got, want) {
				t.Errorf("rpm --scripts lacks %s from scripts/%s; got:\n%s", kind, file, got)
			}
		}
		for _, want := range []string{"[ -d /run/systemd/system ]", "useradd -r -g tandem -d /var/lib/tandem -s /sbin/nologin",
			"systemctl try-restart tandem.service", "systemctl stop tandem.service", "sysctl -p /usr/lib/sysctl.d/60-tandem.conf",
			"systemctl try-restart rsyslog.service", "systemctl daemon-reload"} {
			if !strings.Contains(got, want) {
				t.Errorf("rpm --scripts lacks %q", want)
			}
		}
	})

	t.Run("install upgrade erase", func(t *testing.T) {
		testInstall(t, pkg)
	})
}

var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// testInstall installs pkg into a scratch root (never the host), runs the
// installed tandem on the installed configuration, then upgrades to a newer
// build and erases, checking that an edited configuration survives both.
func testInstall(t *testing.T, pkg string) {
	root := t.TempDir()
	rpmIn := func(args ...string) string {
		return run(t, "rpm", append([]string{"--root", root, "--dbpath", "/rpmdb", "--nodeps", "--noscripts"}, args...)...)
	}
	rpmIn("-i", pkg)
	if got := strings.TrimSpace(run(t, "rpm", "--root", root, "--dbpath", "/rpmdb", "-q", "tandem")); got != "tandem-1.2.3-1.el7.x86_64" {
		t.Errorf("installed package %q", got)
	}
	bin := tandemBinary(t)
	for dst, src := range shipped {
		p := filepath.Join(root, dst)
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("not installed: %v", err)
			continue
		}
		if src == "" && !st.IsDir() {
			src = bin
		} else if src != "" {
			src = filepath.Join(repoRoot, src)
		}
		if src != "" && !sameContent(t, src, p) {
			t.Errorf("%s differs from %s", dst, src)
		}
	}

	installed := filepath.Join(root, "usr/sbin/tandem")
	confs := []string{filepath.Join(root, "etc/tandem/tandem.toml")}
	examples, _ := filepath.Glob(filepath.Join(root, "usr/share/doc/tandem/examples/*.toml"))
	for _, c := range append(confs, examples...) {
		if filepath.Base(c) == "tls.toml" { // needs a certificate the package does not ship
			checkTLSExample(t, installed, c)
			continue
		}
		if out, errOut, err := runErr(installed, "check", "-c", c); err != nil {
			t.Errorf("installed tandem check -c %s: %v\n%s%s", c, err, out, errOut)
		}
	}

	// noreplace: an edited configuration stays, the new one lands beside it.
	conf := filepath.Join(root, "etc/tandem/tandem.toml")
	edited := []byte("# edited by the admin\n[global]\nmaxconn = 100\n")
	if err := os.WriteFile(conf, edited, 0o640); err != nil {
		t.Fatal(err)
	}
	_, tiny := tools(t)
	newer := mkrpm(t, repoRoot, tiny, "v1.2.4")
	rpmIn("-U", newer)
	if got := strings.TrimSpace(run(t, "rpm", "--root", root, "--dbpath", "/rpmdb", "-q", "tandem")); got != "tandem-1.2.4-1.el7.x86_64" {
		t.Errorf("after upgrade: installed package %q", got)
	}
	if got, _ := os.ReadFile(conf); !bytes.Equal(got, edited) {
		t.Errorf("upgrade to an unchanged default replaced the edited %s", conf)
	}
	// A newer package whose default configuration changed: the edited file
	// stays and the new default lands beside it as .rpmnew.
	changedRoot := copyPackagingTree(t)
	newDefault := filepath.Join(changedRoot, "deploy/examples/tandem.toml")
	f, err := os.OpenFile(newDefault, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("# changed in 1.2.5\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	changed := mkrpm(t, changedRoot, tiny, "v1.2.5")
	rpmIn("-U", changed)
	if got, _ := os.ReadFile(conf); !bytes.Equal(got, edited) {
		t.Errorf("upgrade to a changed default replaced the edited %s", conf)
	}
	if !sameContent(t, newDefault, conf+".rpmnew") {
		t.Errorf("upgrade did not leave the new default configuration in %s.rpmnew", conf)
	}
	rpmIn("-e", "tandem")
	if got, _ := os.ReadFile(conf + ".rpmsave"); !bytes.Equal(got, edited) {
		t.Errorf("erase did not keep the edited configuration as %s.rpmsave", conf)
	}
	for _, gone := range []string{"usr/sbin/tandem", "usr/lib/systemd/system/tandem.service", "etc/rsyslog.d/tandem.conf"} {
		if _, err := os.Stat(filepath.Join(root, gone)); err == nil {
			t.Errorf("erase left /%s", gone)
		}
	}
}

func sameContent(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Error(err)
		return false
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Error(err)
		return false
	}
	return bytes.Equal(x, y)
}

// copyPackagingTree copies what Build reads (nfpm.yaml, the scriptlets and
// deploy/) into a temporary root.
func copyPackagingTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	for _, dir := range []string{"deploy", "packaging/scripts"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(repoRoot, p)
			if err != nil {
				return err
			}
			if d.IsDir() {
				return os.MkdirAll(filepath.Join(dst, rel), 0o755)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, ConfigPath))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, ConfigPath), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}
