// Command vrrpd runs one VRRP instance from flags. It exists for the
// network-namespace tests of package vrrp (run with `ip netns exec`) until
// the tandem CLI runs VRRP from its TOML file; it is not installed.
//
// SIGTERM/SIGINT stop it gracefully (priority-0 advert, VIPs removed);
// SIGUSR1 asks the instance to fail over; with -track-weight, SIGUSR2
// toggles a tracked object (standing in for the proxy's frontend) between
// healthy and failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/tandemlb/tandem/internal/track"
	"github.com/tandemlb/tandem/vrrp"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "vrrpd:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	c := vrrp.DefaultConfig()
	c.Name = "VI_1"
	fs := flag.NewFlagSet("vrrpd", flag.ContinueOnError)
	fs.StringVar(&c.Interface, "iface", "eth1", "interface")
	vrid := fs.Uint("vrid", 51, "virtual_router_id")
	prio := fs.Uint("prio", 100, "priority")
	fs.DurationVar(&c.AdvertInt, "advert", time.Second, "advert_int")
	fs.IntVar(&c.Version, "version", 2, "VRRP version")
	fs.StringVar(&c.AuthPass, "auth", "", "auth_pass")
	vips := fs.String("vip", "192.0.2.100/24", "virtual_ipaddress, comma separated")
	nopreempt := fs.Bool("nopreempt", false, "nopreempt")
	fs.DurationVar(&c.PreemptDelay, "preempt-delay", 0, "preempt_delay")
	peers := fs.String("unicast-peer", "", "unicast peers, comma separated")
	src := fs.String("unicast-src", "", "unicast source address")
	fs.DurationVar(&c.GARPMasterDelay, "garp-delay", 5*time.Second, "garp_master_delay")
	fs.StringVar(&c.Notify, "notify", "", "notify command")
	trackWeight := fs.Int("track-weight", -1000, "weight of a tracked object toggled by SIGUSR2 (-1000 = none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.VRID, c.Priority, c.Preempt = uint8(*vrid), uint8(*prio), !*nopreempt
	for _, s := range strings.Split(*vips, ",") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("-vip: %w", err)
		}
		c.VIPs = append(c.VIPs, vrrp.VIP{Prefix: p})
	}
	if *peers != "" {
		for _, s := range strings.Split(*peers, ",") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return fmt.Errorf("-unicast-peer: %w", err)
			}
			c.UnicastPeers = append(c.UnicastPeers, a)
		}
	}
	if *src != "" {
		a, err := netip.ParseAddr(*src)
		if err != nil {
			return fmt.Errorf("-unicast-src: %w", err)
		}
		c.UnicastSrc = a
	}
	log := zerolog.New(os.Stderr).With().Timestamp().Logger()
	spec := vrrp.InstanceSpec{Config: c}
	var tracked *track.Signal
	if *trackWeight != -1000 {
		tracked = track.NewSignal("frontend:test", true)
		spec.Trackers = []vrrp.Tracked{{Tracker: tracked, Weight: *trackWeight}}
	}
	r, err := vrrp.NewRouter([]vrrp.InstanceSpec{spec}, vrrp.DefaultOptions(log))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	usr := make(chan os.Signal, 1)
	signal.Notify(usr, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		for sig := range usr {
			if sig == syscall.SIGUSR2 {
				if tracked != nil {
					tracked.Set(!tracked.Healthy())
				}
				continue
			}
			if err := r.Instance(c.Name).Failover(); err != nil && !errors.Is(err, vrrp.ErrNotRunning) {
				log.Warn().Err(err).Msg("failover")
			}
		}
	}()
	return r.Run(ctx)
}
