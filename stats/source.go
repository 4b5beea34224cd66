package stats

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/lb"
	"github.com/tandemlb/tandem/vrrp"
)

// Proxy is what stats reads from the proxy engine, and the one thing it
// changes (a server's admin state and weight). *lb.Proxy implements it.
type Proxy interface {
	Snapshot() lb.Snapshot
	Server(backend, name string) *health.Server
}

// TableProxy is a Proxy with stick tables (*lb.Proxy is one).
type TableProxy interface {
	// ShowTable appends HAProxy's `show table` output for the stick table of
	// backend name ("" lists every table); false when there is no such table.
	ShowTable(dst []byte, name string) ([]byte, bool)
	// ClearTable empties a stick table; false when there is none.
	ClearTable(name string) bool
}

// VRRP is what stats reads from the VRRP router and asks of it.
type VRRP interface {
	Instances() []VRRPInstance
	Failover(instance string) error
}

// VRRPInstance is one VRRP instance as the stats views show it.
type VRRPInstance struct {
	vrrp.Snapshot
	VIPs []netip.Prefix
}

// RouterVRRP adapts a running vrrp.Router, with the instance configurations
// it was built from (for the VIPs, which its snapshots leave out). A nil
// router gives a nil VRRP: no instance configured.
func RouterVRRP(r *vrrp.Router, cfgs []vrrp.Config) VRRP {
	if r == nil {
		return nil
	}
	vips := make(map[string][]netip.Prefix, len(cfgs))
	for _, c := range cfgs {
		for _, v := range c.VIPs {
			vips[c.Name] = append(vips[c.Name], v.Prefix)
		}
	}
	return routerVRRP{r: r, vips: vips}
}

type routerVRRP struct {
	r    *vrrp.Router
	vips map[string][]netip.Prefix
}

func (v routerVRRP) Instances() []VRRPInstance {
	ins := v.r.Instances()
	out := make([]VRRPInstance, 0, len(ins))
	for _, in := range ins {
		out = append(out, VRRPInstance{Snapshot: in.Snapshot(), VIPs: v.vips[in.Name()]})
	}
	return out
}

func (v routerVRRP) Failover(name string) error {
	in := v.r.Instance(name)
	if in == nil {
		return fmt.Errorf("vrrp failover %s: %w", name, ErrNoInstance)
	}
	if err := in.Failover(); err != nil {
		return fmt.Errorf("vrrp failover %s: %w", name, err)
	}
	return nil
}

// Errors of the admin actions; the admin socket maps them to HAProxy's
// answers.
var (
	ErrNoBackend  = errors.New("no such backend")
	ErrNoServer   = errors.New("no such server")
	ErrNoInstance = errors.New("no such VRRP instance")
	ErrNoVRRP     = errors.New("no VRRP instance is configured")
	ErrNoTable    = errors.New("no such table")
)

// Process describes the running process for the page header and `show info`.
type Process struct {
	Name    string // "tandem"
	Version string
	Commit  string
	PID     int
	Start   time.Time
	MaxConn int
	Node    string // host name
}

// SourceOptions are a Source's collaborators.
type SourceOptions struct {
	Proxy Proxy
	// Config gives what snapshots leave out: balance algorithms, cookies,
	// server order and ids.
	Config  lb.Config
	VRRP    VRRP // nil without VRRP
	Process Process
	// Logger receives the admin actions (who did what). Health logs the
	// resulting state change itself.
	Logger zerolog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// OnServerChange is told the server's admin state and weight after an
	// operator changed either (peer replication). nil: nobody.
	OnServerChange func(backend, server string, admin health.AdminState, weight int)
}

// Source gathers what every stats view shows: the proxy's counters, the
// VRRP instances, process information, and the rates its sampler derives
// once a second. It is shared by the stats page, the metrics and the admin
// socket.
type Source struct {
	o    SourceOptions
	meta atomic.Pointer[proxyMeta] // swapped whole by SetConfig on reload

	mu      sync.Mutex
	rates   map[string]*rate // rate keys: "f/NAME", "b/NAME", "s/B/S", "process"
	beState map[string]*backendState
}

type rate struct {
	lastTot, lastReq int64
	cur, max         int64 // sessions per second
	reqCur, reqMax   int64
	lastSess         time.Time
}

// backendState follows whole-backend UP/DOWN transitions, which HAProxy
// reports in the BACKEND row (chkdown, lastchg, downtime).
type backendState struct {
	up         bool
	since      time.Time
	downtime   time.Duration
	downs      int64
	downSince  time.Time
	haveSample bool
}

// NewSource returns a Source; call Run to sample rates.
func NewSource(o SourceOptions) *Source {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Process.Name == "" {
		o.Process.Name = "tandem"
	}
	if o.Process.Start.IsZero() {
		o.Process.Start = o.Now()
	}
	s := &Source{
		o:       o,
		rates:   make(map[string]*rate),
		beState: make(map[string]*backendState),
	}
	s.meta.Store(newProxyMeta(o.Config, nil))
	return s
}

