package main

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tandemlb/tandem/internal/config"
)

// tunedSysctls are the kernel settings deploy/sysctl.conf installs (a test
// keeps the two in agreement): the seed article's tuning plus
// ip_nonlocal_bind, which lets the backup bind the VIP it does not hold yet.
// Sizes marked atLeast are fine when the host allows more.
var tunedSysctls = []struct {
	key, value string
	atLeast    bool
}{
	{"net.ipv4.tcp_tw_reuse", "1", false},
	{"net.ipv4.ip_local_port_range", "1024 65023", false},
	{"net.ipv4.tcp_max_syn_backlog", "10240", true},
	{"net.ipv4.tcp_max_tw_buckets", "400000", true},
	{"net.ipv4.tcp_max_orphans", "60000", true},
	{"net.ipv4.tcp_synack_retries", "3", false},
	{"net.core.somaxconn", "10000", true},
	{"net.ipv4.ip_nonlocal_bind", "1", false},
}

// hostReport collects the findings of `tandem check --host`.
type hostReport struct {
	w     io.Writer
	fixes int
}

func (r *hostReport) ok(format string, args ...any) {
	fmt.Fprintf(r.w, "ok   %s\n", fmt.Sprintf(format, args...))
}

func (r *hostReport) fix(format string, args ...any) {
	r.fixes++
	fmt.Fprintf(r.w, "fix  %s\n", fmt.Sprintf(format, args...))
}

// checkHost compares this host with what cfg needs and prints what to
// change. procRoot is "/proc" outside tests.
func checkHost(cfg *config.Config, procRoot string, w io.Writer) int {
	r := &hostReport{w: w}
	for _, s := range tunedSysctls {
		path := filepath.Join(procRoot, "sys", strings.ReplaceAll(s.key, ".", "/"))
		b, err := os.ReadFile(path)
		if err != nil {
			r.fix("sysctl %s: cannot read (%v)", s.key, err)
			continue
		}
		have := strings.Join(strings.Fields(string(b)), " ")
		if have == s.value || s.atLeast && atLeast(have, s.value) {
			r.ok("sysctl %s = %s", s.key, have)
		} else {
			r.fix("sysctl %s is %s, want %s: install /usr/lib/sysctl.d/60-tandem.conf and run sysctl -p on it (or sysctl -w %s=%q)",
				s.key, have, s.value, s.key, s.value)
		}
	}

	need := uint64(cfg.Global.MaxConn)*2 + 64
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err == nil {
		switch {
		case lim.Cur >= need:
			r.ok("open files: limit %d covers maxconn %d (needs %d)", lim.Cur, cfg.Global.MaxConn, need)
		case lim.Max >= need || os.Geteuid() == 0:
			r.ok("open files: limit %d is below %d, tandem raises it at start (hard limit %d)", lim.Cur, need, lim.Max)
		default:
			r.fix("open files: maxconn %d needs %d, hard limit is %d: raise LimitNOFILE in the unit or the ulimit", cfg.Global.MaxConn, need, lim.Max)
		}
	}

	caps, err := effectiveCaps(filepath.Join(procRoot, "self", "status"))
	if err == nil {
		for _, c := range neededCaps(cfg) {
			if caps&(1<<c.bit) != 0 {
				r.ok("capability %s (%s)", c.name, c.why)
			} else {
				r.fix("capability %s missing (%s): run as root or grant it in the unit", c.name, c.why)
			}
		}
	}

	if cfg.Log.Target != "stderr" {
		if u, err := url.Parse(cfg.Log.Target); err == nil && u.Scheme == "udp" {
			if ap, err := netip.ParseAddrPort(u.Host); err == nil {
				if udpListening(procRoot, ap.Port()) {
					r.ok("log target %s: a syslog daemon listens on UDP port %d", cfg.Log.Target, ap.Port())
				} else {
					r.fix("log target %s: nothing listens on UDP port %d: install /etc/rsyslog.d/tandem.conf and restart rsyslog", cfg.Log.Target, ap.Port())
				}
			}
		}
	}
	if r.fixes > 0 {
		fmt.Fprintf(w, "%d %s to change on this host\n", r.fixes, pluralize(r.fixes, "thing"))
		return 1
	}
	fmt.Fprintln(w, "this host is ready for the configuration")
	return 0
}

type capability struct {
	name string
	bit  uint
	why  string
}

func neededCaps(cfg *config.Config) []capability {
	var out []capability
	if len(cfg.VRRP) > 0 {
		out = append(out,
			capability{"CAP_NET_ADMIN", unix.CAP_NET_ADMIN, "VRRP adds and removes the virtual IPs"},
			capability{"CAP_NET_RAW", unix.CAP_NET_RAW, "VRRP adverts and gratuitous ARP use raw sockets"})
	}
	for _, fe := range cfg.Proxy.Frontends {
		for _, b := range fe.Binds {
			if b.Port() < 1024 {
				return append(out, capability{"CAP_NET_BIND_SERVICE", unix.CAP_NET_BIND_SERVICE, fmt.Sprintf("frontend %s binds port %d", fe.Name, b.Port())})
			}
		}
	}
	return out
}

func effectiveCaps(statusPath string) (uint64, error) {
	f, err := os.Open(statusPath)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapEff in %s", statusPath)
}

// udpListening reports whether a UDP socket is bound to port, from
// /proc/net/udp and udp6 (local_address is ADDR:PORT in hex).
func udpListening(procRoot string, port uint16) bool {
	want := fmt.Sprintf(":%04X", port)
	for _, name := range []string{"udp", "udp6"} {
		b, err := os.ReadFile(filepath.Join(procRoot, "net", name))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) > 1 && strings.HasSuffix(fields[1], want) {
				return true
			}
		}
	}
	return false
}

func atLeast(have, want string) bool {
	h, err1 := strconv.ParseInt(have, 10, 64)
	w, err2 := strconv.ParseInt(want, 10, 64)
	return err1 == nil && err2 == nil && h >= w
}
