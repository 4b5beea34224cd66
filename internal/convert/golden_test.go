package convert

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tandemlb/tandem/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenCase is one conversion: its inputs and the files holding the
// expected TOML and stderr.
type goldenCase struct {
	name       string
	haproxy    string
	keepalived string
}

func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	cases := []goldenCase{
		{name: "seed/minimal", haproxy: "seed/minimal.cfg"},
		{name: "seed/l7", haproxy: "seed/l7.cfg"},
		{name: "seed/l4", haproxy: "seed/l4.cfg"},
		{name: "seed/keepalived", keepalived: "seed/keepalived.conf"},
		{name: "seed/l7+keepalived", haproxy: "seed/l7.cfg", keepalived: "seed/keepalived.conf"},
	}
	corpus, err := filepath.Glob("testdata/corpus/*.cfg")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range corpus {
		rel := strings.TrimPrefix(c, "testdata/")
		gc := goldenCase{name: strings.TrimSuffix(rel, ".cfg"), haproxy: rel}
		if ka := strings.TrimSuffix(c, ".cfg") + ".keepalived.conf"; fileExists(ka) {
			gc.keepalived = strings.TrimPrefix(ka, "testdata/")
		}
		cases = append(cases, gc)
	}
	kas, _ := filepath.Glob("testdata/keepalived/*.conf")
	for _, c := range kas {
		if strings.Contains(filepath.Base(c), ".inc.") {
			continue
		}
		rel := strings.TrimPrefix(c, "testdata/")
		gc := goldenCase{name: strings.TrimSuffix(rel, ".conf"), keepalived: rel}
		if hc := strings.TrimSuffix(c, ".conf") + ".haproxy.cfg"; fileExists(hc) {
			gc.haproxy = strings.TrimPrefix(hc, "testdata/")
		}
		cases = append(cases, gc)
	}
	return cases
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// testEnv is the environment the golden conversions see.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{"LB_ADDR": "192.0.2.100", "APP_PORT": "8080"}[name]
	return v, ok
}

func runGolden(t *testing.T, gc goldenCase) (string, string) {
	t.Helper()
	opts := Options{LookupEnv: testEnv}
	// Inputs are named as a user would give them, relative to testdata.
	readIn := func(rel string) *Input {
		b, err := os.ReadFile(filepath.Join("testdata", rel))
		if err != nil {
			t.Fatal(err)
		}
		return &Input{Name: rel, Data: b}
	}
	if gc.haproxy != "" {
		opts.HAProxy = readIn(gc.haproxy)
	}
	if gc.keepalived != "" {
		opts.Keepalived = readIn(gc.keepalived)
		opts.ReadFile = func(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }
		opts.Glob = func(pattern string) ([]string, error) {
			m, err := filepath.Glob(filepath.Join("testdata", pattern))
			for i := range m {
				m[i] = strings.TrimPrefix(m[i], "testdata/")
			}
			return m, err
		}
	}
	res, err := Convert(opts)
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	for _, is := range res.Issues {
		stderr.WriteString(is.String() + "\n")
	}
	return string(res.TOML), stderr.String()
}

// TestGolden converts the seed article's configurations and the corpus,
// compares the TOML and the issue list with the golden files, and loads
// the TOML with the real loader.
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, gc := range goldenCases(t) {
		t.Run(gc.name, func(t *testing.T) {
			t.Parallel()
			gotTOML, gotErr := runGolden(t, gc)
			if _, ds := config.Load(gc.name+".toml", []byte(gotTOML), config.Options{}); len(ds.Errors()) > 0 {
				t.Errorf("the loader rejects the output:\n%v\n%s", ds.Errors(), gotTOML)
			}
			base := filepath.Join("testdata", gc.name)
			for _, f := range []struct{ ext, got string }{{".toml", gotTOML}, {".stderr", gotErr}} {
				golden := base + f.ext
				if *update {
					if err := os.WriteFile(golden, []byte(f.got), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update)", err)
				}
				if diff := cmp.Diff(string(want), f.got); diff != "" {
					t.Errorf("%s (-want +got):\n%s", golden, diff)
				}
			}
		})
	}
}
