package main

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/tandemlb/tandem/internal/config"
	"github.com/tandemlb/tandem/lb"
	"github.com/tandemlb/tandem/vrrp"
)

// startVRRP resolves each instance's tracked objects into the proxy's health
// signals and runs the VRRP router in g. It returns nil with nothing started
// when no instance is configured.
func startVRRP(ctx context.Context, g *errgroup.Group, cfg *config.Config, proxy *lb.Proxy, log zerolog.Logger) (*vrrp.Router, error) {
	if len(cfg.VRRP) == 0 {
		return nil, nil
	}
	var links []*vrrp.LinkTracker
	closeLinks := func() {
		for _, l := range links {
			_ = l.Close()
		}
	}
	specs := make([]vrrp.InstanceSpec, 0, len(cfg.VRRP))
	for _, c := range cfg.VRRP {
		spec := vrrp.InstanceSpec{Config: c}
		for _, t := range c.Track {
			var tracked vrrp.Tracked
			tracked.Weight = t.Weight
			switch t.Kind {
			case "frontend":
				if s := proxy.FrontendSignal(t.Name); s != nil {
					tracked.Tracker = s
				}
			case "backend":
				tracked.Tracker = proxy.BackendSignal(t.Name)
			case "interface":
				lt, err := vrrp.WatchLink(t.Name)
				if err != nil {
					closeLinks()
					return nil, fmt.Errorf("vrrp instance %s: %w", c.Name, err)
				}
				links = append(links, lt)
				tracked.Tracker = lt
			}
			if tracked.Tracker == nil {
				closeLinks()
				return nil, fmt.Errorf("vrrp instance %s: track %s %q: no such object", c.Name, t.Kind, t.Name)
			}
			spec.Trackers = append(spec.Trackers, tracked)
		}
		specs = append(specs, spec)
	}
	router, err := vrrp.NewRouter(specs, vrrp.DefaultOptions(log))
	if err != nil {
		closeLinks()
		return nil, err
	}
	g.Go(func() error {
		defer closeLinks()
		return router.Run(ctx)
	})
	return router, nil
}
