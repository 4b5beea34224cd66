package cookie

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustNew(t testing.TB, cfg Config) *Persist {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return p
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = no error
	}{
		{"insert ok", Config{Name: "SRV", Mode: Insert, Indirect: true, NoCache: true, HTTPOnly: true, Secure: true, Domains: []string{".example.com"}, Attrs: []string{"SameSite=Lax"}, MaxIdle: time.Minute, MaxLife: time.Hour}, ""},
		{"rewrite ok", Config{Name: "JSESSIONID", Mode: Rewrite}, ""},
		{"prefix ok", Config{Name: "JSESSIONID", Mode: Prefix, Indirect: true, Preserve: true}, ""},
		{"no name", Config{Mode: Insert}, "name is empty"},
		{"bad name", Config{Name: "a b", Mode: Insert}, "not a valid token"},
		{"no mode", Config{Name: "X"}, "mode is not set"},
		{"nocache rewrite", Config{Name: "X", Mode: Rewrite, NoCache: true}, "nocache only applies to insert"},
		{"maxidle prefix", Config{Name: "X", Mode: Prefix, MaxIdle: time.Second}, "maxidle only applies"},
		{"preserve rewrite", Config{Name: "X", Mode: Rewrite, Preserve: true}, "preserve requires"},
		{"bad attr", Config{Name: "X", Mode: Insert, Attrs: []string{"a;b"}}, "attr"},
		{"bad domain", Config{Name: "X", Mode: Insert, Domains: []string{"a b"}}, "domain"},
		{"negative", Config{Name: "X", Mode: Insert, MaxLife: -time.Second}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	t.Parallel()
	for _, m := range []Mode{Insert, Rewrite, Prefix} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMode("session"); err == nil {
		t.Error("ParseMode(session) accepted")
	}
}

func TestCheckServerValue(t *testing.T) {
	t.Parallel()
	ins := mustNew(t, Config{Name: "S", Mode: Insert})
	pfx := mustNew(t, Config{Name: "S", Mode: Prefix})
	tests := []struct {
		p     *Persist
		v     string
		valid bool
	}{
		{ins, "ms1.srv1", true},
		{ins, "a~b", true},
		{ins, "a|b", false},
		{pfx, "a|b", true},
		{pfx, "a~b", false},
		{ins, "", false},
		{ins, "a b", false},
		{ins, "a;b", false},
		{ins, `a"b`, false},
	}
	for _, tt := range tests {
		if err := tt.p.CheckServerValue(tt.v); (err == nil) != tt.valid {
			t.Errorf("%s CheckServerValue(%q) = %v, want valid %v", tt.p.cfg.Mode, tt.v, err, tt.valid)
		}
	}
}

func TestNext(t *testing.T) {
	t.Parallel()
	type kv struct {
		Name, Value string
		HasEq       bool
	}
	tests := []struct {
		in   string
		want []kv
	}{
		{"", nil},
		{"a=1", []kv{{"a", "1", true}}},
		{"a=1; b=2", []kv{{"a", "1", true}, {"b", "2", true}}},
		{" a = 1 ;;  b=2;", []kv{{"a", "1", true}, {"b", "2", true}}},
		{"flag; a=", []kv{{"flag", "", false}, {"a", "", true}}},
		{"a=x=y", []kv{{"a", "x=y", true}}},
		{`q="v;w"`, []kv{{"q", `"v`, true}, {`w"`, "", false}}},
		{";;;", nil},
	}
	for _, tt := range tests {
		var got []kv
		v := []byte(tt.in)
		for {
			p, rest, ok := Next(v)
			if !ok {
				break
			}
			got = append(got, kv{string(p.Name), string(p.Value), p.HasEq})
			v = rest
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("Next(%q) (-want +got):\n%s", tt.in, d)
		}
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, name, want string
		ok             bool
	}{
		{"a=1; b=2", "b", "2", true},
		{"a=1; b=2; b=3", "b", "2", true},
		{"a=1", "A", "", false},
		{"b; b=", "b", "", true},
		{"", "b", "", false},
	}
	for _, tt := range tests {
		got, ok := Get([]byte(tt.in), tt.name)
		if string(got) != tt.want || ok != tt.ok {
			t.Errorf("Get(%q, %q) = %q, %v; want %q, %v", tt.in, tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

type fakeServer struct {
	cookie string
	usable bool
}

func (s *fakeServer) PersistCookie() string      { return s.cookie }
func (s *fakeServer) UsableForPersistence() bool { return s.usable }

func TestScanLookup(t *testing.T) {
	t.Parallel()
	const now = 1_800_000_000
	ins := mustNew(t, Config{Name: "SRV", Mode: Insert, Indirect: true})
	idle := mustNew(t, Config{Name: "SRV", Mode: Insert, MaxIdle: 30 * time.Minute, MaxLife: 8 * time.Hour})
	pfx := mustNew(t, Config{Name: "JS", Mode: Prefix})
	date := func(unix int64) string { return string(appendDate(nil, unix)) }
	servers := []*fakeServer{
		{"s1", true},
		{"s2", false},
		{"", true},
		{"s3", false},
		{"s3", true},
		{"s4", false},
		{"s4", false},
	}
	tests := []struct {
		name    string
		p       *Persist
		headers []string
		want    ReqStatus
		idx     int
		id      string
	}{
		{"none", ins, nil, ReqNone, -1, ""},
		{"other cookies", ins, []string{"a=1; b=2"}, ReqNone, -1, ""},
		{"valid", ins, []string{"a=1; SRV=s1"}, ReqValid, 0, "s1"},
		{"second header", ins, []string{"a=1", "SRV=s1"}, ReqValid, 0, "s1"},
		{"first occurrence wins", ins, []string{"SRV=nope; SRV=s1"}, ReqInvalid, -1, "nope"},
		{"down", ins, []string{"SRV=s2"}, ReqDown, -1, "s2"},
		{"shared cookie, first usable", ins, []string{"SRV=s3"}, ReqValid, 4, "s3"},
		{"shared cookie all down", ins, []string{"SRV=s4"}, ReqDown, -1, "s4"},
		{"unknown", ins, []string{"SRV=zz"}, ReqInvalid, -1, "zz"},
		{"empty never matches cookie-less server", ins, []string{"SRV="}, ReqInvalid, -1, ""},
		{"case sensitive name", ins, []string{"srv=s1"}, ReqNone, -1, ""},
		{"name without value", ins, []string{"SRV"}, ReqNone, -1, ""},
		{"prefix", pfx, []string{"JS=s1~abcdef"}, ReqValid, 0, "s1"},
		{"prefix no delimiter", pfx, []string{"JS=abcdef"}, ReqInvalid, -1, "abcdef"},
		{"prefix empty id", pfx, []string{"JS=~abc"}, ReqInvalid, -1, ""},
		{"dates fresh", idle, []string{"SRV=s1|" + date(now-60) + "|" + date(now-3600)}, ReqValid, 0, "s1"},
		{"idle expired", idle, []string{"SRV=s1|" + date(now-31*60) + "|" + date(now-3600)}, ReqExpired, -1, ""},
		{"too old", idle, []string{"SRV=s1|" + date(now-60) + "|" + date(now-9*3600)}, ReqOld, -1, ""},
		{"far future", idle, []string{"SRV=s1|" + date(now+2*86400)}, ReqExpired, -1, ""},
		{"bad date ignored", idle, []string{"SRV=s1|!!!!!"}, ReqValid, 0, "s1"},
		{"no dates with maxidle", idle, []string{"SRV=s1"}, ReqValid, 0, "s1"},
		{"dates without maxidle ignored for expiry", ins, []string{"SRV=s1|AAAAB"}, ReqValid, 0, "s1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r Request
			r.Reset()
			for _, h := range tt.headers {
				tt.p.Scan([]byte(h), now, &r)
			}
			i := Lookup(&r, servers)
			if r.Status != tt.want || i != tt.idx || string(r.ID) != tt.id {
				t.Errorf("status %c index %d id %q; want %c %d %q", r.Status, i, r.ID, tt.want, tt.idx, tt.id)
			}
		})
	}
}

func TestScanDates(t *testing.T) {
	t.Parallel()
	const now = 1_800_000_001
	p := mustNew(t, Config{Name: "SRV", Mode: Insert, MaxIdle: time.Hour, MaxLife: 10 * time.Hour})
	v := "SRV=s1|" + string(appendDate(nil, now)) + "|" + string(appendDate(nil, now-7200))
	var r Request
	r.Reset()
	p.Scan([]byte(v), now, &r)
	// Dates have a 4 s resolution, rounded up.
	if r.Last < now || r.Last > now+4 || r.First < now-7200 || r.First > now-7196 {
		t.Fatalf("dates last=%d first=%d, want about %d and %d", r.Last, r.First, now, now-7200)
	}
}

func TestDateRoundTrip(t *testing.T) {
	t.Parallel()
	for _, u := range []int64{4, 1_000_000_000, 1_800_000_000, 1<<32 - 4} {
		d := appendDate(nil, u)
		got, ok := decodeDate(d)
		if !ok || got < u || got > u+3 {
			t.Errorf("date %d -> %q -> %d, %v", u, d, got, ok)
		}
	}
	// HAProxy's encoding of 2026-11-25 00:00:00 UTC: (1795564800+3)>>2.
	if got := string(appendDate(nil, 1795564800)); got != "awYlA" {
		t.Errorf("appendDate = %q", got)
	}
}

func TestStripRequest(t *testing.T) {
	t.Parallel()
	indirect := mustNew(t, Config{Name: "SRV", Mode: Insert, Indirect: true})
	direct := mustNew(t, Config{Name: "SRV", Mode: Insert})
	rewrite := mustNew(t, Config{Name: "SRV", Mode: Rewrite, Indirect: true})
	pfx := mustNew(t, Config{Name: "JS", Mode: Prefix})
	tests := []struct {
		name    string
		p       *Persist
		in      string
		want    string
		changed bool
	}{
		{"only cookie", indirect, "SRV=s1", "", true},
		{"among others", indirect, "a=1; SRV=s1; b=2", "a=1; b=2", true},
		{"every occurrence", indirect, "SRV=s1;a=1;SRV=s2", "a=1", true},
		{"absent", indirect, "a=1; b=2", "", false},
		{"name as value", indirect, "a=SRV", "", false},
		{"flag kept", indirect, "x; SRV=1", "x", true},
		{"not indirect", direct, "SRV=s1", "", false},
		{"rewrite passes", rewrite, "SRV=s1", "", false},
		{"prefix stripped", pfx, "JS=s1~app123; a=1", "JS=app123; a=1", true},
		{"prefix first tilde", pfx, "JS=s1~a~b", "JS=a~b", true},
		{"prefix without delimiter", pfx, "JS=app123", "", false},
		{"prefix other cookie", pfx, "A=s1~x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, changed := tt.p.StripRequest(make([]byte, 0, 8), []byte(tt.in))
			if string(out) != tt.want || changed != tt.changed {
				t.Errorf("StripRequest(%q) = %q, %v; want %q, %v", tt.in, out, changed, tt.want, tt.changed)
			}
		})
	}
}

func TestSetCookie(t *testing.T) {
	t.Parallel()
	ins := mustNew(t, Config{Name: "SRV", Mode: Insert})
	insPreserve := mustNew(t, Config{Name: "SRV", Mode: Insert, Preserve: true})
	rw := mustNew(t, Config{Name: "JS", Mode: Rewrite})
	rwInd := mustNew(t, Config{Name: "JS", Mode: Rewrite, Indirect: true})
	pfx := mustNew(t, Config{Name: "JS", Mode: Prefix})
	tests := []struct {
		name   string
		p      *Persist
		server string
		direct bool
		in     string
		act    Action
		out    string
		status RespStatus
	}{
		{"insert deletes server's", ins, "s1", false, "SRV=x; path=/", Delete, "", RespDeleted},
		{"insert other cookie", ins, "s1", false, "SESSION=abc; path=/", Keep, "", RespNone},
		{"insert preserve", insPreserve, "s1", false, "SRV=x", Keep, "", RespPresent},
		{"rewrite", rw, "s1", false, "JS=; path=/; HttpOnly", Replace, "JS=s1; path=/; HttpOnly", RespReplaced},
		{"rewrite value", rw, "s1", false, "JS = abc ;path=/", Replace, "JS = s1 ;path=/", RespReplaced},
		{"rewrite no attrs", rw, "s1", false, "JS=abc", Replace, "JS=s1", RespReplaced},
		{"rewrite server without cookie", rw, "", false, "JS=abc", Keep, "", RespPresent},
		{"rewrite indirect direct", rwInd, "s1", true, "JS=abc", Delete, "", RespDeleted},
		{"rewrite indirect not direct", rwInd, "s1", false, "JS=abc", Replace, "JS=s1", RespReplaced},
		{"prefix", pfx, "s1", false, "JS=app123; path=/", Replace, "JS=s1~app123; path=/", RespReplaced},
		{"prefix empty value", pfx, "s1", false, "JS=; Max-Age=0", Replace, "JS=s1~; Max-Age=0", RespReplaced},
		{"not a cookie", pfx, "s1", false, "garbage", Keep, "", RespNone},
		{"name case matters", pfx, "s1", false, "js=1", Keep, "", RespNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rs Response
			rs.Reset(tt.server, tt.direct)
			out, act := tt.p.SetCookie(nil, []byte(tt.in), &rs)
			if act != tt.act || string(out) != tt.out || rs.Status != tt.status {
				t.Errorf("SetCookie(%q) = %q, %d, status %c; want %q, %d, %c", tt.in, out, act, rs.Status, tt.out, tt.act, tt.status)
			}
		})
	}
}

func TestInsert(t *testing.T) {
	t.Parallel()
	const now = 1795564800
	plain := mustNew(t, Config{Name: "HA_STICKY_ms1", Mode: Insert, Indirect: true, NoCache: true})
	full := mustNew(t, Config{Name: "S", Mode: Insert, HTTPOnly: true, Secure: true, Domains: []string{".a.example", ".b.example"}, Attrs: []string{"SameSite=Lax"}})
	idle := mustNew(t, Config{Name: "S", Mode: Insert, MaxIdle: 30 * time.Minute})
	life := mustNew(t, Config{Name: "S", Mode: Insert, MaxIdle: 30 * time.Minute, MaxLife: 8 * time.Hour})
	post := mustNew(t, Config{Name: "S", Mode: Insert, PostOnly: true})
	preserve := mustNew(t, Config{Name: "S", Mode: Insert, Preserve: true})
	rw := mustNew(t, Config{Name: "S", Mode: Rewrite})
	tests := []struct {
		name         string
		p            *Persist
		server       string
		direct       bool
		last, first  int64
		post, srvSet bool
		want         string // "" = no insert
		status       RespStatus
	}{
		{"new client", plain, "ms1.srv1", false, 0, 0, false, false, "HA_STICKY_ms1=ms1.srv1; path=/", RespInserted},
		{"sticky client", plain, "ms1.srv1", true, 0, 0, false, false, "", RespNone},
		{"attributes", full, "s1", false, 0, 0, false, false, "S=s1; path=/; domain=.a.example; domain=.b.example; HttpOnly; Secure; SameSite=Lax", RespInserted},
		{"server without cookie", full, "", false, 0, 0, false, false, "S=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/; domain=.a.example; domain=.b.example; HttpOnly; Secure; SameSite=Lax", RespInserted},
		{"maxidle new", idle, "s1", false, 0, 0, false, false, "S=s1|awYlA; path=/", RespInserted},
		{"maxidle direct without date", idle, "s1", true, 0, 0, false, false, "S=s1|awYlA; path=/", RespUpdated},
		{"maxidle date still ahead", idle, "s1", true, now + 2, 0, false, false, "", RespNone},
		{"maxidle date passed", idle, "s1", true, now - 60, 0, false, false, "S=s1|awYlA; path=/", RespUpdated},
		{"maxlife keeps first", life, "s1", true, now - 60, now - 3600, false, false, "S=s1|awYlA|awYW8; path=/", RespUpdated},
		{"dates dropped when not configured", plain, "s1", true, 0, now - 3600, false, false, "HA_STICKY_ms1=s1; path=/", RespUpdated},
		{"postonly GET", post, "s1", false, 0, 0, false, false, "", RespNone},
		{"postonly POST", post, "s1", false, 0, 0, true, false, "S=s1; path=/", RespInserted},
		{"preserve server set", preserve, "s1", false, 0, 0, false, true, "", RespPresent},
		{"preserve server did not set", preserve, "s1", false, 0, 0, false, false, "S=s1; path=/", RespInserted},
		{"rewrite never inserts", rw, "s1", false, 0, 0, false, false, "", RespNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rs Response
			rs.Reset(tt.server, tt.direct)
			if tt.srvSet {
				tt.p.SetCookie(nil, []byte(tt.p.cfg.Name+"=app"), &rs)
			}
			rq := Request{Status: ReqValid, Last: tt.last, First: tt.first}
			out, ok := tt.p.Insert(nil, &rs, &rq, tt.post, now)
			if tt.want == "" {
				if ok {
					t.Fatalf("inserted %q, want nothing", out)
				}
			} else if !ok || string(out) != tt.want {
				t.Fatalf("Insert = %q, %v; want %q", out, ok, tt.want)
			}
			if rs.Status != tt.status {
				t.Errorf("status %c, want %c", rs.Status, tt.status)
			}
		})
	}
}

func TestCache(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		reqH       [][2]string
		status     int
		respH      [][2]string
		cacheable  bool
		nocacheHdr bool
	}{
		{"plain GET 200", "GET", nil, 200, nil, true, true},
		{"HEAD", "HEAD", nil, 200, nil, true, true},
		{"POST", "POST", nil, 200, nil, false, false},
		{"302", "GET", nil, 302, nil, false, false},
		{"404", "GET", nil, 404, nil, true, true},
		{"authorization", "GET", [][2]string{{"Authorization", "Basic x"}}, 200, nil, false, false},
		{"request no-store", "GET", [][2]string{{"cache-control", "max-age=1, no-store"}}, 200, nil, false, false},
		{"request no-cache is fine", "GET", [][2]string{{"Cache-Control", "no-cache"}}, 200, nil, true, true},
		{"private", "GET", nil, 200, [][2]string{{"Cache-Control", "private"}}, false, false},
		{"list", "GET", nil, 200, [][2]string{{"Cache-Control", "public, max-age=0"}}, false, false},
		{"max-age", "GET", nil, 200, [][2]string{{"Cache-Control", "max-age=60"}}, true, true},
		{"pragma alone", "GET", nil, 200, [][2]string{{"Pragma", "no-cache"}}, false, false},
		{"pragma with cache-control", "GET", nil, 200, [][2]string{{"Pragma", "no-cache"}, {"Cache-Control", "max-age=5"}}, true, true},
	}
	p := mustNew(t, Config{Name: "S", Mode: Insert, NoCache: true})
	q := mustNew(t, Config{Name: "S", Mode: Insert})
	for _, tt := range tests {
		var c Cache
		c.Request([]byte(tt.method))
		for _, h := range tt.reqH {
			c.RequestHeader([]byte(h[0]), []byte(h[1]))
		}
		c.Response(tt.status)
		for _, h := range tt.respH {
			c.ResponseHeader([]byte(h[0]), []byte(h[1]))
		}
		if c.Cacheable() != tt.cacheable {
			t.Errorf("%s: Cacheable = %v", tt.name, c.Cacheable())
		}
		if p.NoCache(&c) != tt.nocacheHdr || q.NoCache(&c) {
			t.Errorf("%s: NoCache = %v", tt.name, p.NoCache(&c))
		}
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rq   ReqStatus
		rs   RespStatus
		want string
	}{
		{ReqNone, RespInserted, "NI"},
		{ReqValid, RespNone, "VN"},
		{ReqDown, RespInserted, "DI"},
		{ReqOld, RespInserted, "OI"},
		{ReqExpired, RespUpdated, "EU"},
		{0, 0, "--"},
	}
	for _, tt := range tests {
		if f := Flags(tt.rq, tt.rs); string(f[:]) != tt.want {
			t.Errorf("Flags(%q, %q) = %q, want %q", tt.rq, tt.rs, f[:], tt.want)
		}
	}
}

