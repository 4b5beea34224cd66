package health

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
)

func TestReportTraffic(t *testing.T) {
	t.Parallel()
	const (
		l4ok  = TrafficL4OK
		l4err = TrafficL4Err
		ok    = TrafficHTTPOK
		sts   = TrafficHTTPStatus
		rd    = TrafficHTTPReadError
	)
	tests := []struct {
		name     string
		observe  string
		onError  string
		limit    int
		seq      []TrafficResult
		wantOp   OpState
		health   int
		hanaFail uint64
		fast     bool
	}{
		{"not observing", "", "mark-down", 1, []TrafficResult{l4err, l4err}, Up, 4, 0, false},
		{"below the limit", "layer4", "mark-down", 3, []TrafficResult{l4err, l4err}, Up, 4, 0, false},
		{"success clears the count", "layer4", "mark-down", 3, []TrafficResult{l4err, l4err, l4ok, l4err, l4err}, Up, 4, 0, false},
		{"layer4 ignores http errors", "layer4", "mark-down", 2, []TrafficResult{sts, sts, rd}, Up, 4, 0, false},
		{"layer7 ignores l4 successes", "layer7", "mark-down", 2, []TrafficResult{sts, l4ok, rd}, Down, 0, 1, true},
		{"layer7 counts l4 errors", "layer7", "mark-down", 2, []TrafficResult{l4err, sts}, Down, 0, 1, true},
		{"layer7 http ok clears", "layer7", "mark-down", 2, []TrafficResult{sts, ok, sts}, Up, 4, 0, false},
		{"fastinter only reschedules", "layer4", "fastinter", 2, []TrafficResult{l4err, l4err}, Up, 4, 1, true},
		{"fail-check counts one failure", "layer4", "fail-check", 2, []TrafficResult{l4err, l4err}, GoingDown, 3, 1, true},
		{"sudden-death leaves one check", "layer4", "sudden-death", 2, []TrafficResult{l4err, l4err}, GoingDown, 2, 1, true},
		{"the count starts again after acting", "layer4", "fail-check", 2, []TrafficResult{l4err, l4err, l4err, l4err, l4err}, GoingDown, 2, 2, true},
		{"default limit 10", "layer4", "fail-check", 0, []TrafficResult{l4err, l4err, l4err, l4err, l4err, l4err, l4err, l4err, l4err}, Up, 4, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := checkedServer(2, 3)
			s.record(result('P'), t0)
			cfg := CheckConfig{Observe: tt.observe, OnError: tt.onError, ErrorLimit: tt.limit}.WithDefaults()
			s.configureObserve(&cfg)
			for _, r := range tt.seq {
				s.ReportTraffic(r)
			}
			snap := s.Snapshot()
			if s.Op() != tt.wantOp || snap.Health != tt.health || snap.HanaFail != tt.hanaFail || s.takeFastNow() != tt.fast {
				t.Errorf("op %v health %d hanafail %d; want %v %d %d (fast %v)", s.Op(), snap.Health, snap.HanaFail,
					tt.wantOp, tt.health, tt.hanaFail, tt.fast)
			}
		})
	}
}

// TestObserveThroughChecker: the change caused by live traffic is logged
// like HAProxy's, and the next check comes within fastinter.
func TestObserveThroughChecker(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	dialer := dialFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		return pipeHTTP("HTTP/1.0 200 OK\r\n\r\n"), nil
	})
	srv := NewServer("b/s", true, false, 0, 1)
	NewBackend("b", []*Server{srv}, nil)
	var sink logSink
	events := make(chan Event, 4)
	c := NewChecker([]Target{{Server: srv, Backend: "b", Name: "s", Addr: netip.MustParseAddrPort("192.0.2.21:80"), Check: CheckConfig{
		Type: "http", Inter: 10 * time.Second, FastInter: time.Second, Observe: "layer7", OnError: "mark-down", ErrorLimit: 2,
	}}}, Options{Clock: clock, Dialer: dialer, Logger: zerolog.New(&sink).Level(zerolog.InfoLevel), OnChange: func(e Event) { events <- e }})
	runChecker(t, c)

	if d := clock.waitArmed(t); d != 10*time.Second {
		t.Fatalf("armed %v after the first check, want 10s", d)
	}
	srv.ReportTraffic(TrafficHTTPStatus)
	srv.ReportTraffic(TrafficHTTPReadError)
	if d := clock.waitArmed(t); d != time.Second {
		t.Errorf("armed %v after observed errors, want fastinter 1s", d)
	}
	select {
	case e := <-events:
		if e.From != Up || e.To != Down || e.Status != StatusHana || !e.NoServerLeft {
			t.Errorf("event %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	want := []logLine{
		{"warn", `Server b/s is DOWN, reason: Health analyze, info: "Detected 2 consecutive errors, last one was: Read error (http)". 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`},
		{"error", "backend b has no server available!"},
	}
	if diff := cmp.Diff(want, sink.lines(t)); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}
