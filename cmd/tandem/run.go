package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/internal/config"
	"github.com/tandemlb/tandem/internal/privdrop"
	"github.com/tandemlb/tandem/internal/sdnotify"
	"github.com/tandemlb/tandem/lb"
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

	proxy, err := lb.New(cfg.Proxy, lb.Options{Logger: log, TrafficLog: lg.traffic})
	if err != nil {
		log.Error().Err(err).Msg("cannot start the proxy")
		return err
	}
	// Listeners open before anything reports "started", so a bind error
	// stops the start and a client connecting right after never sees a refusal.
	if err := proxy.Listen(); err != nil {
		log.Error().Err(err).Msg("cannot open listeners")
		return err
	}
	checker := health.NewChecker(proxy.HealthTargets(), health.Options{Logger: log, Traffic: proxy.HealthTraffic})

	g, gctx := errgroup.WithContext(ctx)
	// fail stops what was started and reports why the start failed.
	fail := func(what string, err error) error {
		stop()
		_ = g.Wait()
		log.Error().Err(err).Msg(what)
		return err
	}
	g.Go(func() error { return proxy.Run(gctx) })
	g.Go(func() error { return checker.Run(gctx) })
	router, err := startVRRP(gctx, g, cfg, proxy, log)
	if err != nil {
		return fail("cannot start VRRP", err)
	}
	if err := startStats(gctx, g, cfg, proxy, router, log); err != nil {
		return fail("cannot start the stats page", err)
	}
	if err := startAdmin(gctx, g, cfg, proxy, router, log); err != nil {
		return fail("cannot open the admin socket", err)
	}
	// Everything that needs root is open: listeners, the admin socket.
	// VRRP's raw sockets and netlink keep working on the kept capabilities.
	if cfg.Global.User != "" {
		u, err := privdrop.Drop(cfg.Global.User)
		if err != nil {
			return fail("cannot drop privileges", err)
		}
		log.Info().Str("user", u.Name).Int("uid", u.UID).Int("gid", u.GID).Strs("capabilities", privdrop.Kept()).
			Msg("dropped privileges")
	}
	notify := sdnotify.FromEnv()
	go watchReload(gctx, log, notify, cfg.Summary())

	log.Info().Str("version", version).Str("config", *file).Int("pid", os.Getpid()).
		Msgf("tandem started: %s", cfg.Summary())
	_ = notify.Ready(cfg.Summary())
	go func() {
		<-gctx.Done()
		_ = notify.Stopping()
	}()
	err = g.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error().Err(err).Msg("tandem stopped on error")
		return err
	}
	log.Info().Msg("tandem stopped")
	return nil
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

// watchReload answers SIGHUP. In-process reload is not built yet, so the
// signal is logged at warning and changes nothing, rather than being
// silently dropped or killing the process.
func watchReload(ctx context.Context, log zerolog.Logger, notify *sdnotify.Notifier, summary string) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = notify.Reloading()
			log.Warn().Msg("SIGHUP: reload is not supported yet; restart tandem to apply a new configuration")
			_ = notify.Ready(summary)
		}
	}
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
