package stats

import (
	"testing"

	"github.com/tandemlb/tandem/lb"
)

// After a reload the views follow the new configuration; proxies that stay
// keep their ids, new ones get fresh ones.
func TestSetConfigKeepsIDs(t *testing.T) {
	t.Parallel()
	s := NewSource(SourceOptions{Config: lb.Config{
		Frontends: []lb.FrontendConfig{{Name: "web"}},
		Backends:  []lb.BackendConfig{{Name: "a"}, {Name: "b", Balance: "leastconn"}},
	}})
	before := s.meta.Load()
	s.SetConfig(lb.Config{
		Frontends: []lb.FrontendConfig{{Name: "web"}},
		Backends:  []lb.BackendConfig{{Name: "b", Balance: "source"}, {Name: "c"}},
	})
	after := s.meta.Load()
	if after.iid["f/web"] != before.iid["f/web"] || after.iid["b/b"] != before.iid["b/b"] {
		t.Errorf("ids changed across SetConfig: before %v, after %v", before.iid, after.iid)
	}
	for _, id := range before.iid {
		if after.iid["b/c"] == id {
			t.Errorf("new backend c reuses id %d", id)
		}
	}
	if after.algo["b"] != "source" || after.algo["c"] != "roundrobin" {
		t.Errorf("algorithms after SetConfig: %v", after.algo)
	}
	if _, ok := after.iid["b/a"]; ok {
		t.Error("removed backend a still has an id")
	}
}
