package demo

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The steps that show the pair acting as one through [peers]: the two
// configurations compared, an operator's drain replicated, and a client's
// stick-table pin carried across a failover.

const (
	// replicateMax bounds how long a change on one node may take to show
	// on the other (the link flushes every 10 ms).
	replicateMax = time.Second
	// peersWait bounds the link's (re)handshake after a start or a reload.
	peersWait = 5 * time.Second
	// drainServer is the server the drain step drains on lb1.
	drainBackend, drainServer = "ms1", "ms1.srv1"
	// pinnedRequests is how many requests show a client's pin.
	pinnedRequests = 6
)

// ctl runs `tandem ctl` against node's admin socket, in node's namespace.
func (d *Demo) ctl(ctx context.Context, node string, args ...string) (string, error) {
	sock := filepath.Join(d.Lab.Dir, node+".sock")
	return d.Lab.Host(node).Run(ctx, d.Tandem, append([]string{"ctl", "-s", sock}, args...)...)
}

// other is the other node of the pair.
func other(node string) string { return peerOf(Node{Name: node}).Name }

// peersConfig: both nodes log that their configurations match; a change
// reloaded on lb2 alone is reported on both sides naming the section, and
// undoing it makes them match again.
func (d *Demo) peersConfig(ctx context.Context) (string, bool) {
	for _, n := range Nodes {
		want := "peers: configuration matches " + other(n.Name)
		if err := d.waitLog(ctx, n.Name, 0, []string{want}, peersWait); err != nil {
			return fmt.Sprintf("%s: link not up with matching configurations: %s", n.Name, firstLine(err.Error())), false
		}
	}
	file := d.configs["lb2"]
	orig, err := os.ReadFile(file)
	if err != nil {
		return err.Error(), false
	}
	from, to := fmt.Sprintf("expire = %q", PinnedExpire), `expire = "5m"`
	if strings.Count(string(orig), from) != 1 {
		return fmt.Sprintf("%s: want exactly one %s (the pinned stick table)", file, from), false
	}
	// The drifted file is written aside and renamed, so a reload never
	// reads half a file.
	write := func(b []byte) error {
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", tmp, err)
		}
		return os.Rename(tmp, file)
	}
	reload := func(b []byte, want string) (time.Duration, error) {
		off := map[string]int64{}
		for _, n := range Nodes {
			off[n.Name] = fileSize(filepath.Join(d.Lab.Dir, n.Name+".log"))
		}
		if err := write(b); err != nil {
			return 0, err
		}
		start := time.Now()
		if err := d.lbs["lb2"].Signal(syscall.SIGHUP); err != nil {
			return 0, fmt.Errorf("reload lb2: %w", err)
		}
		for _, n := range Nodes {
			if err := d.waitLog(ctx, n.Name, off[n.Name], []string{want + other(n.Name)}, peersWait); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	drifted := []byte(strings.Replace(string(orig), from, to, 1))
	tookDrift, err := reload(drifted, "peers: configuration differs from ")
	if err != nil {
		_ = write(orig)
		_ = d.lbs["lb2"].Signal(syscall.SIGHUP)
		return "lb2 reloaded with a changed " + PinnedBackend + " backend: drift not reported: " + firstLine(err.Error()), false
	}
	sections := driftSections(d.logSince("lb1", 0), "lb2")
	tookBack, err := reload(orig, "peers: configuration matches ")
	if err != nil {
		return "lb2 reloaded with the original file: " + firstLine(err.Error()), false
	}
	seen := fmt.Sprintf("start: both log \"configuration matches\"; lb2 reloaded with %s's table expire %s -> 5m: both warn \"configuration differs ... in: %s\" %s after; undone: match again %s after",
		PinnedBackend, PinnedExpire, sections, tookDrift.Round(10*time.Millisecond), tookBack.Round(10*time.Millisecond))
	if out, err := d.ctl(ctx, "lb1", "show", "peers"); err == nil {
		seen += "; lb1 show peers: " + strings.Join(strings.Fields(firstLine(out)), " ")
	}
	return seen, sections == "backend "+PinnedBackend
}

// driftSections returns the sections named by the last "configuration
// differs from PEER in: ..." line of log.
func driftSections(log, peer string) string {
	marker := "configuration differs from " + peer + " in: "
	i := strings.LastIndex(log, marker)
	if i < 0 {
		return ""
	}
	rest := firstLine(log[i+len(marker):])
	// A JSON line's message ends at its quote, a console line's at the
	// first " key=value" field.
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		rest = rest[:j]
	}
	if loc := consoleField.FindStringIndex(rest); loc != nil {
		rest = rest[:loc[0]]
	}
	return strings.TrimSpace(rest)
}

