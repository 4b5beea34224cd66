package vrrp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tandemlb/tandem/internal/track"
)

// Tracked is a tracked object and what its failure does: Weight 0 puts the
// instance in Fault while the tracker is unhealthy, any other weight is added
// to the priority (clamped to 1..254).
type Tracked struct {
	Tracker track.Tracker
	Weight  int
}

// InstanceSpec is one instance as the Router runs it.
type InstanceSpec struct {
	Config   Config
	Trackers []Tracked
}

// Options are the Router's collaborators. Listen, Addresser and ARP are
// required; DefaultOptions fills the Linux ones.
type Options struct {
	// Logger receives transitions (info), faults and split-brain signs
	// (warn). The zero Logger discards.
	Logger zerolog.Logger
	// Listen opens the advert socket of one interface.
	Listen    func(ifname string) (Conn, error)
	Addresser Addresser
	ARP       ARPSender
	// Clock defaults to SystemClock.
	Clock Clock
	// Notify runs a notify command (default: /bin/sh -c CMD "$@" with args);
	// ctx carries the notify timeout.
	Notify func(ctx context.Context, cmd string, args []string) error
	// WatchLinks puts an instance in Fault while its interface is down
	// (netlink link state), as keepalived does.
	WatchLinks bool
	// Releasing, when set, is called with an instance's virtual addresses
	// just before a master removes them. Once they are gone, nothing can
	// reach the clients whose connections use them, so they would wait for
	// their own timeouts: the proxy resets them here, while a reset can
	// still leave from the address. It runs in the router's goroutine and
	// must be quick.
	Releasing func(addrs []netip.Addr)
}

// ErrNotRunning is returned by Failover when the Router is not running.
var ErrNotRunning = errors.New("vrrp: router is not running")

// ErrNotMaster is returned by Failover when the instance is not master.
var ErrNotMaster = errors.New("vrrp: instance is not master")

// Counters are an instance's cumulative protocol counters.
type Counters struct {
	AdvertsSent          uint64
	AdvertsReceived      uint64 // valid adverts for this instance
	BecameMaster         uint64
	PriorityZeroSent     uint64
	PriorityZeroReceived uint64
	// Dropped adverts for this VRID. Auth, interval and VIP mismatches are
	// how keepalived pairs fall silently into split brain; tandem counts
	// them and logs a warning.
	AuthMismatch     uint64
	IntervalMismatch uint64
	VIPMismatch      uint64
	VersionMismatch  uint64
	TTLErrors        uint64 // TTL ≠ 255 (sent from off-link)
	PacketErrors     uint64 // checksum, length, type
	// SecondMaster counts adverts from another router while this one is master.
	SecondMaster uint64
}

// Snapshot is a read-only view of an instance for stats and the admin socket.
type Snapshot struct {
	Name       string
	Interface  string
	VRID       uint8
	State      State
	Priority   uint8 // effective
	Configured uint8 // configured priority
	// Master is this router's address when master, else the last master
	// seen in an advert (invalid when unknown).
	Master         netip.Addr
	LastTransition time.Time
	Counters       Counters
}

// Instance is one running VRRP instance of a Router.
type Instance struct {
	r        *Router
	cfg      Config
	trackers []Tracked
	m        *Machine

	src      netip.Addr   // advert source / tie-breaker
	dsts     []netip.Addr // multicast group or unicast peers
	vipAddrs []netip.Addr
	conn     Conn
	linkTrk  *LinkTracker

	deadlines [slotCount]time.Time
	lastWarn  map[string]time.Time

	mu   sync.Mutex
	snap Snapshot
}

// Deadline slots: the machine's timers plus the driver's GARP schedule.
const (
	slotGARPDelay   = int(TimerPreempt) + 1
	slotGARPRefresh = int(TimerPreempt) + 2
	slotCount       = int(TimerPreempt) + 3
)

// Snapshot returns the instance's current state and counters.
func (in *Instance) Snapshot() Snapshot {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.snap
}

// Name returns the instance name.
func (in *Instance) Name() string { return in.cfg.Name }

// Failover makes this instance, if master, step down gracefully: it sends a
// priority-0 advert, so the peer takes over after its skew time, removes the
// VIPs and stays backup until that peer goes away.
func (in *Instance) Failover() error {
	if !in.r.started.Load() {
		return ErrNotRunning
	}
	reply := make(chan error, 1)
	select {
	case in.r.cmds <- command{in: in, reply: reply}:
	case <-in.r.done:
		return ErrNotRunning
	}
	select {
	case err := <-reply:
		return err
	case <-in.r.done:
		return ErrNotRunning
	}
}

