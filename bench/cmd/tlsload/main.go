package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"
)

// options are the command-line settings.
type options struct {
	addr       string
	conns      int
	duration   time.Duration
	path       string
	serverName string
	curve      string
	timeout    time.Duration // per connection: dial to close
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8443", "proxy `host:port`")
	flag.IntVar(&o.conns, "c", 32, "concurrent connections (workers)")
	flag.DurationVar(&o.duration, "d", 10*time.Second, "how long to run")
	flag.StringVar(&o.path, "path", "/100b", "request `path`")
	flag.StringVar(&o.serverName, "sni", "bench.test", "server name sent in the handshake")
	flag.StringVar(&o.curve, "curve", "X25519", "the only key exchange offered: X25519, P-256 or X25519MLKEM768")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Second, "time allowed for one connection")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	r, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsload:", err)
		stop()
		os.Exit(2)
	}
	fmt.Fprintln(os.Stderr, r.summary())
	fmt.Println(r.benchLine())
}

// result is what a run measured.
type result struct {
	handshakes   int           // connections with a full handshake and a 2xx response
	errors       int           // dial, handshake, I/O and timeout failures
	statusErrors int           // responses outside 2xx
	resumed      int           // handshakes that resumed a session (errors too)
	wrongCurve   int           // handshakes on another key exchange (errors too)
	duration     time.Duration // from the first dial to the last worker's end
	latencies    []time.Duration
	versions     map[uint16]int
	firstErr     error
}

// benchLine is the line bench/run.sh parses.
func (r *result) benchLine() string {
	return fmt.Sprintf("BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d status_errors=%d resumed=%d",
		r.handshakes, r.duration.Microseconds(), r.percentile(50).Microseconds(), r.percentile(99).Microseconds(),
		r.errors, r.statusErrors, r.resumed)
}

func (r *result) summary() string {
	rate := 0.0
	if r.duration > 0 {
		rate = float64(r.handshakes) / r.duration.Seconds()
	}
	s := fmt.Sprintf("tlsload: %d full handshakes in %.2fs (%.0f/s), p50 %v p99 %v, %d errors, %d bad status, %d resumed, %d on another key exchange",
		r.handshakes, r.duration.Seconds(), rate, r.percentile(50), r.percentile(99), r.errors, r.statusErrors, r.resumed, r.wrongCurve)
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		if n := r.versions[v]; n > 0 {
			s += fmt.Sprintf("; %s %d", tls.VersionName(v), n)
		}
	}
	if r.firstErr != nil {
		s += "; first error: " + r.firstErr.Error()
	}
	return s
}

