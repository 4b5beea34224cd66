package admin

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/stats"
	"github.com/tandemlb/tandem/vrrp"
)

// Source is what the commands read and act on; *stats.Source implements it.
type Source interface {
	View() *stats.View
	SetServerAdmin(backend, server string, a health.AdminState, who string) error
	SetServerWeight(backend, server string, w int, who string) error
	// The Local variants change this node only (`--local`): nothing is
	// replicated to the peer node.
	SetServerAdminLocal(backend, server string, a health.AdminState, who string) error
	SetServerWeightLocal(backend, server string, w int, who string) error
	SetServerChecks(backend, server string, enabled bool, who string) error
	ServerWeight(backend, server string) (cur, initial int, err error)
	Failover(instance, who string) error
	ShowTable(name string) ([]byte, error)
	ClearTable(name, who string) error
}

// Severity of an answer, syslog numbering as HAProxy's
// `set severity-output number` prints it.
const (
	sevErr  = 3
	sevInfo = 6
)

// answer is the outcome of one command.
type answer struct {
	text string // without the final empty line
	sev  int    // 0: plain output; else a message with this severity
}

func output(s string) answer { return answer{text: s} }
func fail(format string, a ...any) answer {
	return answer{text: fmt.Sprintf(format, a...), sev: sevErr}
}

// session is one connection's modes.
type session struct {
	prompt   bool
	severity string // "none", "number" or "string"
	quit     bool
	who      string // for logs: "admin socket (uid 0, pid 4242)"
}

type entry struct {
	usage, help string
}

var helpText = []entry{
	{"help", "list the commands"},
	{"prompt", "toggle interactive mode with a prompt"},
	{"quit", "disconnect"},
	{"set severity-output [none|number|string]", "prefix messages with their severity"},
	{"show info", "report information about the running process"},
	{"show stat [json]", "report counters for each proxy and server (HAProxy CSV)"},
	{"show servers state [<backend>]", "dump volatile server information"},
	{"show vrrp", "report the state of each VRRP instance on this node"},
	{"enable server <bk>/<srv>", "take a server out of maintenance (set state ready)"},
	{"disable server <bk>/<srv>", "put a server in maintenance (set state maint)"},
	{"enable health <bk>/<srv>", "resume a server's health checks"},
	{"disable health <bk>/<srv>", "stop a server's health checks (its state stays as it is)"},
	{"set server <bk>/<srv> state ready|drain|maint", "change a server's admin state"},
	{"set server <bk>/<srv> weight <0-256>", "change a server's weight"},
	{"get weight <bk>/<srv>", "report a server's current and initial weight"},
	{"vrrp failover <instance>", "make this node's master step down (priority-0 advert)"},
	{"show table [NAME]", "report the stick tables, or the entries of one"},
	{"clear table NAME", "remove every entry of a stick table"},
	{"show peers", "the link to the peer node: state, counters, config digest"},
	{"reload", "check the configuration file and switch to it (as SIGHUP)"},
}