type command struct {
	in    *Instance
	reply chan error
}

type received struct {
	iface string
	meta  RecvMeta
	raw   []byte
	pkt   *Packet
	err   error
	done  func() // HandledNotifier.Handled of the Conn, or nil
}

// Router runs VRRP instances on one or more interfaces, one socket each.
type Router struct {
	opts      Options
	log       zerolog.Logger
	instances []*Instance

	started atomic.Bool
	done    chan struct{}
	cmds    chan command
	rx      chan received
	trackCh chan *Instance
	hooks   sync.WaitGroup
}

// DefaultOptions returns Options with the Linux raw socket, netlink and ARP
// implementations, the system clock and interface link watching.
func DefaultOptions(log zerolog.Logger) Options {
	return Options{
		Logger:     log,
		Listen:     ListenRaw,
		Addresser:  NetlinkAddresser{},
		ARP:        NewARPSender(),
		Clock:      SystemClock{},
		WatchLinks: true,
	}
}

// NewRouter checks the instances and returns a Router ready to Run.
func NewRouter(specs []InstanceSpec, opts Options) (*Router, error) {
	if opts.Listen == nil || opts.Addresser == nil || opts.ARP == nil {
		return nil, errors.New("vrrp: new router: Options.Listen, Addresser and ARP are required")
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.Notify == nil {
		opts.Notify = runShell
	}
	r := &Router{
		opts:    opts,
		log:     opts.Logger,
		done:    make(chan struct{}),
		cmds:    make(chan command),
		rx:      make(chan received, 64),
		trackCh: make(chan *Instance, 16),
	}
	names := make(map[string]bool)
	type key struct {
		iface   string
		vrid    uint8
		version int
	}
	vrids := make(map[key]string)
	for _, s := range specs {
		c := s.Config
		if c.Version == 0 {
			c.Version = 2
		}
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("vrrp instance %q: %w", c.Name, err)
		}
		if names[c.Name] {
			return nil, fmt.Errorf("vrrp instance %q: name used twice", c.Name)
		}
		names[c.Name] = true
		k := key{c.Interface, c.VRID, c.Version}
		if other, ok := vrids[k]; ok {
			return nil, fmt.Errorf("vrrp instance %q: virtual_router_id %d on %s already used by %q", c.Name, c.VRID, c.Interface, other)
		}
		vrids[k] = c.Name
		in := &Instance{r: r, cfg: c, trackers: s.Trackers, lastWarn: make(map[string]time.Time)}
		for _, v := range c.VIPs {
			in.vipAddrs = append(in.vipAddrs, v.Prefix.Addr())
		}
		in.dsts = c.UnicastPeers
		if len(in.dsts) == 0 {
			in.dsts = []netip.Addr{MulticastGroup}
		}
		in.snap = Snapshot{Name: c.Name, Interface: c.Interface, VRID: c.VRID, Configured: c.Priority, Priority: c.Priority}
		r.instances = append(r.instances, in)
	}
	return r, nil
}

// Instances returns the instances in configuration order.
func (r *Router) Instances() []*Instance { return slices.Clone(r.instances) }

// Snapshots returns the snapshot of every instance, in configuration order.
func (r *Router) Snapshots() []Snapshot {
	s := make([]Snapshot, len(r.instances))
	for i, in := range r.instances {
		s[i] = in.Snapshot()
	}
	return s
}

// Instance returns the instance called name, or nil.
func (r *Router) Instance(name string) *Instance {
	for _, in := range r.instances {
		if in.cfg.Name == name {
			return in
		}
	}
	return nil
}

