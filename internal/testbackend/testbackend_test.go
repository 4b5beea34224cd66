package testbackend

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T) *Server {
	t.Helper()
	s, err := Start("ms1", "ms1.srv1", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestPages(t *testing.T) {
	t.Parallel()
	s := start(t)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	base := "http://" + s.Addr.String()
	tests := []struct {
		path   string
		status int
		body   string // substring
	}{
		{"/ms1/demo.html", 200, "<h1>ms1</h1><p>served by ms1.srv1</p>"},
		{"/echo", 200, "GET /echo HTTP/1.1\nHost: " + s.Addr.String()},
		{"/status/404", 404, "status 404"},
		{"/status/204", 204, ""},
		{"/size/10", 200, "abcdefghij"},
		{"/chunked/3000", 200, "abc"},
		{"/delay/1ms", 200, "served by"},
		{"/http10", 200, "until close"},
		{"/other", 200, "ms1/ms1.srv1 /other"},
	}
	for _, tc := range tests {
		resp, err := c.Get(base + tc.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET %s: body: %v", tc.path, err)
		}
		if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
			t.Errorf("GET %s = %d %q, want %d containing %q", tc.path, resp.StatusCode, b, tc.status, tc.body)
		}
	}
	for _, p := range []string{"/reset", "/garbage", "/close-after-headers"} {
		resp, err := c.Get(base + p)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Errorf("GET %s: no error", p)
		}
	}
}

func TestBlockAndUpgrade(t *testing.T) {
	t.Parallel()
	s := start(t)
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr.String() + "/block")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for s.Blocked() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("request never blocked")
		}
		time.Sleep(time.Millisecond)
	}
	s.Unblock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()

	c, err := net.Dial("tcp", s.Addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, "GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nhello")
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 101") {
		t.Fatalf("status line %q", line)
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if l == "\r\n" {
			break
		}
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("echo = %q, %v", buf, err)
	}
}
