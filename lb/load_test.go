package lb

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Many concurrent clients through small server maxconns: every request is
// answered, slots and queues return to zero (checks the queue hand-off and
// the idle pools under -race).
func TestConcurrentLoad(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	srv := h.startBackends("g", "s1", "s2")
	srv[0].MaxConn, srv[1].MaxConn = 2, 2
	h.start(h.oneBackend(BackendConfig{Balance: "leastconn", Servers: srv, Timeouts: Timeouts{Queue: 5 * time.Second}}))
	url := "http://" + h.addr("fe") + "/delay/1ms"
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, 16*25)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				resp, err := hc.Get(url)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- &statusErr{resp.StatusCode}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The last answers reach the clients just before the proxy counts them.
	poll(t, "counters to settle", func() bool {
		b := h.p.Snapshot().Backends[0]
		return b.Responses[2] == 400 && b.Servers[0].SessCur == 0 && b.Servers[1].SessCur == 0
	})
	b := h.p.Snapshot().Backends[0]
	if b.QueueCur != 0 || b.Servers[0].SessCur != 0 || b.Servers[1].SessCur != 0 {
		t.Errorf("leftover: queue %d, slots %d %d", b.QueueCur, b.Servers[0].SessCur, b.Servers[1].SessCur)
	}
	if b.Servers[0].SessMax > 2 || b.Servers[1].SessMax > 2 {
		t.Errorf("maxconn exceeded: %d %d", b.Servers[0].SessMax, b.Servers[1].SessMax)
	}
	if b.Responses[2] != 400 {
		t.Errorf("2xx = %d, want 400", b.Responses[2])
	}
}

type statusErr struct{ code int }

func (e *statusErr) Error() string { return "status " + http.StatusText(e.code) }