// Run removes stale VIPs left by a previous run, starts every instance
// (as backup unless priority 255) and runs until ctx is cancelled; then each
// master sends a priority-0 advert and removes its VIPs before Run returns.
// A Router runs once. Run closes Options.ARP if it is an io.Closer.
func (r *Router) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return errors.New("vrrp: router already ran")
	}
	defer close(r.done)

	conns := make(map[string]Conn)
	var readers sync.WaitGroup
	stopAll := func() {
		for _, c := range conns {
			c.Close()
		}
		readers.Wait()
		for _, in := range r.instances {
			if in.linkTrk != nil {
				in.linkTrk.Close()
			}
		}
	}
	for _, in := range r.instances {
		ifname := in.cfg.Interface
		c, ok := conns[ifname]
		if !ok {
			var err error
			c, err = r.opts.Listen(ifname)
			if err != nil {
				stopAll()
				return fmt.Errorf("vrrp: open socket on %s: %w", ifname, err)
			}
			conns[ifname] = c
		}
		in.conn = c
		in.src = in.cfg.UnicastSrc
		if !in.src.IsValid() {
			src, err := r.opts.Addresser.PrimaryAddr(ifname, in.vipAddrs)
			if err != nil {
				stopAll()
				return fmt.Errorf("vrrp instance %s: find primary address of %s: %w", in.cfg.Name, ifname, err)
			}
			in.src = src
		}
		if r.opts.WatchLinks {
			lt, err := WatchLink(ifname)
			if err != nil {
				stopAll()
				return fmt.Errorf("vrrp instance %s: %w", in.cfg.Name, err)
			}
			in.linkTrk = lt
			in.trackers = append(slices.Clip(in.trackers), Tracked{Tracker: lt, Weight: 0})
		}
	}
	for ifname, c := range conns {
		readers.Add(1)
		go func() {
			defer readers.Done()
			r.read(ifname, c)
		}()
	}

	// Tracker notifications are funnelled into the loop.
	trackStop := make(chan struct{})
	var forwarders sync.WaitGroup
	for _, in := range r.instances {
		for _, t := range in.trackers {
			ch, cancel := t.Tracker.Subscribe()
			forwarders.Add(1)
			go func() {
				defer forwarders.Done()
				defer cancel()
				for {
					select {
					case <-ch:
						select {
						case r.trackCh <- in:
						case <-trackStop:
							return
						}
					case <-trackStop:
						return
					}
				}
			}()
		}
	}

	now := r.opts.Clock.Now()
	for _, in := range r.instances {
		// keepalived leaves its VIPs behind when SIGKILLed; tandem cleans
		// up what a killed previous run left.
		r.removeVIPs(in)
		prio, fault := in.effective()
		in.m = NewMachine(MachineConfig{
			Version: in.cfg.Version, AdvertInt: in.cfg.AdvertInt, Priority: prio,
			Preempt: in.cfg.Preempt, PreemptDelay: in.cfg.PreemptDelay, Local: in.src, Fault: fault,
		})
		in.setSnap(func(s *Snapshot) { s.Priority = prio })
		r.log.Info().Str("instance", in.cfg.Name).Str("interface", in.cfg.Interface).
			Uint8("vrid", in.cfg.VRID).Uint8("priority", prio).Stringer("source", in.src).
			Int("version", in.cfg.Version).Msg("vrrp instance starting")
	}
	for _, in := range r.instances {
		r.handle(in, Event{Kind: EvStartup}, now)
	}

	err := r.loop(ctx)

	now = r.opts.Clock.Now()
	for _, in := range r.instances {
		r.handle(in, Event{Kind: EvShutdown}, now)
	}
	close(trackStop)
	forwarders.Wait()
	stopAll()
	r.hooks.Wait()
	if c, ok := r.opts.ARP.(io.Closer); ok {
		c.Close()
	}
	return err
}

func (r *Router) read(ifname string, c Conn) {
	buf := make([]byte, 1500)
	for {
		n, meta, err := c.ReadFrom(buf)
		if err != nil {
			return // closed at shutdown
		}
		rx := received{iface: ifname, meta: meta, raw: slices.Clone(buf[:n])}
		if h, ok := c.(HandledNotifier); ok {
			rx.done = h.Handled
		}
		if meta.TTL == 255 {
			rx.pkt, rx.err = Parse(rx.raw, meta.Src, meta.Dst)
		}
		select {
		case r.rx <- rx:
		case <-r.done:
			return
		}
	}
}

func (r *Router) loop(ctx context.Context) error {
	timer := r.opts.Clock.NewTimer()
	defer timer.Stop()
	for {
		if next, ok := r.nextDeadline(); ok {
			timer.Reset(next.Sub(r.opts.Clock.Now()))
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C():
			r.fireDue(r.opts.Clock.Now())
		case rx := <-r.rx:
			now := r.opts.Clock.Now()
			if !rx.meta.At.IsZero() && rx.meta.At.Before(now) {
				now = rx.meta.At
			}
			r.receive(rx, now)
			if rx.done != nil {
				rx.done()
			}
		case in := <-r.trackCh:
			prio, fault := in.effective()
			r.handle(in, Event{Kind: EvTrack, Priority: prio, Fault: fault}, r.opts.Clock.Now())
		case c := <-r.cmds:
			if c.in.m.State() != StateMaster {
				c.reply <- fmt.Errorf("failover %s: %w (state %v)", c.in.cfg.Name, ErrNotMaster, c.in.m.State())
				continue
			}
			r.log.Info().Str("instance", c.in.cfg.Name).Msg("vrrp failover requested: stepping down")
			r.handle(c.in, Event{Kind: EvFailover}, r.opts.Clock.Now())
			c.reply <- nil
		}
	}
}

