package stats

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestServeStops: Listen opens every bind, Serve answers until the
// context ends, then returns with nothing left running.
func TestServeStops(t *testing.T) {
	t.Parallel()
	lo := netip.MustParseAddrPort("127.0.0.1:0")
	src := testSource(newFakeProxy(), time.Now())
	s, err := NewServer(Config{Binds: []netip.AddrPort{lo, lo}, URI: "/s"}, src, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	go func() { _ = src.Run(ctx) }()
	for _, a := range s.Addrs() {
		resp, err := http.Get("http://" + a.String() + "/s;csv")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d", a, resp.StatusCode)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return within 5s of cancel")
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestListenError(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free := netip.MustParseAddrPort("127.0.0.1:0")
	taken := netip.MustParseAddrPort(busy.Addr().String())
	s, err := NewServer(Config{Binds: []netip.AddrPort{free, taken}}, testSource(newFakeProxy(), time.Now()), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err == nil {
		t.Error("Listen on a port in use succeeded")
	}
	if len(s.Addrs()) != 0 {
		t.Errorf("after a failed Listen, %d listeners stay open", len(s.Addrs()))
	}
	if _, err := NewServer(Config{Admin: true}, nil, zerolog.Nop()); err == nil {
		t.Error("admin without auth accepted")
	}
}
