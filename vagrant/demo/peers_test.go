package demo

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDriftSections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, log, peer, want string
	}{
		{
			name: "console",
			log:  "2026-01-02T10:00:00.000Z INF peers: configuration matches lb2\n2026-01-02T10:00:01.000Z WRN peers: configuration differs from lb2 in: backend pinned peer=lb2 sections=[\"backend pinned\"]\n",
			peer: "lb2", want: "backend pinned",
		},
		{
			name: "console, several sections, the last line wins",
			log:  "WRN peers: configuration differs from lb1 in: global\nWRN peers: configuration differs from lb1 in: backend ms1, frontend http-in sections=[]\n",
			peer: "lb1", want: "backend ms1, frontend http-in",
		},
		{
			name: "json",
			log:  `{"level":"warn","sections":["backend pinned"],"message":"peers: configuration differs from lb2 in: backend pinned"}` + "\n",
			peer: "lb2", want: "backend pinned",
		},
		{name: "other peer", log: "WRN peers: configuration differs from lb1 in: global\n", peer: "lb2", want: ""},
		{name: "none", log: "INF peers: configuration matches lb2\n", peer: "lb2", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if d := cmp.Diff(tt.want, driftSections(tt.log, tt.peer)); d != "" {
				t.Errorf("driftSections (-want +got):\n%s", d)
			}
		})
	}
}

func TestServerKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ line, want string }{
		{"0x1: key=192.0.2.200 use=0 exp=599992 server_id=1 server_key=def.srv1", "def.srv1"},
		{"0x2: key=192.0.2.200 use=0 exp=599992 server_id=1", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := serverKey(tt.line); got != tt.want {
			t.Errorf("serverKey(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}