func (r *Router) nextDeadline() (time.Time, bool) {
	var next time.Time
	for _, in := range r.instances {
		for _, d := range in.deadlines {
			if !d.IsZero() && (next.IsZero() || d.Before(next)) {
				next = d
			}
		}
	}
	return next, !next.IsZero()
}

func (r *Router) fireDue(now time.Time) {
	for _, in := range r.instances {
		for slot := range in.deadlines {
			d := in.deadlines[slot]
			if d.IsZero() || d.After(now) {
				continue
			}
			in.deadlines[slot] = time.Time{}
			switch slot {
			case slotGARPDelay:
				r.sendGARPs(in)
			case slotGARPRefresh:
				r.sendGARPs(in)
				in.deadlines[slotGARPRefresh] = now.Add(in.cfg.GARPMasterRefresh)
			default:
				r.handle(in, Event{Kind: EvTimer, Timer: TimerKind(slot)}, now)
			}
		}
	}
}

// effective computes the priority and fault from the trackers.
func (in *Instance) effective() (uint8, bool) {
	prio, fault, adjusted := int(in.cfg.Priority), false, false
	for _, t := range in.trackers {
		if t.Tracker.Healthy() {
			continue
		}
		if t.Weight == 0 {
			fault = true
		} else {
			prio += t.Weight
			adjusted = true
		}
	}
	if adjusted {
		prio = min(max(prio, 1), 254)
	}
	return uint8(prio), fault
}

func (r *Router) receive(rx received, now time.Time) {
	var in *Instance
	vrid := -1
	if len(rx.raw) >= 2 {
		vrid = int(rx.raw[1])
	}
	for _, cand := range r.instances {
		if cand.cfg.Interface == rx.iface && int(cand.cfg.VRID) == vrid {
			in = cand
			if rx.pkt != nil && rx.pkt.Version == cand.cfg.Version {
				break
			}
		}
	}
	if in == nil {
		return // another VRID on the link: not ours
	}
	if rx.meta.Src == in.src {
		return // our own advert looped back
	}
	log := func(kind string) *zerolog.Event {
		ev := r.log.Debug()
		if last, ok := in.lastWarn[kind]; !ok || now.Sub(last) >= 10*time.Second {
			in.lastWarn[kind] = now
			ev = r.log.Warn()
		}
		return ev.Str("instance", in.cfg.Name).Uint8("vrid", in.cfg.VRID).Stringer("from", rx.meta.Src).Stringer("state", in.m.State())
	}
	switch {
	case rx.meta.TTL != 255:
		in.count(func(c *Counters) { c.TTLErrors++ })
		log("ttl").Int("ttl", rx.meta.TTL).Msg("vrrp advert dropped: TTL is not 255")
		return
	case rx.err != nil:
		in.count(func(c *Counters) { c.PacketErrors++ })
		log("packet").Err(rx.err).Msg("vrrp advert dropped")
		return
	}
	p := rx.pkt
	if len(in.cfg.UnicastPeers) > 0 && !slices.Contains(in.cfg.UnicastPeers, rx.meta.Src) {
		in.count(func(c *Counters) { c.PacketErrors++ })
		log("peer").Msg("vrrp advert dropped: sender is not a unicast_peer")
		return
	}
	if p.Version != in.cfg.Version {
		in.count(func(c *Counters) { c.VersionMismatch++ })
		log("version").Int("version", p.Version).Int("want", in.cfg.Version).
			Msg("vrrp advert dropped: other VRRP version for this VRID: possible split brain")
		return
	}
	if p.Version == 2 {
		wantType := AuthNone
		if in.cfg.AuthPass != "" {
			wantType = AuthSimple
		}
		if p.AuthType != wantType || (wantType == AuthSimple && p.AuthData != authData(in.cfg.AuthPass)) {
			in.count(func(c *Counters) { c.AuthMismatch++ })
			log("auth").Uint8("auth_type", p.AuthType).
				Msg("vrrp advert dropped: authentication differs: possible split brain (both nodes may hold the VIP)")
			return
		}
		if p.AdvertInt != in.cfg.AdvertInt {
			in.count(func(c *Counters) { c.IntervalMismatch++ })
			log("interval").Dur("advert_int", p.AdvertInt).Dur("want", in.cfg.AdvertInt).
				Msg("vrrp advert dropped: advert interval differs: possible split brain (both nodes may hold the VIP)")
			return
		}
	} else if p.AdvertInt != in.cfg.AdvertInt {
		// v3 backups adopt the master's interval; worth knowing all the same.
		in.count(func(c *Counters) { c.IntervalMismatch++ })
		log("interval").Dur("advert_int", p.AdvertInt).Dur("want", in.cfg.AdvertInt).Msg("vrrp advert interval differs from ours")
	}
	if !sameAddrs(p.Addrs, in.vipAddrs) {
		in.count(func(c *Counters) { c.VIPMismatch++ })
		if p.Priority != 255 { // RFC 3768 §7.1: only the owner's advert is kept
			log("vips").Str("vips", fmt.Sprint(p.Addrs)).
				Msg("vrrp advert dropped: virtual addresses differ: possible split brain (both nodes may hold the VIP)")
			return
		}
	}
	in.count(func(c *Counters) {
		c.AdvertsReceived++
		if p.Priority == 0 {
			c.PriorityZeroReceived++
		}
	})
	if in.m.State() == StateMaster && p.Priority != 0 {
		in.count(func(c *Counters) { c.SecondMaster++ })
		if p.Priority < in.m.Priority() || (p.Priority == in.m.Priority() && rx.meta.Src.Less(in.src)) {
			log("second-master").Uint8("priority", p.Priority).
				Msg("vrrp: another master advertises this VRID with a lower priority; reasserting")
		}
	}
	r.handle(in, Event{Kind: EvAdvert, From: rx.meta.Src, Priority: p.Priority, AdvertInt: p.AdvertInt}, now)
}

