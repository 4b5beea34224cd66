package config

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestPeersTyped: [peers] arrives typed, with bind defaulting to all
// addresses at the peer's port.
func TestPeersTyped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		want      *Peers
	}{
		{"absent", `[global]` + "\n", nil},
		{"bind", `[peers]
local = "lb1"
bind = "192.0.2.11:10000"
peer = { name = "lb2", address = "192.0.2.12:10001" }
secret = "0123456789abcdef"
`, &Peers{Local: "lb1", Bind: netip.MustParseAddrPort("192.0.2.11:10000"), Peer: "lb2",
			PeerAddr: netip.MustParseAddrPort("192.0.2.12:10001"), Secret: "0123456789abcdef"}},
		{"port", `[peers]
local = "lb2"
port = 10002
peer = { name = "lb1", address = "192.0.2.11:10000" }
`, &Peers{Local: "lb2", Bind: netip.MustParseAddrPort("0.0.0.0:10002"), Peer: "lb1",
			PeerAddr: netip.MustParseAddrPort("192.0.2.11:10000")}},
		{"default bind", `[peers]
local = "lb2"
peer = { name = "lb1", address = "192.0.2.11:10000" }
`, &Peers{Local: "lb2", Bind: netip.MustParseAddrPort("0.0.0.0:10000"), Peer: "lb1",
			PeerAddr: netip.MustParseAddrPort("192.0.2.11:10000")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, ds := Load("t.toml", []byte(tt.src), Options{})
			if cfg == nil {
				t.Fatalf("Load: %v", ds)
			}
			if diff := cmp.Diff(tt.want, cfg.Peers, cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
				t.Errorf("Peers (-want +got):\n%s", diff)
			}
		})
	}
}
