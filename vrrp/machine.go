package vrrp

import (
	"fmt"
	"net/netip"
	"time"
)

// EventKind says what happened to an instance.
type EventKind uint8

// Events the state machine handles.
const (
	EvStartup  EventKind = iota + 1 // the instance starts (from Init)
	EvShutdown                      // the instance stops (to Init)
	EvAdvert                        // a valid advert for this VRID arrived
	EvTimer                         // a timer armed by ActArmTimer fired
	EvTrack                         // effective priority or fault changed
	EvFailover                      // operator asks this master to step down
	EvSync                          // another member of the sync group moved to Sync
)

func (k EventKind) String() string {
	switch k {
	case EvStartup:
		return "startup"
	case EvShutdown:
		return "shutdown"
	case EvAdvert:
		return "advert"
	case EvTimer:
		return "timer"
	case EvTrack:
		return "track"
	case EvFailover:
		return "failover"
	case EvSync:
		return "sync"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// TimerKind names the timers of an instance.
type TimerKind uint8

// Timers of RFC 3768 §6.2 plus the preempt_delay hold-off.
const (
	TimerAdvert     TimerKind = iota + 1 // Adver_Timer (Master)
	TimerMasterDown                      // Master_Down_Timer (Backup)
	TimerPreempt                         // end of preempt_delay after startup
)

func (k TimerKind) String() string {
	switch k {
	case TimerAdvert:
		return "advert"
	case TimerMasterDown:
		return "master-down"
	case TimerPreempt:
		return "preempt-delay"
	}
	return fmt.Sprintf("TimerKind(%d)", uint8(k))
}

// Event is the input of Machine.Handle.
type Event struct {
	Kind EventKind
	// EvTimer: which timer fired.
	Timer TimerKind
	// EvAdvert: sender's IP address, advertised priority and interval.
	From      netip.Addr
	Priority  uint8 // EvAdvert: advertised; EvTrack: new effective priority
	AdvertInt time.Duration
	// EvTrack: a weight-0 track (or the interface) failed.
	Fault bool
	// EvSync: the state the rest of the sync group moved to.
	Sync State
}

// ActionKind says what the driver must do.
type ActionKind uint8

// Actions the state machine returns, to be carried out in order.
const (
	ActTransition ActionKind = iota + 1 // state changed From -> To (log, notify, counters)
	ActSendAdvert                       // send an advert with Priority
	ActAddVIPs                          // add the virtual addresses
	ActRemoveVIPs                       // remove the virtual addresses
	ActGARP                             // start the gratuitous ARP schedule
	ActArmTimer                         // (re)arm Timer to fire After from now
	ActStopTimer                        // cancel Timer
)

func (k ActionKind) String() string {
	switch k {
	case ActTransition:
		return "transition"
	case ActSendAdvert:
		return "send-advert"
	case ActAddVIPs:
		return "add-vips"
	case ActRemoveVIPs:
		return "remove-vips"
	case ActGARP:
		return "garp"
	case ActArmTimer:
		return "arm-timer"
	case ActStopTimer:
		return "stop-timer"
	}
	return fmt.Sprintf("ActionKind(%d)", uint8(k))
}

// Action is an output of Machine.Handle.
type Action struct {
	Kind     ActionKind
	Timer    TimerKind
	After    time.Duration
	Priority uint8
	From, To State
}

func (a Action) String() string {
	switch a.Kind {
	case ActTransition:
		return fmt.Sprintf("%v %v->%v", a.Kind, a.From, a.To)
	case ActSendAdvert:
		return fmt.Sprintf("%v prio=%d", a.Kind, a.Priority)
	case ActArmTimer:
		return fmt.Sprintf("%v %v %v", a.Kind, a.Timer, a.After)
	case ActStopTimer:
		return fmt.Sprintf("%v %v", a.Kind, a.Timer)
	}
	return a.Kind.String()
}

// MachineConfig is what the state machine needs from Config.
type MachineConfig struct {
	Version      int
	AdvertInt    time.Duration
	Priority     uint8 // effective priority at startup
	Preempt      bool
	PreemptDelay time.Duration
	// Local is this router's primary address, the tie-breaker between equal
	// priorities (RFC 3768 §6.4.3: the higher address wins).
	Local netip.Addr
	// Fault is true when the instance starts with a failed weight-0 track.
	Fault bool
}

// Machine is the RFC 3768 / RFC 5798 state machine of one instance. It does
// no I/O and reads no clock: Handle turns an event into actions. It is not
// safe for concurrent use; the driver owns it.
type Machine struct {
	cfg          MachineConfig
	state        State
	priority     uint8
	fault        bool
	masterAdvInt time.Duration // v3: learned from the master's adverts
	preemptReady bool
	// yielded is set by a graceful failover: this router stays backup (no
	// preemption) until the master it yielded to goes away.
	yielded bool
	master  netip.Addr
}

// NewMachine returns a machine in state Init.
func NewMachine(cfg MachineConfig) *Machine {
	if cfg.Version == 0 {
		cfg.Version = 2
	}
	return &Machine{cfg: cfg, priority: cfg.Priority, fault: cfg.Fault, masterAdvInt: cfg.AdvertInt}
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Priority returns the effective priority.
func (m *Machine) Priority() uint8 { return m.priority }

// Master returns the address of the current master as last seen in an
// advert (invalid when unknown or when this router is master).
func (m *Machine) Master() netip.Addr { return m.master }

// SkewTime is Skew_Time for this router's effective priority: (256-prio)/256 s
// in v2, (256-prio)*Master_Adver_Interval/256 in v3.
func (m *Machine) SkewTime() time.Duration {
	base := time.Second
	if m.cfg.Version == 3 {
		base = m.masterAdvInt
	}
	return time.Duration(256-int(m.priority)) * base / 256
}

// MasterDownInterval is 3 × Master_Adver_Interval + Skew_Time.
func (m *Machine) MasterDownInterval() time.Duration {
	adv := m.cfg.AdvertInt
	if m.cfg.Version == 3 {
		adv = m.masterAdvInt
	}
	return 3*adv + m.SkewTime()
}

// Handle applies ev and returns the actions to carry out, in order.
func (m *Machine) Handle(ev Event) []Action {
	switch ev.Kind {
	case EvStartup:
		return m.startup()
	case EvShutdown:
		return m.shutdown()
	case EvTrack:
		return m.track(ev.Priority, ev.Fault)
	}
	switch m.state {
	case StateBackup:
		return m.onBackup(ev)
	case StateMaster:
		return m.onMaster(ev)
	case StateFault:
		if ev.Kind == EvSync && ev.Sync == StateBackup && !m.fault {
			return m.becomeBackup(nil)
		}
	}
	return nil // Init and Fault ignore adverts, timers, failover and sync
}

func (m *Machine) startup() []Action {
	if m.state != StateInit {
		return nil
	}
	m.preemptReady = m.cfg.PreemptDelay == 0
	m.yielded = false
	if m.fault {
		return []Action{m.to(StateFault)}
	}
	if m.priority == 255 {
		return m.becomeMaster()
	}
	acts := m.becomeBackup(nil)
	if !m.preemptReady {
		acts = append(acts, Action{Kind: ActArmTimer, Timer: TimerPreempt, After: m.cfg.PreemptDelay})
	}
	return acts
}

func (m *Machine) shutdown() []Action {
	switch m.state {
	case StateMaster:
		return []Action{
			{Kind: ActStopTimer, Timer: TimerAdvert},
			{Kind: ActSendAdvert, Priority: 0},
			{Kind: ActRemoveVIPs},
			m.to(StateInit),
		}
	case StateBackup:
		return []Action{
			{Kind: ActStopTimer, Timer: TimerMasterDown},
			{Kind: ActStopTimer, Timer: TimerPreempt},
			m.to(StateInit),
		}
	case StateFault:
		return []Action{{Kind: ActStopTimer, Timer: TimerPreempt}, m.to(StateInit)}
	}
	return nil
}

func (m *Machine) track(prio uint8, fault bool) []Action {
	changed := prio != m.priority
	m.priority = prio
	m.fault = fault
	switch m.state {
	case StateMaster:
		if fault {
			// Acted on at once: the peer takes over after its skew time.
			return []Action{
				{Kind: ActStopTimer, Timer: TimerAdvert},
				{Kind: ActSendAdvert, Priority: 0},
				{Kind: ActRemoveVIPs},
				m.to(StateFault),
			}
		}
		if changed {
			// Tell the peer now; if it now outranks us it preempts within its skew.
			return []Action{
				{Kind: ActSendAdvert, Priority: m.priority},
				{Kind: ActArmTimer, Timer: TimerAdvert, After: m.cfg.AdvertInt},
			}
		}
	case StateBackup:
		if fault {
			return []Action{{Kind: ActStopTimer, Timer: TimerMasterDown}, m.to(StateFault)}
		}
	case StateFault:
		if !fault {
			if m.priority == 255 {
				return m.becomeMaster()
			}
			return m.becomeBackup(nil)
		}
	}
	return nil
}

func (m *Machine) onBackup(ev Event) []Action {
	switch ev.Kind {
	case EvTimer:
		switch ev.Timer {
		case TimerMasterDown:
			return m.becomeMaster()
		case TimerPreempt:
			m.preemptReady = true
		}
	case EvAdvert:
		if ev.Priority == 0 {
			// The master gives up: take over after our skew, so the
			// highest-priority backup wins the race.
			m.master = netip.Addr{}
			m.yielded = false
			return []Action{{Kind: ActArmTimer, Timer: TimerMasterDown, After: m.SkewTime()}}
		}
		m.master = ev.From
		if m.cfg.Version == 3 && ev.AdvertInt > 0 {
			m.masterAdvInt = ev.AdvertInt
		}
		if !m.cfg.Preempt || !m.preemptReady || m.yielded || ev.Priority >= m.priority {
			return []Action{{Kind: ActArmTimer, Timer: TimerMasterDown, After: m.MasterDownInterval()}}
		}
		// A lower-priority master and we may preempt. RFC 3768 lets the
		// Master_Down_Timer run out; taking over after Skew_Time instead
		// moves the VIP within one advert of a tracked failure on the
		// master while still letting the best backup win.
		return []Action{{Kind: ActArmTimer, Timer: TimerMasterDown, After: m.SkewTime()}}
	case EvSync:
		switch ev.Sync {
		case StateMaster:
			return m.becomeMaster()
		case StateFault:
			return []Action{{Kind: ActStopTimer, Timer: TimerMasterDown}, m.to(StateFault)}
		}
	}
	return nil
}

func (m *Machine) onMaster(ev Event) []Action {
	switch ev.Kind {
	case EvTimer:
		if ev.Timer == TimerAdvert {
			return []Action{
				{Kind: ActSendAdvert, Priority: m.priority},
				{Kind: ActArmTimer, Timer: TimerAdvert, After: m.cfg.AdvertInt},
			}
		}
	case EvAdvert:
		if ev.Priority == 0 || ev.Priority < m.priority ||
			(ev.Priority == m.priority && ev.From.Less(m.cfg.Local)) {
			// RFC: discard (or answer a priority 0 at once). Answering a
			// lower-priority master at once, as keepalived does, makes it
			// step down now rather than after its own timer.
			return []Action{
				{Kind: ActSendAdvert, Priority: m.priority},
				{Kind: ActArmTimer, Timer: TimerAdvert, After: m.cfg.AdvertInt},
			}
		}
		if m.cfg.Version == 3 && ev.AdvertInt > 0 {
			m.masterAdvInt = ev.AdvertInt
		}
		m.master = ev.From
		return m.becomeBackup([]Action{
			{Kind: ActStopTimer, Timer: TimerAdvert},
			{Kind: ActRemoveVIPs},
		})
	case EvFailover:
		m.yielded = true
		return m.becomeBackup([]Action{
			{Kind: ActStopTimer, Timer: TimerAdvert},
			{Kind: ActSendAdvert, Priority: 0},
			{Kind: ActRemoveVIPs},
		})
	case EvSync:
		switch ev.Sync {
		case StateBackup:
			return m.becomeBackup([]Action{
				{Kind: ActStopTimer, Timer: TimerAdvert},
				{Kind: ActSendAdvert, Priority: 0},
				{Kind: ActRemoveVIPs},
			})
		case StateFault:
			return []Action{
				{Kind: ActStopTimer, Timer: TimerAdvert},
				{Kind: ActSendAdvert, Priority: 0},
				{Kind: ActRemoveVIPs},
				m.to(StateFault),
			}
		}
	}
	return nil
}

func (m *Machine) becomeMaster() []Action {
	m.master = netip.Addr{}
	m.yielded = false
	m.masterAdvInt = m.cfg.AdvertInt
	return []Action{
		{Kind: ActStopTimer, Timer: TimerMasterDown},
		m.to(StateMaster),
		{Kind: ActSendAdvert, Priority: m.priority},
		{Kind: ActAddVIPs},
		{Kind: ActGARP},
		{Kind: ActArmTimer, Timer: TimerAdvert, After: m.cfg.AdvertInt},
	}
}

func (m *Machine) becomeBackup(pre []Action) []Action {
	return append(pre, m.to(StateBackup),
		Action{Kind: ActArmTimer, Timer: TimerMasterDown, After: m.MasterDownInterval()})
}

func (m *Machine) to(s State) Action {
	a := Action{Kind: ActTransition, From: m.state, To: s}
	m.state = s
	return a
}
