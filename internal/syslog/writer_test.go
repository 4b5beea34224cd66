package syslog

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// listenUDP returns a loopback UDP socket and a function reading the next
// datagram from it.
func listenUDP(t *testing.T) (net.PacketConn, func() string) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc, func() string { return readDatagram(t, pc) }
}

func readDatagram(t *testing.T, pc net.PacketConn) string {
	t.Helper()
	buf := make([]byte, 65536)
	_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("read datagram: %v", err)
	}
	return string(buf[:n])
}

// noDatagram asserts nothing more arrives: the writer sends synchronously,
// so anything sent before is already queued on the loopback socket.
func noDatagram(t *testing.T, pc net.PacketConn) {
	t.Helper()
	buf := make([]byte, 65536)
	_ = pc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _, err := pc.ReadFrom(buf); err == nil {
		t.Fatalf("unexpected datagram %q", buf[:n])
	}
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

func dialTest(t *testing.T, target string, opts ...Option) *Writer {
	t.Helper()
	w, err := Dial(target, "tandem", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestWriteExactBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		now  time.Time
		fac  Facility
		sev  Severity
		msg  string
		want string
	}{
		{"local0 info", time.Date(2026, time.November, 25, 16, 50, 0, 123e6, time.UTC), Local0, Info,
			"192.0.2.200:51234 [25/Nov/2026:16:50:00.123] http-in ms1/ms1.srv1 0/0/1/2/3 200 512 - - --NI 1/1/0/0/0 0/0 \"GET /ms1/demo.html HTTP/1.1\"",
			"<134>Nov 25 16:50:00 tandem[4242]: 192.0.2.200:51234 [25/Nov/2026:16:50:00.123] http-in ms1/ms1.srv1 0/0/1/2/3 200 512 - - --NI 1/1/0/0/0 0/0 \"GET /ms1/demo.html HTTP/1.1\""},
		{"local1 warning, day padded with a space", time.Date(2026, time.March, 5, 7, 8, 9, 0, time.UTC), Local1, Warning,
			"Server ms1/ms1.srv1 is DOWN", "<140>Mar  5 07:08:09 tandem[4242]: Server ms1/ms1.srv1 is DOWN"},
		{"kern emerg is pri 0", time.Date(2026, time.January, 31, 23, 59, 59, 0, time.UTC), Kern, Emerg,
			"x", "<0>Jan 31 23:59:59 tandem[4242]: x"},
		{"local7 debug is pri 191", time.Date(2026, time.December, 1, 0, 0, 0, 0, time.UTC), Local7, Debug,
			"y", "<191>Dec  1 00:00:00 tandem[4242]: y"},
		{"daemon err, trailing newlines removed", time.Date(2026, time.July, 14, 12, 0, 0, 0, time.UTC), Daemon, Err,
			"config reloaded\r\n\n", "<27>Jul 14 12:00:00 tandem[4242]: config reloaded"},
		{"local time zone is kept", time.Date(2026, time.November, 25, 23, 30, 0, 0, time.FixedZone("CET", 3600)), Local0, Notice,
			"z", "<133>Nov 25 23:30:00 tandem[4242]: z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pc, read := listenUDP(t)
			w := dialTest(t, "udp://"+pc.LocalAddr().String(), WithClock(fixedClock(tt.now)), WithPID(4242))
			if err := w.Write(tt.fac, tt.sev, []byte(tt.msg)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, read()); diff != "" {
				t.Errorf("datagram (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTimestampFollowsClock(t *testing.T) {
	t.Parallel()
	pc, read := listenUDP(t)
	now := time.Date(2026, time.November, 25, 16, 50, 0, 0, time.UTC)
	w := dialTest(t, "udp://"+pc.LocalAddr().String(), WithClock(func() time.Time { return now }), WithPID(1))
	for _, step := range []time.Duration{0, 999 * time.Millisecond, time.Millisecond, time.Hour, -time.Hour} {
		now = now.Add(step)
		if err := w.Write(Local0, Info, []byte("m")); err != nil {
			t.Fatal(err)
		}
		if got, want := read(), "<134>"+now.Format(time.Stamp)+" tandem[1]: m"; got != want {
			t.Errorf("after +%v: got %q, want %q", step, got, want)
		}
	}
}

func TestWriteTruncatesLongMessages(t *testing.T) {
	t.Parallel()
	pc, read := listenUDP(t)
	w := dialTest(t, "udp://"+pc.LocalAddr().String(), WithMaxLen(100), WithPID(7),
		WithClock(fixedClock(time.Date(2026, time.November, 25, 16, 50, 0, 0, time.UTC))))
	if err := w.Write(Local0, Info, []byte(strings.Repeat("a", 500))); err != nil {
		t.Fatal(err)
	}
	got := read()
	if len(got) != 100 || !strings.HasPrefix(got, "<134>Nov 25 16:50:00 tandem[7]: aaa") {
		t.Errorf("got %d bytes %q, want 100 bytes of header then a's", len(got), got)
	}
}

func TestDialErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ target, tag string }{
		{"stderr", "tandem"},
		{"tcp://127.0.0.1:514", "tandem"},
		{"udp://127.0.0.1:514", ""},
		{"udp://127.0.0.1:514", "tan dem"},
		{"udp://127.0.0.1:514", "tandem:"},
		{"unix://" + filepath.Join(t.TempDir(), "absent"), "tandem"},
	} {
		if w, err := Dial(tt.target, tt.tag); err == nil {
			w.Close()
			t.Errorf("Dial(%q, %q) succeeded, want an error", tt.target, tt.tag)
		}
	}
}

func TestDialDefaultPort(t *testing.T) {
	t.Parallel()
	w := dialTest(t, "udp://127.0.0.1")
	if w.addr != "127.0.0.1:514" {
		t.Errorf("addr = %q, want 127.0.0.1:514", w.addr)
	}
}

func TestWriteRejectsBadPriority(t *testing.T) {
	t.Parallel()
	pc, _ := listenUDP(t)
	w := dialTest(t, "udp://"+pc.LocalAddr().String())
	for _, p := range []struct {
		f Facility
		s Severity
	}{{-1, Info}, {Local7 + 1, Info}, {Local0, -1}, {Local0, Debug + 1}} {
		if err := w.Write(p.f, p.s, []byte("x")); err == nil {
			t.Errorf("Write(%d, %d) succeeded", p.f, p.s)
		}
	}
	if got := w.Dropped(); got != 4 {
		t.Errorf("Dropped = %d, want 4", got)
	}
	noDatagram(t, pc)
}

// TestDropsWhenNobodyListens: a UDP target without a daemon makes the
// kernel report refusals; they are counted, not retried, and Write returns
// promptly.
func TestDropsWhenNobodyListens(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	w := dialTest(t, "udp://"+addr)
	deadline := time.Now().Add(5 * time.Second)
	for w.Dropped() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no drop counted after %d writes to a closed port", w.Sent())
		}
		start := time.Now()
		_ = w.Write(Local0, Info, []byte("lost"))
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Write blocked for %v", d)
		}
	}
}

