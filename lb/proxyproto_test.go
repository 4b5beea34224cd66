package lb

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandemlb/tandem/lb/proxyproto"
)

// proxyEcho is a server that expects a PROXY header and answers with the
// addresses it carried, then echoes what follows until the client closes.
func proxyEcho(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				h, err := proxyproto.Read(c)
				if err != nil {
					fmt.Fprintf(c, "ERR %v\n", err)
					return
				}
				fmt.Fprintf(c, "V%d %s %s\n", h.Version, h.Src, h.Dst)
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// send_proxy and send_proxy_v2 tell the server the client's addresses;
// with accept_proxy on the frontend those come from the client's own
// PROXY header, and a client without one is turned away.
func TestProxyProtocol(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		version     int
		acceptProxy bool
		header      string
		want        string // prefix of the server's first line; "" = closed
	}{
		{"send_proxy", 1, false, "", "V1 127.0.0.1:"},
		{"send_proxy_v2", 2, false, "", "V2 127.0.0.1:"},
		{"accept v1 then v2", 2, true, "PROXY TCP4 192.0.2.200 192.0.2.11 51234 5432\r\n", "V2 192.0.2.200:51234 192.0.2.11:5432"},
		{"accept v2 then v1", 1, true, string(proxyproto.AppendV2(nil, netip.MustParseAddrPort("[2001:db8::200]:1234"), netip.MustParseAddrPort("[2001:db8::11]:5432"))),
			"V1 [2001:db8::200]:1234 [2001:db8::11]:5432"},
		{"accept local", 1, true, "PROXY UNKNOWN\r\n", "V1 127.0.0.1:"},
		{"accept without header", 1, true, "hello\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			cfg := tcpConfig([]ServerConfig{{Name: "pg", Addr: proxyEcho(t), Weight: 1, SendProxy: tt.version}}, "roundrobin")
			cfg.Frontends[0].AcceptProxy = tt.acceptProxy
			h.start(cfg)
			c := dial(t, h.addr("tcp-in"))
			c.send(tt.header + "ping\n")
			line, err := c.br.ReadString('\n')
			if tt.want == "" {
				if err == nil {
					t.Fatalf("connection without a PROXY header answered %q", line)
				}
				return
			}
			if err != nil || !strings.HasPrefix(line, tt.want) {
				t.Fatalf("server saw %q (%v), want %q...", line, err, tt.want)
			}
			if echo, err := c.br.ReadString('\n'); err != nil || echo != "ping\n" {
				t.Fatalf("payload after the header: %q %v", echo, err)
			}
			_ = c.c.Close() // the tcplog line comes at close
			if tt.acceptProxy && tt.header[0] == 'P' && tt.header[6] == 'T' {
				h.waitLog("192.0.2.200:51234 [", " tcp-in be/pg ")
			}
		})
	}
}

// accept_proxy in HTTP mode: the client address of the header is the one
// X-Forwarded-For, ACLs, stick tables and the log see.
func TestAcceptProxyHTTP(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.oneBackend(BackendConfig{Servers: h.startBackends("g", "s1")})
	cfg.Frontends[0].AcceptProxy = true
	cfg.Frontends[0].ForwardFor = &ForwardFor{}
	h.start(cfg)
	c := dial(t, h.addr("fe"))
	c.send("PROXY TCP4 192.0.2.200 192.0.2.11 51234 80\r\n")
	r := c.get("/echo")
	if !strings.Contains(r.body, "X-Forwarded-For: 192.0.2.200") {
		t.Errorf("server saw:\n%s", r.body)
	}
	h.waitLog("192.0.2.200:51234 [", "fe be/s1")
}
