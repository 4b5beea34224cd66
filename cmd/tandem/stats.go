package main

import (
	"context"
	"os"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/tandemlb/tandem/internal/config"
	"github.com/tandemlb/tandem/lb"
	"github.com/tandemlb/tandem/stats"
	"github.com/tandemlb/tandem/vrrp"
)

// processStart is when this process started, for uptime.
var processStart = time.Now()

// newStatsSource gathers what the stats page and the admin socket show.
// router is nil when no VRRP instance is configured.
func newStatsSource(cfg *config.Config, proxy *lb.Proxy, router *vrrp.Router, log zerolog.Logger) *stats.Source {
	node, _ := os.Hostname()
	o := stats.SourceOptions{
		Config: cfg.Proxy,
		VRRP:   stats.RouterVRRP(router, cfg.VRRP),
		Process: stats.Process{
			Name:    "tandem",
			Version: version,
			Commit:  commit,
			PID:     os.Getpid(),
			Start:   processStart,
			MaxConn: cfg.Global.MaxConn,
			Node:    node,
		},
		Logger: log,
	}
	if proxy != nil {
		o.Proxy = proxy
	}
	return stats.NewSource(o)
}

// startStats opens the [stats] listeners (so a bind error stops the start)
// and serves the page, its CSV/JSON exports and /metrics in g until ctx
// ends. It does nothing without a [stats] section.
func startStats(ctx context.Context, g *errgroup.Group, cfg *config.Config, proxy *lb.Proxy, router *vrrp.Router, log zerolog.Logger) error {
	if cfg.Stats == nil {
		return nil
	}
	src := newStatsSource(cfg, proxy, router, log)
	srv, err := stats.NewServer(*cfg.Stats, src, log)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	for _, a := range srv.Addrs() {
		log.Info().Str("addr", a.String()).Msgf("stats page on http://%s%s", a, cfg.Stats.URI)
	}
	g.Go(func() error { return src.Run(ctx) })
	g.Go(func() error { return srv.Serve(ctx) })
	return nil
}