// proxyMeta is what the views take from the configuration: algorithms,
// HAProxy-style proxy ids, configured weights.
type proxyMeta struct {
	cfg  lb.Config
	algo map[string]string // backend -> algorithm
	iid  map[string]int    // "f/NAME" or "b/NAME" -> proxy id
}

// newProxyMeta numbers the proxies of cfg; a proxy that prev knew keeps its
// id, so CSV consumers see stable ids across reloads.
func newProxyMeta(cfg lb.Config, prev *proxyMeta) *proxyMeta {
	m := &proxyMeta{cfg: cfg, algo: make(map[string]string), iid: make(map[string]int)}
	next := 1
	if prev != nil {
		for _, id := range prev.iid {
			next = max(next, id)
		}
	}
	id := func(key string) {
		if prev != nil {
			if old, ok := prev.iid[key]; ok {
				m.iid[key] = old
				return
			}
		}
		next++
		m.iid[key] = next
	}
	for _, f := range cfg.Frontends {
		id("f/" + f.Name)
	}
	for _, b := range cfg.Backends {
		id("b/" + b.Name)
		algo := b.Balance
		if algo == "" {
			algo = "roundrobin"
		}
		m.algo[b.Name] = algo
	}
	return m
}

// SetConfig follows a reload: new proxies get ids, algorithms and
// configured weights come from cfg.
func (s *Source) SetConfig(cfg lb.Config) {
	s.meta.Store(newProxyMeta(cfg, s.meta.Load()))
}

// Process returns the process description.
func (s *Source) Process() Process { return s.o.Process }

// Run samples session and request totals once a second, for the rate
// columns, "last session" and the backend UP/DOWN history, until ctx ends.
func (s *Source) Run(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	s.Sample()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.Sample()
		}
	}
}

// Sample takes one rate sample now. Run calls it every second; tests call
// it directly.
func (s *Source) Sample() {
	if s.o.Proxy == nil {
		return
	}
	now := s.o.Now()
	snap := s.o.Proxy.Snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	var procTot, procReq int64
	for _, f := range snap.Frontends {
		s.sampleOne("f/"+f.Name, f.SessTotal, f.Requests, now)
		procTot += f.SessTotal
		procReq += f.Requests
	}
	s.sampleOne("process", procTot, procReq, now)
	for _, b := range snap.Backends {
		s.sampleOne("b/"+b.Name, b.SessTotal, b.Requests, now)
		for _, sv := range b.Servers {
			s.sampleOne("s/"+b.Name+"/"+sv.Name, sv.SessTotal, sv.Requests, now)
		}
		st := s.beState[b.Name]
		if st == nil {
			st = &backendState{since: s.o.Process.Start}
			s.beState[b.Name] = st
		}
		up := b.ActiveUp+b.BackupUp > 0
		switch {
		case !st.haveSample:
			st.haveSample, st.up = true, up
			if !up {
				st.downSince = now
			}
		case up != st.up:
			st.up, st.since = up, now
			if up {
				st.downtime += now.Sub(st.downSince)
				st.downSince = time.Time{}
			} else {
				st.downs++
				st.downSince = now
			}
		}
	}
}

func (s *Source) sampleOne(key string, tot, req int64, now time.Time) {
	r := s.rates[key]
	if r == nil {
		s.rates[key] = &rate{lastTot: tot, lastReq: req}
		if tot > 0 {
			s.rates[key].lastSess = now
		}
		return
	}
	r.cur, r.reqCur = tot-r.lastTot, req-r.lastReq
	if r.cur > 0 {
		r.lastSess = now
	}
	r.max, r.reqMax = max(r.max, r.cur), max(r.reqMax, r.reqCur)
	r.lastTot, r.lastReq = tot, req
}

// SetServerAdmin sets the admin state of backend/server, on behalf of who
// (e.g. "stats page user admin", "admin socket"), logs it and tells the
// peer node (OnServerChange).
func (s *Source) SetServerAdmin(backend, server string, a health.AdminState, who string) error {
	return s.setServerAdmin(backend, server, a, who, true)
}

// SetServerAdminLocal is SetServerAdmin on this node only (`--local`).
func (s *Source) SetServerAdminLocal(backend, server string, a health.AdminState, who string) error {
	return s.setServerAdmin(backend, server, a, who, false)
}

func (s *Source) setServerAdmin(backend, server string, a health.AdminState, who string, replicate bool) error {
	srv, err := s.server(backend, server)
	if err != nil {
		return fmt.Errorf("set server %s/%s state %s: %w", backend, server, strings.ToLower(a.String()), err)
	}
	old := srv.Admin()
	srv.SetAdmin(a)
	if replicate && s.o.OnServerChange != nil {
		s.o.OnServerChange(backend, server, srv.Admin(), srv.Weight())
	}
	s.o.Logger.Info().Str("backend", backend).Str("server", server).Str("by", who).
		Msgf("admin action: server %s/%s set to %s (was %s) by %s", backend, server, a, old, who)
	return nil
}

