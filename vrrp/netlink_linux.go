package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/tandemlb/tandem/internal/track"
)

// NetlinkAddresser is the production Addresser (needs CAP_NET_ADMIN).
type NetlinkAddresser struct{}

// PrimaryAddr implements Addresser.
func (NetlinkAddresser) PrimaryAddr(ifname string, vips []netip.Addr) (netip.Addr, error) {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("find link %s: %w", ifname, err)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("list addresses of %s: %w", ifname, err)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		ip = ip.Unmap()
		if !ok || slices.Contains(vips, ip) || a.Flags&unix.IFA_F_SECONDARY != 0 {
			continue
		}
		return ip, nil
	}
	return netip.Addr{}, fmt.Errorf("%s has no IPv4 address other than the VIPs", ifname)
}

func nlAddr(link netlink.Link, v VIP) *netlink.Addr {
	a := &netlink.Addr{IPNet: &net.IPNet{
		IP:   v.Prefix.Addr().AsSlice(),
		Mask: net.CIDRMask(v.Prefix.Bits(), 32),
	}}
	if v.Label != "" {
		a.Label = v.Label
	}
	return a
}

// AddVIP implements Addresser.
func (NetlinkAddresser) AddVIP(ifname string, v VIP) error {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("add %v: find link %s: %w", v.Prefix, ifname, err)
	}
	if err := netlink.AddrAdd(link, nlAddr(link, v)); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add %v to %s: %w", v.Prefix, ifname, err)
	}
	return nil
}

// DelVIP implements Addresser.
func (NetlinkAddresser) DelVIP(ifname string, v VIP) error {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("remove %v: find link %s: %w", v.Prefix, ifname, err)
	}
	if err := netlink.AddrDel(link, nlAddr(link, v)); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("remove %v from %s: %w", v.Prefix, ifname, err)
	}
	return nil
}

// LinkTracker is a track.Tracker that is healthy while a network interface
// is up with carrier, following netlink link updates. It is how `track =
// [{ interface = "eth1" }]` is resolved.
type LinkTracker struct {
	*track.Signal
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// WatchLink starts following ifname. Close stops it.
func WatchLink(ifname string) (*LinkTracker, error) {
	link, err := netlink.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("watch link %s: %w", ifname, err)
	}
	lt := &LinkTracker{Signal: track.NewSignal("interface:"+ifname, linkUp(link.Attrs())), done: make(chan struct{})}
	updates := make(chan netlink.LinkUpdate, 16)
	if err := netlink.LinkSubscribeWithOptions(updates, lt.done, netlink.LinkSubscribeOptions{}); err != nil {
		return nil, fmt.Errorf("watch link %s: subscribe: %w", ifname, err)
	}
	index := link.Attrs().Index
	lt.wg.Add(1)
	go func() {
		defer lt.wg.Done()
		// Ranging until netlink closes the channel (after done) keeps its
		// reader from blocking forever on a send.
		for u := range updates {
			if a := u.Attrs(); a != nil && a.Index == index {
				lt.Set(linkUp(a))
			}
		}
	}()
	// Read the state again: it may have changed before the subscription.
	if l, err := netlink.LinkByIndex(index); err == nil {
		lt.Set(linkUp(l.Attrs()))
	}
	return lt, nil
}

func linkUp(a *netlink.LinkAttrs) bool {
	return a.Flags&net.FlagUp != 0 && a.RawFlags&unix.IFF_LOWER_UP != 0
}

// Close stops following the link.
func (lt *LinkTracker) Close() error {
	lt.once.Do(func() { close(lt.done) })
	lt.wg.Wait()
	return nil
}
