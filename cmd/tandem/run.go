package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/tandemlb/tandem/internal/config"
)

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "[-c FILE]", "Run the proxy and VRRP in the foreground until SIGTERM or SIGINT.\nThe configuration is checked first, including what depends on this host;\nany error stops the start.", stderr)
	file := fs.String("c", defaultConfig, "configuration `file`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, ds, err := config.LoadFile(*file, config.Options{Host: true, HostErrors: true})
	if err != nil {
		return err
	}
	for _, d := range ds {
		fmt.Fprintln(stderr, d)
	}
	if cfg == nil {
		n := len(ds.Errors())
		fmt.Fprintf(stderr, "%s: %d %s, not starting\n", *file, n, pluralize(n, "error"))
		return exitError{1}
	}
	lg, err := newLogging(cfg.Log, stderr, true)
	if err != nil {
		return err
	}
	defer lg.close()
	log := lg.log

	if err := raiseFileLimit(cfg.Global.MaxConn); err != nil {
		log.Error().Err(err).Msg("cannot start")
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// TANDEM_CPUPROFILE=FILE profiles the whole run (make bench, pprof).
	if path := os.Getenv("TANDEM_CPUPROFILE"); path != "" {
		stopProfile, err := startCPUProfile(path)
		if err != nil {
			log.Error().Err(err).Msg("cannot start")
			return err
		}
		defer stopProfile()
	}

	// runApp (reload.go) runs the proxy, health checks, VRRP, stats and
	// the admin socket; it reloads on SIGHUP and stops in order on ctx.
	return runApp(ctx, *file, cfg, lg)
}

// raiseFileLimit makes room for maxconn client connections, each with its
// server connection, plus listeners, checks and logs: the seed's ulimit rule.
func raiseFileLimit(maxconn int) error {
	need := uint64(maxconn)*2 + 64
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read open-file limit: %w", err)
	}
	if lim.Cur >= need {
		return nil
	}
	want := lim
	want.Cur = need
	if want.Max < need {
		want.Max = need
	}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &want); err != nil {
		return fmt.Errorf("maxconn %d needs an open-file limit of %d (maxconn*2+64), have %d (hard %d): %w; run as root or raise LimitNOFILE",
			maxconn, need, lim.Cur, lim.Max, err)
	}
	return nil
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
