package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Target is one server to check.
type Target struct {
	Server  *Server
	Backend string
	Name    string
	// Addr is the server's address; Check.Addr and Check.Port override it
	// for the check.
	Addr  netip.AddrPort
	Check CheckConfig
}

// Traffic is the engine's view of a server at a state change, for the log
// line: sessions still on it, requests moved between its queue and the
// backend's, requests left in queue.
type Traffic struct {
	Active, Requeued, Queued int
}

// Options are the Checker's injected dependencies; all are optional.
type Options struct {
	// Clock schedules the checks and times them. Default SystemClock.
	Clock Clock
	// Dialer opens check connections. Default &net.Dialer{}.
	Dialer Dialer
	// OnChange receives every UP/DOWN change and admin change. It is
	// called from the checking goroutines (or from the caller of SetAdmin
	// or ReportTraffic), so it must be safe for concurrent use and quick.
	OnChange func(Event)
	// Traffic, when set, is called at each change before the log line is
	// written; the engine may move queued requests then (HAProxy
	// redistributes a DOWN server's queue, and an UP server takes from the
	// backend's) and returns the figures. Like OnChange it may run on the
	// goroutine that called SetAdmin or ReportTraffic, so it must not take
	// a lock such a caller holds.
	Traffic func(backend, server string, up bool) Traffic
	// Logger receives the state change lines: Warn for DOWN and
	// maintenance, Info for UP, Error for a backend left with no server,
	// Debug for every check.
	Logger zerolog.Logger
}

// Event is one server state change.
type Event struct {
	Time            time.Time
	Backend, Server string
	Backup          bool
	// Admin is true when an operator's SetAdmin caused the change.
	Admin              bool
	From, To           OpState
	AdminFrom, AdminTo AdminState
	// The check that caused it (zero for admin changes).
	Status   Status
	Code     int
	Reason   string // Status.Description()
	Info     string
	Duration time.Duration
	// Servers of the backend available after the change.
	ActiveLeft, BackupLeft int
	Traffic                Traffic
	// NoServerLeft: this change left the backend with no available server.
	NoServerLeft bool
	// Message is the log line, HAProxy's sentence.
	Message string
}

// Checker runs the active checks of many servers, one goroutine each,
// with start times spread over the first interval.
type Checker struct {
	clock    Clock
	dialer   Dialer
	onChange func(Event)
	traffic  func(backend, server string, up bool) Traffic
	log      zerolog.Logger

	targets []*target
	err     error
	started atomic.Bool
}

type target struct {
	srv           *Server
	backend, name string
	cfg           CheckConfig
	probe         *probe
}

// NewChecker prepares the checks of targets. Targets whose Server is not
// checked only get their admin changes logged. An invalid CheckConfig is
// reported by Run.
func NewChecker(targets []Target, opts Options) *Checker {
	c := &Checker{
		clock:    opts.Clock,
		dialer:   opts.Dialer,
		onChange: opts.OnChange,
		traffic:  opts.Traffic,
		log:      opts.Logger,
	}
	if c.clock == nil {
		c.clock = SystemClock{}
	}
	if c.dialer == nil {
		c.dialer = &net.Dialer{}
	}
	var errs []error
	for _, tg := range targets {
		if tg.Server == nil {
			errs = append(errs, fmt.Errorf("health check of %s/%s: no server", tg.Backend, tg.Name))
			continue
		}
		t := &target{srv: tg.Server, backend: tg.Backend, name: tg.Name}
		tg.Server.setAdminHook(func(ch adminChange) { c.adminChanged(t, ch) })
		if !tg.Server.Checked() {
			continue
		}
		t.cfg = tg.Check.WithDefaults()
		if err := t.cfg.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("health check of %s/%s: %w", tg.Backend, tg.Name, err))
			continue
		}
		t.probe = newProbe(tg.Addr, t.cfg)
		tg.Server.configure(t.cfg.Rise, t.cfg.Fall, c.clock.Now)
		tg.Server.configureObserve(&t.cfg)
		tg.Server.setHanaHook(func(res Result, tr transition) { c.report(t, res, tr, c.clock.Now()) })
		c.targets = append(c.targets, t)
	}
	c.err = errors.Join(errs...)
	return c
}

// Run checks until ctx is cancelled, then returns nil once every check
// goroutine has ended. It returns an error at once if a target's
// configuration is invalid or Run was already called.
func (c *Checker) Run(ctx context.Context) error {
	if c.err != nil {
		return c.err
	}
	if !c.started.CompareAndSwap(false, true) {
		return errors.New("run health checker: already running")
	}
	var wg sync.WaitGroup
	n := time.Duration(len(c.targets))
	for i, t := range c.targets {
		// HAProxy spreads the first checks over the interval so that
		// servers sharing a host are not all hit at once.
		first := t.cfg.Inter * time.Duration(i) / n
		wg.Go(func() { c.loop(ctx, t, first) })
	}
	wg.Wait()
	return nil
}

