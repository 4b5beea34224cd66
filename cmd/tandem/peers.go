package main

import (
	"context"
	"sync/atomic"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/tandemlb/tandem/internal/config"
	"github.com/tandemlb/tandem/lb"
	"github.com/tandemlb/tandem/lb/stick"
	"github.com/tandemlb/tandem/peers"
	"github.com/tandemlb/tandem/vrrp"
)

// stickEvents carries the proxy's stick-table events (lb.Options.StickEvents,
// fixed when the proxy is built) to the peers node, which starts after the
// proxy. Until attach, and without [peers], events are dropped: the full
// resync that opens every peer session carries the tables anyway.
//
//	events := &stickEvents{}
//	proxy, err := lb.New(cfg.Proxy, lb.Options{..., StickEvents: events.send})
//	...
//	node, err := startPeers(gctx, g, cfg, proxy, router, log)
//	events.attach(node)
type stickEvents struct{ node atomic.Pointer[peers.Node] }

func (e *stickEvents) send(backend string, ev stick.Event) { e.node.Load().TableEvent(backend, ev) }

func (e *stickEvents) attach(n *peers.Node) { e.node.Store(n) }

// startPeers opens the [peers] listener (so a bind error stops the start)
// and runs the link to the other node in g: the proxy's stick tables are
// replicated and the peer's server states applied through proxy.Server.
// It returns nil with nothing started without a [peers] section. The admin
// socket and stats page publish operators' changes with
// node.PublishServerState; `show peers` reads node.Snapshot.
func startPeers(ctx context.Context, g *errgroup.Group, cfg *config.Config, proxy *lb.Proxy, _ *vrrp.Router, log zerolog.Logger) (*peers.Node, error) {
	if cfg.Peers == nil {
		return nil, nil
	}
	opts := peers.Options{Logger: log, Tables: map[string]peers.Table{}}
	if proxy != nil {
		for name, t := range proxy.StickTables() {
			opts.Tables[name] = t
		}
		opts.Runtime = peers.ServerFunc(proxy.Server)
	}
	p := cfg.Peers
	node, err := peers.New(peers.Config{
		Local:    p.Local,
		Bind:     p.Bind,
		Peer:     p.Peer,
		PeerAddr: p.PeerAddr,
		Secret:   []byte(p.Secret),
		Digest:   peers.ConfigDigest(cfg),
	}, opts)
	if err != nil {
		return nil, err
	}
	if err := node.Listen(); err != nil {
		return nil, err
	}
	if p.Secret == "" {
		log.Warn().Msg("peers: no secret: the link is not authenticated; set [peers] secret")
	}
	g.Go(func() error { return node.Run(ctx) })
	return node, nil
}
