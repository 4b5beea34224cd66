package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/lb"
	"github.com/tandemlb/tandem/stats"
	"github.com/tandemlb/tandem/vrrp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want []Command
	}{
		{"show info", []Command{{"show", "info"}}},
		{"  show   stat \t", []Command{{"show", "stat"}}},
		{"show info;show stat", []Command{{"show", "info"}, {"show", "stat"}}},
		{"set server app/s1 state drain ; show servers state app\r", []Command{{"set", "server", "app/s1", "state", "drain"}, {"show", "servers", "state", "app"}}},
		{`set server my\ app/s1 weight 3`, []Command{{"set", "server", "my app/s1", "weight", "3"}}},
		{`a\;b;c`, []Command{{"a;b"}, {"c"}}},
		{`x\\`, []Command{{`x\`}}},
		{`trailing\`, []Command{{`trailing\`}}},
		{";;; ;", nil},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := Parse(tt.line)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.line, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.line, diff)
		}
	}
	if _, err := Parse(strings.Repeat("w ", MaxWords+1)); err == nil {
		t.Errorf("Parse of %d words: no error", MaxWords+1)
	}
	if _, err := Parse(strings.Repeat("x", MaxLine+1)); err == nil {
		t.Errorf("Parse of a line over MaxLine: no error")
	}
}

// fakeSource is a stats.Source over a fake proxy.
type fakeProxy struct {
	srv     map[string]*health.Server
	hb      *health.Backend
	cleared []string
}

func newFakeProxy() *fakeProxy {
	s1 := health.NewServer("app/s1", true, false, 0, 1)
	s2 := health.NewServer("app/s2", false, false, 0, 2)
	return &fakeProxy{srv: map[string]*health.Server{"app/s1": s1, "app/s2": s2}, hb: health.NewBackend("app", []*health.Server{s1, s2}, nil)}
}

func (p *fakeProxy) Snapshot() lb.Snapshot {
	b := lb.BackendSnapshot{Name: "app"}
	b.ActiveUp, b.BackupUp = p.hb.Counts()
	for i, name := range []string{"s1", "s2"} {
		h := p.srv["app/"+name]
		b.Servers = append(b.Servers, lb.ServerSnapshot{Name: name, Addr: "127.0.0.1:808" + string(rune('1'+i)), Weight: h.Weight(), Health: h.Snapshot()})
	}
	return lb.Snapshot{Frontends: []lb.FrontendSnapshot{{Name: "http-in", Open: true}}, Backends: []lb.BackendSnapshot{b}}
}

func (p *fakeProxy) Server(b, s string) *health.Server { return p.srv[b+"/"+s] }

// The fake proxy has one stick table, of backend "app".
func (p *fakeProxy) ShowTable(dst []byte, name string) ([]byte, bool) {
	switch name {
	case "":
		return append(dst, "# table: app, type: ip, size:100, used:1\n"...), true
	case "app":
		return append(dst, "# table: app, type: ip, size:100, used:1\n0x1: key=127.0.0.2 use=0 exp=1000 server_id=1 server_key=s1\n"...), true
	}
	return dst, false
}

func (p *fakeProxy) ClearTable(name string) bool {
	p.cleared = append(p.cleared, name)
	return name == "app"
}

type fakeVRRP struct{ master bool }

func (f *fakeVRRP) Instances() []stats.VRRPInstance {
	st := vrrp.StateBackup
	if f.master {
		st = vrrp.StateMaster
	}
	return []stats.VRRPInstance{{Snapshot: vrrp.Snapshot{Name: "VI_1", Interface: "eth1", VRID: 51, State: st, Priority: 100, Configured: 100}}}
}

func (f *fakeVRRP) Failover(name string) error {
	switch {
	case name != "VI_1":
		return stats.ErrNoInstance
	case !f.master:
		return vrrp.ErrNotMaster
	}
	f.master = false
	return nil
}

func newSource(p *fakeProxy, v stats.VRRP) *stats.Source {
	return stats.NewSource(stats.SourceOptions{
		Proxy:   p,
		Config:  lb.Config{Backends: []lb.BackendConfig{{Name: "app", Servers: []lb.ServerConfig{{Name: "s1", Weight: 1}, {Name: "s2", Weight: 2}}}}},
		VRRP:    v,
		Process: stats.Process{Version: "1.0", PID: 77, MaxConn: 100, Node: "lb1"},
	})
}

// run sends one line through ServeConn and returns what it wrote.
func run(t *testing.T, src Source, line string) string {
	t.Helper()
	var out bytes.Buffer
	s := NewServer(src, zerolog.Nop())
	s.ServeConn(&rw{r: strings.NewReader(line), w: &out}, "test")
	return out.String()
}

type rw struct {
	r *strings.Reader
	w *bytes.Buffer
}

func (c *rw) Read(b []byte) (int, error)  { return c.r.Read(b) }
func (c *rw) Write(b []byte) (int, error) { return c.w.Write(b) }

func TestCommands(t *testing.T) {
	t.Parallel()
	p := newFakeProxy()
	v := &fakeVRRP{master: true}
	src := newSource(p, v)
	tests := []struct {
		line string
		want string // exact answer, or a prefix when it ends with "…"
	}{
		{"set server app/s1 state drain\n", "\n"},
		{"set server app/s1 state bogus\n", "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"},
		{"set server app/s9 state drain\n", "No such server.\n\n"},
		{"set server nobk/s1 state drain\n", "No such backend.\n\n"},
		{"set server app state ready\n", "Require 'backend/server'.\n\n"},
		{"set server app/s2 weight 999\n", "Absolute weight can only be between 0 and 256 inclusive.\n\n"},
		{"set server app/s2 weight x\n", "Require <weight>: a number from 0 to 256.\n\n"},
		{"set server app/s2 weight 5\n", "\n"},
		{"get weight app/s2\n", "5 (initial 2)\n\n"},
		{"disable server app/s2\n", "\n"},
		{"set severity-output number;show servers state app\n", "\n1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight…"},
		{"set severity-output number;foo\n", "\n[3]: Unknown command: 'foo'. Type 'help' for the list of commands.\n\n"},
		{"set severity-output string;set server app/s2 weight 999\n", "\n[err]: Absolute weight can only be between 0 and 256 inclusive.\n\n"},
		{"show table\n", "# table: app, type: ip, size:100, used:1\n\n"},
		{"show table app\n", "# table: app, type: ip, size:100, used:1\n0x1: key=127.0.0.2 use=0 exp=1000 server_id=1 server_key=s1\n\n"},
		{"show table nope\n", "No such table: nope.\n\n"},
		{"clear table app\n", "\n"},
		{"clear table nope\n", "No such table: nope.\n\n"},
		{"clear table\n", "usage: clear table <name>\n\n"},
		{"reload\n", "reload is not supported here.\n\n"},
		{"reload now\n", "usage: reload\n\n"},
		{"show info\n", "Name: tandem\nVersion: 1.0\n…"},
		{"show stat\n", "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,…"},
		{"show vrrp\n", "# instance interface vrid state priority configured_priority master vips since_last_transition adverts_sent adverts_received became_master\nVI_1 eth1 51 MASTER 100 100 - - -1 0 0 0\n\n"},
		{"vrrp failover VI_1\n", "\n"},
		{"vrrp failover VI_1\n", "VRRP instance VI_1 is not master on this node; nothing to fail over.\n\n"},
		{"vrrp failover VI_9\n", "No such VRRP instance.\n\n"},
		{"vrrp\n", "usage: vrrp failover <instance>\n\n"},
		{"help\n", "The following commands are valid at this level:\n…"},
		{"\n", "Empty command. Type 'help' for the list of commands.\n\n"},
		{"show info\nshow stat\n", "Name: tandem\n…"}, // not in prompt mode: one line only
		{"prompt\nshow vrrp\nquit\n", "\n> # instance…"},
	}
	for _, tt := range tests {
		got := run(t, src, tt.line)
		if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
			if !strings.HasPrefix(got, prefix) {
				t.Errorf("%q:\n got %q\nwant prefix %q", tt.line, got, prefix)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.line, got, tt.want)
		}
	}
	if a := p.srv["app/s1"].Admin(); a != health.Drain {
		t.Errorf("s1 admin = %v, want DRAIN", a)
	}
	if a := p.srv["app/s2"].Admin(); a != health.Maint {
		t.Errorf("s2 admin = %v, want MAINT", a)
	}
	state := run(t, src, "show servers state\n")
	lines := strings.Split(strings.TrimSpace(state), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[2], "2 app 1 s1 127.0.0.1 2 8 1 1 ") || !strings.HasPrefix(lines[3], "2 app 2 s2 127.0.0.1 0 1 5 2 ") {
		t.Errorf("show servers state:\n%s", state)
	}
	if got := run(t, src, "show info\nshow stat\n"); strings.Contains(got, "pxname") {
		t.Errorf("second line answered outside prompt mode")
	}
	if got := run(t, src, "prompt\nshow info\nquit\nshow stat\n"); strings.Contains(got, "pxname") || !strings.Contains(got, "Name: tandem") {
		t.Errorf("prompt mode: %q", got)
	}
	if got := run(t, src, strings.Repeat("x", MaxLine+10)+"\n"); !strings.HasPrefix(got, "Command line too long") {
		t.Errorf("long line: %q", truncate(got, 100))
	}
}

// FuzzCommand feeds arbitrary lines to the parser and the executor: no
// panic, and every answer ends with the empty line.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{"show info", "set server app/s1 state drain;show stat", `a\;b`, "set server / weight -1",
		"get weight app/", "vrrp failover", "set severity-output number;set weight app/s1 9", "prompt", "show servers state x y"} {
		f.Add(s)
	}
	src := newSource(newFakeProxy(), &fakeVRRP{})
	f.Fuzz(func(t *testing.T, line string) {
		cmds, err := Parse(line)
		if err != nil {
			return
		}
		for _, c := range cmds {
			if len(c) == 0 {
				t.Fatalf("Parse(%q) returned an empty command", line)
			}
		}
		if strings.ContainsAny(line, "\n") {
			return
		}
		out := run(t, src, line+"\n")
		if out != "" && !strings.HasSuffix(out, "\n") && !strings.HasSuffix(out, "\n> ") {
			t.Fatalf("answer to %q does not end with a newline: %q", line, out)
		}
	})
}

func TestSocketLifecycle(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "run", "tandem")
	path := filepath.Join(dir, "admin.sock")
	src := newSource(newFakeProxy(), nil)

	// A stale socket (bound, then its listener gone without unlinking).
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	if _, err := Query(context.Background(), path, "show info"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Query on a stale socket: %v, want ErrNotRunning", err)
	}

	s := NewServer(src, zerolog.Nop())
	if err := s.Listen(path); err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o755 {
		t.Errorf("directory mode %v, want 0755", di.Mode().Perm())
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	var serveErr error
	go func() {
		defer wg.Done()
		serveErr = s.Serve(ctx)
	}()

	// A second server on the same live socket is refused.
	if err := NewServer(src, zerolog.Nop()).Listen(path); !errors.Is(err, ErrInUse) {
		t.Errorf("second Listen: %v, want ErrInUse", err)
	}

	r, err := Query(context.Background(), path, "show info")
	if err != nil || r.Failed() || !strings.Contains(r.Text, "Name: tandem") {
		t.Errorf("Query show info = %+v, %v", r, err)
	}
	r, err = Query(context.Background(), path, "set server app/s1 state drain; set server app/zz state drain")
	if err != nil || !r.Failed() || !cmp.Equal(r.Errors, []string{"No such server."}) {
		t.Errorf("Query with one failing command = %+v, %v", r, err)
	}

	// A prompt-mode client idling on the socket does not hold up shutdown.
	idle, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := idle.Write([]byte("prompt\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(buf); err != nil {
		t.Fatal(err)
	}

	cancel()
	wg.Wait()
	if serveErr != nil {
		t.Errorf("Serve: %v", serveErr)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket still there after Serve returned: %v", err)
	}
	if _, err := Query(context.Background(), path, "show info"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Query after stop: %v, want ErrNotRunning", err)
	}
}

func TestListenRefusesNonSocket(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "admin.sock")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := NewServer(nil, zerolog.Nop()).Listen(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen on a regular file: %v", err)
	}
}

// reloadSource is a Source that can reload, as the running app's is.
type reloadSource struct {
	Source
	err   error
	calls []string
}

func (r *reloadSource) Reload(who string) error {
	r.calls = append(r.calls, who)
	return r.err
}

func TestReloadCommand(t *testing.T) {
	t.Parallel()
	src := &reloadSource{Source: newSource(newFakeProxy(), nil)}
	if got := run(t, src, "reload\n"); got != "Reload done: the new configuration is running.\n\n" {
		t.Errorf("reload: %q", got)
	}
	src.err = errors.New("tandem.toml:3:1: unknown key \"x\"")
	if got := run(t, src, "reload\n"); got != "Reload failed: tandem.toml:3:1: unknown key \"x\"\n\n" {
		t.Errorf("failed reload: %q", got)
	}
	if len(src.calls) != 2 {
		t.Errorf("Reload called %d times, want 2", len(src.calls))
	}
}

// A server change reaches the peer unless the command ends with --local.
func TestLocalChangesAreNotReplicated(t *testing.T) {
	t.Parallel()
	var replicated []string
	src := stats.NewSource(stats.SourceOptions{
		Proxy:  newFakeProxy(),
		Config: lb.Config{Backends: []lb.BackendConfig{{Name: "app", Servers: []lb.ServerConfig{{Name: "s1", Weight: 1}, {Name: "s2", Weight: 2}}}}},
		OnServerChange: func(b, s string, a health.AdminState, w int) {
			replicated = append(replicated, fmt.Sprintf("%s/%s %s %d", b, s, a, w))
		},
	})
	for _, line := range []string{
		"set server app/s1 state drain\n",
		"set server app/s1 state ready --local\n",
		"set server app/s2 weight 7 --local\n",
		"set server app/s2 weight 9\n",
		"disable server app/s2 --local\n",
		"enable server app/s2\n",
	} {
		if got := run(t, src, line); got != "\n" {
			t.Errorf("%q: %q", line, got)
		}
	}
	want := []string{
		"app/s1 " + health.Drain.String() + " 1",
		"app/s2 " + health.Ready.String() + " 9",
		"app/s2 " + health.Ready.String() + " 9",
	}
	if diff := cmp.Diff(want, replicated); diff != "" {
		t.Errorf("replicated changes (-want +got):\n%s", diff)
	}
	if got := run(t, src, "disable health app/s1 --local\n"); !strings.HasPrefix(got, "usage:") {
		t.Errorf("--local on health: %q", got)
	}
}
