package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden loads each testdata/config/*.toml and compares what `tandem
// check` would print (without host checks) with the .golden file beside it.
func TestGolden(t *testing.T) {
	t.Parallel()
	inputs, err := filepath.Glob("testdata/config/*.toml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	examples, _ := filepath.Glob("../../deploy/examples/*.toml")
	inputs = append(inputs, examples...)
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := render(Load(filepath.Base(in), src, Options{}))
			golden := strings.TrimSuffix(in, ".toml") + ".golden"
			if strings.HasPrefix(in, "../") {
				golden = filepath.Join("testdata/config", "example_"+strings.TrimSuffix(filepath.Base(in), ".toml")+".golden")
			}
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", in, diff)
			}
		})
	}
}

func render(cfg *Config, ds Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteByte('\n')
	}
	if cfg != nil {
		b.WriteString("OK: " + cfg.Summary() + "\n")
	}
	return b.String()
}

// FuzzLoad: the loader never panics and either returns a config or errors.
func FuzzLoad(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/config/*.toml")
	for _, in := range inputs {
		src, err := os.ReadFile(in)
		if err == nil {
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, ds := Load("fuzz.toml", src, Options{})
		if cfg == nil && len(ds.Errors()) == 0 {
			t.Fatal("no config and no error")
		}
		for _, d := range ds {
			if d.Pos.Line < 1 || d.Pos.Col < 1 {
				t.Fatalf("diagnostic without a position: %v", d)
			}
		}
	})
}
