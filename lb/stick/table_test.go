package stick

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// clock is a fake clock safe for concurrent reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder collects events as "kind key server".
type recorder struct {
	mu  sync.Mutex
	evs []string
	t   *Table
}

func (r *recorder) on(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, fmt.Sprintf("%s %s %s", e.Kind, r.t.FormatKey(e.Key), e.Server.Name))
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.evs
	r.evs = nil
	return out
}

func newTable(t testing.TB, cfg Config) (*Table, *clock, *recorder) {
	t.Helper()
	c := newClock()
	r := &recorder{}
	tb, err := New(cfg, Options{Now: c.Now, OnEvent: r.on})
	if err != nil {
		t.Fatal(err)
	}
	r.t = tb
	return tb, c, r
}

func ip(t testing.TB, tb *Table, s string) []byte {
	t.Helper()
	k, ok := tb.KeyAddr(nil, netip.MustParseAddr(s))
	if !ok {
		t.Fatalf("no key for %s", s)
	}
	return k
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Type: IP, Size: 10}, ""},
		{Config{Type: String, Size: 10, Len: 8}, ""},
		{Config{Size: 10}, "type is not set"},
		{Config{Type: IP}, "size 0"},
		{Config{Type: IP, Size: 1, Expire: -1}, "negative"},
		{Config{Type: IP, Size: 1, Len: 4}, "only string tables"},
	}
	for _, tt := range tests {
		_, err := New(tt.cfg, Options{})
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("New(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	for _, s := range []string{"ip", "ipv6", "integer", "string"} {
		if ty, err := ParseType(s); err != nil || ty.String() != s {
			t.Errorf("ParseType(%q) = %v, %v", s, ty, err)
		}
	}
	if _, err := ParseType("binary"); err == nil {
		t.Error("ParseType(binary) accepted")
	}
}

