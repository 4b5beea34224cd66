package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/rs/zerolog"

	"github.com/tandemlb/tandem/internal/config"
	"github.com/tandemlb/tandem/internal/syslog"
)

// logging is the process's root logger and the traffic-log sink.
type logging struct {
	log zerolog.Logger
	// traffic sends one HAProxy-format line to the traffic facility at info;
	// nil when traffic logging is off.
	traffic func(line []byte)
	close   func()
}

// newLogging builds the root logger, the only one in the process: events go
// to stderr when foreground is set, and to syslog (facility, warnings also
// to warn_facility) when the target is not stderr.
func newLogging(c config.Log, stderr io.Writer, foreground bool) (*logging, error) {
	level := zerolog.InfoLevel
	switch strings.ToLower(c.Level) {
	case "debug":
		level = zerolog.DebugLevel
	case "warn", "warning":
		level = zerolog.WarnLevel
	case "err", "error":
		level = zerolog.ErrorLevel
	}
	lg, err := openLogging(c, level, stderr, foreground)
	if err == nil && !c.Traffic {
		lg.traffic = nil
	}
	return lg, err
}

func openLogging(c config.Log, level zerolog.Level, stderr io.Writer, foreground bool) (*logging, error) {
	if c.Target == "stderr" {
		console := syslog.Console(stderr)
		l := zerolog.New(console).Level(level).With().Timestamp().Logger()
		return &logging{
			log: l,
			traffic: func(line []byte) {
				// One write per line keeps concurrent lines whole.
				b := make([]byte, 0, len(line)+1)
				b = append(append(b, line...), '\n')
				_, _ = stderr.Write(b)
			},
			close: func() {},
		}, nil
	}
	fac, err := syslog.ParseFacility(c.Facility)
	if err != nil {
		return nil, err
	}
	warnFac, err := syslog.ParseFacility(c.WarnFacility)
	if err != nil {
		return nil, err
	}
	w, err := syslog.Dial(c.Target, c.Tag)
	if err != nil {
		return nil, fmt.Errorf("open log target: %w", err)
	}
	var out io.Writer = syslog.NewZerologWriter(w, fac, warnFac)
	if foreground {
		out = zerolog.MultiLevelWriter(out, syslog.Console(stderr))
	}
	l := zerolog.New(out).Level(level).With().Timestamp().Logger()
	return &logging{
		log:     l,
		traffic: func(line []byte) { _ = w.Write(fac, syslog.Info, line) },
		close:   func() { _ = w.Close() },
	}, nil
}
