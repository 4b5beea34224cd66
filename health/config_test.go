package health

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseExpectStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []StatusRange
		wantErr string
	}{
		{in: "200-399", want: []StatusRange{{200, 399}}},
		{in: "200", want: []StatusRange{{200, 200}}},
		{in: "200,204,301-302", want: []StatusRange{{200, 200}, {204, 204}, {301, 302}}},
		{in: " 200 , 301 - 302 ", want: []StatusRange{{200, 200}, {301, 302}}},
		{in: "", wantErr: "empty list"},
		{in: "399-200", wantErr: "runs backwards"},
		{in: "2xx", wantErr: "not a code"},
		{in: "99", wantErr: "three-digit"},
		{in: "600", wantErr: "not a code"},
		{in: "200,", wantErr: "three-digit"},
		{in: "200-", wantErr: "three-digit"},
	}
	for _, tt := range tests {
		got, err := ParseExpectStatus(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseExpectStatus(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseExpectStatus(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseExpectStatus(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	got := CheckConfig{Type: "http", Inter: time.Second, DownInter: 5 * time.Second}.WithDefaults()
	want := CheckConfig{
		Type: "http", Method: "GET", Path: "/", Version: "HTTP/1.0",
		ExpectStatus: []StatusRange{{200, 399}},
		Timeout:      time.Second, Inter: time.Second, FastInter: time.Second, DownInter: 5 * time.Second,
		Rise: 2, Fall: 3,
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b *regexp.Regexp) bool { return a == b }), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("WithDefaults (-want +got):\n%s", diff)
	}
	tcp := CheckConfig{}.WithDefaults()
	if tcp.Type != "tcp" || tcp.Inter != 2*time.Second || tcp.Rise != 2 || tcp.Fall != 3 || tcp.Method != "" {
		t.Errorf("zero config defaults = %+v", tcp)
	}
	if err := tcp.Validate(); err != nil {
		t.Errorf("default tcp config invalid: %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mod     func(*CheckConfig)
		wantErr string
	}{
		{"ok", func(*CheckConfig) {}, ""},
		{"type", func(c *CheckConfig) { c.Type = "udp" }, `check type "udp"`},
		{"rise", func(c *CheckConfig) { c.Rise = -1 }, "rise -1"},
		{"fall", func(c *CheckConfig) { c.Fall = -2 }, "fall -2"},
		{"inter", func(c *CheckConfig) { c.Inter = -time.Second }, "inter -1s"},
		{"port", func(c *CheckConfig) { c.Port = 70000 }, "port 70000"},
		{"method", func(c *CheckConfig) { c.Method = "GE T" }, "method"},
		{"path", func(c *CheckConfig) { c.Path = "health" }, "path"},
		{"path space", func(c *CheckConfig) { c.Path = "/a b" }, "path"},
		{"version", func(c *CheckConfig) { c.Version = "HTTP/2" }, "version"},
		{"header name", func(c *CheckConfig) { c.Headers = [][2]string{{"X Y", "1"}} }, "header name"},
		{"header value", func(c *CheckConfig) { c.Headers = [][2]string{{"X", "1\r\nEvil: 1"}} }, "CR, LF"},
		{"host", func(c *CheckConfig) { c.Host = "a\r\nb" }, "host"},
		{"status", func(c *CheckConfig) { c.ExpectStatus = []StatusRange{{300, 200}} }, "expect_status"},
	}
	for _, tt := range tests {
		c := CheckConfig{Type: "http"}
		tt.mod(&c)
		err := c.WithDefaults().Validate()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error = %v, want one containing %q", tt.name, err, tt.wantErr)
		}
	}
}
