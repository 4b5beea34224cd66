package demo

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
)

// Demo is the seed article's walkthrough on a lab: two tandem nodes in
// front of two web servers, a client going through the VIP.
type Demo struct {
	Lab     *Lab
	Tandem  string // tandem binary
	Demoweb string // demoweb binary
	Seed    []byte // deploy/examples/seed.toml
	Out     io.Writer

	// Missing holds the seed features this tandem does not have yet,
	// with the message that says so ("cookie", "stats", "ctl").
	Missing map[string]string

	configs map[string]string // node -> configuration file
	lbs     map[string]*Proc  // node -> tandem
	webs    map[string]*Proc  // web host -> demoweb
	specs   map[string][]webSpec
	client  *Client
	probe   *Client // the failover loops' client: short timeout
	vip     netip.Addr
	pinned  string // the server the client was pinned to before the failover
}

type webSpec struct{ group, server, addr string }

// Result is one step's outcome.
type Result struct {
	Step     string
	Expected string
	Seen     string
	Pass     bool
	// NotBuilt is set when the step needs a feature tandem lacks: the step
	// failed without being tried.
	NotBuilt bool
}

// Step is one stage of the walkthrough. Steps run in order and each
// leaves the lab in the state the next one expects.
type Step struct {
	Name     string
	Expected string
	Needs    string // feature key of Demo.Missing, or ""
	Run      func(ctx context.Context) (seen string, ok bool)
}

const (
	frontendPort = "9001"
	statsPort    = "1080"
	// Outage limits: a crash costs Master_Down_Interval (3 × advert_int
	// + skew = 3.61 s at priority 100) plus ARP; every planned move is
	// sub-second.
	crashMax   = 5 * time.Second
	plannedMax = time.Second
	// The failover loops probe the VIP with a new connection every 20 ms;
	// a probe sent to a node that just let go of the VIP gets no answer
	// and gives up after probeTimeout, so that is the outage's precision.
	probeEvery   = 20 * time.Millisecond
	probeTimeout = 150 * time.Millisecond
)

func (d *Demo) printf(format string, args ...any) {
	if d.Out != nil {
		fmt.Fprintf(d.Out, format, args...)
	}
}

func (d *Demo) url(path string) string {
	return "http://" + net.JoinHostPort(d.vip.String(), frontendPort) + path
}

// Setup generates the configurations, starts the web servers and tandem
// on lb1 then lb2, and waits until lb1 holds the VIP and answers through
// it.
func (d *Demo) Setup(ctx context.Context) error {
	if err := d.prepare(ctx); err != nil {
		return err
	}
	if err := d.parseWebs(); err != nil {
		return err
	}
	for _, h := range []string{"web1", "web2"} {
		if err := d.startWeb(ctx, h); err != nil {
			return err
		}
	}
	for _, n := range Nodes {
		if err := d.startLB(ctx, n.Name); err != nil {
			return err
		}
	}
	start := time.Now()
	if err := d.waitVIP(ctx, "lb1", 10*time.Second); err != nil {
		return err
	}
	d.printf("   VIP %s on lb1 (%s after start)\n", d.vip, time.Since(start).Round(10*time.Millisecond))
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := d.client.Get(ctx, d.url("/demo.html"), nil, "")
		if err == nil && r.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("no answer through the VIP %s within 10s: %v (status %d)", d.url("/demo.html"), err, r.Status)
		}
		pause(ctx, 50*time.Millisecond)
	}
	if err := d.probeCtl(ctx); err != nil {
		return err
	}
	return nil
}

// prepare writes the configurations and readies the clients.
func (d *Demo) prepare(ctx context.Context) error {
	d.vip = VIP.Addr()
	d.configs, d.lbs, d.webs = map[string]string{}, map[string]*Proc{}, map[string]*Proc{}
	d.client = d.Lab.Host("client").NewClient(2 * time.Second)
	d.probe = d.Lab.Host("client").NewClient(probeTimeout)
	return d.writeConfigs(ctx)
}

