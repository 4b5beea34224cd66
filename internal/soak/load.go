package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// slowAfter marks a successful request as touched by an outage (a
// failover's SYN retransmit shows as a slow request, not a failed one).
const slowAfter = 300 * time.Millisecond

// event is one failed or slow client request.
type event struct {
	start, end time.Time
	kind, msg  string
	failed     bool
}

// recorder counts the load generator's requests by kind and keeps every
// failed or slow one with its time, to be set against the failovers.
type recorder struct {
	ok, fail map[string]*atomic.Int64
	mu       sync.Mutex
	events   []event
}

func newRecorder(kinds ...string) *recorder {
	r := &recorder{ok: map[string]*atomic.Int64{}, fail: map[string]*atomic.Int64{}}
	for _, k := range kinds {
		r.ok[k], r.fail[k] = new(atomic.Int64), new(atomic.Int64)
	}
	return r
}

func (r *recorder) done(kind string, start time.Time, err error) {
	end := time.Now()
	if err == nil {
		r.ok[kind].Add(1)
		if end.Sub(start) < slowAfter {
			return
		}
	} else {
		r.fail[kind].Add(1)
	}
	r.mu.Lock()
	if len(r.events) < 200000 { // bounded: a broken run fails anyway
		e := event{start: start, end: end, kind: kind, failed: err != nil}
		if err != nil {
			e.msg = err.Error()
		}
		r.events = append(r.events, e)
	}
	r.mu.Unlock()
}

func (r *recorder) total(kind string) int64 { return r.ok[kind].Load() + r.fail[kind].Load() }

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// httpLoad runs workers HTTP clients against url until ctx ends, every
// other one without keep-alive; with tlsRoots the requests go over TLS
// (the keep-alive workers resume nothing: each new connection is a full
// handshake).
func httpLoad(ctx context.Context, wg *sync.WaitGroup, rec *recorder, kind string, workers int, every time.Duration, url string, dial dialFunc, tlsRoots []byte) {
	for i := range workers {
		wg.Go(func() {
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableKeepAlives: i%2 == 1, DialContext: dial}
			if tlsRoots != nil {
				pool := x509.NewCertPool()
				pool.AppendCertsFromPEM(tlsRoots)
				tr.TLSClientConfig = &tls.Config{RootCAs: pool, ServerName: tlsServerName}
			}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 15 * time.Second}
			tick := time.NewTicker(every)
			defer tick.Stop()
			for ctx.Err() == nil {
				select {
				case <-tick.C:
				case <-ctx.Done():
					return
				}
				start := time.Now()
				resp, err := c.Get(url + strconv.Itoa(i))
				if err != nil {
					rec.done(kind, start, err)
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
				if err == nil && tlsRoots != nil && resp.TLS == nil {
					err = fmt.Errorf("answered without TLS")
				}
				rec.done(kind, start, err)
			}
		})
	}
}

// tcpLoad runs workers clients that each open a session, send 1 KiB, read
// it back and close, until ctx ends.
func tcpLoad(ctx context.Context, wg *sync.WaitGroup, rec *recorder, workers int, every time.Duration, addr string, dial dialFunc) {
	msg := bytes.Repeat([]byte("0123456789abcdef"), 64)
	for range workers {
		wg.Go(func() {
			buf := make([]byte, len(msg))
			tick := time.NewTicker(every)
			defer tick.Stop()
			for ctx.Err() == nil {
				select {
				case <-tick.C:
				case <-ctx.Done():
					return
				}
				start := time.Now()
				dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				c, err := dial(dctx, "tcp", addr)
				cancel()
				if err != nil {
					rec.done("tcp", start, fmt.Errorf("dial: %w", err))
					continue
				}
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				_, err = c.Write(msg)
				if err == nil {
					_, err = io.ReadFull(c, buf)
				}
				c.Close()
				if err == nil && !bytes.Equal(buf, msg) {
					err = fmt.Errorf("echo differs")
				}
				rec.done("tcp", start, err)
			}
		})
	}
}