func TestPutGetExpire(t *testing.T) {
	t.Parallel()
	tb, c, rec := newTable(t, Config{Type: IP, Size: 10, Expire: 30 * time.Minute})
	k := ip(t, tb, "192.0.2.1")
	if _, ok := tb.Get(k); ok {
		t.Fatal("empty table matched")
	}
	tb.Put(k, Server{1, "s1"})
	if s, ok := tb.Get(k); !ok || s != (Server{1, "s1"}) {
		t.Fatalf("Get = %v, %v", s, ok)
	}
	// A match refreshes the expiry.
	c.Add(20 * time.Minute)
	if _, ok := tb.Get(k); !ok {
		t.Fatal("lost before expiry")
	}
	c.Add(20 * time.Minute)
	if _, ok := tb.Get(k); !ok {
		t.Fatal("match did not refresh the expiry")
	}
	tb.Put(k, Server{2, "s2"})
	c.Add(30*time.Minute + time.Nanosecond)
	if _, ok := tb.Get(k); ok {
		t.Fatal("matched after expiry")
	}
	if tb.Len() != 0 {
		t.Fatalf("Len = %d after expiry", tb.Len())
	}
	want := []string{"created 192.0.2.1 s1", "updated 192.0.2.1 s2", "expired 192.0.2.1 s2"}
	if d := cmp.Diff(want, rec.take()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

func TestNoExpire(t *testing.T) {
	t.Parallel()
	tb, c, _ := newTable(t, Config{Type: Integer, Size: 2})
	k, _ := tb.KeyInt(nil, 42)
	tb.Put(k, Server{1, "a"})
	c.Add(1000 * time.Hour)
	if tb.Purge() != 0 {
		t.Fatal("purged a table without expire")
	}
	if _, ok := tb.Get(k); !ok {
		t.Fatal("entry of a table without expire went away")
	}
}

func TestLRUEviction(t *testing.T) {
	t.Parallel()
	tb, _, rec := newTable(t, Config{Type: IP, Size: 3, Expire: time.Hour})
	a, b, c, d := ip(t, tb, "192.0.2.1"), ip(t, tb, "192.0.2.2"), ip(t, tb, "192.0.2.3"), ip(t, tb, "192.0.2.4")
	tb.Put(a, Server{1, "s1"})
	tb.Put(b, Server{1, "s1"})
	tb.Put(c, Server{1, "s1"})
	tb.Get(a) // a is now the most recent, b the least
	tb.Put(d, Server{2, "s2"})
	if _, ok := tb.Get(b); ok {
		t.Error("least recently used entry kept")
	}
	for _, k := range [][]byte{a, c, d} {
		if _, ok := tb.Get(k); !ok {
			t.Errorf("%s evicted", tb.FormatKey(string(k)))
		}
	}
	if tb.Len() != 3 {
		t.Errorf("Len = %d", tb.Len())
	}
	want := []string{
		"created 192.0.2.1 s1", "created 192.0.2.2 s1", "created 192.0.2.3 s1",
		"evicted 192.0.2.2 s1", "created 192.0.2.4 s2",
	}
	if d := cmp.Diff(want, rec.take()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	tb, c, rec := newTable(t, Config{Type: String, Size: 100, Expire: time.Minute})
	for i := range 5 {
		tb.Put([]byte(fmt.Sprint("k", i)), Server{1, "s"})
		c.Add(10 * time.Second)
	}
	// k0 was stored 50 s ago, k4 10 s ago; k1 is touched now.
	tb.Get([]byte("k1"))
	c.Add(45 * time.Second) // now t+95: k0 (exp 60), k2 (80), k3 (90) expire; k4 (100), k1 (110) live
	rec.take()
	if n := tb.Purge(); n != 3 {
		t.Fatalf("Purge = %d, want 3", n)
	}
	want := []string{"expired k0 s", "expired k2 s", "expired k3 s"}
	if d := cmp.Diff(want, rec.take()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	var keys []string
	for _, e := range tb.Entries() {
		keys = append(keys, e.Key)
	}
	if d := cmp.Diff([]string{"k1", "k4"}, keys); d != "" {
		t.Errorf("entries (-want +got):\n%s", d)
	}
}

func TestLearnDeleteClear(t *testing.T) {
	t.Parallel()
	tb, c, rec := newTable(t, Config{Type: IPv6, Size: 10, Expire: time.Hour})
	k := ip(t, tb, "2001:db8::1")
	tb.Learn(k, Server{3, "s3"}, c.Now().Add(time.Minute))
	tb.Learn([]byte("short"), Server{3, "s3"}, time.Time{}) // wrong length: ignored
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("Learn emitted %v", got)
	}
	es := tb.Entries()
	if len(es) != 1 || !es[0].Expire.Equal(c.Now().Add(time.Minute)) {
		t.Fatalf("entries %+v", es)
	}
	if !tb.Delete(k) || tb.Delete(k) {
		t.Fatal("Delete")
	}
	tb.Put(k, Server{1, "s1"})
	tb.Put(ip(t, tb, "192.0.2.9"), Server{1, "s1"})
	tb.Clear()
	if tb.Len() != 0 {
		t.Fatal("Clear left entries")
	}
	want := []string{
		"deleted 2001:db8::1 s3", "created 2001:db8::1 s1", "created ::ffff:192.0.2.9 s1",
		"deleted ::ffff:192.0.2.9 s1", "deleted 2001:db8::1 s1",
	}
	if d := cmp.Diff(want, rec.take()); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	mk := func(ty Type, l int) *Table {
		tb, err := New(Config{Type: ty, Size: 1, Len: l}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	ipT, v6T, intT, strT, shortT := mk(IP, 0), mk(IPv6, 0), mk(Integer, 0), mk(String, 0), mk(String, 4)
	tests := []struct {
		name   string
		t      *Table
		addr   string // KeyAddr when set
		sample string // KeySample otherwise
		ok     bool
		shown  string
	}{
		{"ip src", ipT, "192.0.2.7", "", true, "192.0.2.7"},
		{"ip mapped src", ipT, "::ffff:192.0.2.7", "", true, "192.0.2.7"},
		{"ip v6 src", ipT, "2001:db8::1", "", false, ""},
		{"ipv6 v4 src", v6T, "192.0.2.7", "", true, "::ffff:192.0.2.7"},
		{"ipv6 src", v6T, "2001:db8::1", "", true, "2001:db8::1"},
		{"integer src", intT, "0.0.1.2", "", true, "258"},
		{"string src", strT, "192.0.2.7", "", true, "192.0.2.7"},
		{"ip header", ipT, "", "192.0.2.8", true, "192.0.2.8"},
		{"ip header v6 text mapped", ipT, "", "::ffff:192.0.2.8", true, "192.0.2.8"},
		{"ip header junk", ipT, "", "192.0.2", false, ""},
		{"ip header leading zero", ipT, "", "192.0.2.08", false, ""},
		{"ip header 256", ipT, "", "192.0.2.256", false, ""},
		{"ipv6 header", v6T, "", "2001:db8::2", true, "2001:db8::2"},
		{"ipv6 header v4", v6T, "", "192.0.2.8", true, "::ffff:192.0.2.8"},
		{"ipv6 header zone", v6T, "", "fe80::1%eth0", false, ""},
		{"integer header", intT, "", "-17", true, "-17"},
		{"integer too big", intT, "", "2147483648", false, ""},
		{"integer max", intT, "", "2147483647", true, "2147483647"},
		{"integer junk", intT, "", "12a", false, ""},
		{"string", strT, "", "abc def", true, `abc\x20def`},
		{"string truncated", shortT, "", "abcdef", true, "abcd"},
		{"empty", strT, "", "", false, ""},
	}
	for _, tt := range tests {
		var k []byte
		var ok bool
		if tt.addr != "" {
			k, ok = tt.t.KeyAddr(nil, netip.MustParseAddr(tt.addr))
		} else {
			k, ok = tt.t.KeySample(nil, []byte(tt.sample))
		}
		if ok != tt.ok {
			t.Errorf("%s: ok = %v", tt.name, ok)
			continue
		}
		if !ok {
			continue
		}
		if !tt.t.validKey(k) {
			t.Errorf("%s: key %x not valid for the table", tt.name, k)
		}
		if got := tt.t.FormatKey(string(k)); got != tt.shown {
			t.Errorf("%s: shown as %q, want %q", tt.name, got, tt.shown)
		}
	}
	if _, ok := intT.KeyInt(nil, 1<<40); ok {
		t.Error("KeyInt accepted 2^40")
	}
	if k, ok := strT.KeyInt(nil, 99); !ok || string(k) != "99" {
		t.Errorf("string KeyInt = %q", k)
	}
}

func TestAppendShow(t *testing.T) {
	t.Parallel()
	tb, c, _ := newTable(t, Config{Type: IP, Size: 100000, Expire: 30 * time.Minute})
	tb.Put(ip(t, tb, "192.0.2.1"), Server{1, "ms1.srv1"})
	c.Add(2 * time.Second)
	tb.Put(ip(t, tb, "192.0.2.2"), Server{2, "ms1.srv2"})
	got := string(tb.AppendShow(nil, "ms1"))
	// The table has 16 shards at this size: order lines by key.
	want := "# table: ms1, type: ip, size:100000, used:2\n"
	lines := strings.SplitAfter(got, "\n")
	if lines[0] != want {
		t.Fatalf("header %q", lines[0])
	}
	body := strings.Join(lines[1:], "")
	for _, l := range []string{
		": key=192.0.2.1 use=0 exp=1798000 server_id=1 server_key=ms1.srv1\n",
		": key=192.0.2.2 use=0 exp=1800000 server_id=2 server_key=ms1.srv2\n",
	} {
		if !strings.Contains(body, l) {
			t.Errorf("dump lacks %q:\n%s", l, got)
		}
	}
}

// TestShardedBound checks the size bound of a sharded table.
func TestShardedBound(t *testing.T) {
	t.Parallel()
	tb, _, _ := newTable(t, Config{Type: Integer, Size: 5000, Expire: time.Hour})
	for i := range 20000 {
		k, _ := tb.KeyInt(nil, int64(i))
		tb.Put(k, Server{1, "s"})
	}
	if n := tb.Len(); n > 5000 || n < 4900 {
		t.Fatalf("Len = %d, want at most 5000 and close to it", n)
	}
	// The most recent keys are all there.
	for i := 19900; i < 20000; i++ {
		k, _ := tb.KeyInt(nil, int64(i))
		if _, ok := tb.Get(k); !ok {
			t.Fatalf("recent key %d evicted", i)
		}
	}
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	for _, size := range []int{50, 10000} {
		tb, c, _ := newTable(t, Config{Type: IP, Size: size, Expire: time.Second})
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var kb [4]byte
				for i := range 2000 {
					k, _ := tb.KeyAddr(kb[:0], netip.AddrFrom4([4]byte{192, 0, 2, byte(i*7 + g)}))
					switch i % 5 {
					case 0, 1:
						tb.Put(k, Server{g, "s"})
					case 2:
						tb.Delete(k)
					case 3:
						tb.Purge()
						c.Add(time.Millisecond)
					default:
						tb.Get(k)
					}
				}
				_ = tb.Entries()
			}()
		}
		wg.Wait()
		if tb.Len() > size {
			t.Fatalf("Len %d > size %d", tb.Len(), size)
		}
	}
}

func FuzzKeySample(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "::1", "-5", "abc", "1.2.3.4.5", "00", "fe80::1%x", "+"} {
		f.Add(s)
	}
	var tables []*Table
	for _, ty := range []Type{IP, IPv6, Integer, String} {
		tb, _ := New(Config{Type: ty, Size: 4, Len: map[Type]int{String: 8}[ty]}, Options{})
		tables = append(tables, tb)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tb := range tables {
			k, ok := tb.KeySample(nil, []byte(s))
			if !ok {
				continue
			}
			if !tb.validKey(k) {
				t.Fatalf("%s: invalid key %x from %q", tb.cfg.Type, k, s)
			}
			tb.Put(k, Server{1, "s"})
			if _, ok := tb.Get(k); !ok {
				t.Fatal("stored key not found")
			}
			_ = tb.FormatKey(string(k))
		}
	})
}