// pause waits d or until ctx ends: the pacing of a poll loop.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (d *Demo) writeConfigs(ctx context.Context) error {
	dir := d.Lab.Dir
	full, err := Generate(d.Seed, NetnsOverrides(Nodes[0], dir, nil))
	if err != nil {
		return err
	}
	fullFile := filepath.Join(dir, "seed-full.toml")
	if err := os.WriteFile(fullFile, full, 0o644); err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	missing, err := MissingFeatures(ctx, d.Tandem, fullFile)
	if err != nil {
		return err
	}
	if d.Missing == nil {
		d.Missing = map[string]string{}
	}
	for k, v := range missing {
		d.Missing[k] = "tandem check: " + v
	}
	strip := sortedKeys(missing)
	if len(strip) > 0 {
		d.printf("   tandem check rejects seed features not built yet, left out: %s\n", strings.Join(strip, ", "))
	}
	for _, n := range Nodes {
		b, err := Generate(d.Seed, NetnsOverrides(n, dir, strip))
		if err != nil {
			return err
		}
		f := filepath.Join(dir, n.Name+".toml")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return fmt.Errorf("write configuration: %w", err)
		}
		if m, err := MissingFeatures(ctx, d.Tandem, f); err != nil || len(m) > 0 {
			return fmt.Errorf("%s still rejected after leaving out %v: %v %v", f, strip, m, err)
		}
		d.configs[n.Name] = f
	}
	return nil
}

// parseWebs derives each web host's listeners from the seed's backends.
func (d *Demo) parseWebs() error {
	var seed struct {
		Backend []struct {
			Name   string
			Server []struct{ Name, Address string }
		}
	}
	if _, err := toml.Decode(string(d.Seed), &seed); err != nil {
		return fmt.Errorf("decode seed: %w", err)
	}
	d.specs = map[string][]webSpec{}
	for _, b := range seed.Backend {
		for _, s := range b.Server {
			ap, err := netip.ParseAddrPort(s.Address)
			if err != nil {
				return fmt.Errorf("seed server %s/%s: %w", b.Name, s.Name, err)
			}
			host := ""
			for _, h := range []string{"web1", "web2"} {
				if HostAddrs[h].Addr() == ap.Addr() {
					host = h
				}
			}
			if host == "" {
				return fmt.Errorf("seed server %s/%s: %s is not web1 or web2", b.Name, s.Name, ap.Addr())
			}
			d.specs[host] = append(d.specs[host], webSpec{b.Name, s.Name, s.Address})
		}
	}
	if len(d.specs["web1"]) == 0 || len(d.specs["web2"]) == 0 {
		return errors.New("seed: want servers on both web1 and web2")
	}
	return nil
}

func (d *Demo) serverNames(host, suffix string) []string {
	var out []string
	for _, s := range d.specs[host] {
		out = append(out, fmt.Sprintf("Server %s/%s %s", s.group, s.server, suffix))
	}
	return out
}

func (d *Demo) startWeb(ctx context.Context, host string) error {
	var args []string
	for _, s := range d.specs[host] {
		args = append(args, fmt.Sprintf("%s:%s@%s", s.group, s.server, s.addr))
	}
	p, err := d.Lab.Host(host).Start("demoweb@"+host, filepath.Join(d.Lab.Dir, host+".log"), d.Demoweb, args...)
	if err != nil {
		return err
	}
	d.webs[host] = p
	// Ready when every listener accepts (dialled from the client).
	deadline := time.Now().Add(5 * time.Second)
	for _, s := range d.specs[host] {
		for {
			c, err := d.Lab.Host("client").DialContext(ctx, "tcp", s.addr)
			if err == nil {
				c.Close()
				break
			}
			if p.Exited() || time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("demoweb on %s does not listen on %s: %v\n%s", host, s.addr, err, p.Output())
			}
			pause(ctx, 20*time.Millisecond)
		}
	}
	d.printf("   demoweb on %s: %d listeners\n", host, len(d.specs[host]))
	return nil
}