func sameAddrs(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	slices.SortFunc(sa, func(x, y netip.Addr) int { return x.Compare(y) })
	slices.SortFunc(sb, func(x, y netip.Addr) int { return x.Compare(y) })
	return slices.Equal(sa, sb)
}

// handle feeds ev to the machine, carries out the actions and moves the
// rest of the sync group along.
func (r *Router) handle(in *Instance, ev Event, now time.Time) {
	acts := in.m.Handle(ev)
	var moved State
	for _, a := range acts {
		r.do(in, a, now)
		if a.Kind == ActTransition {
			moved = a.To
		}
	}
	in.setSnap(func(s *Snapshot) {
		s.State = in.m.State()
		s.Priority = in.m.Priority()
		s.Master = in.m.Master()
		if s.State == StateMaster {
			s.Master = in.src
		}
	})
	if ev.Kind == EvSync || in.cfg.SyncGroup == "" || moved == StateInit {
		return
	}
	switch moved {
	case StateMaster, StateBackup, StateFault:
		for _, o := range r.instances {
			if o != in && o.cfg.SyncGroup == in.cfg.SyncGroup && o.m.State() != moved {
				r.handle(o, Event{Kind: EvSync, Sync: moved}, now)
			}
		}
	}
}

func (r *Router) do(in *Instance, a Action, now time.Time) {
	switch a.Kind {
	case ActTransition:
		ev := r.log.Info()
		if a.To == StateFault {
			ev = r.log.Warn()
		}
		ev.Str("instance", in.cfg.Name).Uint8("vrid", in.cfg.VRID).Stringer("from", a.From).
			Stringer("to", a.To).Uint8("priority", in.m.Priority()).Msg("vrrp transition")
		in.setSnap(func(s *Snapshot) {
			s.LastTransition = now
			if a.To == StateMaster {
				s.Counters.BecameMaster++
			}
		})
		r.notify(in, a.To)
	case ActSendAdvert:
		r.send(in, a.Priority)
	case ActAddVIPs:
		for _, v := range in.cfg.VIPs {
			if err := r.opts.Addresser.AddVIP(in.dev(v), v); err != nil {
				r.log.Error().Err(err).Str("instance", in.cfg.Name).Msg("vrrp: add virtual address")
			}
		}
	case ActRemoveVIPs:
		in.deadlines[slotGARPDelay] = time.Time{}
		in.deadlines[slotGARPRefresh] = time.Time{}
		if r.opts.Releasing != nil { // only a master holds them
			r.opts.Releasing(in.vipAddrs)
		}
		r.removeVIPs(in)
	case ActGARP:
		r.sendGARPs(in)
		if in.cfg.GARPMasterDelay > 0 {
			in.deadlines[slotGARPDelay] = now.Add(in.cfg.GARPMasterDelay)
		}
		if in.cfg.GARPMasterRefresh > 0 {
			in.deadlines[slotGARPRefresh] = now.Add(in.cfg.GARPMasterRefresh)
		}
	case ActArmTimer:
		in.deadlines[a.Timer] = now.Add(a.After)
	case ActStopTimer:
		in.deadlines[a.Timer] = time.Time{}
	}
}