func (c *Checker) loop(ctx context.Context, t *target, first time.Duration) {
	s := t.srv
	due := c.clock.Now().Add(first)
	for {
		if s.Admin() == Maint || s.checksOff.Load() {
			// Checks are paused in maintenance and while stopped at
			// runtime (SetChecks).
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			}
			continue
		}
		if s.checkNow.Swap(false) {
			due = c.clock.Now()
		}
		if s.takeFastNow() {
			// Observed traffic errors: HAProxy checks again within
			// fastinter.
			if soon := c.clock.Now().Add(t.cfg.FastInter); soon.Before(due) {
				due = soon
			}
		}
		if d := due.Sub(c.clock.Now()); d > 0 {
			tm := c.clock.NewTimer(d)
			select {
			case <-ctx.Done():
				tm.Stop()
				return
			case <-s.wake:
				tm.Stop()
				continue
			case <-tm.C():
			}
			if s.Admin() == Maint || s.checksOff.Load() {
				continue
			}
		}
		start := c.clock.Now()
		res := t.probe.run(ctx, c.dialer)
		if ctx.Err() != nil {
			return // shutting down: not the server's fault
		}
		end := c.clock.Now()
		res.Duration = end.Sub(start)
		c.apply(t, res, end)
		// Start to start, as HAProxy schedules, skipping missed slots.
		inter := s.nextInterval(&t.cfg)
		due = start.Add(inter)
		for !due.After(end) {
			due = due.Add(inter)
		}
	}
}

func (c *Checker) apply(t *target, res Result, now time.Time) {
	s := t.srv
	tr := s.record(res, now)
	if e := c.log.Debug(); e.Enabled() {
		snap := s.Snapshot()
		verdict := "failed"
		if res.Status.Passed() {
			verdict = "succeeded"
		}
		state := "DOWN"
		if snap.Op.IsUp() {
			state = "UP"
		}
		e.Str("backend", t.backend).Str("server", t.name).
			Msg(fmt.Sprintf("Health check for %sserver %s/%s %s%s, status: %s %s.",
				backupPrefix(s.Backup(), "backup "), t.backend, t.name, verdict,
				statusPart(res), healthFraction(snap), state))
	}
	c.report(t, res, tr, now)
}

// report logs an UP/DOWN change and hands it to OnChange.
func (c *Checker) report(t *target, res Result, tr transition, now time.Time) {
	s := t.srv
	if !tr.crossed {
		return
	}
	up := tr.to.IsUp()
	ev := Event{
		Time:         now,
		Backend:      t.backend,
		Server:       t.name,
		Backup:       s.Backup(),
		From:         tr.from,
		To:           tr.to,
		AdminFrom:    s.Admin(),
		AdminTo:      s.Admin(),
		Status:       res.Status,
		Code:         res.Code,
		Reason:       res.Status.Description(),
		Info:         res.Info,
		Duration:     res.Duration,
		ActiveLeft:   tr.after.active,
		BackupLeft:   tr.after.backup,
		NoServerLeft: s.backend != nil && tr.before.total() > 0 && tr.after.total() == 0,
	}
	if c.traffic != nil {
		ev.Traffic = c.traffic(t.backend, t.name, up)
	}
	if up {
		ev.Message = upMessage(&ev, "is UP"+statusPart(res))
	} else {
		ev.Message = downMessage(&ev, "is DOWN"+statusPart(res))
	}
	c.emit(&ev, up)
}

func (c *Checker) adminChanged(t *target, ch adminChange) {
	s := t.srv
	ev := Event{
		Time:         ch.time,
		Backend:      t.backend,
		Server:       t.name,
		Backup:       s.Backup(),
		Admin:        true,
		From:         ch.fromOp,
		To:           ch.toOp,
		AdminFrom:    ch.from,
		AdminTo:      ch.to,
		ActiveLeft:   ch.after.active,
		BackupLeft:   ch.after.backup,
		NoServerLeft: s.backend != nil && ch.before.total() > 0 && ch.after.total() == 0,
	}
	up := ch.to != Maint && ev.To.IsUp()
	if c.traffic != nil {
		ev.Traffic = c.traffic(t.backend, t.name, ch.to == Ready && up)
	}
	switch {
	case ch.to == Maint && !ch.fromOp.IsUp():
		ev.Message = downMessage(&ev, "was DOWN and now enters maintenance")
	case ch.to == Maint:
		ev.Message = downMessage(&ev, "is going DOWN for maintenance")
	case ch.to == Drain && ch.from == Ready:
		ev.Message = downMessage(&ev, "enters drain state")
	case ch.from == Maint:
		state := "DOWN"
		if ev.To.IsUp() {
			state = "UP"
			if ch.to == Drain {
				state = "DRAIN"
			}
		}
		ev.Message = upMessage(&ev, "is "+state+" (leaving forced maintenance)")
	default: // Drain -> Ready
		ev.Message = upMessage(&ev, "is UP (leaving forced drain)")
	}
	c.emit(&ev, ch.to == Ready || (ch.from == Maint && ch.to == Drain))
}

// emit logs the change and hands it to OnChange.
func (c *Checker) emit(ev *Event, up bool) {
	e := c.log.Warn()
	if up {
		e = c.log.Info()
	}
	e.Str("backend", ev.Backend).Str("server", ev.Server).Msg(ev.Message)
	if ev.NoServerLeft {
		c.log.Error().Str("backend", ev.Backend).Msg(noServerMessage(ev.Backend))
	}
	if c.onChange != nil {
		c.onChange(*ev)
	}
}
