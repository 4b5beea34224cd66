package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// Load shape: workers and the pause between one worker's requests.
const (
	httpWorkers, httpEvery = 8, 2 * time.Millisecond
	tlsWorkers, tlsEvery   = 4, 5 * time.Millisecond
	tcpWorkers, tcpEvery   = 2, 5 * time.Millisecond
)

// Around a VRRP move, client failures count against the move (bounded by
// one second's worth of requests) from window before the command to
// windowAfter after it; outside every window none may fail.
const (
	windowBefore = 500 * time.Millisecond
	windowAfter  = 6 * time.Second
	// hungAfter tells a request that was in flight on the old master (its
	// packets go nowhere; the client gives up at its timeout) from one
	// that waited for the new master.
	hungAfter = 5 * time.Second
)

var kinds = []string{"http", "tls", "tcp"}

// move is one VRRP failover during the soak.
type move struct {
	from, to *node
	at       time.Time
	took     time.Duration // until the VIP was on the new master only
	err      error
	fails    int           // client requests failed fast in its window
	hung     int           // client requests in flight on the old master, failed at the client's timeout
	slow     int           // client requests slower than slowAfter in its window
	outage   time.Duration // first affected (not hung) request's start to the last one's end
	first    time.Time     // start of the first affected request
	last     time.Time     // end of the last one
	failed   []event       // the first few failures, for the report
}

