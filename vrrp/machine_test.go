package vrrp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Short names keep the tables readable.
func arm(k TimerKind, d time.Duration) Action { return Action{Kind: ActArmTimer, Timer: k, After: d} }
func stop(k TimerKind) Action                 { return Action{Kind: ActStopTimer, Timer: k} }
func send(p uint8) Action                     { return Action{Kind: ActSendAdvert, Priority: p} }
func trans(f, t State) Action                 { return Action{Kind: ActTransition, From: f, To: t} }

var (
	addVIPs = Action{Kind: ActAddVIPs}
	delVIPs = Action{Kind: ActRemoveVIPs}
	garp    = Action{Kind: ActGARP}
)

func advert(from netip.Addr, prio uint8) Event {
	return Event{Kind: EvAdvert, From: from, Priority: prio, AdvertInt: time.Second}
}
func timer(k TimerKind) Event { return Event{Kind: EvTimer, Timer: k} }
func trackEv(p uint8, fault bool) Event {
	return Event{Kind: EvTrack, Priority: p, Fault: fault}
}

var (
	startup  = Event{Kind: EvStartup}
	shutdown = Event{Kind: EvShutdown}
	failover = Event{Kind: EvFailover}
)

// Master_Down_Interval and Skew_Time at priority 100 and 101, v2, 1 s.
const (
	skew100 = 156 * time.Second / 256
	mdi100  = 3*time.Second + skew100
	skew101 = 155 * time.Second / 256
	mdi101  = 3*time.Second + skew101
)

func becameMaster(from State, prio uint8) []Action {
	return []Action{stop(TimerMasterDown), trans(from, StateMaster), send(prio), addVIPs, garp, arm(TimerAdvert, time.Second)}
}

