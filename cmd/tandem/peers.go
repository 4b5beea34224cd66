package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/internal/config"
	"github.com/tandemlb/tandem/lb"
	"github.com/tandemlb/tandem/lb/stick"
	"github.com/tandemlb/tandem/peers"
)

// peerLink is the [peers] link of a running tandem: the node, and the
// route from every proxy generation's stick tables to it. A nil *peerLink
// (no [peers] section) does nothing, so callers need no checks.
//
// Wiring in the app (reload.go), in this order:
//
//	link, err := newPeerLink(cfg, proxyView{a}.Server, log) // before lb.New: opens the listener
//	proxy, err := lb.New(cfg.Proxy, lb.Options{..., StickEvents: link.stickEvents()})
//	link.follow(proxy, cfg)
//	a.bg.Go(func() { _ = link.run(a.bgCtx) })
//	stats.SourceOptions{..., OnServerChange: link.publish} // admin socket, stats page
//
// `show peers` reads link.node.Snapshot().
// and on reload: lb.New(..., StickEvents: link.stickEvents()), then after
// the switch link.follow(next, cfg).
type peerLink struct {
	node *peers.Node
}

// newPeerLink builds the node of cfg's [peers] and opens its listener, so
// that a bind error stops the start; nil without [peers]. servers finds a
// server in the current proxy generation; the peer's operator changes are
// applied through it.
func newPeerLink(cfg *config.Config, servers func(backend, server string) *health.Server, log zerolog.Logger) (*peerLink, error) {
	p := cfg.Peers
	if p == nil {
		return nil, nil
	}
	opts := peers.Options{Logger: log}
	if servers != nil {
		opts.Runtime = peers.ServerFunc(servers)
	}
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
	return &peerLink{node: node}, nil
}

// stickEvents is the hook for lb.Options.StickEvents; nil without [peers].
func (l *peerLink) stickEvents() func(string, stick.Event) {
	if l == nil {
		return nil
	}
	return l.node.TableEvent
}

// follow points the link at a proxy generation and its configuration: its
// stick tables are sent whole to the peer, and a changed configuration is
// announced again (the drift check runs on the new digest).
func (l *peerLink) follow(p *lb.Proxy, cfg *config.Config) {
	if l == nil {
		return
	}
	tables := map[string]peers.Table{}
	if p != nil {
		for name, t := range p.StickTables() {
			tables[name] = t
		}
	}
	l.node.SetTables(tables)
	l.node.SetDigest(peers.ConfigDigest(cfg))
}

// run runs the link until ctx ends.
func (l *peerLink) run(ctx context.Context) error {
	if l == nil {
		return nil
	}
	return l.node.Run(ctx)
}

// publish tells the peer an operator's change (stats.SourceOptions
// OnServerChange; the admin socket's `--local` commands skip it).
func (l *peerLink) publish(backend, server string, admin health.AdminState, weight int) {
	if l == nil {
		return
	}
	l.node.PublishServerState(backend, server, admin, weight)
}

// show is the text of `tandem ctl show peers`: one line per field, as
// `show info` prints them.
func (l *peerLink) show() (string, error) {
	if l == nil {
		return "", errNoPeers
	}
	s := l.node.Snapshot()
	state := "DOWN"
	if s.Up {
		state = "UP"
	}
	digest := "unknown (no hello yet)"
	switch {
	case s.DigestKnown && s.DigestMatch:
		digest = "match"
	case s.DigestKnown:
		digest = "DIFFERS in: " + strings.Join(s.Differs, ", ")
	}
	ago := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return time.Since(t).Round(time.Millisecond).String() + " ago"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "local: %s\npeer: %s %s\nlink: %s since %s\n", s.Local, s.Peer, s.PeerAddr, state, ago(s.Since))
	fmt.Fprintf(&b, "last_received: %s\nlast_sent: %s\nconnects: %d\n", ago(s.LastRecv), ago(s.LastSent), s.Connects)
	fmt.Fprintf(&b, "entries_sent: %d\nentries_received: %d\nstates_sent: %d\nstates_received: %d\n",
		s.EntriesSent, s.EntriesReceived, s.StatesSent, s.StatesReceived)
	fmt.Fprintf(&b, "resyncs_sent: %d\nresyncs_received: %d\npending: %d\ndropped: %d\n", s.ResyncsSent, s.ResyncsReceived, s.Pending, s.Dropped)
	fmt.Fprintf(&b, "auth_failures: %d\nprotocol_errors: %d\nconfig_digest: %s", s.AuthFailures, s.ProtocolErrors, digest)
	return b.String(), nil
}

var errNoPeers = errors.New("no [peers] section is configured")
