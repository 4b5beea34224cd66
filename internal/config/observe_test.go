package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestObserveTyped: observe, error_limit and on_error reach each server's
// own check configuration, never the backend's shared one.
func TestObserveTyped(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join("testdata", "config", "observe_valid.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, ds := Load("observe_valid.toml", src, Options{})
	if cfg == nil {
		t.Fatalf("Load: %v", ds)
	}
	type obs struct {
		Observe    string
		ErrorLimit int
		OnError    string
	}
	be := cfg.Proxy.Backends[0]
	got := map[string]obs{}
	for _, s := range be.Servers {
		c := s.CheckConfig
		if c == nil {
			t.Fatalf("server %s has no check configuration", s.Name)
		}
		got[s.Name] = obs{c.Observe, c.ErrorLimit, c.OnError}
	}
	want := map[string]obs{
		"s1": {"layer7", 0, ""}, // defaults (10, fastinter) are the health package's
		"s2": {"layer4", 3, "mark-down"},
		"s3": {"layer7", 0, "sudden-death"},
		"s4": {},
		"s5": {}, // observe = "none"
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("observe settings (-want +got):\n%s", d)
	}
	if be.Check.Observe != "" {
		t.Errorf("the backend's check got observe %q", be.Check.Observe)
	}
	if be.Servers[1].CheckConfig.Inter.String() != "500ms" {
		t.Errorf("s2 lost its own check settings: inter %v", be.Servers[1].CheckConfig.Inter)
	}
}