func TestMachine(t *testing.T) {
	t.Parallel()
	base := MachineConfig{Version: 2, AdvertInt: time.Second, Priority: 100, Preempt: true, Local: lb1}
	with := func(f func(*MachineConfig)) MachineConfig { c := base; f(&c); return c }
	// Events that bring a machine into a state before the event under test.
	toBackup := []Event{startup}
	toMaster := []Event{startup, timer(TimerMasterDown)}
	toFault := []Event{startup, trackEv(100, true)}

	tests := []struct {
		name   string
		cfg    MachineConfig
		before []Event
		ev     Event
		want   []Action
		state  State
	}{
		// Initialize (RFC 3768 §6.4.1).
		{"init startup goes backup", base, nil, startup,
			[]Action{trans(StateInit, StateBackup), arm(TimerMasterDown, mdi100)}, StateBackup},
		{"init startup owner goes master", with(func(c *MachineConfig) { c.Priority = 255 }), nil, startup,
			becameMaster(StateInit, 255), StateMaster},
		{"init startup with failed track goes fault", with(func(c *MachineConfig) { c.Fault = true }), nil, startup,
			[]Action{trans(StateInit, StateFault)}, StateFault},
		{"init startup with preempt delay", with(func(c *MachineConfig) { c.PreemptDelay = 30 * time.Second }), nil, startup,
			[]Action{trans(StateInit, StateBackup), arm(TimerMasterDown, mdi100), arm(TimerPreempt, 30*time.Second)}, StateBackup},
		{"init ignores adverts", base, nil, advert(lb2, 100), nil, StateInit},

		// Backup (§6.4.2).
		{"backup shutdown", base, toBackup, shutdown,
			[]Action{stop(TimerMasterDown), stop(TimerPreempt), trans(StateBackup, StateInit)}, StateInit},
		{"backup master down fires", base, toBackup, timer(TimerMasterDown), becameMaster(StateBackup, 100), StateMaster},
		{"backup priority 0 arms skew", base, toBackup, advert(lb2, 0),
			[]Action{arm(TimerMasterDown, skew100)}, StateBackup},
		{"backup higher priority resets", base, toBackup, advert(lb2, 200),
			[]Action{arm(TimerMasterDown, mdi100)}, StateBackup},
		{"backup equal priority resets", base, toBackup, advert(lb2, 100),
			[]Action{arm(TimerMasterDown, mdi100)}, StateBackup},
		{"backup lower priority preempts after skew", base, toBackup, advert(lb2, 50),
			[]Action{arm(TimerMasterDown, skew100)}, StateBackup},
		{"backup lower priority nopreempt resets", with(func(c *MachineConfig) { c.Preempt = false }), toBackup, advert(lb2, 50),
			[]Action{arm(TimerMasterDown, mdi100)}, StateBackup},
		{"backup lower priority within preempt delay resets", with(func(c *MachineConfig) { c.PreemptDelay = time.Minute }), toBackup, advert(lb2, 50),
			[]Action{arm(TimerMasterDown, mdi100)}, StateBackup},
		{"backup lower priority after preempt delay", with(func(c *MachineConfig) { c.PreemptDelay = time.Minute }),
			[]Event{startup, timer(TimerPreempt)}, advert(lb2, 50),
			[]Action{arm(TimerMasterDown, skew100)}, StateBackup},
		{"backup ignores advert timer", base, toBackup, timer(TimerAdvert), nil, StateBackup},
		{"backup failover is a no-op", base, toBackup, failover, nil, StateBackup},
		{"backup track weight lowers priority only", base, toBackup, trackEv(80, false), nil, StateBackup},
		{"backup track fault", base, toBackup, trackEv(100, true),
			[]Action{stop(TimerMasterDown), trans(StateBackup, StateFault)}, StateFault},
		{"backup sync master", base, toBackup, Event{Kind: EvSync, Sync: StateMaster}, becameMaster(StateBackup, 100), StateMaster},

		// Master (§6.4.3).
		{"master shutdown sends priority 0", base, toMaster, shutdown,
			[]Action{stop(TimerAdvert), send(0), delVIPs, trans(StateMaster, StateInit)}, StateInit},
		{"master advert timer", base, toMaster, timer(TimerAdvert),
			[]Action{send(100), arm(TimerAdvert, time.Second)}, StateMaster},
		{"master ignores master down timer", base, toMaster, timer(TimerMasterDown), nil, StateMaster},
		{"master priority 0 answers at once", base, toMaster, advert(lb2, 0),
			[]Action{send(100), arm(TimerAdvert, time.Second)}, StateMaster},
		{"master higher priority steps down", base, toMaster, advert(lb2, 101),
			[]Action{stop(TimerAdvert), delVIPs, trans(StateMaster, StateBackup), arm(TimerMasterDown, mdi100)}, StateBackup},
		{"master equal priority higher address steps down", base, toMaster, advert(lb2, 100),
			[]Action{stop(TimerAdvert), delVIPs, trans(StateMaster, StateBackup), arm(TimerMasterDown, mdi100)}, StateBackup},
		{"master equal priority lower address stays", with(func(c *MachineConfig) { c.Local = lb2 }), toMaster, advert(lb1, 100),
			[]Action{send(100), arm(TimerAdvert, time.Second)}, StateMaster},
		{"master lower priority reasserts", base, toMaster, advert(lb2, 50),
			[]Action{send(100), arm(TimerAdvert, time.Second)}, StateMaster},
		{"master failover", base, toMaster, failover,
			[]Action{stop(TimerAdvert), send(0), delVIPs, trans(StateMaster, StateBackup), arm(TimerMasterDown, mdi100)}, StateBackup},
		{"master track fault leaves at once", base, toMaster, trackEv(100, true),
			[]Action{stop(TimerAdvert), send(0), delVIPs, trans(StateMaster, StateFault)}, StateFault},
		{"master track weight advertises at once", base, toMaster, trackEv(80, false),
			[]Action{send(80), arm(TimerAdvert, time.Second)}, StateMaster},
		{"master track unchanged", base, toMaster, trackEv(100, false), nil, StateMaster},
		{"master sync backup", base, toMaster, Event{Kind: EvSync, Sync: StateBackup},
			[]Action{stop(TimerAdvert), send(0), delVIPs, trans(StateMaster, StateBackup), arm(TimerMasterDown, mdi100)}, StateBackup},
		{"master sync fault", base, toMaster, Event{Kind: EvSync, Sync: StateFault},
			[]Action{stop(TimerAdvert), send(0), delVIPs, trans(StateMaster, StateFault)}, StateFault},

		// Fault.
		{"fault ignores adverts", base, toFault, advert(lb2, 50), nil, StateFault},
		{"fault ignores timers", base, toFault, timer(TimerMasterDown), nil, StateFault},
		{"fault recovers to backup", base, toFault, trackEv(100, false),
			[]Action{trans(StateFault, StateBackup), arm(TimerMasterDown, mdi100)}, StateBackup},
		{"fault owner recovers to master", with(func(c *MachineConfig) { c.Priority = 255; c.Fault = true }), []Event{startup}, trackEv(255, false),
			becameMaster(StateFault, 255), StateMaster},
		{"fault shutdown", base, toFault, shutdown,
			[]Action{stop(TimerPreempt), trans(StateFault, StateInit)}, StateInit},
		{"fault sync backup while still failed", base, toFault, Event{Kind: EvSync, Sync: StateBackup}, nil, StateFault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := NewMachine(tt.cfg)
			for _, ev := range tt.before {
				m.Handle(ev)
			}
			got := m.Handle(tt.ev)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Handle(%v) actions (-want +got):\n%s", tt.ev.Kind, diff)
			}
			if m.State() != tt.state {
				t.Errorf("state = %v, want %v", m.State(), tt.state)
			}
		})
	}
}