func TestWriteAfterClose(t *testing.T) {
	t.Parallel()
	pc, _ := listenUDP(t)
	w := dialTest(t, "udp://"+pc.LocalAddr().String())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Write(Local0, Info, []byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
	if w.Dropped() != 1 {
		t.Errorf("Dropped = %d, want 1", w.Dropped())
	}
}

// TestUnixSocketRedial: when the daemon re-creates /dev/log (a restart),
// the writer notices the dead socket and opens the new one.
func TestUnixSocketRedial(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "log")
	listen := func() *net.UnixConn {
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := listen()
	w := dialTest(t, "unix://"+path, WithPID(9), WithClock(fixedClock(time.Date(2026, time.November, 25, 16, 50, 0, 0, time.UTC))))
	if err := w.Write(Local0, Info, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if got, want := readDatagram(t, first), "<134>Nov 25 16:50:00 tandem[9]: one"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	first.Close()
	if err := os.Remove(path); err != nil { // as a restarted daemon does
		t.Fatal(err)
	}
	second := listen()
	defer second.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if w.Write(Local0, Info, []byte("two")) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writer did not reopen the socket; dropped %d", w.Dropped())
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	if got := readDatagram(t, second); !strings.HasSuffix(got, ": two") {
		t.Errorf("got %q after redial", got)
	}
}

func TestParseFacility(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want Facility
		ok   bool
	}{
		{"local0", Local0, true}, {"LOCAL1", Local1, true}, {"local7", Local7, true},
		{"daemon", Daemon, true}, {"user", User, true}, {"kern", Kern, true},
		{"local8", 0, false}, {"", 0, false}, {"16", 0, false},
	} {
		got, err := ParseFacility(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseFacility(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && !strings.EqualFold(got.String(), tt.in) {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tt.in)
		}
	}
	var f Facility
	if err := f.UnmarshalText([]byte("local1")); err != nil || f != Local1 {
		t.Errorf("UnmarshalText(local1) = %v, %v", f, err)
	}
}

func TestWriteZeroAllocs(t *testing.T) {
	pc, _ := listenUDP(t)
	w := dialTest(t, "udp://"+pc.LocalAddr().String())
	msg := []byte(`192.0.2.200:51234 [25/Nov/2026:16:50:00.123] http-in ms1/ms1.srv1 0/0/1/2/3 200 512 - - --NI 1/1/0/0/0 0/0 "GET /ms1/demo.html HTTP/1.1"`)
	// The clock stands still: the once-per-second timestamp is amortised
	// over thousands of lines in real use, but AllocsPerRun's 100 runs
	// could straddle a second.
	w.now = fixedClock(time.Now())
	if n := testing.AllocsPerRun(100, func() { _ = w.Write(Local0, Info, msg) }); n != 0 {
		t.Errorf("Write allocates %v times per line", n)
	}
}

func BenchmarkWrite(b *testing.B) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	w, err := Dial("udp://"+pc.LocalAddr().String(), "tandem")
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	msg := []byte(`192.0.2.200:51234 [25/Nov/2026:16:50:00.123] http-in ms1/ms1.srv1 0/0/1/2/3 200 512 - - --NI 1/1/0/0/0 0/0 "GET /ms1/demo.html HTTP/1.1"`)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = w.Write(Local0, Info, msg)
		}
	})
}