var consoleField = regexp.MustCompile(`\s+[A-Za-z_][A-Za-z0-9_]*=`)

// adminState returns the srv_admin_state of backend/server in node's
// `show servers state BACKEND` (bit 0x08: drained by an operator, 0x01:
// maintenance).
func (d *Demo) adminState(ctx context.Context, node, backend, server string) (int, error) {
	out, err := d.ctl(ctx, node, "show", "servers", "state", backend)
	if err != nil {
		return 0, err
	}
	name, admin := 3, 6
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] == "#" {
			for i, col := range f[1:] {
				switch col {
				case "srv_name":
					name = i
				case "srv_admin_state":
					admin = i
				}
			}
			continue
		}
		if len(f) > max(name, admin) && f[name] == server {
			st, err := strconv.Atoi(f[admin])
			if err != nil {
				return 0, fmt.Errorf("%s: show servers state: srv_admin_state %q: %w", node, f[admin], err)
			}
			return st, nil
		}
	}
	return 0, fmt.Errorf("%s: show servers state %s has no %s:\n%s", node, backend, server, out)
}

// waitAdmin polls node until backend/server is drained (or not) and
// returns how long that took.
func (d *Demo) waitAdmin(ctx context.Context, node, backend, server string, drained bool, within time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		st, err := d.adminState(ctx, node, backend, server)
		if err != nil {
			return 0, err
		}
		if (st&0x08 != 0) == drained {
			return time.Since(start), nil
		}
		if time.Since(start) > within || ctx.Err() != nil {
			return 0, fmt.Errorf("%s: %s/%s srv_admin_state %d after %v, want drained=%v", node, backend, server, st, within, drained)
		}
		pause(ctx, 10*time.Millisecond)
	}
}

// csvOf returns backend/server's status in node's own stats CSV (at its
// address, not the VIP), or "" when the stats page is not built.
func (d *Demo) csvOf(ctx context.Context, node, backend, server string) string {
	if _, missing := d.Missing["stats"]; missing {
		return ""
	}
	url := "http://" + net.JoinHostPort(HostAddrs[node].Addr().String(), statsPort) + "/stats;csv"
	r, err := d.client.Get(ctx, url, nil, "admin:admin")
	if err != nil || r.Status != http.StatusOK {
		return fmt.Sprintf("(stats: %v status %d)", err, r.Status)
	}
	st, err := csvStatus(r.Body)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return st[backend+"/"+server]
}