func (in *Instance) dev(v VIP) string {
	if v.Dev != "" {
		return v.Dev
	}
	return in.cfg.Interface
}

func (r *Router) removeVIPs(in *Instance) {
	for _, v := range in.cfg.VIPs {
		if err := r.opts.Addresser.DelVIP(in.dev(v), v); err != nil {
			r.log.Error().Err(err).Str("instance", in.cfg.Name).Msg("vrrp: remove virtual address")
		}
	}
}

func (r *Router) send(in *Instance, prio uint8) {
	p := Packet{Version: in.cfg.Version, VRID: in.cfg.VRID, Priority: prio, AdvertInt: in.cfg.AdvertInt, Addrs: in.vipAddrs}
	if in.cfg.AuthPass != "" {
		p.AuthType, p.AuthData = AuthSimple, authData(in.cfg.AuthPass)
	}
	for _, dst := range in.dsts {
		b, err := p.Marshal(in.src, dst)
		if err == nil {
			err = in.conn.WriteTo(b, in.src, dst)
		}
		if err != nil {
			r.log.Error().Err(err).Str("instance", in.cfg.Name).Stringer("to", dst).Msg("vrrp: send advert")
			continue
		}
		in.count(func(c *Counters) {
			c.AdvertsSent++
			if prio == 0 {
				c.PriorityZeroSent++
			}
		})
	}
}

func (r *Router) sendGARPs(in *Instance) {
	for _, v := range in.cfg.VIPs {
		for range in.cfg.GARPMasterRepeat {
			if err := r.opts.ARP.GratuitousARP(in.dev(v), v.Prefix.Addr()); err != nil {
				r.log.Error().Err(err).Str("instance", in.cfg.Name).Stringer("vip", v.Prefix.Addr()).Msg("vrrp: send gratuitous ARP")
				break
			}
		}
	}
}

func (r *Router) notify(in *Instance, to State) {
	specific, stateName := "", to.String()
	switch to {
	case StateMaster:
		specific = in.cfg.NotifyMaster
	case StateBackup:
		specific = in.cfg.NotifyBackup
	case StateFault:
		specific = in.cfg.NotifyFault
	case StateInit:
		specific, stateName = in.cfg.NotifyStop, "STOP" // keepalived's word
	}
	timeout := in.cfg.NotifyTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	run := func(cmd string, args []string) {
		if cmd == "" {
			return
		}
		r.hooks.Add(1)
		go func() {
			defer r.hooks.Done()
			// Not the Run context: notify_stop must run during shutdown.
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if err := r.opts.Notify(ctx, cmd, args); err != nil {
				r.log.Warn().Err(err).Str("instance", in.cfg.Name).Str("command", cmd).Msg("vrrp notify command failed")
			}
		}()
	}
	run(specific, nil)
	run(in.cfg.Notify, []string{"INSTANCE", in.cfg.Name, stateName, strconv.Itoa(int(in.m.Priority()))})
}

func runShell(ctx context.Context, cmd string, args []string) error {
	c := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", cmd + ` "$@"`, "sh"}, args...)...)
	c.WaitDelay = time.Second
	out, err := c.CombinedOutput()
	if err != nil {
		return fmt.Errorf("run %q: %w (output %q)", cmd, err, truncate(out, 200))
	}
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

func (in *Instance) count(f func(*Counters)) {
	in.mu.Lock()
	f(&in.snap.Counters)
	in.mu.Unlock()
}

func (in *Instance) setSnap(f func(*Snapshot)) {
	in.mu.Lock()
	f(&in.snap)
	in.mu.Unlock()
}