func TestMachineSequences(t *testing.T) {
	t.Parallel()
	t.Run("failover does not preempt back until the new master goes", func(t *testing.T) {
		t.Parallel()
		m := NewMachine(MachineConfig{Version: 2, AdvertInt: time.Second, Priority: 101, Preempt: true, Local: lb1})
		m.Handle(startup)
		m.Handle(timer(TimerMasterDown))
		m.Handle(failover)
		if got := m.Handle(advert(lb2, 100)); cmp.Diff([]Action{arm(TimerMasterDown, mdi101)}, got) != "" {
			t.Errorf("after failover, lower-priority advert = %v, want plain reset", got)
		}
		// The peer gives up: the yield ends and normal preemption resumes.
		m.Handle(advert(lb2, 0))
		if got := m.Handle(advert(lb2, 100)); cmp.Diff([]Action{arm(TimerMasterDown, skew101)}, got) != "" {
			t.Errorf("after peer's priority 0, lower-priority advert = %v, want preempt after skew", got)
		}
	})
	t.Run("v3 backup learns the master's interval", func(t *testing.T) {
		t.Parallel()
		m := NewMachine(MachineConfig{Version: 3, AdvertInt: time.Second, Priority: 100, Preempt: true, Local: lb1})
		m.Handle(startup)
		got := m.Handle(Event{Kind: EvAdvert, From: lb2, Priority: 200, AdvertInt: 100 * time.Millisecond})
		want := 300*time.Millisecond + 156*100*time.Millisecond/256
		if diff := cmp.Diff([]Action{arm(TimerMasterDown, want)}, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("restart after shutdown", func(t *testing.T) {
		t.Parallel()
		m := NewMachine(MachineConfig{Version: 2, AdvertInt: time.Second, Priority: 100, Preempt: true, Local: lb1})
		m.Handle(startup)
		m.Handle(shutdown)
		if got := m.Handle(startup); len(got) == 0 || m.State() != StateBackup {
			t.Errorf("second startup = %v, state %v", got, m.State())
		}
	})
}

func TestTimers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		version  int
		adv      time.Duration
		prio     uint8
		skew     time.Duration
		downIntv time.Duration
	}{
		{2, time.Second, 100, 609375 * time.Microsecond, 3609375 * time.Microsecond},
		{2, time.Second, 254, 7812500 * time.Nanosecond, 3007812500 * time.Nanosecond},
		{2, 3 * time.Second, 1, 996093750 * time.Nanosecond, 9996093750 * time.Nanosecond},
		{3, 100 * time.Millisecond, 100, 60937500 * time.Nanosecond, 360937500 * time.Nanosecond},
	}
	for _, tt := range tests {
		m := NewMachine(MachineConfig{Version: tt.version, AdvertInt: tt.adv, Priority: tt.prio})
		if got := m.SkewTime(); got != tt.skew {
			t.Errorf("v%d %v prio %d: SkewTime = %v, want %v", tt.version, tt.adv, tt.prio, got, tt.skew)
		}
		if got := m.MasterDownInterval(); got != tt.downIntv {
			t.Errorf("v%d %v prio %d: MasterDownInterval = %v, want %v", tt.version, tt.adv, tt.prio, got, tt.downIntv)
		}
	}
}