func help() string {
	var b strings.Builder
	b.WriteString("The following commands are valid at this level:\n")
	for i, e := range helpText {
		fmt.Fprintf(&b, "  %-46s: %s", e.usage, e.help)
		if i < len(helpText)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// exec runs one command. It never panics on input: every malformed
// command is an error answer.
func exec(src Source, cmd Command, s *session) answer {
	if len(cmd) == 0 {
		return answer{}
	}
	arg := func(i int) string {
		if i < len(cmd) {
			return cmd[i]
		}
		return ""
	}
	switch arg(0) {
	case "help":
		return output(help())
	case "prompt":
		s.prompt = !s.prompt
		return answer{}
	case "quit", "exit":
		s.quit = true
		return answer{}
	case "show":
		return execShow(src, cmd)
	case "clear":
		if arg(1) != "table" || len(cmd) != 3 {
			return fail("usage: clear table <name>")
		}
		if err := src.ClearTable(arg(2), s.who); err != nil {
			return fail("No such table: %s.", arg(2))
		}
		return answer{}
	case "enable", "disable":
		var local bool
		cmd, local = cutLocal(cmd)
		if (arg(1) != "server" && arg(1) != "health") || len(cmd) != 3 || local && arg(1) == "health" {
			return fail("usage: %s server|health <backend>/<server>", arg(0))
		}
		b, sv, ok := splitServer(arg(2))
		if !ok {
			return fail("Require 'backend/server'.")
		}
		if arg(1) == "health" {
			return setChecks(src, b, sv, arg(0) == "enable", s.who)
		}
		st := health.Maint
		if arg(0) == "enable" {
			st = health.Ready
		}
		return setAdmin(src, b, sv, st, s.who, local)
	case "set":
		switch arg(1) {
		case "server":
			return execSetServer(src, cmd, s)
		case "severity-output":
			switch arg(2) {
			case "none", "number", "string":
				if len(cmd) == 3 {
					s.severity = arg(2)
					return answer{}
				}
			}
			return fail("one of 'none', 'number', 'string' is a required argument")
		case "weight":
			if len(cmd) != 4 {
				return fail("usage: set weight <backend>/<server> <weight>")
			}
			return execSetServer(src, Command{"set", "server", arg(2), "weight", arg(3)}, s)
		}
	case "get":
		if arg(1) == "weight" && len(cmd) == 3 {
			b, sv, ok := splitServer(arg(2))
			if !ok {
				return fail("Require 'backend/server'.")
			}
			cur, initial, err := src.ServerWeight(b, sv)
			if err != nil {
				return serverError(err)
			}
			return output(fmt.Sprintf("%d (initial %d)", cur, initial))
		}
	case "vrrp":
		if arg(1) == "failover" && len(cmd) == 3 {
			if err := src.Failover(arg(2), s.who); err != nil {
				switch {
				case errors.Is(err, stats.ErrNoVRRP):
					return fail("No VRRP instance is configured.")
				case errors.Is(err, stats.ErrNoInstance):
					return fail("No such VRRP instance.")
				case errors.Is(err, vrrp.ErrNotMaster):
					return fail("VRRP instance %s is not master on this node; nothing to fail over.", arg(2))
				case errors.Is(err, vrrp.ErrNotRunning):
					return fail("VRRP is not running.")
				}
				return fail("%v", err)
			}
			return answer{}
		}
		return fail("usage: vrrp failover <instance>")
	case "reload":
		if len(cmd) != 1 {
			return fail("usage: reload")
		}
		r, ok := src.(interface{ Reload(who string) error })
		if !ok {
			return fail("reload is not supported here.")
		}
		if err := r.Reload(s.who); err != nil {
			return fail("Reload failed: %v", err)
		}
		return output("Reload done: the new configuration is running.")
	}
	return fail("Unknown command: '%s'. Type 'help' for the list of commands.", truncate(cmd.String(), 80))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func splitServer(s string) (backend, server string, ok bool) {
	b, sv, ok := strings.Cut(s, "/")
	if !ok || b == "" || sv == "" || strings.Contains(sv, "/") {
		return "", "", false
	}
	return b, sv, true
}

func serverError(err error) answer {
	switch {
	case errors.Is(err, stats.ErrNoBackend):
		return fail("No such backend.")
	case errors.Is(err, stats.ErrNoServer):
		return fail("No such server.")
	}
	return fail("%v", err)
}

func setAdmin(src Source, backend, server string, st health.AdminState, who string, local bool) answer {
	set := src.SetServerAdmin
	if local {
		set = src.SetServerAdminLocal
	}
	if err := set(backend, server, st, who); err != nil {
		return serverError(err)
	}
	return answer{}
}

// setChecks is HAProxy's `enable health` / `disable health`.
func setChecks(src Source, backend, server string, enabled bool, who string) answer {
	if err := src.SetServerChecks(backend, server, enabled, who); err != nil {
		if errors.Is(err, health.ErrNotChecked) {
			return fail("Server %s/%s has no health check.", backend, server)
		}
		return serverError(err)
	}
	return answer{}
}

func execSetServer(src Source, cmd Command, s *session) answer {
	cmd, local := cutLocal(cmd)
	if len(cmd) < 4 {
		return fail("usage: set server <backend>/<server> state ready|drain|maint | weight <0-256>")
	}
	b, sv, ok := splitServer(cmd[2])
	if !ok {
		return fail("Require 'backend/server'.")
	}
	switch cmd[3] {
	case "state":
		if len(cmd) != 5 {
			return fail("'set server <srv> state' expects 'ready', 'drain' and 'maint'.")
		}
		var st health.AdminState
		switch cmd[4] {
		case "ready":
			st = health.Ready
		case "drain":
			st = health.Drain
		case "maint":
			st = health.Maint
		default:
			return fail("'set server <srv> state' expects 'ready', 'drain' and 'maint'.")
		}
		return setAdmin(src, b, sv, st, s.who, local)
	case "weight":
		if len(cmd) != 5 {
			return fail("usage: set server <backend>/<server> weight <0-256>")
		}
		w, err := strconv.Atoi(cmd[4])
		if err != nil {
			return fail("Require <weight>: a number from 0 to %d.", health.MaxWeight)
		}
		if w < 0 || w > health.MaxWeight {
			return fail("Absolute weight can only be between 0 and %d inclusive.", health.MaxWeight)
		}
		set := src.SetServerWeight
		if local {
			set = src.SetServerWeightLocal
		}
		if err := set(b, sv, w, s.who); err != nil {
			return serverError(err)
		}
		return answer{}
	case "addr", "agent", "agent-addr", "agent-port", "agent-send", "check-addr", "check-port", "fqdn", "health", "ssl":
		return fail("set server ... %s is not supported yet.", cmd[3])
	}
	return fail("usage: set server <backend>/<server> state ready|drain|maint | weight <0-256>")
}

func execShow(src Source, cmd Command) answer {
	what := ""
	if len(cmd) > 1 {
		what = cmd[1]
	}
	switch what {
	case "info":
		if len(cmd) != 2 {
			return fail("show info takes no argument here.")
		}
		var b bytes.Buffer
		_ = stats.WriteInfo(&b, src.View())
		return output(strings.TrimSuffix(b.String(), "\n"))
	case "stat":
		var b bytes.Buffer
		switch {
		case len(cmd) == 2:
			_ = stats.WriteCSV(&b, src.View().Rows())
		case len(cmd) == 3 && cmd[2] == "json":
			_ = stats.WriteJSON(&b, src.View(), false)
		default:
			return fail("show stat: only 'show stat' and 'show stat json' are supported.")
		}
		return output(strings.TrimSuffix(b.String(), "\n"))
	case "servers":
		if len(cmd) < 3 || cmd[2] != "state" || len(cmd) > 4 {
			return fail("usage: show servers state [<backend>]")
		}
		only := ""
		if len(cmd) == 4 {
			only = cmd[3]
		}
		return showServersState(src, only)
	case "vrrp":
		if len(cmd) != 2 {
			return fail("usage: show vrrp")
		}
		return showVRRP(src.View())
	case "peers":
		p, ok := src.(interface{ ShowPeers() (string, error) })
		if !ok || len(cmd) != 2 {
			return fail("usage: show peers")
		}
		text, err := p.ShowPeers()
		if err != nil {
			return fail("%v.", err)
		}
		return output(text)
	case "table":
		if len(cmd) > 3 {
			return fail("usage: show table [NAME]")
		}
		name := ""
		if len(cmd) == 3 {
			name = cmd[2]
		}
		out, err := src.ShowTable(name)
		if err != nil {
			return fail("No such table: %s.", name)
		}
		return output(strings.TrimSuffix(string(out), "\n"))
	}
	return fail("Unknown command: '%s'. Type 'help' for the list of commands.", truncate(cmd.String(), 80))
}

// HAProxy's numbering in `show servers state` (version 1).
const (
	srvStStopped = 0
	srvStRunning = 2

	admfFMaint = 0x01
	admfFDrain = 0x08

	chkResUnknown = 0
	chkResFailed  = 2
	chkResPassed  = 3

	chkStConfigured = 0x2
	chkStEnabled    = 0x4
)

// hchkStatus maps check statuses to HAProxy's enum healthcheck_status.
var hchkStatus = map[health.Status]int{
	health.StatusUnknown: 0, health.StatusIni: 1, health.StatusHana: 4, health.StatusSockErr: 5,
	health.StatusL4OK: 6, health.StatusL4TOut: 7, health.StatusL4Con: 8,
	health.StatusL7TOut: 12, health.StatusL7Rsp: 13, health.StatusL7OK: 15, health.StatusL7Sts: 17,
}

func showServersState(src Source, only string) answer {
	v := src.View()
	var b strings.Builder
	b.WriteString("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port")
	found := only == ""
	for _, be := range v.Backends {
		if only != "" && be.Name != only {
			continue
		}
		found = true
		for _, s := range be.Servers {
			h := s.Health
			op := srvStStopped
			if h.Op.IsUp() && h.Admin != health.Maint {
				op = srvStRunning
			}
			adm := 0
			switch h.Admin {
			case health.Maint:
				adm = admfFMaint
			case health.Drain:
				adm = admfFDrain
			}
			_, initial, err := src.ServerWeight(be.Name, s.Name)
			if err != nil {
				initial = h.Weight
			}
			status, result, chkState := 1, chkResUnknown, 0
			if h.Checked {
				status = hchkStatus[h.CheckStatus]
				chkState = chkStConfigured
				if !h.ChecksDisabled {
					chkState |= chkStEnabled
				}
				switch {
				case h.CheckStatus.Passed():
					result = chkResPassed
				case h.CheckStatus != health.StatusIni && h.CheckStatus != health.StatusUnknown:
					result = chkResFailed
				}
			}
			addr, port := "-", 0
			if ap, err := netip.ParseAddrPort(s.Addr); err == nil {
				addr, port = ap.Addr().String(), int(ap.Port())
			}
			since := int64(v.Now.Sub(s.LastChangeAt(v.Process.Start)) / time.Second)
			fmt.Fprintf(&b, "\n%d %s %d %s %s %d %d %d %d %d %d %d %d %d 0 0 0 - %d - 0 0 - - 0",
				be.IID, be.Name, s.SID, s.Name, addr, op, adm, h.Weight, initial, since,
				status, result, h.Health, chkState, port)
		}
	}
	if !found {
		return fail("Can't find backend.")
	}
	return output(b.String())
}

func showVRRP(v *stats.View) answer {
	var b strings.Builder
	b.WriteString("# instance interface vrid state priority configured_priority master vips since_last_transition adverts_sent adverts_received became_master")
	for _, in := range v.VRRP {
		master := "-"
		if in.Master.IsValid() {
			master = in.Master.String()
		}
		vips := make([]string, 0, len(in.VIPs))
		for _, p := range in.VIPs {
			vips = append(vips, p.String())
		}
		vipText := strings.Join(vips, ",")
		if vipText == "" {
			vipText = "-"
		}
		since := int64(-1)
		if !in.LastTransition.IsZero() {
			since = int64(v.Now.Sub(in.LastTransition) / time.Second)
		}
		fmt.Fprintf(&b, "\n%s %s %d %s %d %d %s %s %d %d %d %d", in.Name, in.Interface, in.VRID, in.State,
			in.Priority, in.Configured, master, vipText, since,
			in.Counters.AdvertsSent, in.Counters.AdvertsReceived, in.Counters.BecameMaster)
	}
	return output(b.String())
}

// cutLocal strips tandem's trailing `--local` (change this node only, do
// not replicate to the peer) from a server command.
func cutLocal(cmd Command) (Command, bool) {
	if n := len(cmd); n > 0 && cmd[n-1] == "--local" {
		return cmd[:n-1], true
	}
	return cmd, false
}
