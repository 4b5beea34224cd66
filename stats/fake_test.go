package stats

import (
	"net/netip"
	"sync"
	"time"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/lb"
	"github.com/tandemlb/tandem/vrrp"
)

// fakeProxy is an lb.Proxy stand-in: real health.Servers, counters set by
// the test.
type fakeProxy struct {
	mu       sync.Mutex
	fe       lb.FrontendSnapshot
	backends []*fakeBackend
}

type fakeBackend struct {
	name    string
	hb      *health.Backend
	servers []*fakeServer
	c       lb.Counters
}

type fakeServer struct {
	name, addr string
	backup     bool
	maxconn    int
	h          *health.Server
	c          lb.Counters
}

func newFakeProxy() *fakeProxy {
	s1 := &fakeServer{name: "s1", addr: "127.0.0.1:8081", maxconn: 300, h: health.NewServer("app/s1", true, false, 0, 1)}
	s2 := &fakeServer{name: "s2", addr: "127.0.0.1:8082", h: health.NewServer("app/s2", false, false, 0, 3)}
	s3 := &fakeServer{name: "s3", addr: "127.0.0.1:8083", backup: true, h: health.NewServer("app/s3", true, false, 0, 1)}
	hb := health.NewBackend("app", []*health.Server{s1.h, s2.h}, []*health.Server{s3.h})
	return &fakeProxy{
		fe:       lb.FrontendSnapshot{Name: "http-in", Open: true, Counters: lb.Counters{SessLimit: 4096}},
		backends: []*fakeBackend{{name: "app", hb: hb, servers: []*fakeServer{s1, s2, s3}}},
	}
}

func (p *fakeProxy) Snapshot() lb.Snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	snap := lb.Snapshot{ActConn: p.fe.SessCur, Frontends: []lb.FrontendSnapshot{p.fe}}
	for _, b := range p.backends {
		bs := lb.BackendSnapshot{Name: b.name, Counters: b.c}
		bs.ActiveUp, bs.BackupUp = b.hb.Counts()
		for _, s := range b.servers {
			c := s.c
			c.SessLimit = int64(s.maxconn)
			bs.Servers = append(bs.Servers, lb.ServerSnapshot{Name: s.name, Addr: s.addr, Backup: s.backup,
				Weight: s.h.Weight(), MaxConn: s.maxconn, Counters: c, Health: s.h.Snapshot()})
		}
		snap.Backends = append(snap.Backends, bs)
	}
	return snap
}

func (p *fakeProxy) Server(backend, name string) *health.Server {
	for _, b := range p.backends {
		if b.name != backend {
			continue
		}
		for _, s := range b.servers {
			if s.name == name {
				return s.h
			}
		}
	}
	return nil
}

// request counts one HTTP request through s1 with status code.
func (p *fakeProxy) request(code int, in, out int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range []*lb.Counters{&p.fe.Counters, &p.backends[0].c, &p.backends[0].servers[0].c} {
		c.SessTotal++
		c.Requests++
		c.Responses[code/100]++
		c.BytesIn += in
		c.BytesOut += out
	}
	p.backends[0].c.LBTot++
	p.backends[0].servers[0].c.LBTot++
}

type fakeVRRP struct {
	failed []string
}

func (f *fakeVRRP) Instances() []VRRPInstance {
	return []VRRPInstance{{
		Snapshot: vrrp.Snapshot{Name: "VI_1", Interface: "eth1", VRID: 51, State: vrrp.StateMaster, Priority: 101, Configured: 101,
			Master: netip.MustParseAddr("192.0.2.11"), LastTransition: time.Unix(1700000000, 0)},
		VIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24")},
	}}
}

func (f *fakeVRRP) Failover(name string) error {
	if name != "VI_1" {
		return ErrNoInstance
	}
	f.failed = append(f.failed, name)
	return nil
}

func testSource(p *fakeProxy, now time.Time) *Source {
	return NewSource(SourceOptions{
		Proxy: p,
		Config: lb.Config{
			Frontends: []lb.FrontendConfig{{Name: "http-in"}},
			Backends:  []lb.BackendConfig{{Name: "app", Balance: "roundrobin", Servers: []lb.ServerConfig{{Name: "s1", Weight: 1}, {Name: "s2", Weight: 3}, {Name: "s3", Weight: 1}}}},
		},
		VRRP:    &fakeVRRP{},
		Process: Process{Version: "1.2.3", Commit: "abc", PID: 4242, Start: now.Add(-90 * time.Second), MaxConn: 4096, Node: "lb1"},
		Now:     func() time.Time { return now },
	})
}
