package accesslog_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/tandemlb/tandem/internal/logtest"
	"github.com/tandemlb/tandem/internal/syslog"
	"github.com/tandemlb/tandem/lb/accesslog"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestHalogReadsOurLines writes 30 httplog lines through the syslog writer
// and a real rsyslogd (deploy/rsyslog.conf) into tandem.log, then has
// HAProxy's own halog count them per server and per status: proof that the
// lines are HAProxy's format as the tools read it, syslog header included.
func TestHalogReadsOurLines(t *testing.T) {
	t.Parallel()
	halog := logtest.LookPath(t, "halog", "haproxy")
	r := logtest.StartRsyslog(t)
	w, err := syslog.Dial(r.Target, "tandem")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var buf []byte
	send := func(e *accesslog.HTTP) {
		t.Helper()
		buf = accesslog.AppendHTTP(buf[:0], e)
		if err := w.Write(syslog.Local0, syslog.Info, buf); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		e := &accesslog.HTTP{
			Client:   netip.AddrPortFrom(netip.MustParseAddr("192.0.2.200"), uint16(40000+i)),
			Accept:   time.Now(),
			Frontend: "http-in", Backend: "ms1", Server: "ms1.srv1",
			Tq: 0, Tw: 0, Tc: ms(2), Tr: ms(10), Ta: ms(12),
			Status: 200, Bytes: 512, Term: [4]byte{'-', '-', 'N', 'I'},
			Actconn: 1, Feconn: 1, Beconn: 1, Srvconn: 1,
			RequestLine: fmt.Appendf(nil, "GET /ms1/demo.html?i=%d HTTP/1.1", i),
		}
		switch {
		case i < 18: // srv1: 18 × 200
		case i < 20: // srv1: 2 × 404
			e.Status = 404
		case i < 27: // srv2: 7 × 200, slower, after a redispatch
			e.Server, e.Tc, e.Tr, e.Ta, e.Retries, e.Redispatched = "ms1.srv2", ms(4), ms(30), ms(34), 1, true
		default: // srv2: 3 × 503 cut by the server
			e.Server, e.Tc, e.Tr, e.Ta, e.Status, e.Term = "ms1.srv2", ms(4), -1, ms(5), 503, [4]byte{'S', 'H', '-', '-'}
		}
		send(e)
	}
	logtest.WaitForLines(t, r.Log, 30, 10*time.Second)

	run := func(args ...string) string {
		t.Helper()
		f, err := os.Open(r.Log)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(halog, args...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = f, &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("halog %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		if want := "30 lines in"; !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), " 0 parsing errors") {
			t.Errorf("halog %s reports %q, want %q and 0 parsing errors", strings.Join(args, " "), strings.TrimSpace(stderr.String()), want)
		}
		return stdout.String()
	}

	// 1xx 2xx 3xx 4xx 5xx other tot_req req_ok pct_ok avg_ct avg_rt
	wantSrv := "#srv_name 1xx 2xx 3xx 4xx 5xx other tot_req req_ok pct_ok avg_ct avg_rt\n" +
		"ms1/ms1.srv1 0 18 0 2 0 0 20 20 100.0 2 10\n" +
		"ms1/ms1.srv2 0 7 0 0 3 0 10 7 70.0 4 30\n"
	if diff := cmp.Diff(wantSrv, run("-srv")); diff != "" {
		t.Errorf("halog -srv (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("200 25\n404 2\n503 3\n", run("-st")); diff != "" {
		t.Errorf("halog -st (-want +got):\n%s", diff)
	}
	// halog -tc groups by the first two characters of the state.
	if diff := cmp.Diff("-- 27\nSH 3\n", run("-tc")); diff != "" {
		t.Errorf("halog -tc (-want +got):\n%s", diff)
	}
}