func (d *Demo) startLB(ctx context.Context, node string) error {
	log := filepath.Join(d.Lab.Dir, node+".log")
	off := fileSize(log)
	p, err := d.Lab.Host(node).Start("tandem@"+node, log, d.Tandem, "run", "-c", d.configs[node])
	if err != nil {
		return err
	}
	d.lbs[node] = p
	if err := d.waitLog(ctx, node, off, []string{"tandem started"}, 10*time.Second); err != nil {
		return err
	}
	n := Nodes[0]
	if node == Nodes[1].Name {
		n = Nodes[1]
	}
	d.printf("   tandem on %s (pid %d, %s, priority %d), log %s\n", node, p.PID(), n.State, n.Priority, log)
	return nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// waitLog polls node's log from offset off until it contains every one of
// want, at most within.
func (d *Demo) waitLog(ctx context.Context, node string, off int64, want []string, within time.Duration) error {
	p := d.lbs[node]
	deadline := time.Now().Add(within)
	for {
		text := d.logSince(node, off)
		left := 0
		for _, w := range want {
			if !strings.Contains(text, w) {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		if p != nil && p.Exited() {
			return fmt.Errorf("tandem on %s exited:\n%s", node, tail(text, 20))
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s's log has not shown %q within %v:\n%s", node, want, within, tail(text, 20))
		}
		pause(ctx, 20*time.Millisecond)
	}
}

func (d *Demo) logSince(node string, off int64) string {
	f, err := os.Open(filepath.Join(d.Lab.Dir, node+".log"))
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// holder returns which load balancers hold the VIP.
func (d *Demo) holder() []string {
	var out []string
	for _, n := range Nodes {
		if ok, _ := d.Lab.Host(n.Name).HasAddr(d.vip); ok {
			out = append(out, n.Name)
		}
	}
	return out
}

// holdsOnly reports whether node holds the VIP and the other does not
// (a crashed node's leftover is tolerated when stale is set).
func (d *Demo) holdsOnly(node string, stale string) bool {
	h := d.holder()
	switch {
	case len(h) == 1 && h[0] == node:
		return true
	case len(h) == 2 && stale != "" && stale != node:
		return true
	}
	return false
}

func (d *Demo) waitVIP(ctx context.Context, node string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for !d.holdsOnly(node, "") {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("VIP %s not on %s (only) within %v: held by %v", d.vip, node, within, d.holder())
		}
		pause(ctx, 20*time.Millisecond)
	}
	return nil
}

// probeCtl finds out whether `tandem ctl` and the admin socket work yet:
// tandem run must have created [global] admin_socket by the time it
// holds the VIP, and ctl must answer through it.
func (d *Demo) probeCtl(ctx context.Context) error {
	sock := filepath.Join(d.Lab.Dir, "lb1.sock")
	out, err := d.Lab.Host("lb1").Run(ctx, d.Tandem, "ctl", "-s", sock, "show", "info")
	if err == nil {
		return nil
	}
	msg := firstLine(strings.TrimSpace(out))
	switch _, serr := os.Stat(sock); {
	case strings.Contains(out, "not implemented"):
		d.Missing["ctl"] = msg
	case errors.Is(serr, os.ErrNotExist):
		d.Missing["ctl"] = "tandem run does not open [global] admin_socket yet; " + msg
	default:
		// Built but failing: the step runs and reports what it sees.
		return nil
	}
	d.printf("   tandem ctl / the admin socket is not built yet: %s\n", d.Missing["ctl"])
	return nil
}

// Steps returns the walkthrough.
func (d *Demo) Steps() []Step {
	return []Step{
		{Name: "route /ms1/", Expected: "group ms1, both ms1.srv1 and ms1.srv2 in turn", Run: d.route("/ms1/demo.html", "ms1")},
		{Name: "route /ms2/", Expected: "group ms2, both ms2.srv1 and ms2.srv2 in turn", Run: d.route("/ms2/demo.html", "ms2")},
		{Name: "route /", Expected: "group default_servers, def.srv1 and def.srv2 in turn", Run: d.route("/demo.html", "default_servers")},
		{Name: "cookie sticks", Needs: "cookie", Expected: "Set-Cookie HA_STICKY_ms1=<server>; 6 requests with it reach that server", Run: d.cookie},
		{Name: "web2 stopped: checks mark it DOWN", Expected: "lb1 logs ms1.srv2, ms2.srv2, def.srv2 DOWN; every request answered by web1", Run: d.webDown},
		{Name: "stats CSV shows DOWN", Needs: "stats", Expected: "/stats;csv on :1080 lists web2's servers DOWN, web1's UP", Run: d.statsDown},
		{Name: "web2 back: checks mark it UP", Expected: "lb1 logs web2's servers UP; /ms1/ reaches both servers again", Run: d.webUp},
		{Name: "peers: config drift detected", Needs: "ctl", Expected: "both nodes log \"configuration matches\"; a change reloaded on lb2 alone is reported on both naming backend " + PinnedBackend + ", and matches again once undone", Run: d.peersConfig},
		{Name: "peers: drain replicates", Needs: "ctl", Expected: fmt.Sprintf("`tandem ctl set server %s/%s state drain` on lb1: lb2 shows it DRAIN within %v; ready on lb1: lb2 follows", drainBackend, drainServer, replicateMax), Run: d.drain},
		{Name: "crash lb1 (SIGKILL)", Expected: fmt.Sprintf("VIP moves to lb2, clients served by lb2, outage < %v (3 x advert_int + skew = 3.61s)", crashMax), Run: d.crash},
		{Name: "lb1 back: preempts", Expected: fmt.Sprintf("lb1 (priority 101) takes the VIP back, outage < %v", plannedMax), Run: d.preempt},
		{Name: "peers: client pinned (stick table)", Needs: "ctl", Expected: fmt.Sprintf("%s via lb1: one server for the client's address, no cookie; the entry on lb2 within %v", PinnedPath, replicateMax), Run: d.pin},
		{Name: "tandem ctl vrrp failover VI_1", Needs: "ctl", Expected: fmt.Sprintf("graceful move lb1 -> lb2, outage < %v", plannedMax), Run: d.ctlFailover},
		{Name: "peers: stickiness survives the failover", Needs: "ctl", Expected: fmt.Sprintf("%s via lb2: the client still on the server it was pinned to on lb1", PinnedPath), Run: d.stickAfterFailover},
		{Name: "graceful stop of the master (SIGTERM)", Expected: fmt.Sprintf("priority-0 advert: the backup takes over, outage < %v", plannedMax), Run: d.gracefulStop},
	}
}

// RunStep runs s, or reports it failed unbuilt when its feature is missing.
func (d *Demo) RunStep(ctx context.Context, s Step) Result {
	r := Result{Step: s.Name, Expected: s.Expected}
	if msg, ok := d.Missing[s.Needs]; s.Needs != "" && ok {
		r.Seen = "feature not built yet (" + msg + ")"
		r.NotBuilt = true
		return r
	}
	r.Seen, r.Pass = s.Run(ctx)
	return r
}

// route: several requests reach the group, and round robin shows both of
// its servers.
func (d *Demo) route(path, group string) func(ctx context.Context) (string, bool) {
	return func(ctx context.Context) (string, bool) {
		const n = 6
		servers := map[string]int{}
		groups := map[string]int{}
		for range n {
			r, err := d.client.Get(ctx, d.url(path), nil, "")
			if err != nil {
				return fmt.Sprintf("GET %s: %v", path, err), false
			}
			if r.Status != http.StatusOK {
				return fmt.Sprintf("GET %s: status %d", path, r.Status), false
			}
			groups[r.Group]++
			servers[r.Server]++
		}
		seen := fmt.Sprintf("%d x 200 from %s", n, counts(servers))
		return seen, len(groups) == 1 && groups[group] == n && len(servers) == 2
	}
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		name := k
		if name == "" {
			name = "(none)"
		}
		parts = append(parts, fmt.Sprintf("%s x%d", name, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (d *Demo) cookie(ctx context.Context) (string, bool) {
	r, err := d.client.Get(ctx, d.url("/ms1/demo.html"), nil, "")
	if err != nil {
		return err.Error(), false
	}
	var sticky *http.Cookie
	for _, c := range r.Cookie {
		if c.Name == "HA_STICKY_ms1" {
			sticky = c
		}
	}
	if sticky == nil {
		return fmt.Sprintf("no HA_STICKY_ms1 cookie (Set-Cookie: %q)", r.Header.Values("Set-Cookie")), false
	}
	if sticky.Value != r.Server {
		return fmt.Sprintf("cookie %s=%s but served by %s", sticky.Name, sticky.Value, r.Server), false
	}
	servers := map[string]int{}
	for range 6 {
		r2, err := d.client.Get(ctx, d.url("/ms1/demo.html"), []*http.Cookie{{Name: sticky.Name, Value: sticky.Value}}, "")
		if err != nil {
			return err.Error(), false
		}
		servers[r2.Server]++
	}
	seen := fmt.Sprintf("%s=%s (Cache-Control %q); with it: %s", sticky.Name, sticky.Value, r.Header.Get("Cache-Control"), counts(servers))
	return seen, len(servers) == 1 && servers[sticky.Value] == 6
}

func (d *Demo) webDown(ctx context.Context) (string, bool) {
	off := fileSize(filepath.Join(d.Lab.Dir, "lb1.log"))
	start := time.Now()
	_ = d.webs["web2"].Stop(syscall.SIGTERM, 5*time.Second)
	if err := d.waitLog(ctx, "lb1", off, d.serverNames("web2", "is DOWN"), 10*time.Second); err != nil {
		return "checks did not mark web2 DOWN: " + firstLine(err.Error()), false
	}
	took := time.Since(start)
	servers := map[string]int{}
	failed := 0
	for _, p := range []string{"/ms1/demo.html", "/ms2/demo.html", "/demo.html"} {
		for range 2 {
			r, err := d.client.Get(ctx, d.url(p), nil, "")
			if err != nil || r.Status != http.StatusOK {
				failed++
				continue
			}
			servers[r.Server]++
		}
	}
	web2 := 0
	for _, s := range d.specs["web2"] {
		web2 += servers[s.server]
	}
	seen := fmt.Sprintf("DOWN logged %s after the stop; 6 requests: %s", took.Round(10*time.Millisecond), counts(servers))
	if failed > 0 {
		seen += fmt.Sprintf(", %d failed", failed)
	}
	return seen, failed == 0 && web2 == 0
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func (d *Demo) statsDown(ctx context.Context) (string, bool) {
	url := "http://" + net.JoinHostPort(d.vip.String(), statsPort) + "/stats;csv"
	r, err := d.client.Get(ctx, url, nil, "admin:admin")
	if err != nil {
		return err.Error(), false
	}
	if r.Status != http.StatusOK {
		return fmt.Sprintf("GET /stats;csv: status %d", r.Status), false
	}
	status, err := csvStatus(r.Body)
	if err != nil {
		return err.Error(), false
	}
	ok := true
	var parts []string
	for _, h := range []string{"web1", "web2"} {
		want := "UP"
		if h == "web2" {
			want = "DOWN"
		}
		for _, s := range d.specs[h] {
			got := status[s.group+"/"+s.server]
			parts = append(parts, s.server+" "+got)
			if !strings.HasPrefix(got, want) {
				ok = false
			}
		}
	}
	return strings.Join(parts, ", "), ok
}

// csvStatus reads HAProxy's stats CSV ("# pxname,svname,...,status,...")
// into "pxname/svname" -> status.
func csvStatus(body string) (map[string]string, error) {
	rd := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "# ")))
	rd.FieldsPerRecord = -1
	rows, err := rd.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("parse stats CSV: %w", err)
	}
	if len(rows) == 0 {
		return nil, errors.New("stats CSV is empty")
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	for _, c := range []string{"pxname", "svname", "status"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("stats CSV has no %s column: %q", c, rows[0])
		}
	}
	out := map[string]string{}
	for _, row := range rows[1:] {
		if len(row) <= col["status"] || len(row) <= col["svname"] {
			continue
		}
		out[row[col["pxname"]]+"/"+row[col["svname"]]] = row[col["status"]]
	}
	return out, nil
}

func (d *Demo) webUp(ctx context.Context) (string, bool) {
	off := fileSize(filepath.Join(d.Lab.Dir, "lb1.log"))
	start := time.Now()
	if err := d.startWeb(ctx, "web2"); err != nil {
		return err.Error(), false
	}
	if err := d.waitLog(ctx, "lb1", off, d.serverNames("web2", "is UP"), 10*time.Second); err != nil {
		return "checks did not mark web2 UP: " + firstLine(err.Error()), false
	}
	took := time.Since(start)
	seen, ok := d.route("/ms1/demo.html", "ms1")(ctx)
	return fmt.Sprintf("UP logged %s after the start; %s", took.Round(10*time.Millisecond), seen), ok
}

// failover runs a client loop through the VIP, calls act after a few
// answers, and stops once `to` alone holds the VIP (a leftover on stale
// tolerated) and has answered 10 requests in a row.
func (d *Demo) failover(ctx context.Context, to, stale string, max time.Duration, act func() error) (string, bool) {
	acted := false
	var actErr error
	var at, moved time.Time
	after := map[string]int{}
	streak := 0
	o := d.probe.Loop(ctx, d.url("/demo.html"), probeEvery, 15*time.Second, func(o *Outage, last Reply, ok bool) bool {
		if !acted {
			if o.Requests-o.Failed >= 5 {
				acted, at = true, time.Now()
				actErr = act()
			}
			return actErr != nil
		}
		if moved.IsZero() && d.holdsOnly(to, stale) {
			moved = time.Now()
		}
		if moved.IsZero() {
			return false
		}
		if !ok {
			streak = 0
			return false
		}
		after[last.Via]++
		if last.Via == to {
			streak++
		} else {
			streak = 0
		}
		return streak >= 10
	})
	if actErr != nil {
		return actErr.Error(), false
	}
	if moved.IsZero() {
		return fmt.Sprintf("VIP held by %v after 15s; %d of %d requests failed (%s)", d.holder(), o.Failed, o.Requests, o.FirstErr), false
	}
	seen := fmt.Sprintf("VIP on %s %s after; outage %s (%d of %d requests failed); answers after the move: %s",
		to, moved.Sub(at).Round(10*time.Millisecond), o.Longest.Round(10*time.Millisecond), o.Failed, o.Requests, counts(after))
	return seen, o.Longest < max && streak >= 10
}

func (d *Demo) crash(ctx context.Context) (string, bool) {
	if !d.holdsOnly("lb1", "") {
		return fmt.Sprintf("VIP not on lb1 before the crash: %v", d.holder()), false
	}
	return d.failover(ctx, "lb2", "lb1", crashMax, func() error {
		return d.lbs["lb1"].Stop(syscall.SIGKILL, 5*time.Second)
	})
}

func (d *Demo) preempt(ctx context.Context) (string, bool) {
	return d.failover(ctx, "lb1", "", plannedMax, func() error {
		// The restart is part of the outage window; startLB waits until
		// tandem logged its start.
		return d.startLB(ctx, "lb1")
	})
}

func (d *Demo) ctlFailover(ctx context.Context) (string, bool) {
	if !d.holdsOnly("lb1", "") {
		return fmt.Sprintf("VIP not on lb1 before the failover: %v", d.holder()), false
	}
	sock := filepath.Join(d.Lab.Dir, "lb1.sock")
	return d.failover(ctx, "lb2", "", plannedMax, func() error {
		_, err := d.Lab.Host("lb1").Run(ctx, d.Tandem, "ctl", "-s", sock, "vrrp", "failover", "VI_1")
		return err
	})
}

func (d *Demo) gracefulStop(ctx context.Context) (string, bool) {
	h := d.holder()
	if len(h) != 1 {
		return fmt.Sprintf("VIP held by %v before the stop", h), false
	}
	from, to := h[0], "lb2"
	if from == "lb2" {
		to = "lb1"
	}
	seen, ok := d.failover(ctx, to, "", plannedMax, func() error {
		return d.lbs[from].Stop(syscall.SIGTERM, 5*time.Second)
	})
	return from + " stopped: " + seen, ok
}

// Restore restarts whatever the steps left stopped (a web server, a
// tandem), so that a lab kept up after the demo is whole again.
func (d *Demo) Restore(ctx context.Context) error {
	for _, h := range []string{"web1", "web2"} {
		if p := d.webs[h]; p != nil && p.Exited() {
			if err := d.startWeb(ctx, h); err != nil {
				return err
			}
		}
	}
	for _, n := range Nodes {
		if p := d.lbs[n.Name]; p != nil && p.Exited() {
			if err := d.startLB(ctx, n.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// Stop stops the demo's processes (tandem first, so that the last VIP
// holder says goodbye), leaving the lab itself to Lab.Close.
func (d *Demo) Stop() {
	for _, p := range d.lbs {
		_ = p.Stop(syscall.SIGTERM, 5*time.Second)
	}
	for _, p := range d.webs {
		_ = p.Stop(syscall.SIGTERM, 5*time.Second)
	}
	if d.client != nil {
		d.client.Close()
		d.probe.Close()
	}
}

// Summary writes DESIGN.md's summary: one line per step, then the count.
// It returns the number of failed steps.
func Summary(w io.Writer, results []Result) int {
	width := 0
	for _, r := range results {
		width = max(width, len(r.Step))
	}
	failed := 0
	for _, r := range results {
		verdict := "PASS"
		if !r.Pass {
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(w, "%s  %-*s  expected: %s  seen: %s\n", verdict, width, r.Step, r.Expected, r.Seen)
	}
	fmt.Fprintf(w, "demo: %d passed, %d failed\n", len(results)-failed, failed)
	return failed
}
