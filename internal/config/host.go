package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
)

func isLocalAddr(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if n, ok := ia.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == a {
				return true
			}
		}
	}
	return false
}

// nonlocalBind reports net.ipv4.ip_nonlocal_bind = 1 (deploy/sysctl.conf),
// which lets any address be bound.
func nonlocalBind() bool {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_nonlocal_bind")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

func interfaceExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

func checkLogTarget(target string) error {
	if target == "stderr" {
		return nil
	}
	if path, ok := strings.CutPrefix(target, "unix://"); ok && strings.HasPrefix(path, "/") {
		return nil
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "udp" || u.Host == "" {
		return fmt.Errorf("target %q: use \"stderr\", \"udp://HOST:PORT\" or \"unix:///dev/log\"", target)
	}
	if _, err := netip.ParseAddrPort(u.Host); err != nil {
		return fmt.Errorf("target %q: want an IP address and port, e.g. \"udp://127.0.0.1:514\"", target)
	}
	return nil
}

// compileRegex compiles an RE2 expression, saying so when a PCRE-only
// construct is the cause.
func compileRegex(expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q (RE2 syntax: no look-around or back-references): %v", expr, err)
	}
	return re, nil
}