// drain: an operator drains a server on lb1; lb2 follows within a second,
// and again when it is set ready.
func (d *Demo) drain(ctx context.Context) (string, bool) {
	target := drainBackend + "/" + drainServer
	var parts []string
	ok := true
	for _, step := range []struct {
		state   string
		drained bool
		csv     string
	}{{"drain", true, "DRAIN"}, {"ready", false, "UP"}} {
		if _, err := d.ctl(ctx, "lb1", "set", "server", target, "state", step.state); err != nil {
			return fmt.Sprintf("lb1: set server %s state %s: %s", target, step.state, firstLine(err.Error())), false
		}
		took, err := d.waitAdmin(ctx, "lb2", drainBackend, drainServer, step.drained, replicateMax)
		if err != nil {
			return strings.Join(append(parts, firstLine(err.Error())), "; "), false
		}
		p := fmt.Sprintf("%s on lb1 -> lb2 %s %s later", step.state, map[bool]string{true: "drained", false: "ready"}[step.drained], took.Round(time.Millisecond))
		if csv := d.csvOf(ctx, "lb2", drainBackend, drainServer); csv != "" {
			p += ", lb2's CSV " + csv
			ok = ok && csv == step.csv
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; "), ok
}

// pinnedGet makes pinnedRequests requests to the pinned backend and
// counts the servers and the load balancers that forwarded them.
func (d *Demo) pinnedGet(ctx context.Context) (servers, via map[string]int, err error) {
	servers, via = map[string]int{}, map[string]int{}
	for range pinnedRequests {
		r, err := d.client.Get(ctx, d.url(PinnedPath+"demo.html"), nil, "")
		if err != nil {
			return nil, nil, fmt.Errorf("GET %sdemo.html: %w", PinnedPath, err)
		}
		if r.Status != http.StatusOK {
			return nil, nil, fmt.Errorf("GET %sdemo.html: status %d", PinnedPath, r.Status)
		}
		servers[r.Server]++
		via[r.Via]++
	}
	return servers, via, nil
}

// tableLine waits until node's `show table pinned` has the client's entry
// and returns it and how long that took.
func (d *Demo) tableLine(ctx context.Context, node string, within time.Duration) (string, time.Duration, error) {
	key := "key=" + HostAddrs["client"].Addr().String() + " "
	start := time.Now()
	for {
		out, err := d.ctl(ctx, node, "show", "table", PinnedBackend)
		if err != nil {
			return "", 0, err
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, key) {
				return strings.TrimSpace(line), time.Since(start), nil
			}
		}
		if time.Since(start) > within || ctx.Err() != nil {
			return "", 0, fmt.Errorf("%s: no entry for the client in show table %s after %v:\n%s", node, PinnedBackend, within, strings.TrimSpace(out))
		}
		pause(ctx, 10*time.Millisecond)
	}
}

// serverKey is the server_key=... of a `show table` line.
func serverKey(line string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "server_key="); ok {
			return v
		}
	}
	return ""
}

// pin: the client, through the VIP on lb1, is pinned to one server of the
// pinned backend by its address; the entry reaches lb2's table.
func (d *Demo) pin(ctx context.Context) (string, bool) {
	if !d.holdsOnly("lb1", "") {
		return fmt.Sprintf("VIP not on lb1: %v", d.holder()), false
	}
	servers, via, err := d.pinnedGet(ctx)
	if err != nil {
		return err.Error(), false
	}
	seen := fmt.Sprintf("%d requests via %s: %s", pinnedRequests, counts(via), counts(servers))
	if len(servers) != 1 || via["lb1"] != pinnedRequests {
		return seen + " (want one server, all via lb1)", false
	}
	for s := range servers {
		d.pinned = s
	}
	line, took, err := d.tableLine(ctx, "lb2", replicateMax)
	if err != nil {
		return seen + "; " + firstLine(err.Error()), false
	}
	seen += fmt.Sprintf("; on lb2 %s later: %s", took.Round(time.Millisecond), line)
	return seen, serverKey(line) == d.pinned
}

// stickAfterFailover: after the VIP moved to lb2, the client still
// reaches the server it was pinned to on lb1.
func (d *Demo) stickAfterFailover(ctx context.Context) (string, bool) {
	if d.pinned == "" {
		return "the client was not pinned (step before the failover failed)", false
	}
	if !d.holdsOnly("lb2", "") {
		return fmt.Sprintf("VIP not on lb2: %v", d.holder()), false
	}
	servers, via, err := d.pinnedGet(ctx)
	if err != nil {
		return err.Error(), false
	}
	line, _, err := d.tableLine(ctx, "lb2", replicateMax)
	if err != nil {
		line = firstLine(err.Error())
	}
	seen := fmt.Sprintf("pinned to %s before; %d requests via %s: %s; lb2 show table: %s",
		d.pinned, pinnedRequests, counts(via), counts(servers), line)
	return seen, via["lb2"] == pinnedRequests && servers[d.pinned] == pinnedRequests
}
