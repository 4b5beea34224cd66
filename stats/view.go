package stats

import (
	"fmt"
	"time"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/lb"
)

// View is everything the stats views show, taken at one instant.
type View struct {
	Now     time.Time
	Process Process
	// Process-wide figures (show info).
	CurrConns, CumConns, CumReq int64
	ConnRate, MaxConnRate       int64
	ReqRate, MaxReqRate         int64
	Frontends                   []FrontendView
	Backends                    []BackendView
	VRRP                        []VRRPInstance
}

// Uptime is the time since the process started.
func (v *View) Uptime() time.Duration { return v.Now.Sub(v.Process.Start) }

// FrontendView is one frontend with its rates.
type FrontendView struct {
	lb.FrontendSnapshot
	IID                 int
	Rate, RateMax       int64
	ReqRate, ReqRateMax int64
	Status              string // OPEN, FULL or STOP
	StatusClass         string // CSS class
	ModeName            string
}

// BackendView is one backend with its servers, rates and UP/DOWN history.
type BackendView struct {
	lb.BackendSnapshot
	IID  int
	Algo string
	// Up: at least one usable server.
	Up bool
	// Weight and UWeight sum the effective and configured weights of the
	// servers that take traffic (active ones, or backups when no active
	// server is up), as HAProxy's BACKEND row does.
	Weight, UWeight int
	Rate, RateMax   int64
	LastSess        time.Time
	LastChange      time.Time
	Downtime        time.Duration
	ChkDown         int64
	Servers         []ServerView
}

// ServerView is one server with its rates.
type ServerView struct {
	lb.ServerSnapshot
	SID           int
	Rate, RateMax int64
	LastSess      time.Time
}

// State is the server's state in one word, as the page colours it and
// Prometheus labels it: UP, DOWN, MAINT or DRAIN ("going down" is UP,
// "going up" is DOWN, "no check" is UP).
func (s *ServerView) State() string {
	h := s.Health
	switch {
	case h.Admin == health.Maint:
		return "MAINT"
	case !h.Op.IsUp():
		return "DOWN"
	case h.Admin == health.Drain:
		return "DRAIN"
	}
	return "UP"
}

// Class is the CSS class of the server's row, HAProxy's colour scheme:
// active/backup × up, going down, going up, down, maint, drain, no check.
func (s *ServerView) Class() string {
	h := s.Health
	kind := "active"
	if s.Backup {
		kind = "backup"
	}
	switch {
	case h.Admin == health.Maint:
		return "maint"
	case h.Admin == health.Drain && h.Op.IsUp():
		return "drain"
	}
	switch h.Op {
	case health.Up:
		return kind + "-up"
	case health.GoingDown:
		return kind + "-going-down"
	case health.GoingUp:
		return kind + "-going-up"
	case health.Down:
		return "down"
	}
	return "nocheck"
}

// Throttle is the slowstart percentage, or -1 when not ramping.
func (s *ServerView) Throttle() int {
	uw := s.Health.Weight
	if uw <= 0 || s.Weight >= uw || !s.Health.Op.IsUp() {
		return -1
	}
	return s.Weight * 100 / uw
}

// LastChangeAt is when the server last changed state (the process start
// when it never did).
func (s *ServerView) LastChangeAt(start time.Time) time.Time {
	if s.Health.LastChange.IsZero() {
		return start
	}
	return s.Health.LastChange
}

// View takes a view of everything now.
func (s *Source) View() *View {
	now := s.o.Now()
	v := &View{Now: now, Process: s.o.Process}
	if s.o.VRRP != nil {
		v.VRRP = s.o.VRRP.Instances()
	}
	if s.o.Proxy == nil {
		return v
	}
	snap := s.o.Proxy.Snapshot()
	v.CurrConns = snap.ActConn

	s.mu.Lock()
	defer s.mu.Unlock()
	get := func(key string) rate {
		if r := s.rates[key]; r != nil {
			return *r
		}
		return rate{}
	}
	meta := s.meta.Load()
	nextID := 1
	for _, id := range meta.iid {
		nextID = max(nextID, id)
	}
	iid := func(key string) int {
		if id, ok := meta.iid[key]; ok {
			return id
		}
		nextID++
		return nextID
	}
	pr := get("process")
	v.ConnRate, v.MaxConnRate, v.ReqRate, v.MaxReqRate = pr.cur, pr.max, pr.reqCur, pr.reqMax
	for _, f := range snap.Frontends {
		r := get("f/" + f.Name)
		fv := FrontendView{FrontendSnapshot: f, IID: iid("f/" + f.Name),
			Rate: r.cur, RateMax: r.max, ReqRate: r.reqCur, ReqRateMax: r.reqMax, ModeName: f.Mode.String()}
		switch {
		case !f.Open:
			fv.Status, fv.StatusClass = "STOP", "down"
		case f.SessLimit > 0 && f.SessCur >= f.SessLimit:
			fv.Status, fv.StatusClass = "FULL", "active-going-down"
		default:
			fv.Status, fv.StatusClass = "OPEN", "active-up"
		}
		v.CumConns += f.SessTotal
		v.CumReq += f.Requests
		v.Frontends = append(v.Frontends, fv)
	}
	for _, b := range snap.Backends {
		r := get("b/" + b.Name)
		bv := BackendView{BackendSnapshot: b, IID: iid("b/" + b.Name), Algo: meta.algo[b.Name],
			Up: b.ActiveUp+b.BackupUp > 0, Rate: r.cur, RateMax: r.max, LastSess: r.lastSess}
		if bv.Algo == "" {
			bv.Algo = "roundrobin"
		}
		bv.LastChange = s.o.Process.Start
		if st := s.beState[b.Name]; st != nil {
			bv.LastChange, bv.ChkDown, bv.Downtime = st.since, st.downs, st.downtime
			if !st.downSince.IsZero() {
				bv.Downtime += now.Sub(st.downSince)
			}
		}
		useBackup := b.ActiveUp == 0
		for i, sv := range b.Servers {
			sr := get("s/" + b.Name + "/" + sv.Name)
			bv.Servers = append(bv.Servers, ServerView{ServerSnapshot: sv, SID: i + 1,
				Rate: sr.cur, RateMax: sr.max, LastSess: sr.lastSess})
			h := sv.Health
			if h.Op.IsUp() && h.Admin == health.Ready && sv.Backup == useBackup {
				bv.Weight += sv.Weight
				bv.UWeight += h.Weight
			}
		}
		v.Backends = append(v.Backends, bv)
	}
	return v
}

// uptimeText formats a duration as HAProxy's show info does: "0d 0h00m07s".
func uptimeText(d time.Duration) string {
	s := int64(d / time.Second)
	return fmt.Sprintf("%dd %dh%02dm%02ds", s/86400, s%86400/3600, s%3600/60, s%60)
}

// shortDuration is the page's compact form: "45s", "3m12s", "2h05m", "4d3h".
func shortDuration(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 0:
		return "-"
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%dh", s/86400, s%86400/3600)
}
