package lb

import (
	"errors"
	"io"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// ResetLocal resets the client connections made to the given addresses,
// in HTTP and in TCP mode (a pair parked in an event loop too), and leaves
// the others alone.
func TestResetLocal(t *testing.T) {
	t.Parallel()
	lo := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	other := []netip.Addr{netip.MustParseAddr("192.0.2.100")}

	web := newHarness(t)
	web.start(web.oneBackend(BackendConfig{Servers: web.startBackends("g", "s1")}))
	hc := dial(t, web.addr("fe"))
	hc.get("/x")

	tcp := newHarness(t)
	tcp.start(tcpConfig([]ServerConfig{rawServer(t, echo)}, "roundrobin"))
	tc := dial(t, tcp.addr("tcp-in"))
	tc.send("hi\n")
	if line, err := tc.br.ReadString('\n'); line != "hi\n" || err != nil {
		t.Fatalf("echo: %q %v", line, err)
	}
	loopPair(t, tcp.p)

	if n := web.p.ResetLocal(other) + tcp.p.ResetLocal(other); n != 0 {
		t.Fatalf("reset %d connections to another address", n)
	}
	hc.get("/still")
	tc.send("again\n")
	if line, err := tc.br.ReadString('\n'); line != "again\n" || err != nil {
		t.Fatalf("echo after a reset elsewhere: %q %v", line, err)
	}

	if n := web.p.ResetLocal(lo); n != 1 {
		t.Errorf("HTTP: reset %d connections, want 1", n)
	}
	if n := tcp.p.ResetLocal(lo); n != 1 {
		t.Errorf("TCP: reset %d connections, want 1", n)
	}
	for name, c := range map[string]*client{"HTTP": hc, "TCP": tc} {
		_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.ReadAll(c.br)
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s client: %v, want a reset", name, err)
		}
	}
	tcp.waitLog("tcp-in be/raw", " KD ")
}