// percentile of the successful connections' latencies (sorted by run).
func (r *result) percentile(p int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := (len(r.latencies)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return r.latencies[min(i, len(r.latencies))-1]
}

// curveIDs maps -curve to the one key exchange offered.
var curveIDs = map[string]tls.CurveID{
	"X25519":         tls.X25519,
	"P-256":          tls.CurveP256,
	"X25519MLKEM768": tls.X25519MLKEM768,
}

// clientConfig offers one key exchange and keeps no session: every
// handshake is a full one.
func clientConfig(o options) (*tls.Config, error) {
	id, ok := curveIDs[o.curve]
	if !ok {
		return nil, fmt.Errorf("unknown -curve %q (X25519, P-256, X25519MLKEM768)", o.curve)
	}
	return &tls.Config{
		ServerName:             o.serverName,
		InsecureSkipVerify:     true, // a throw-away certificate; the signature is still checked
		CurvePreferences:       []tls.CurveID{id},
		ClientSessionCache:     nil, // no resumption, TLS 1.2 or 1.3
		SessionTicketsDisabled: true,
		NextProtos:             []string{"http/1.1"},
	}, nil
}

// run drives o.conns workers for o.duration (or until ctx is done).
func run(ctx context.Context, o options) (*result, error) {
	if o.conns < 1 || o.duration <= 0 || o.timeout <= 0 {
		return nil, fmt.Errorf("-c, -d and -timeout must be positive, have %d, %v and %v", o.conns, o.duration, o.timeout)
	}
	cfg, err := clientConfig(o)
	if err != nil {
		return nil, err
	}
	req := []byte("GET " + o.path + " HTTP/1.1\r\nHost: bench\r\nUser-Agent: tandem-tlsload\r\nConnection: close\r\n\r\n")
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()

	workers := make([]*result, o.conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &result{versions: map[uint16]int{}}
		workers[i] = w
		wg.Go(func() { w.loop(ctx, o, cfg, req) })
	}
	wg.Wait()
	total := &result{duration: time.Since(start), versions: map[uint16]int{}}
	for _, w := range workers {
		total.handshakes += w.handshakes
		total.errors += w.errors
		total.statusErrors += w.statusErrors
		total.resumed += w.resumed
		total.wrongCurve += w.wrongCurve
		total.latencies = append(total.latencies, w.latencies...)
		for v, n := range w.versions {
			total.versions[v] += n
		}
		if total.firstErr == nil {
			total.firstErr = w.firstErr
		}
	}
	slices.Sort(total.latencies)
	return total, nil
}

// loop makes connections one after the other until ctx is done. A
// connection cut short by the end of the run is not counted.
func (w *result) loop(ctx context.Context, o options, cfg *tls.Config, req []byte) {
	want := curveIDs[o.curve]
	br := bufio.NewReaderSize(nil, 4096)
	// The end of the run, also read from the clock: a connection deadline
	// can expire a moment before the context's own timer fires.
	end, _ := ctx.Deadline()
	over := func() bool { return ctx.Err() != nil || !time.Now().Before(end) }
	for !over() {
		t0 := time.Now()
		st, status, err := once(ctx, o, cfg, req, br)
		if over() {
			return
		}
		switch {
		case err != nil:
			w.errors++
			if w.firstErr == nil {
				w.firstErr = err
			}
		case st.DidResume:
			w.resumed++
			w.errors++
		case st.CurveID != want:
			w.wrongCurve++
			w.errors++
			if w.firstErr == nil {
				w.firstErr = fmt.Errorf("key exchange %v, want %v", st.CurveID, want)
			}
		case status < 200 || status > 299:
			w.statusErrors++
		default:
			w.handshakes++
			w.versions[st.Version]++
			w.latencies = append(w.latencies, time.Since(t0))
		}
	}
}

// once makes one connection: dial, full handshake, one request, the whole
// response, then waits for the server to close (so that the TIME_WAIT
// state stays on the server side, as with wrk and Connection: close).
func once(ctx context.Context, o options, cfg *tls.Config, req []byte, br *bufio.Reader) (tls.ConnectionState, int, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	d := tls.Dialer{Config: cfg}
	nc, err := d.DialContext(ctx, "tcp", o.addr)
	if err != nil {
		return tls.ConnectionState{}, 0, fmt.Errorf("connect and handshake with %s: %w", o.addr, err)
	}
	c := nc.(*tls.Conn)
	defer c.Close()
	dl, _ := ctx.Deadline()
	_ = c.SetDeadline(dl)
	st := c.ConnectionState()
	if _, err := c.Write(req); err != nil {
		return st, 0, fmt.Errorf("send request: %w", err)
	}
	br.Reset(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return st, 0, fmt.Errorf("read response: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return st, 0, fmt.Errorf("read response body: %w", err)
	}
	// The server closes after a Connection: close response; anything but
	// the end of the stream (a close_notify or a FIN) is an error.
	if _, err := br.ReadByte(); err == nil {
		return st, 0, errors.New("data after the response")
	} else if !errors.Is(err, io.EOF) && !isReset(err) {
		return st, 0, fmt.Errorf("wait for the server to close: %w", err)
	}
	return st, resp.StatusCode, nil
}

// isReset: a server may reset instead of closing after its response.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}
