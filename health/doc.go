// Package health runs active checks against servers (TCP connect, HTTP
// request with expectations), applies HAProxy's rise/fall rules with
// inter/fastinter/downinter pacing, and keeps each server's operational and
// admin state for the forwarding engine to read on every pick.
//
// The pieces: a Server per configured server (atomic state: Usable,
// UsableForPersistence, EffectiveWeight with the slowstart ramp; SetAdmin,
// SetWeight, Snapshot for stats; ReportTraffic for observe layer4/layer7;
// SetChecks for HAProxy's `enable health` / `disable health`);
// a Backend per backend, counting available servers as HAProxy's srv_act
// and srv_bck and publishing the track.Signal "backend:NAME" that VRRP
// tracks; a Checker that runs one goroutine per checked server, each check
// bounded by its timeout, and logs state changes with HAProxy's sentences
// ("Server ms1/ms1.srv1 is DOWN, reason: Layer4 connection problem, ...").
//
// Behaviour follows HAProxy: checked servers start UP at health = rise, so
// the first failed check takes a dead server out and fall failures in a
// row take out one that was fully up; checks are paused in maintenance and
// run at once when it ends; first checks are spread over the interval;
// intervals run start to start. Where tandem differs, on purpose: the
// default HTTP check method is GET (HAProxy's is OPTIONS), requests carry
// "Connection: close", and the default Host of an HTTP/1.1 check is the
// checked address. Stopping a server's checks at runtime (SetChecks) also
// stops counting its observed traffic, so its state stays frozen: HAProxy
// still counts it, which can take a server down with no check left to
// bring it back.
//
// It owns no sockets of the forwarding path and must never block it: a
// slow, hanging or hostile target only fails its own check. It does not
// import lb or vrrp, and does not create the root logger; lb consumes its
// state and events.
package health
