// Command demo is `make demo`: the seed article's failover walkthrough in
// network namespaces (see package vagrant/demo). It needs root and
// iproute2, builds the lab, runs every step, prints a PASS/FAIL summary,
// removes everything it created (also on Ctrl-C) and exits 1 if any step
// failed. With -keep the lab stays up for a look around; `demo -down DIR`
// removes it later.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tandemlb/tandem/vagrant/demo"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tandem := fs.String("tandem", "bin/tandem", "tandem `binary` (built with go build when missing)")
	demoweb := fs.String("demoweb", "bin/demoweb", "demoweb `binary` (built with go build when missing)")
	seed := fs.String("seed", "deploy/examples/seed.toml", "seed `configuration` the nodes' files are generated from")
	keep := fs.Bool("keep", false, "leave the lab up at the end (remove it with -down DIR)")
	down := fs.String("down", "", "remove the lab kept in `DIR` (processes in its namespaces, the namespaces) and exit")
	logs := fs.Bool("logs", false, "keep the lab's directory (logs, generated configurations) after removing the lab (also with -down)")
	parent := fs.String("dir", "", "parent `directory` of the lab's directory (default: the temp dir)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := demo.Available(); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	if *down != "" {
		if err := demo.Down(*down); err != nil {
			fmt.Fprintf(stderr, "demo: remove lab %s: %v\n", *down, err)
			return 1
		}
		if *logs {
			fmt.Fprintf(stdout, "demo: lab %s removed, logs kept\n", *down)
			return 0
		}
		if !strings.HasPrefix(filepath.Base(filepath.Clean(*down)), "tandem-demo-tdm") {
			fmt.Fprintf(stdout, "demo: lab removed; %s is not named like a lab directory, left in place\n", *down)
			return 0
		}
		if err := os.RemoveAll(*down); err != nil {
			fmt.Fprintf(stderr, "demo: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "demo: lab %s removed\n", *down)
		return 0
	}
	seedText, err := os.ReadFile(*seed)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v (run from the repository root)\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	began := time.Now()
	fmt.Fprintln(stdout, "== building the lab")
	lab, err := demo.NewLab(*parent)
	if err != nil {
		fmt.Fprintf(stderr, "demo: build the lab: %v\n", err)
		return 1
	}
	d := &demo.Demo{Lab: lab, Seed: seedText, Out: stdout}
	teardown := func() {
		if *keep {
			if ctx.Err() == nil {
				if err := d.Restore(ctx); err != nil {
					fmt.Fprintf(stderr, "demo: restart what the steps stopped: %v\n", err)
				}
			}
			lab.Detach()
			printKeep(stdout, lab)
			return
		}
		d.Stop()
		switch err := lab.Close(); {
		case err != nil:
			fmt.Fprintf(stderr, "demo: remove the lab: %v\n", err)
		case *logs:
			fmt.Fprintf(stdout, "== lab %s removed, logs kept in %s\n", lab.ID, lab.Dir)
		default:
			if err := lab.RemoveDir(); err != nil {
				fmt.Fprintf(stderr, "demo: %v\n", err)
			}
			fmt.Fprintf(stdout, "== lab %s removed (run with -logs to keep its logs)\n", lab.ID)
		}
	}
	defer teardown()
	for _, h := range lab.Hosts() {
		fmt.Fprintf(stdout, "   %-6s %-15s namespace %s\n", h.Name, h.Addr, h.NS)
	}
	if d.Tandem, err = binary(ctx, *tandem, "./cmd/tandem", lab.Dir); err == nil {
		d.Demoweb, err = binary(ctx, *demoweb, "./cmd/demoweb", lab.Dir)
	}
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	if err := d.Setup(ctx); err != nil {
		fmt.Fprintf(stderr, "demo: setup: %v\n", err)
		return 1
	}
	steps := d.Steps()
	var results []demo.Result
	for i, s := range steps {
		if ctx.Err() != nil {
			break
		}
		fmt.Fprintf(stdout, "== [%d/%d] %s\n   expected: %s\n", i+1, len(steps), s.Name, s.Expected)
		r := d.RunStep(ctx, s)
		verdict := "PASS"
		if !r.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(stdout, "   %s  seen: %s\n", verdict, r.Seen)
		results = append(results, r)
	}
	fmt.Fprintln(stdout)
	failed := demo.Summary(stdout, results)
	fmt.Fprintf(stdout, "demo: took %s\n", time.Since(began).Round(100*time.Millisecond))
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "demo: interrupted after %d of %d steps\n", len(results), len(steps))
		return 130
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// binary returns path if it exists, else builds pkg into dir with go build.
func binary(ctx context.Context, path, pkg, dir string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return filepath.Abs(path)
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s missing and go build %s failed: %w\n%s", path, pkg, err, b)
	}
	return out, nil
}

func printKeep(w io.Writer, lab *demo.Lab) {
	client := lab.Host("client").NS
	fmt.Fprintf(w, `
== the lab %[1]s stays up (-keep), tandem running on lb1 and lb2
   site:    ip netns exec %[2]s curl -s http://192.0.2.100:9001/ms1/demo.html
   stats:   ip netns exec %[2]s curl -s -u admin:admin 'http://192.0.2.100:1080/stats;csv'
   (a browser: ip netns exec %[2]s lynx http://admin:admin@192.0.2.100:1080/stats)
   VIP:     ip -n %[1]s-lb1 -br addr show eth1; ip -n %[1]s-lb2 -br addr show eth1
   logs:    tail -f %[3]s/lb1.log %[3]s/lb2.log
   admin:   ip netns exec %[1]s-lb1 bin/tandem ctl -s %[3]s/lb1.sock show stat
   peers:   ip netns exec %[1]s-lb2 bin/tandem ctl -s %[3]s/lb2.sock show table pinned
   remove:  go run ./vagrant/demo/cmd/demo -down %[3]s
`, lab.ID, client, lab.Dir)
}
