package demo

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/vishvananda/netns"
)

// DialContext dials from inside h's namespace. The socket is created on an
// OS thread moved into the namespace; a socket keeps its namespace for
// life, so the connection works from any goroutine afterwards. The thread
// is never moved back: it stays locked and the runtime ends it with the
// goroutine, so no other goroutine ever runs in the lab's namespace.
func (h *Host) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(h.nsh); err != nil {
			ch <- result{nil, fmt.Errorf("%s: enter namespace: %w", h.Name, err)}
			return
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// Client is an HTTP client in a lab namespace. Each request uses a new
// connection, as the article's browser reloads and curl do, so that every
// request is balanced and a failover is seen at once.
type Client struct {
	hc *http.Client
}

// NewClient returns a client whose connections start in h's namespace.
func (h *Host) NewClient(timeout time.Duration) *Client {
	tr := &http.Transport{
		DialContext:       h.DialContext,
		DisableKeepAlives: true,
		Proxy:             nil,
	}
	return &Client{hc: &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// Reply is what the demo looks at in a response.
type Reply struct {
	Status int
	Group  string // X-Group of demoweb
	Server string // X-Server of demoweb
	// Via is the load balancer that forwarded the request: demoweb's
	// X-Remote-Addr is the address the request came from.
	Via    string
	Cookie []*http.Cookie // Set-Cookie
	Header http.Header
	Body   string
}

// lbByAddr names the load balancer by its lab address.
func lbByAddr(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	for name, p := range HostAddrs {
		if p.Addr().String() == host {
			return name
		}
	}
	return host
}

// Get requests url with the given cookies and optional basic auth
// ("user:password").
func (c *Client) Get(ctx context.Context, url string, cookies []*http.Cookie, auth string) (Reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Reply{}, fmt.Errorf("GET %s: %w", url, err)
	}
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	if u, p, ok := strings.Cut(auth, ":"); ok {
		req.SetBasicAuth(u, p)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return Reply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Reply{}, fmt.Errorf("GET %s: read body: %w", url, err)
	}
	return Reply{
		Status: resp.StatusCode,
		Group:  resp.Header.Get("X-Group"),
		Server: resp.Header.Get("X-Server"),
		Via:    lbByAddr(resp.Header.Get("X-Remote-Addr")),
		Cookie: resp.Cookies(),
		Header: resp.Header,
		Body:   string(body),
	}, nil
}

// Close releases idle resources.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Outage is what a client loop saw around a failover.
type Outage struct {
	Requests, Failed int
	// Longest is the longest time without a successful answer: from the
	// last success before a run of failures to the first success after.
	Longest time.Duration
	// FirstErr is the first error seen, for the report.
	FirstErr string
	// After counts successful answers by load balancer after the last
	// failure (or all of them when none failed).
	After map[string]int
}

// Loop requests url every interval until stop returns true (asked after
// each request with its reply, ok false when it failed) or max has passed,
// and measures the outage. A request that fails is retried at the next
// tick.
func (c *Client) Loop(ctx context.Context, url string, interval, max time.Duration, stop func(o *Outage, last Reply, ok bool) bool) Outage {
	o := Outage{After: map[string]int{}}
	end := time.Now().Add(max)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var lastOK, failStart time.Time
	failing := false
	for time.Now().Before(end) && ctx.Err() == nil {
		o.Requests++
		r, err := c.Get(ctx, url, nil, "")
		now := time.Now()
		ok := err == nil && r.Status == http.StatusOK
		if ok {
			if failing {
				from := failStart
				if !lastOK.IsZero() {
					from = lastOK
				}
				o.Longest = max2(o.Longest, now.Sub(from))
				failing = false
				o.After = map[string]int{}
			}
			lastOK = now
			o.After[r.Via]++
		} else {
			o.Failed++
			if o.FirstErr == "" {
				if err != nil {
					o.FirstErr = err.Error()
				} else {
					o.FirstErr = fmt.Sprintf("status %d", r.Status)
				}
			}
			if !failing {
				failing, failStart = true, now
			}
		}
		if stop != nil && stop(&o, r, ok) {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	if failing {
		// Never recovered: the outage lasts at least until now.
		from := failStart
		if !lastOK.IsZero() {
			from = lastOK
		}
		o.Longest = max2(o.Longest, time.Since(from))
		o.After = map[string]int{}
	}
	return o
}

func max2(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}