func run() error {
	dur := 2 * time.Minute
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("SOAK_DURATION %q: %w", s, err)
		}
		dur = d
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := os.MkdirTemp("", "tandem-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := binary(dir)
	if err != nil {
		return err
	}

	// Where things live: all on loopback, or the VRRP lab (two nodes, the
	// backends in a web namespace, the load from a client namespace
	// through the VIP).
	var l *lab
	vrrpSkipped := labAvailable()
	if vrrpSkipped == nil {
		if l, err = newLab(); err != nil {
			return fmt.Errorf("build the VRRP lab: %w", err)
		}
		defer func() {
			if err := l.close(); err != nil {
				fmt.Fprintln(os.Stderr, "soak: remove the lab:", err)
			}
		}()
	}
	listen := func(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
	var dial dialFunc = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	backendAddr := func(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
	if l != nil {
		listen = l.hosts["web"].listen
		dial = l.hosts["client"].dialContext
		backendAddr = func(port int) string { return fmt.Sprintf("%s:%d", labAddrs["web"].Addr(), port) }
	}
	port := func(fixed int) (int, error) {
		if l != nil {
			return fixed, nil // a fresh namespace: nothing else listens
		}
		return freePort()
	}

	// Backends: three HTTP servers that flap, two TCP echo servers.
	var web []*flapper
	for i := range 3 {
		p, err := port(8001 + i)
		if err != nil {
			return err
		}
		f, err := newFlapper(fmt.Sprintf("s%d", i+1), backendAddr(p), listen)
		if err != nil {
			return err
		}
		defer f.stop()
		web = append(web, f)
	}
	var echo []string
	for i := range 2 {
		p, err := port(7001 + i)
		if err != nil {
			return err
		}
		ln, err := listen(backendAddr(p))
		if err != nil {
			return fmt.Errorf("echo server: %w", err)
		}
		defer ln.Close()
		go echoServer(ln)
		echo = append(echo, ln.Addr().String())
	}
	var ports [3]int
	for i := range ports {
		if ports[i], err = port(8080 + i); err != nil {
			return err
		}
	}
	httpPort, tcpPort, tlsPort := ports[0], ports[1], ports[2]
	front, bindHost := "127.0.0.1", "127.0.0.1"
	if l != nil {
		front, bindHost = labVIP.Addr().String(), "*" // the VIP comes and goes: bind the wildcard
	}
	certFile, keyFile, certPEM, err := selfSigned(dir, net.ParseIP("127.0.0.1"), net.ParseIP(labVIP.Addr().String()))
	if err != nil {
		return err
	}

	// Nodes: one on loopback, or lb1 (master, 101) and lb2 (backup, 100).
	var nodes []*node
	if l == nil {
		p, err := freePort()
		if err != nil {
			return err
		}
		nodes = []*node{newNode("tandem", nil, bin, dir, p)}
	} else {
		nodes = []*node{newNode("lb1", l.hosts["lb1"], bin, dir, 9901), newNode("lb2", l.hosts["lb2"], bin, dir, 9901)}
	}
	config := func(n *node, i int) string {
		balance := []string{"roundrobin", "leastconn", "random"}[i%3]
		c := fmt.Sprintf(`
[global]
maxconn = 2000
admin_socket = %q
hard_stop_after = "10s"

[log]
target = "stderr"
traffic = false

[defaults]
timeout_connect = "1s"
timeout_client = "10s"
timeout_server = "10s"
retries = 3
redispatch = true

[[frontend]]
name = "web"
bind = ["%s:%d"]
default_backend = "app"

[[backend]]
name = "app"
balance = %q
check = { type = "tcp", inter = "300ms", rise = 2, fall = 1 }
server = [
`, n.sock, bindHost, httpPort, balance)
		for j, f := range web {
			c += fmt.Sprintf("  { name = \"s%d\", address = %q, check = true, weight = %d },\n", j+1, f.addr, 1+(i+j)%3)
		}
		c += fmt.Sprintf(`]

[[frontend]]
name = "tcp-in"
mode = "tcp"
bind = ["%s:%d"]
default_backend = "echo"

[[backend]]
name = "echo"
mode = "tcp"
balance = "source"
server = [ { name = "e1", address = %q }, { name = "e2", address = %q } ]

[[frontend]]
name = "tls-in"
bind = ["%s:%d"]
default_backend = "app"

[frontend.tls]
certificates = [ { cert = %q, key = %q } ]
min_version = "1.2"
`, bindHost, tcpPort, echo[0], echo[1], bindHost, tlsPort, certFile, keyFile)
		if l != nil {
			state, prio := "master", 101
			if n.name != "lb1" {
				state, prio = "backup", 100
			}
			c += fmt.Sprintf(`
[[vrrp.instance]]
name = "VI_1"
interface = %q
state = %q
virtual_router_id = 51
priority = %d
advert_int = "1s"
auth_pass = "soak"
virtual_ipaddress = [%q]
`, labLink, state, prio, labVIP.String())
		}
		return c
	}
	for _, n := range nodes {
		defer n.stop()
		if err := n.start(config(n, 0)); err != nil {
			return err
		}
	}
	if l != nil {
		lb1 := nodes[0]
		if err := waitUntil(15*time.Second, func() bool { return lb1.host.hasAddr(labVIP.Addr()) }); err != nil {
			return fmt.Errorf("lb1 did not take the VIP: %w\n%s", err, tail(lb1.out.String(), 30))
		}
	}
	// Baseline once every server is UP and the checks are running.
	time.Sleep(2 * time.Second)
	for _, n := range nodes {
		if n.before, err = n.debug(); err != nil {
			return fmt.Errorf("%s: read the debug endpoint: %w", n.name, err)
		}
		n.rssBeforeKiB = n.rss()
	}
	where := "on loopback (VRRP part skipped: " + fmt.Sprint(vrrpSkipped) + ")"
	if l != nil {
		where = fmt.Sprintf("through VIP %s of lb1 (pid %d) and lb2 (pid %d) in lab %s, failovers at %v and %v",
			labVIP.Addr(), nodes[0].pid, nodes[1].pid, l.id, (dur / 3).Round(time.Second), (2 * dur / 3).Round(time.Second))
	} else {
		where += fmt.Sprintf(" (tandem pid %d)", nodes[0].pid)
	}
	fmt.Printf("soak: %v of mixed HTTP/TLS/TCP load, reloads every 3 s, server flaps every 4 s, %s\n", dur, where)

	// Load.
	start := time.Now()
	lctx, stopLoad := context.WithTimeout(ctx, dur)
	defer stopLoad()
	rec := newRecorder(kinds...)
	var wg sync.WaitGroup
	httpLoad(lctx, &wg, rec, "http", httpWorkers, httpEvery, fmt.Sprintf("http://%s:%d/", front, httpPort), dial, nil)
	httpLoad(lctx, &wg, rec, "tls", tlsWorkers, tlsEvery, fmt.Sprintf("https://%s:%d/", front, tlsPort), dial, certPEM)
	tcpLoad(lctx, &wg, rec, tcpWorkers, tcpEvery, fmt.Sprintf("%s:%d", front, tcpPort), dial)

	// Reloads, flaps and failovers until the load ends.
	reloadTick := time.NewTicker(3 * time.Second)
	flapTick := time.NewTicker(4 * time.Second)
	defer reloadTick.Stop()
	defer flapTick.Stop()
	var failoverAt <-chan time.Time
	if l != nil {
		failoverAt = time.After(dur / 3)
	}
	var moves []*move
	reloads, invalidReloads, flaps := 0, 0, 0
	exited := make(chan *node, len(nodes))
	for _, n := range nodes {
		go func() {
			select {
			case <-n.exited:
				exited <- n
			case <-lctx.Done():
			}
		}()
	}
loop:
	for {
		select {
		case <-lctx.Done():
			break loop
		case n := <-exited:
			stopLoad()
			wg.Wait()
			return fmt.Errorf("%s exited during the soak:\n%s", n.name, tail(n.out.String(), 30))
		case <-reloadTick.C:
			reloads++
			invalid := reloads%4 == 0
			if invalid {
				invalidReloads++
			}
			for _, n := range nodes {
				cfg := config(n, reloads)
				if invalid {
					cfg += "\n[[backend]]\nname = \"app\"\n"
				}
				n.reload(cfg)
			}
		case <-flapTick.C:
			f := web[flaps%len(web)]
			flaps++
			f.flap(1500 * time.Millisecond)
		case <-failoverAt:
			m := &move{from: nodes[0], to: nodes[1]}
			if len(moves) == 1 {
				m.from, m.to = nodes[1], nodes[0]
			}
			moves = append(moves, m)
			m.failover()
			if len(moves) == 1 {
				failoverAt = time.After(time.Until(start.Add(2 * dur / 3)))
			}
		}
	}
	wg.Wait()
	for _, f := range web {
		f.waitUp()
	}

	// Settle: old generations drain, idle server connections age out (4 s),
	// client connections left on a former master time out (10 s).
	var settled []error
	for _, n := range nodes {
		err := waitUntil(30*time.Second, func() bool {
			var err error
			n.after, err = n.debug()
			return err == nil && n.after.Goroutines <= n.before.Goroutines+5 && n.after.FDs <= n.before.FDs+5
		})
		settled = append(settled, err)
		n.rssAfterKiB = n.rss()
	}

	// Set the failed and slow requests against the moves: an event belongs
	// to the first move whose window it overlaps.
	var outside []event
	for _, e := range rec.events {
		var in *move
		for _, m := range moves {
			if !e.end.Before(m.at.Add(-windowBefore)) && e.start.Before(m.at.Add(windowAfter)) {
				in = m
				break
			}
		}
		if in == nil {
			if e.failed {
				outside = append(outside, e)
			}
			continue
		}
		switch {
		case e.end.Sub(e.start) >= hungAfter:
			in.hung++
		case e.failed:
			in.fails++
		default:
			in.slow++
		}
		if e.failed && len(in.failed) < 5 {
			in.failed = append(in.failed, e)
		}
		if e.end.Sub(e.start) >= hungAfter {
			continue // not part of the gap: it measures the client's timeout
		}
		if in.first.IsZero() || e.start.Before(in.first) {
			in.first = e.start
		}
		if e.end.After(in.last) {
			in.last = e.end
		}
		in.outage = in.last.Sub(in.first)
	}
	var total int64
	for _, k := range kinds {
		total += rec.total(k)
	}
	perSecond := int(float64(total) / time.Since(start).Seconds())

	var checks []string
	bad := 0
	check := func(ok bool, format string, a ...any) {
		s := "PASS  "
		if !ok {
			s = "FAIL  "
			bad++
		}
		checks = append(checks, s+fmt.Sprintf(format, a...))
	}
	for _, n := range nodes {
		check(n.reloadErr == nil, "%s: every reload finished (%v)", n.name, n.reloadErr)
		d, f := n.reloads()
		check(d == reloads-invalidReloads && f == invalidReloads, "%s: reloads: %d done, %d invalid refused (of %d sent, %d invalid)", n.name, d, f, reloads, invalidReloads)
	}
	outsideBy := map[string]int{}
	for _, e := range outside {
		outsideBy[e.kind]++
	}
	for _, k := range kinds {
		check(outsideBy[k] == 0, "%s requests failed outside failovers: %d of %d (%d failed in all)", strings.ToUpper(k), outsideBy[k], rec.total(k), rec.fail[k].Load())
	}
	for i, m := range moves {
		check(m.err == nil, "failover %d %s -> %s: VIP moved in %v (%v)", i+1, m.from.name, m.to.name, m.took.Round(time.Millisecond), m.err)
		check(m.fails+m.hung <= perSecond, "failover %d: client requests failed: %d fast, %d in flight on the old master (timed out); %d slow (> %v); outage %v (allowed: 1 s of requests = %d failed)",
			i+1, m.fails, m.hung, m.slow, slowAfter, m.outage.Round(time.Millisecond), perSecond)
	}
	for i, n := range nodes {
		check(settled[i] == nil, "%s: goroutines %d -> %d, open files %d -> %d (allowed +5)", n.name, n.before.Goroutines, n.after.Goroutines, n.before.FDs, n.after.FDs)
		check(n.rssAfterKiB <= 2*n.rssBeforeKiB+64<<10, "%s: RSS %d KiB -> %d KiB (heap %d -> %d KiB)", n.name, n.rssBeforeKiB, n.rssAfterKiB, n.before.HeapAlloc>>10, n.after.HeapAlloc>>10)
	}
	// Counters: the frontends of all nodes against the clients. Around a
	// move a request can be counted by no node (reset by the new master's
	// kernel) or twice (Go's transport retries an idempotent request whose
	// reused connection broke): at most one per failed request plus one
	// per worker and move.
	counters := []struct{ kind, frontend, col string }{{"http", "web", "req_tot"}, {"tls", "tls-in", "req_tot"}, {"tcp", "tcp-in", "stot"}}
	workers := map[string]int{"http": httpWorkers, "tls": tlsWorkers, "tcp": tcpWorkers}
	for _, c := range counters {
		var sum int64
		var parts []string
		for _, n := range nodes {
			v := n.stat(c.frontend, "FRONTEND", c.col)
			sum += v
			parts = append(parts, fmt.Sprintf("%s %d", n.name, v))
		}
		slack := int64(0)
		if len(moves) > 0 {
			slack = rec.fail[c.kind].Load() + int64(workers[c.kind]*len(moves))
		}
		diff := sum - rec.total(c.kind)
		check(diff <= slack && -diff <= slack, "frontend %s %s %d (%s) = client %s requests %d (off by %d, allowed %d)",
			c.frontend, c.col, sum, strings.Join(parts, " + "), strings.ToUpper(c.kind), rec.total(c.kind), diff, slack)
	}

	fmt.Printf("soak: %d HTTP requests, %d TLS requests, %d TCP sessions (%d/s), %d reloads (%d invalid), %d server flaps, %d failovers in %v\n",
		rec.total("http"), rec.total("tls"), rec.total("tcp"), perSecond, reloads, invalidReloads, flaps, len(moves), dur)
	if l == nil {
		fmt.Println("soak: VRRP failover skipped:", vrrpSkipped)
	}
	for _, c := range checks {
		fmt.Println(c)
	}
	for i, m := range moves {
		for _, e := range m.failed {
			fmt.Printf("  failover %d: %s %s (%v after the command, took %v): %s\n", i+1, e.kind, e.end.Format("15:04:05.000"),
				e.end.Sub(m.at).Round(time.Millisecond), e.end.Sub(e.start).Round(time.Millisecond), e.msg)
		}
	}
	for i, e := range outside {
		if i == 20 {
			fmt.Printf("  ... %d more\n", len(outside)-20)
			break
		}
		fmt.Printf("  failure: %s %s: %s\n", e.end.Format("15:04:05.000"), e.kind, e.msg)
	}
	// SOAK_OUTPUT=FILE keeps tandem's whole output for a look afterwards.
	if path := os.Getenv("SOAK_OUTPUT"); path != "" {
		var b strings.Builder
		for _, n := range nodes {
			fmt.Fprintf(&b, "=== %s ===\n%s", n.name, n.out.String())
		}
		_ = os.WriteFile(path, []byte(b.String()), 0o644)
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	if bad > 0 {
		for _, n := range nodes {
			fmt.Printf("--- %s output (tail) ---\n", n.name)
			fmt.Println(tail(n.out.String(), 40))
		}
		return fmt.Errorf("%d check(s) failed", bad)
	}
	return nil
}

// failover asks the master to step down (`tandem ctl vrrp failover`) and
// waits until the VIP is on the other node only.
func (m *move) failover() {
	m.at = time.Now()
	if _, err := m.from.ctl("vrrp", "failover", "VI_1"); err != nil {
		m.err = err
		return
	}
	vip := labVIP.Addr()
	if err := waitUntil(10*time.Second, func() bool { return m.to.host.hasAddr(vip) && !m.from.host.hasAddr(vip) }); err != nil {
		m.err = fmt.Errorf("VIP not on %s alone: %w", m.to.name, err)
	}
	m.took = time.Since(m.at)
}

// binary is $TANDEM_BIN or a fresh build of ./cmd/tandem.
func binary(dir string) (string, error) {
	if p := os.Getenv("TANDEM_BIN"); p != "" {
		return filepath.Abs(p)
	}
	p := filepath.Join(dir, "tandem")
	cmd := exec.Command("go", "build", "-o", p, "./cmd/tandem")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/tandem: %w\n%s", err, out)
	}
	return p, nil
}

// flapper is an HTTP server whose listener goes away and comes back; its
// in-flight requests always finish (graceful shutdown).
type flapper struct {
	name, addr string
	listen     func(string) (net.Listener, error)
	mu         sync.Mutex
	srv        *http.Server
	up         chan struct{}
}

func newFlapper(name, addr string, listen func(string) (net.Listener, error)) (*flapper, error) {
	f := &flapper{name: name, addr: addr, listen: listen, up: make(chan struct{})}
	if err := f.start(); err != nil {
		return nil, fmt.Errorf("server %s: %w", name, err)
	}
	return f, nil
}

func (f *flapper) start() error {
	ln, err := f.listen(f.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s\n", f.name, r.URL.Path)
	})}
	f.mu.Lock()
	f.srv = srv
	close(f.up)
	f.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// flap shuts the server down gracefully and starts it again after down.
func (f *flapper) flap(down time.Duration) {
	f.mu.Lock()
	srv := f.srv
	if srv == nil {
		f.mu.Unlock()
		return
	}
	f.srv = nil
	f.up = make(chan struct{})
	f.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		time.Sleep(down)
		for f.start() != nil {
			time.Sleep(50 * time.Millisecond) // port not free yet: retry
		}
	}()
}

func (f *flapper) waitUp() {
	f.mu.Lock()
	up := f.up
	f.mu.Unlock()
	<-up
}

func (f *flapper) stop() {
	f.mu.Lock()
	srv := f.srv
	f.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// echoServer echoes each TCP connection of ln until its peer closes.
func echoServer(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, c)
		}()
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitUntil(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
