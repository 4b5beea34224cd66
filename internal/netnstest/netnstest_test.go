package netnstest

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func TestLab(t *testing.T) {
	t.Parallel()
	var names []string
	t.Run("build", func(t *testing.T) {
		lab := New(t, "lb1", "lb2")
		lb1, lb2 := lab.Host("lb1"), lab.Host("lb2")
		names = []string{lab.sw, lb1.NS, lb2.NS}
		if lab.Host("client") != nil {
			t.Error("Host(client) in a lab without it")
		}
		for _, h := range []*Host{lb1, lb2} {
			has, err := h.HasAddr(h.Addr.Addr())
			if err != nil || !has {
				t.Errorf("%s HasAddr(%v) = %v, %v", h.Name, h.Addr.Addr(), has, err)
			}
			if len(h.MAC) != 6 {
				t.Errorf("%s MAC = %v", h.Name, h.MAC)
			}
		}
		if bytes.Equal(lb1.MAC, lb2.MAC) {
			t.Error("hosts share a MAC")
		}
		if has, _ := lb1.HasAddr(lb2.Addr.Addr()); has {
			t.Error("lb1 holds lb2's address")
		}
		if err := lb1.Sysctl("net.ipv4.conf.eth1.arp_accept", "1"); err != nil {
			t.Fatal(err)
		}
		if out, err := lb1.Run("cat", "/proc/sys/net/ipv4/conf/eth1/arp_accept"); err != nil || strings.TrimSpace(out) != "1" {
			t.Errorf("arp_accept = %q, %v", out, err)
		}
		if err := lb1.SetLinkUp(false); err != nil {
			t.Fatal(err)
		}
		if err := lb1.SetLinkUp(true); err != nil {
			t.Fatal(err)
		}
		// The hosts reach each other through the bridge.
		if _, err := exec.LookPath("ping"); err == nil {
			if _, err := lb1.Run("ping", "-c", "1", "-W", "2", lb2.Addr.Addr().String()); err != nil {
				t.Error(err)
			}
			if mac, err := lb1.Neighbor(lb2.Addr.Addr()); err != nil || !bytes.Equal(mac, lb2.MAC) {
				t.Errorf("lb1's neighbour for lb2 = %v, %v; want %v", mac, err, lb2.MAC)
			}
		}
	})
	if len(names) == 0 {
		return // skipped
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.Contains(string(out), n) {
			t.Errorf("namespace %s left behind", n)
		}
	}
}
