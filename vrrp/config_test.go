package vrrp

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func validConfig() Config {
	c := DefaultConfig()
	c.Name, c.Interface, c.VRID, c.Priority = "VI_1", "eth1", 51, 100
	c.VIPs = []VIP{{Prefix: netip.MustParsePrefix("192.0.2.100/24")}}
	return c
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(*Config)
		want []string // substrings of the error; nil = valid
	}{
		{"default valid", func(*Config) {}, nil},
		{"v3 100ms valid", func(c *Config) { c.Version, c.AdvertInt = 3, 100*time.Millisecond }, nil},
		{"unicast valid", func(c *Config) {
			c.UnicastSrc = lb1
			c.UnicastPeers = []netip.Addr{lb2}
		}, nil},
		{"empty", func(c *Config) { *c = Config{} }, []string{"name:", "interface:", "virtual_router_id:", "priority:", "advert_int:", "virtual_ipaddress:"}},
		{"v2 sub-second", func(c *Config) { c.AdvertInt = 500 * time.Millisecond }, []string{"advert_int: VRRPv2"}},
		{"v3 5ms", func(c *Config) { c.Version, c.AdvertInt = 3, 5*time.Millisecond }, []string{"advert_int: VRRPv3"}},
		{"v3 auth", func(c *Config) { c.Version, c.AuthPass = 3, "x" }, []string{"auth_pass: VRRPv3"}},
		{"long password", func(c *Config) { c.AuthPass = "123456789" }, []string{"auth_pass: at most 8"}},
		{"version 4", func(c *Config) { c.Version = 4 }, []string{"version: must be 2 or 3"}},
		{"ipv6 vip", func(c *Config) { c.VIPs[0].Prefix = netip.MustParsePrefix("2001:db8::1/64") }, []string{"virtual_ipaddress[0]: 2001:db8::1/64: only IPv4"}},
		{"duplicate vip", func(c *Config) { c.VIPs = append(c.VIPs, c.VIPs[0]) }, []string{"virtual_ipaddress[1]: 192.0.2.100 listed twice"}},
		{"multicast peer", func(c *Config) { c.UnicastPeers = []netip.Addr{MulticastGroup} }, []string{"unicast_peer[0]"}},
		{"bad track", func(c *Config) { c.Track = []TrackSpec{{Kind: "script", Weight: 300}} }, []string{"track[0]: kind \"script\"", "track[0]: name", "track[0]: weight"}},
		{"bad state", func(c *Config) { c.InitialState = StateFault }, []string{"state:"}},
		{"preempt delay", func(c *Config) { c.PreemptDelay = time.Hour }, []string{"preempt_delay:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tt.mod(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, missing %q", err, w)
				}
			}
		})
	}
}

func TestStateText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]State{"master": StateMaster, "BACKUP": StateBackup} {
		var s State
		if err := s.UnmarshalText([]byte(in)); err != nil || s != want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", in, s, err, want)
		}
	}
	var s State
	if err := s.UnmarshalText([]byte("fault")); err == nil {
		t.Error("UnmarshalText(fault) = nil error")
	}
}
