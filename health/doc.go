// Package health runs active checks against servers (TCP connect, HTTP
// request with expectations), applies HAProxy's rise/fall rules with
// inter/fastinter/downinter pacing, and reports state changes.
//
// It owns no sockets of the forwarding path and must never block it: a
// slow, hanging or hostile target only fails its own check. It does not
// import lb or vrrp; lb consumes its events.
package health
