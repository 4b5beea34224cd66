package vrrp

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	lb1 = netip.MustParseAddr("192.0.2.11")
	lb2 = netip.MustParseAddr("192.0.2.12")
	vip = netip.MustParseAddr("192.0.2.100")
)

func TestPacketRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Packet
		hex  string // expected encoding, "" = only round-trip
	}{
		{
			// Checked with an independent checksum in Python; RFC 3768 §5.1 layout: 0x21, VRID 51,
			// prio 100, 1 address, auth 1, 1 s, checksum, address, "tandem1\0".
			name: "v2 simple auth",
			p: Packet{Version: 2, VRID: 51, Priority: 100, AdvertInt: time.Second,
				Addrs: []netip.Addr{vip}, AuthType: AuthSimple, AuthData: authData("tandem1")},
			hex: "2133640101013e32c0000264" + "74616e64656d3100",
		},
		{
			name: "v2 no auth two addresses",
			p: Packet{Version: 2, VRID: 1, Priority: 255, AdvertInt: 3 * time.Second,
				Addrs: []netip.Addr{vip, lb1}},
		},
		{
			name: "v2 priority 0 no addresses",
			p:    Packet{Version: 2, VRID: 255, Priority: 0, AdvertInt: 255 * time.Second},
		},
		{
			name: "v3 100ms",
			p: Packet{Version: 3, VRID: 51, Priority: 100, AdvertInt: 100 * time.Millisecond,
				Addrs: []netip.Addr{vip}},
		},
		{
			name: "v3 max interval",
			p: Packet{Version: 3, VRID: 7, Priority: 1, AdvertInt: 40950 * time.Millisecond,
				Addrs: []netip.Addr{vip}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := tt.p.Marshal(lb1, MulticastGroup)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if tt.hex != "" {
				if got := hex.EncodeToString(b); got != tt.hex {
					t.Errorf("Marshal = %s, want %s", got, tt.hex)
				}
			}
			got, err := Parse(b, lb1, MulticastGroup)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(&tt.p, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	good2, err := (&Packet{Version: 2, VRID: 51, Priority: 100, AdvertInt: time.Second, Addrs: []netip.Addr{vip}}).Marshal(lb1, MulticastGroup)
	if err != nil {
		t.Fatal(err)
	}
	good3, err := (&Packet{Version: 3, VRID: 51, Priority: 100, AdvertInt: time.Second, Addrs: []netip.Addr{vip}}).Marshal(lb1, MulticastGroup)
	if err != nil {
		t.Fatal(err)
	}
	mod := func(b []byte, f func([]byte) []byte) []byte {
		c := append([]byte(nil), b...)
		return f(c)
	}
	tests := []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		want     error
	}{
		{"empty", nil, lb1, MulticastGroup, ErrShort},
		{"7 bytes", good2[:7], lb1, MulticastGroup, ErrShort},
		{"v2 truncated", good2[:len(good2)-1], lb1, MulticastGroup, ErrLength},
		{"v2 trailing byte", append(append([]byte(nil), good2...), 0), lb1, MulticastGroup, ErrLength},
		{"v3 truncated", good3[:len(good3)-2], lb1, MulticastGroup, ErrLength},
		{"v2 checksum", mod(good2, func(b []byte) []byte { b[7] ^= 1; return b }), lb1, MulticastGroup, ErrChecksum},
		{"v2 payload flipped", mod(good2, func(b []byte) []byte { b[2] = 99; return b }), lb1, MulticastGroup, ErrChecksum},
		{"v3 checksum", mod(good3, func(b []byte) []byte { b[6] ^= 0x80; return b }), lb1, MulticastGroup, ErrChecksum},
		{"v3 wrong pseudo-header source", good3, lb2, MulticastGroup, ErrChecksum},
		{"version 1", mod(good2, func(b []byte) []byte { b[0] = 0x11; return b }), lb1, MulticastGroup, ErrVersion},
		{"version 4", mod(good2, func(b []byte) []byte { b[0] = 0x41; return b }), lb1, MulticastGroup, ErrVersion},
		{"type 2", mod(good2, func(b []byte) []byte { b[0] = 0x22; return b }), lb1, MulticastGroup, ErrType},
		{"auth type 2", mod(good2, func(b []byte) []byte { b[4] = 2; return b }), lb1, MulticastGroup, ErrAuthType},
		{"count too big", mod(good2, func(b []byte) []byte { b[3] = 2; return b }), lb1, MulticastGroup, ErrLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tt.b, tt.src, tt.dst)
			if !errors.Is(err, tt.want) {
				t.Errorf("Parse error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestMarshalRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Packet
	}{
		{"v2 sub-second", Packet{Version: 2, VRID: 1, Priority: 1, AdvertInt: 500 * time.Millisecond}},
		{"v2 256s", Packet{Version: 2, VRID: 1, Priority: 1, AdvertInt: 256 * time.Second}},
		{"v3 5ms", Packet{Version: 3, VRID: 1, Priority: 1, AdvertInt: 5 * time.Millisecond}},
		{"v3 41s", Packet{Version: 3, VRID: 1, Priority: 1, AdvertInt: 41 * time.Second}},
		{"version 5", Packet{Version: 5, VRID: 1, Priority: 1, AdvertInt: time.Second}},
		{"ipv6 vip", Packet{Version: 2, VRID: 1, Priority: 1, AdvertInt: time.Second, Addrs: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}},
		{"auth type 2", Packet{Version: 2, VRID: 1, Priority: 1, AdvertInt: time.Second, AuthType: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if b, err := tt.p.Marshal(lb1, MulticastGroup); err == nil {
				t.Errorf("Marshal = %x, want error", b)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range []Packet{
		{Version: 2, VRID: 51, Priority: 100, AdvertInt: time.Second, Addrs: []netip.Addr{vip}, AuthType: AuthSimple, AuthData: authData("x")},
		{Version: 3, VRID: 51, Priority: 100, AdvertInt: 100 * time.Millisecond, Addrs: []netip.Addr{vip, lb1}},
	} {
		b, err := p.Marshal(lb1, MulticastGroup)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b, lb1, MulticastGroup)
		if err != nil {
			return
		}
		out, err := p.Marshal(lb1, MulticastGroup)
		if err != nil {
			t.Fatalf("Marshal of accepted packet %+v: %v", p, err)
		}
		if string(out) != string(b) {
			t.Fatalf("round trip changed bytes:\n in %x\nout %x", b, out)
		}
	})
}
