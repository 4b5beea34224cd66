package packaging

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the "rpm" packager
)

// ConfigPath is nfpm's configuration, relative to the repository root.
const ConfigPath = "packaging/nfpm.yaml"

// Options say what to package and where to put it.
type Options struct {
	// Root is the repository root: ConfigPath and the files it names are
	// found relative to it. Default ".".
	Root string
	// Binary is the static linux/amd64 tandem (`make build`: bin/tandem).
	Binary string
	// Version is tandem's version as `git describe` prints it; RPMVersion
	// turns it into an RPM version.
	Version string
	// OutDir receives the package (created if needed). Default "dist".
	OutDir string
}

// Build writes OutDir/tandem-VERSION-1.el7.x86_64.rpm and returns its path.
func Build(opts Options) (string, error) {
	if opts.Root == "" {
		opts.Root = "."
	}
	if opts.OutDir == "" {
		opts.OutDir = "dist"
	}
	version, err := RPMVersion(opts.Version)
	if err != nil {
		return "", fmt.Errorf("build rpm: %w", err)
	}
	bin, err := filepath.Abs(opts.Binary)
	if err != nil {
		return "", fmt.Errorf("build rpm: %w", err)
	}
	if err := checkBinary(bin); err != nil {
		return "", fmt.Errorf("build rpm: %w", err)
	}
	info, err := loadConfig(opts.Root, map[string]string{"TANDEM_VERSION": version, "TANDEM_BIN": bin})
	if err != nil {
		return "", fmt.Errorf("build rpm: %w", err)
	}
	pkg, err := nfpm.Get("rpm")
	if err != nil {
		return "", fmt.Errorf("build rpm: %w", err)
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return "", fmt.Errorf("build rpm: %w", err)
	}
	path := filepath.Join(opts.OutDir, pkg.ConventionalFileName(info))
	// Write next to the target and rename, so that a failed build never
	// leaves a truncated package under the final name.
	tmp, err := os.CreateTemp(opts.OutDir, ".tandem-*.rpm.tmp")
	if err != nil {
		return "", fmt.Errorf("build rpm: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := pkg.Package(info, tmp); err != nil {
		tmp.Close()
		return "", fmt.Errorf("build rpm %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("build rpm %s: %w", path, err)
	}
	if err := fixPayloadSize(tmp.Name()); err != nil {
		return "", fmt.Errorf("build rpm %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", fmt.Errorf("build rpm %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("build rpm %s: %w", path, err)
	}
	return path, nil
}

// loadConfig reads nfpm.yaml with vars substituted and makes its relative
// paths relative to root.
func loadConfig(root string, vars map[string]string) (*nfpm.Info, error) {
	var unknown []string
	mapping := func(name string) string {
		v, ok := vars[name]
		// nfpm itself asks for NFPM_*_PASSPHRASE (signing, unused here).
		if !ok && !strings.HasPrefix(name, "NFPM_") {
			unknown = append(unknown, name)
		}
		return v
	}
	cfgPath := filepath.Join(root, ConfigPath)
	cfg, err := nfpm.ParseFileWithEnvMapping(cfgPath, mapping)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", cfgPath, err)
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%s: unknown variables %s (known: TANDEM_VERSION, TANDEM_BIN)", cfgPath, strings.Join(unknown, ", "))
	}
	info, err := cfg.Get("rpm")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	for _, c := range info.Contents {
		if c.Type != files.TypeSymlink {
			c.Source = rel(c.Source)
		}
	}
	info.Scripts.PreInstall = rel(info.Scripts.PreInstall)
	info.Scripts.PostInstall = rel(info.Scripts.PostInstall)
	info.Scripts.PreRemove = rel(info.Scripts.PreRemove)
	info.Scripts.PostRemove = rel(info.Scripts.PostRemove)
	if err := nfpm.Validate(info); err != nil {
		return nil, fmt.Errorf("%s: %w", cfgPath, err)
	}
	return info, nil
}

// checkBinary refuses what CentOS 7 could not run: another architecture, or
// a dynamically linked build (CGO_ENABLED=1) that needs the build host's
// newer glibc.
func checkBinary(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("binary %s: %w", path, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Class != elf.ELFCLASS64 {
		return fmt.Errorf("binary %s: %s %s, want x86-64 (GOARCH=amd64)", path, f.Class, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("binary %s: dynamically linked, want static (CGO_ENABLED=0)", path)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("binary %s: %w", path, err)
	}
	if st.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("binary %s: not executable", path)
	}
	return nil
}

var (
	describeRE = regexp.MustCompile(`^v?([0-9][0-9A-Za-z.]*)((?:-[0-9A-Za-z.]+)*)$`)
	badChars   = regexp.MustCompile(`[^0-9A-Za-z._+~]+`)
)

// RPMVersion turns a `git describe --tags --always --dirty` output into an
// RPM version, which may not contain '-' and must sort after the tag it
// comes from:
//
//	v1.2.3            -> 1.2.3
//	v1.2.3-4-gabc1234 -> 1.2.3.4.gabc1234
//	abc1234-dirty     -> 0.0.0.abc1234.dirty (no tag yet)
func RPMVersion(describe string) (string, error) {
	s := strings.TrimSpace(describe)
	if s == "" {
		return "", errors.New("empty version")
	}
	if m := describeRE.FindStringSubmatch(s); m != nil {
		s = m[1] + m[2]
	} else {
		s = "0.0.0." + s
	}
	s = strings.Trim(badChars.ReplaceAllString(strings.ReplaceAll(s, "-", "."), "."), ".")
	return s, nil
}