// SetServerChecks resumes or stops the health checks of backend/server
// (HAProxy's `enable health` / `disable health`), on behalf of who, and
// logs it. A server without checks gives health.ErrNotChecked.
func (s *Source) SetServerChecks(backend, server string, enabled bool, who string) error {
	verb := "disable"
	if enabled {
		verb = "enable"
	}
	srv, err := s.server(backend, server)
	if err != nil {
		return fmt.Errorf("%s health %s/%s: %w", verb, backend, server, err)
	}
	was := srv.ChecksEnabled()
	if err := srv.SetChecks(enabled); err != nil {
		return err
	}
	s.o.Logger.Info().Str("backend", backend).Str("server", server).Str("by", who).
		Msgf("admin action: server %s/%s health checks %sd (were %s) by %s", backend, server, verb, onOff(was), who)
	return nil
}

func onOff(enabled bool) string {
	if enabled {
		return "enabled"
	}
	return "disabled"
}

// SetServerWeight sets the runtime weight of backend/server and logs it.
func (s *Source) SetServerWeight(backend, server string, w int, who string) error {
	return s.setServerWeight(backend, server, w, who, true)
}

// SetServerWeightLocal is SetServerWeight on this node only (`--local`).
func (s *Source) SetServerWeightLocal(backend, server string, w int, who string) error {
	return s.setServerWeight(backend, server, w, who, false)
}

func (s *Source) setServerWeight(backend, server string, w int, who string, replicate bool) error {
	srv, err := s.server(backend, server)
	if err != nil {
		return fmt.Errorf("set server %s/%s weight %d: %w", backend, server, w, err)
	}
	old := srv.Weight()
	if err := srv.SetWeight(w); err != nil {
		return err
	}
	if replicate && s.o.OnServerChange != nil {
		s.o.OnServerChange(backend, server, srv.Admin(), srv.Weight())
	}
	s.o.Logger.Info().Str("backend", backend).Str("server", server).Str("by", who).
		Msgf("admin action: server %s/%s weight set to %d (was %d) by %s", backend, server, w, old, who)
	return nil
}

// ServerWeight returns the runtime and configured weights of backend/server.
func (s *Source) ServerWeight(backend, server string) (cur, initial int, err error) {
	srv, err := s.server(backend, server)
	if err != nil {
		return 0, 0, fmt.Errorf("get weight %s/%s: %w", backend, server, err)
	}
	initial = srv.Weight()
	for _, b := range s.meta.Load().cfg.Backends {
		if b.Name != backend {
			continue
		}
		for _, sc := range b.Servers {
			if sc.Name == server {
				initial = sc.Weight
			}
		}
	}
	return srv.Weight(), initial, nil
}

// Failover asks the VRRP instance to step down, on behalf of who.
func (s *Source) Failover(instance, who string) error {
	if s.o.VRRP == nil {
		return fmt.Errorf("vrrp failover %s: %w", instance, ErrNoVRRP)
	}
	if err := s.o.VRRP.Failover(instance); err != nil {
		return err
	}
	s.o.Logger.Warn().Str("instance", instance).Str("by", who).
		Msgf("admin action: VRRP instance %s asked to fail over by %s", instance, who)
	return nil
}

func (s *Source) server(backend, server string) (*health.Server, error) {
	if s.o.Proxy == nil {
		return nil, ErrNoBackend
	}
	if srv := s.o.Proxy.Server(backend, server); srv != nil {
		return srv, nil
	}
	for _, b := range s.o.Proxy.Snapshot().Backends {
		if b.Name == backend {
			return nil, ErrNoServer
		}
	}
	return nil, ErrNoBackend
}

// ShowTable returns HAProxy's `show table [NAME]` text.
func (s *Source) ShowTable(name string) ([]byte, error) {
	tp, ok := s.o.Proxy.(TableProxy)
	if !ok {
		return nil, ErrNoTable
	}
	out, ok := tp.ShowTable(nil, name)
	if !ok {
		return nil, fmt.Errorf("show table %s: %w", name, ErrNoTable)
	}
	return out, nil
}

// ClearTable empties the stick table of backend name; who is logged.
func (s *Source) ClearTable(name, who string) error {
	if tp, ok := s.o.Proxy.(TableProxy); !ok || !tp.ClearTable(name) {
		return fmt.Errorf("clear table %s: %w", name, ErrNoTable)
	}
	s.o.Logger.Warn().Str("table", name).Str("by", who).Msgf("stick table %s cleared by %s", name, who)
	return nil
}
