package vrrp

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Config is one VRRP instance, as `[[vrrp.instance]]` in the TOML file
// describes it. Start from DefaultConfig: the zero value of Preempt and of
// the GARP settings is not keepalived's default.
type Config struct {
	Name                                                        string        // "VI_1"
	Interface                                                   string        // "eth1"
	InitialState                                                State         // StateBackup or StateMaster: only a wish, like keepalived (start as backup unless priority 255)
	VRID                                                        uint8         // 1..255
	Priority                                                    uint8         // 1..255 (255 = address owner)
	AdvertInt                                                   time.Duration // v2: whole seconds >= 1s; v3: centiseconds 10ms..40.95s
	Version                                                     int           // 2 (default) or 3
	AuthPass                                                    string        // v2 simple password, <= 8 bytes; "" = no auth
	VIPs                                                        []VIP
	Preempt                                                     bool // default true; nopreempt = false
	PreemptDelay                                                time.Duration
	UnicastSrc                                                  netip.Addr   // zero = interface primary address
	UnicastPeers                                                []netip.Addr // empty = multicast 224.0.0.18
	GARPMasterDelay                                             time.Duration
	GARPMasterRepeat                                            int           // default 5
	GARPMasterRefresh                                           time.Duration // 0 = off
	Track                                                       []TrackSpec   // resolved by cmd into track.Tracker values
	SyncGroup                                                   string
	NotifyMaster, NotifyBackup, NotifyFault, NotifyStop, Notify string // commands
	// NotifyTimeout bounds each notify command (default 10s when zero).
	NotifyTimeout time.Duration
}

// VIP is one virtual_ipaddress entry.
type VIP struct {
	Prefix netip.Prefix
	Dev    string // "" = the instance's interface
	Label  string // optional address label, e.g. "eth1:vip"
}

// TrackSpec names a tracked object; cmd resolves it into a track.Tracker.
type TrackSpec struct {
	Kind   string // "frontend", "backend", "interface"
	Name   string
	Weight int // 0 = fault while failed; else added to the priority while failed
}

// DefaultConfig returns keepalived's defaults: version 2, advert_int 1s,
// preempt on, start as backup, GARP 5 at once and 5 more after 5 s.
func DefaultConfig() Config {
	return Config{
		InitialState:     StateBackup,
		AdvertInt:        time.Second,
		Version:          2,
		Preempt:          true,
		GARPMasterDelay:  5 * time.Second,
		GARPMasterRepeat: 5,
	}
}

// Validate checks ranges and consistency. Every problem is reported (joined),
// each naming its TOML key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Name == "" {
		bad("name", "must not be empty")
	}
	if c.Interface == "" {
		bad("interface", "must not be empty")
	}
	switch c.InitialState {
	case StateInit, StateBackup, StateMaster:
	default:
		bad("state", "must be \"master\" or \"backup\", not %q", c.InitialState)
	}
	if c.VRID == 0 {
		bad("virtual_router_id", "must be 1..255")
	}
	if c.Priority == 0 {
		bad("priority", "must be 1..255 (0 is reserved for a master giving up)")
	}
	switch c.version() {
	case 2:
		if c.AdvertInt < time.Second || c.AdvertInt > 255*time.Second || c.AdvertInt%time.Second != 0 {
			bad("advert_int", "VRRPv2 needs whole seconds 1s..255s, not %v", c.AdvertInt)
		}
		if len(c.AuthPass) > 8 {
			bad("auth_pass", "at most 8 bytes, have %d", len(c.AuthPass))
		}
	case 3:
		if c.AdvertInt < 10*time.Millisecond || c.AdvertInt > 40950*time.Millisecond || c.AdvertInt%(10*time.Millisecond) != 0 {
			bad("advert_int", "VRRPv3 needs centiseconds 10ms..40.95s, not %v", c.AdvertInt)
		}
		if c.AuthPass != "" {
			bad("auth_pass", "VRRPv3 has no authentication (RFC 5798)")
		}
	default:
		bad("version", "must be 2 or 3, not %d", c.Version)
	}
	if len(c.VIPs) == 0 {
		bad("virtual_ipaddress", "at least one address is needed")
	}
	if len(c.VIPs) > maxAddresses {
		bad("virtual_ipaddress", "at most %d addresses fit in an advert", maxAddresses)
	}
	seen := make(map[netip.Addr]bool)
	for i, v := range c.VIPs {
		switch {
		case !v.Prefix.IsValid():
			bad(fmt.Sprintf("virtual_ipaddress[%d]", i), "invalid prefix")
		case !v.Prefix.Addr().Is4():
			bad(fmt.Sprintf("virtual_ipaddress[%d]", i), "%v: only IPv4 is supported", v.Prefix)
		case seen[v.Prefix.Addr()]:
			bad(fmt.Sprintf("virtual_ipaddress[%d]", i), "%v listed twice", v.Prefix.Addr())
		}
		seen[v.Prefix.Addr()] = true
		if v.Label != "" && len(v.Label) > 15 {
			bad(fmt.Sprintf("virtual_ipaddress[%d]", i), "label %q longer than 15 bytes", v.Label)
		}
	}
	if c.PreemptDelay < 0 || c.PreemptDelay > 1000*time.Second {
		bad("preempt_delay", "must be 0..1000s, not %v", c.PreemptDelay)
	}
	if c.UnicastSrc.IsValid() && !c.UnicastSrc.Is4() {
		bad("unicast_src_ip", "%v is not IPv4", c.UnicastSrc)
	}
	for i, p := range c.UnicastPeers {
		if !p.Is4() || p.IsMulticast() || p.IsUnspecified() {
			bad(fmt.Sprintf("unicast_peer[%d]", i), "%v is not a unicast IPv4 address", p)
		}
	}
	if c.GARPMasterDelay < 0 {
		bad("garp_master_delay", "must not be negative")
	}
	if c.GARPMasterRepeat < 0 || c.GARPMasterRepeat > 255 {
		bad("garp_master_repeat", "must be 0..255, not %d", c.GARPMasterRepeat)
	}
	if c.GARPMasterRefresh < 0 {
		bad("garp_master_refresh", "must not be negative")
	}
	if c.NotifyTimeout < 0 {
		bad("notify_timeout", "must not be negative")
	}
	for i, t := range c.Track {
		key := fmt.Sprintf("track[%d]", i)
		switch t.Kind {
		case "frontend", "backend", "interface":
		default:
			bad(key, "kind %q is not frontend, backend or interface", t.Kind)
		}
		if t.Name == "" {
			bad(key, "name must not be empty")
		}
		if t.Weight < -254 || t.Weight > 254 {
			bad(key, "weight must be -254..254, not %d", t.Weight)
		}
	}
	return errors.Join(errs...)
}

func (c *Config) version() int {
	if c.Version == 0 {
		return 2
	}
	return c.Version
}

// State is the state of a VRRP instance.
type State uint8

// States of RFC 3768 §6.4, plus Fault (a failed weight-0 track or interface).
const (
	StateInit State = iota
	StateBackup
	StateMaster
	StateFault
)

func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s State) MarshalText() ([]byte, error) { return []byte(strings.ToLower(s.String())), nil }

// UnmarshalText accepts "master" or "backup" (any case), the values of the
// `state` key.
func (s *State) UnmarshalText(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "master":
		*s = StateMaster
	case "backup":
		*s = StateBackup
	default:
		return fmt.Errorf("state %q: must be \"master\" or \"backup\"", b)
	}
	return nil
}
