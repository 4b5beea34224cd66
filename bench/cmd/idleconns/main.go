package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// options are the command-line settings.
type options struct {
	addr     string
	n        int
	path     string
	parallel int
	timeout  time.Duration // to open all connections
	hold     time.Duration // longest time they are held
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8080", "proxy `host:port`")
	flag.IntVar(&o.n, "n", 5000, "number of connections")
	flag.StringVar(&o.path, "path", "/100b", "request `path`")
	flag.IntVar(&o.parallel, "parallel", 200, "connections being opened at once")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "time allowed to open all connections")
	flag.DurationVar(&o.hold, "hold", 60*time.Second, "longest time to hold them open")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "idleconns:", err)
		stop()
		os.Exit(1)
	}
}

// run opens o.n connections, reports "ready N" on out, holds them until ctx
// is done or o.hold expires, and closes them.
func run(ctx context.Context, o options, out io.Writer) error {
	if o.n < 1 || o.parallel < 1 {
		return fmt.Errorf("-n and -parallel must be positive, have %d and %d", o.n, o.parallel)
	}
	conns, err := openAll(ctx, o)
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(out, "ready %d\n", len(conns)); err != nil {
		return fmt.Errorf("report ready: %w", err)
	}
	t := time.NewTimer(o.hold)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return nil
}

// openAll dials o.n connections, o.parallel at a time, each with one
// completed request. The first failure stops it; the connections opened so
// far are returned for the caller to close.
func openAll(ctx context.Context, o options) ([]net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	conns := make([]net.Conn, o.n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.parallel)
	req := []byte("GET " + o.path + " HTTP/1.1\r\nHost: bench\r\nUser-Agent: tandem-idleconns\r\n\r\n")
	for i := range conns {
		g.Go(func() error {
			c, err := openOne(gctx, o.addr, req)
			if err != nil {
				return fmt.Errorf("connection %d to %s: %w", i+1, o.addr, err)
			}
			conns[i] = c
			return nil
		})
	}
	err := g.Wait()
	return conns, err
}

// openOne dials addr, sends req and reads one whole 2xx response, leaving
// the connection open and idle.
func openOne(ctx context.Context, addr string, req []byte) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := exchange(c, req); err != nil {
		_ = c.Close()
		return nil, err
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("clear deadline: %w", err)
	}
	return c, nil
}

func exchange(c net.Conn, req []byte) error {
	if _, err := c.Write(req); err != nil {
		return fmt.Errorf("send request: %w", err)
	}
	// A small reader: the response is read whole, so nothing is left
	// buffered and the reader can be dropped.
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 4096), nil)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read response body: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if resp.Close {
		return errors.New("the proxy answered Connection: close; the connection cannot stay idle")
	}
	return nil
}
