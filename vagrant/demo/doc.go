// Package demo is the failover demo of the seed article, run in Linux
// network namespaces: it builds DESIGN.md's lab (lb1, lb2, web1, web2 and a
// client, each with eth1 on 192.0.2.0/24, joined by a bridge in a namespace
// of its own), starts tandem on lb1 and lb2 with configurations generated
// from deploy/examples/seed.toml, and walks through the article's steps —
// L7 routing, cookie persistence, health checks, the stats page, VRRP
// failover on a crash, preemption and a graceful failover — measuring what
// a client sees through the VIP. The generated configurations add a
// [peers] link between lb1 and lb2 and a "pinned" backend (stick table on
// the source address, no cookie), and further steps show the pair acting
// as one: configuration drift reported, an operator's drain replicated, a
// client's pin kept across a failover.
//
// `make demo` runs it through vagrant/demo/cmd/demo; the end-to-end tests
// of this package run the same steps and assert each one. The same
// generator writes the Vagrant boxes' configurations (vagrant/provision),
// so the namespace twin and the CentOS 7 demo cannot drift apart.
//
// The package only touches what it created: namespaces named with a random
// per-lab prefix, processes it started (stopped by PID), files in its own
// directory. It uses TEST-NET-1 addresses only; the Vagrant addresses
// (192.168.8.0/24) appear in generated files and are never dialled.
// Steps that need a feature tandem does not have yet report it as a
// failure saying so, never as a pass.
package demo
