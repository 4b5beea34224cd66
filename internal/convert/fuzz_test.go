package convert

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/tandemlb/tandem/internal/config"
)

func seedCorpus(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// checkOutput: whatever the input, Convert returns TOML that parses and
// that the loader accepts, and every issue has a place.
func checkOutput(t *testing.T, res *Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if _, err := toml.Decode(string(res.TOML), &v); err != nil {
		t.Fatalf("output is not TOML: %v\n%s", err, res.TOML)
	}
	if _, ds := config.Load("fuzz.toml", res.TOML, config.Options{}); len(ds.Errors()) > 0 {
		t.Fatalf("the loader rejects the output: %v\n%s", ds.Errors(), res.TOML)
	}
	for _, is := range res.Issues {
		if is.File == "" || is.Line < 1 || is.Reason == "" {
			t.Fatalf("issue without a place or reason: %+v", is)
		}
	}
}

func noFiles(string) ([]byte, error)  { return nil, os.ErrNotExist }
func noGlob(string) ([]string, error) { return nil, nil }
func fuzzEnv(n string) (string, bool) { return testEnv(n) }
func FuzzHAProxy(f *testing.F) {
	seedCorpus(f, "testdata/seed/*.cfg")
	seedCorpus(f, "testdata/corpus/*.cfg")
	f.Fuzz(func(t *testing.T, src []byte) {
		res, err := Convert(Options{HAProxy: &Input{Name: "fuzz.cfg", Data: src}, LookupEnv: fuzzEnv})
		checkOutput(t, res, err)
	})
}

func FuzzKeepalived(f *testing.F) {
	seedCorpus(f, "testdata/seed/*.conf")
	seedCorpus(f, "testdata/keepalived/*.conf")
	f.Fuzz(func(t *testing.T, src []byte) {
		res, err := Convert(Options{Keepalived: &Input{Name: "fuzz.conf", Data: src}, ReadFile: noFiles, Glob: noGlob})
		checkOutput(t, res, err)
	})
}