// TestRoundTripPrefix follows an application cookie through prefix mode:
// the server sets it, the client gets it prefixed, sends it back, and the
// server sees exactly what it set.
func TestRoundTripPrefix(t *testing.T) {
	t.Parallel()
	p := mustNew(t, Config{Name: "JSESSIONID", Mode: Prefix})
	for _, app := range []string{"abc123", "", "a~b~c", "x|y", "=="} {
		var rs Response
		rs.Reset("srv2", false)
		setc, act := p.SetCookie(nil, []byte("JSESSIONID="+app+"; Path=/"), &rs)
		if act != Replace {
			t.Fatalf("%q: action %d", app, act)
		}
		val, _ := Get(setc[:indexByte(setc, ';')], "JSESSIONID")
		hdr := "other=1; JSESSIONID=" + string(val)
		var rq Request
		rq.Reset()
		p.Scan([]byte(hdr), 0, &rq)
		servers := []*fakeServer{{"srv1", true}, {"srv2", true}}
		if i := Lookup(&rq, servers); i != 1 {
			t.Fatalf("%q: Lookup = %d (%c)", app, i, rq.Status)
		}
		out, changed := p.StripRequest(nil, []byte(hdr))
		if !changed {
			t.Fatalf("%q: not stripped", app)
		}
		if got, _ := Get(out, "JSESSIONID"); string(got) != app {
			t.Errorf("server sees %q, want %q", got, app)
		}
	}
}
