package lb

import (
	"context"
	"testing"
	"time"

	"github.com/tandemlb/tandem/health"
)

// A server failing its checks leaves the rotation: no retry is spent on it
// and the backend signal follows the servers.
func TestHealthChecksDriveRotation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	live := h.startBackends("g", "live")
	chk := &health.CheckConfig{Type: "tcp", Inter: 20 * time.Millisecond, Rise: 1, Fall: 1, Timeout: 2 * time.Second}
	live[0].Check, live[0].CheckConfig = true, chk
	servers := append(live, ServerConfig{Name: "dead", Addr: deadAddr(t), Weight: 1, Check: true, CheckConfig: chk})
	h.start(h.oneBackend(BackendConfig{Servers: servers, Retries: 0}))

	targets := h.p.HealthTargets()
	if len(targets) != 2 || targets[1].Name != "dead" || targets[1].Backend != "be" {
		t.Fatalf("targets %+v", targets)
	}
	ctx, cancel := context.WithCancel(context.Background())
	chkr := health.NewChecker(targets, health.Options{Traffic: h.p.HealthTraffic})
	done := make(chan error, 1)
	go func() { done <- chkr.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	poll(t, "dead server DOWN", func() bool { return !h.p.Server("be", "dead").Usable() })

	c := dial(t, h.addr("fe"))
	for range 4 {
		if r := c.get("/x"); r.StatusCode != 200 || r.Header.Get("X-Server") != "live" {
			t.Fatalf("got %d from %q", r.StatusCode, r.Header.Get("X-Server"))
		}
	}
	if !h.p.BackendSignal("be").Healthy() {
		t.Error("backend signal unhealthy with one server up")
	}
	if s := h.p.Snapshot().Backends[0]; s.ActiveUp != 1 || s.Servers[1].Health.Op == s.Servers[0].Health.Op {
		t.Errorf("snapshot: %d active up; ops %v %v", s.ActiveUp, s.Servers[0].Health.Op, s.Servers[1].Health.Op)
	}
}
