package lb

import "testing"

// TestRedispatchDeterministicBalancer: with `balance first` (and likewise
// leastconn or a hash), the balancer keeps answering the server whose
// connection failed; redispatch must still move the last retry to another
// server. Found by the soak: servers flapping under leastconn gave 503s.
func TestRedispatchDeterministicBalancer(t *testing.T) {
	t.Parallel()
	for _, algo := range []string{"first", "leastconn", "source"} {
		t.Run(algo, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			live := h.startBackends("g", "live")
			h.start(h.oneBackend(BackendConfig{Balance: algo, Retries: 1, Redispatch: true,
				Servers: append([]ServerConfig{{Name: "dead", Addr: deadAddr(t), Weight: 1}}, live...)}))
			for range 3 {
				r := dial(t, h.addr("fe")).get("/x")
				if r.StatusCode != 200 || r.Header.Get("X-Server") != "live" {
					t.Fatalf("got %d from %q, want 200 from live", r.StatusCode, r.Header.Get("X-Server"))
				}
			}
		})
	}
}
