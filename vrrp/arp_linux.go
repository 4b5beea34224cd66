package vrrp

import (
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/ethernet"
)

// ARPSenders is the production ARPSender: one packet socket per interface,
// opened on first use. Close releases them.
type ARPSenders struct {
	mu      sync.Mutex
	clients map[string]*arp.Client
}

// NewARPSender returns an ARPSenders with no socket open yet.
func NewARPSender() *ARPSenders { return &ARPSenders{clients: make(map[string]*arp.Client)} }

// GratuitousARP broadcasts an ARP request whose sender and target are ip,
// from the interface's MAC (keepalived's form, accepted by Linux, switches
// and routers to refresh their caches).
func (s *ARPSenders) GratuitousARP(ifname string, ip netip.Addr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[ifname]
	if c == nil {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return fmt.Errorf("gratuitous ARP for %v: find interface %s: %w", ip, ifname, err)
		}
		c, err = arp.Dial(ifi)
		if err != nil {
			return fmt.Errorf("gratuitous ARP for %v: open socket on %s: %w", ip, ifname, err)
		}
		s.clients[ifname] = c
	}
	p, err := arp.NewPacket(arp.OperationRequest, c.HardwareAddr(), ip, ethernet.Broadcast, ip)
	if err != nil {
		return fmt.Errorf("gratuitous ARP for %v: %w", ip, err)
	}
	if err := c.WriteTo(p, ethernet.Broadcast); err != nil {
		return fmt.Errorf("gratuitous ARP for %v on %s: %w", ip, ifname, err)
	}
	return nil
}

// Close closes the sockets.
func (s *ARPSenders) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, c := range s.clients {
		c.Close()
		delete(s.clients, name)
	}
	return nil
}