// TestConcurrentWrites: many goroutines share one Writer; every datagram
// arrives whole (pooled buffers are never shared between two writes) and
// every write is either sent or counted as dropped.
func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "log")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	w := dialTest(t, "unix://"+path, WithPID(1), WithClock(fixedClock(time.Date(2026, time.November, 25, 16, 50, 0, 0, time.UTC))))
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := []byte(strings.Repeat(strconv.Itoa(g), 10+g*37))
			for range each {
				_ = w.Write(Local0, Info, msg)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	received := 0
	buf := make([]byte, 65536)
	for {
		_ = ln.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := ln.ReadFrom(buf)
		if err != nil {
			select {
			case <-done:
			default:
				continue // writers still running
			}
			break
		}
		received++
		got := string(buf[:n])
		body, ok := strings.CutPrefix(got, "<134>Nov 25 16:50:00 tandem[1]: ")
		if !ok || len(body) < 10 || strings.Trim(body, body[:1]) != "" || len(body) != 10+int(body[0]-'0')*37 {
			t.Fatalf("mangled datagram %q", got)
		}
	}
	if w.Sent()+w.Dropped() != writers*each || uint64(received) != w.Sent() {
		t.Errorf("sent %d + dropped %d != %d writes, or received %d != sent", w.Sent(), w.Dropped(), writers*each, received)
	}
}
