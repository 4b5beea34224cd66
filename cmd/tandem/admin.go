package main

import (
	"context"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/tandemlb/tandem/internal/admin"
	"github.com/tandemlb/tandem/internal/config"
	"github.com/tandemlb/tandem/lb"
	"github.com/tandemlb/tandem/vrrp"
)

// startAdmin opens the admin socket at [global] admin_socket (mode 0600,
// its directory created 0755; a stale socket is replaced, a live one is an
// error) and answers commands in g until ctx ends.
func startAdmin(ctx context.Context, g *errgroup.Group, cfg *config.Config, proxy *lb.Proxy, router *vrrp.Router, log zerolog.Logger) error {
	if cfg.Global.AdminSocket == "" {
		return nil
	}
	src := newStatsSource(cfg, proxy, router, log)
	srv := admin.NewServer(src, log)
	if err := srv.Listen(cfg.Global.AdminSocket); err != nil {
		return err
	}
	log.Info().Str("socket", srv.Path()).Msg("admin socket open")
	g.Go(func() error { return src.Run(ctx) })
	g.Go(func() error { return srv.Serve(ctx) })
	return nil
}
