package admin

import (
	"strings"
	"testing"
)

// TestHealthCommands: HAProxy's `enable health` / `disable health` stop and
// resume a checked server's checks; `show servers state` reports the
// check state as HAProxy's srv_check_state flags.
func TestHealthCommands(t *testing.T) {
	t.Parallel()
	p := newFakeProxy()
	src := newSource(p, &fakeVRRP{})
	s1 := p.srv["app/s1"]
	checkState := func() string {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(run(t, src, "show servers state app\n")), "\n")
		if len(lines) != 4 {
			t.Fatalf("show servers state: %q", lines)
		}
		return strings.Fields(lines[2])[13] // srv_check_state of s1
	}
	tests := []struct {
		line, want string
		enabled    bool
		state      string
	}{
		{"disable health app/s1\n", "\n", false, "2"},
		{"disable health app/s1\n", "\n", false, "2"}, // again: nothing to do, no error
		{"enable health app/s1\n", "\n", true, "6"},
		{"disable health app/s2\n", "Server app/s2 has no health check.\n\n", true, "6"},
		{"disable health app/s9\n", "No such server.\n\n", true, "6"},
		{"enable health nobk/s1\n", "No such backend.\n\n", true, "6"},
		{"disable health app\n", "Require 'backend/server'.\n\n", true, "6"},
		{"disable health\n", "usage: disable server|health <backend>/<server>\n\n", true, "6"},
		{"enable agent app/s1\n", "usage: enable server|health <backend>/<server>\n\n", true, "6"},
		{"set severity-output number;disable health app/s1\n", "\n\n", false, "2"},
		{"set severity-output number;enable health app/s2\n", "\n[3]: Server app/s2 has no health check.\n\n", false, "2"},
	}
	for _, tt := range tests {
		if got := run(t, src, tt.line); got != tt.want {
			t.Errorf("%q:\n got %q\nwant %q", tt.line, got, tt.want)
		}
		if s1.ChecksEnabled() != tt.enabled {
			t.Errorf("after %q: s1 checks enabled %v, want %v", tt.line, s1.ChecksEnabled(), tt.enabled)
		}
		if st := checkState(); st != tt.state {
			t.Errorf("after %q: srv_check_state %s, want %s", tt.line, st, tt.state)
		}
	}
	help := run(t, src, "help\n")
	for _, cmd := range []string{"enable health <bk>/<srv>", "disable health <bk>/<srv>"} {
		if !strings.Contains(help, cmd) {
			t.Errorf("help lacks %q", cmd)
		}
	}
}
