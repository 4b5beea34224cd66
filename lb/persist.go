package lb

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tandemlb/tandem/lb/acl"
	"github.com/tandemlb/tandem/lb/cookie"
	"github.com/tandemlb/tandem/lb/stick"
)

// Persistence: a request carrying the backend's cookie, or whose stick
// key the backend's table knows, goes to the server they name when that
// server is up (ready or draining), before any balancing; otherwise the
// balancer picks and the response inserts a fresh cookie, the table
// records the server used.

// fetchKind is a stick rule's sample fetch.
type fetchKind uint8

const (
	fetchSrc fetchKind = iota + 1
	fetchHdr
	fetchURLParam
	fetchCookie
)

// parseFetch reads a stick rule's fetch expression.
func parseFetch(s string) (fetchKind, string, error) {
	if s == "src" {
		return fetchSrc, "", nil
	}
	for _, f := range []struct {
		prefix string
		kind   fetchKind
	}{{"hdr(", fetchHdr}, {"url_param(", fetchURLParam}, {"req.cook(", fetchCookie}} {
		if strings.HasPrefix(s, f.prefix) && strings.HasSuffix(s, ")") {
			arg := s[len(f.prefix) : len(s)-1]
			if arg == "" || strings.ContainsAny(arg, " \t(),") {
				return 0, "", fmt.Errorf("fetch %q: bad name %q", s, arg)
			}
			return f.kind, arg, nil
		}
	}
	return 0, "", fmt.Errorf("unknown fetch %q (want src, hdr(NAME), url_param(NAME) or req.cook(NAME))", s)
}

// validatePersist reports the persistence settings New cannot use.
func validatePersist(b *BackendConfig) []error {
	var errs []error
	if b.Cookie != nil && b.Mode == ModeTCP {
		errs = append(errs, fmt.Errorf("backend %q: cookie persistence needs mode http", b.Name))
	}
	if len(b.Stick) > 0 && b.StickTable == nil {
		errs = append(errs, fmt.Errorf("backend %q: stick rules need a stick_table", b.Name))
	}
	for _, s := range b.Servers {
		if s.SendProxy < 0 || s.SendProxy > 2 {
			errs = append(errs, fmt.Errorf("backend %q: server %q: send_proxy version %d (want 1 or 2)", b.Name, s.Name, s.SendProxy))
		}
	}
	for i, r := range b.Stick {
		k, _, err := parseFetch(r.Fetch)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("backend %q: stick rule %d: %w", b.Name, i, err))
		case k != fetchSrc && b.Mode == ModeTCP:
			errs = append(errs, fmt.Errorf("backend %q: stick rule %d: fetch %q needs mode http", b.Name, i, r.Fetch))
		}
		if r.Kind < StickOn || r.Kind > StickStoreRequest {
			errs = append(errs, fmt.Errorf("backend %q: stick rule %d: unknown kind %d", b.Name, i, r.Kind))
		}
		if r.If != "" && r.Unless != "" {
			errs = append(errs, fmt.Errorf("backend %q: stick rule %d has both if and unless", b.Name, i))
		}
	}
	return errs
}

// stickState is a backend's stick table and rules.
type stickState struct {
	table *stick.Table
	rules []stickRule
}

type stickRule struct {
	kind  StickKind
	fetch fetchKind
	arg   string
	cond  *acl.Cond
}

// initPersist sets up cookie persistence and the stick table of b. table,
// when not nil, is a table handed over by a previous configuration.
func (b *backend) initPersist(cfg BackendConfig, now func() time.Time, table *stick.Table, onEvent func(string, stick.Event)) error {
	b.srvByName = make(map[string]*server, len(b.servers))
	for i, s := range b.servers {
		s.id = i + 1
		b.srvByName[s.name] = s
	}
	if cfg.Cookie != nil {
		ck, err := cookie.New(*cfg.Cookie)
		if err != nil {
			return fmt.Errorf("backend %q: cookie: %w", cfg.Name, err)
		}
		var errs []error
		for _, s := range b.servers {
			if s.cookie == "" {
				s.cookie = s.name
			}
			if err := ck.CheckServerValue(s.cookie); err != nil {
				errs = append(errs, fmt.Errorf("backend %q: server %q: %w", cfg.Name, s.name, err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		b.ck = ck
		b.ckNoCache = cfg.Cookie.NoCache
	}
	if cfg.StickTable == nil {
		return nil
	}
	st := &stickState{table: table}
	if st.table == nil || st.table.Config() != normTableConfig(*cfg.StickTable) {
		var hook func(stick.Event)
		if onEvent != nil {
			name := cfg.Name
			hook = func(ev stick.Event) { onEvent(name, ev) }
		}
		t, err := stick.New(*cfg.StickTable, stick.Options{Now: now, OnEvent: hook})
		if err != nil {
			return fmt.Errorf("backend %q: stick_table: %w", cfg.Name, err)
		}
		st.table = t
	}
	for i, r := range cfg.Stick {
		k, arg, err := parseFetch(r.Fetch)
		if err != nil {
			return fmt.Errorf("backend %q: stick rule %d: %w", cfg.Name, i, err)
		}
		sr := stickRule{kind: r.Kind, fetch: k, arg: arg}
		switch {
		case r.If != "":
			sr.cond, err = b.acls.Compile(r.If, false)
		case r.Unless != "":
			sr.cond, err = b.acls.Compile(r.Unless, true)
		}
		if err != nil {
			return fmt.Errorf("backend %q: %s %q: %w", cfg.Name, r.Kind, r.Fetch, err)
		}
		st.rules = append(st.rules, sr)
	}
	b.stk = st
	return nil
}

// normTableConfig is cfg as stick.New stores it, to compare with a table
// handed over.
func normTableConfig(cfg stick.Config) stick.Config {
	if cfg.Type == stick.String && cfg.Len == 0 {
		cfg.Len = stick.DefaultLen
	}
	return cfg
}

// PersistCookie implements cookie.Server.
func (s *server) PersistCookie() string { return s.cookie }

// UsableForPersistence implements cookie.Server: up, ready or draining.
func (s *server) UsableForPersistence() bool { return s.health.UsableForPersistence() }

// stickKey appends the key rule r fetches from smp, in the table's
// encoding; false when the sample is missing or does not fit.
func stickKey(dst []byte, t *stick.Table, r *stickRule, smp acl.Sample) ([]byte, bool) {
	switch r.fetch {
	case fetchSrc:
		return t.KeyAddr(dst, smp.Src())
	case fetchHdr:
		v, ok := lastHeaderValue(smp, r.arg)
		if !ok {
			return dst, false
		}
		return t.KeySample(dst, v)
	case fetchURLParam:
		return t.KeySample(dst, urlParam(smp.Query(), r.arg))
	case fetchCookie:
		for i, n := 0, smp.NumHeaders(); i < n; i++ {
			name, value := smp.HeaderAt(i)
			if !equalFoldString(name, "cookie") {
				continue
			}
			if v, ok := cookie.Get(value, r.arg); ok {
				return t.KeySample(dst, v)
			}
		}
	}
	return dst, false
}

// lastHeaderValue is HAProxy's hdr(NAME) as a sample: the last
// comma-separated value of the last occurrence.
func lastHeaderValue(smp acl.Sample, name string) ([]byte, bool) {
	var v []byte
	found := false
	for i, n := 0, smp.NumHeaders(); i < n; i++ {
		hn, hv := smp.HeaderAt(i)
		if equalFoldString(hn, name) {
			v, found = hv, true
		}
	}
	if !found {
		return nil, false
	}
	for i := len(v) - 1; i >= 0; i-- {
		if v[i] == ',' {
			v = v[i+1:]
			break
		}
	}
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v, len(v) > 0
}

// stickTxn is per request: the key a store rule will record once the
// server is known.
type stickTxn struct {
	key   []byte // reused buffer
	store bool   // key holds a key to store
}

// stickMatch runs the stick rules of be against smp: it returns the server
// a matching entry names (if pinned is nil and that server can take
// persistent traffic) and records the key to store. As in HAProxy, once a
// store is pending for the table, later rules are skipped.
func stickMatch(be *backend, smp acl.Sample, pinned *server, st *stickTxn, scratch []byte) (*server, []byte) {
	k := be.stk
	for i := range k.rules {
		r := &k.rules[i]
		if st.store {
			break
		}
		if !r.cond.Match(smp) {
			continue
		}
		var ok bool
		scratch, ok = stickKey(scratch[:0], k.table, r, smp)
		if !ok {
			continue
		}
		if r.kind != StickStoreRequest {
			if e, found := k.table.Get(scratch); found && pinned == nil {
				if s := be.srvByName[e.Name]; s != nil && s.UsableForPersistence() {
					pinned = s
				}
			}
		}
		if r.kind != StickMatch {
			st.key = append(st.key[:0], scratch...)
			st.store = true
		}
	}
	return pinned, scratch
}

// stickStore records the server used for the pending key.
func stickStore(be *backend, srv *server, st *stickTxn) {
	if !st.store || srv == nil || be.stk == nil {
		return
	}
	be.stk.table.Put(st.key, stick.Server{ID: srv.id, Name: srv.name})
	st.store = false
}

// cookieFlag is a cookie status for the log: 'N' until set.
func cookieFlag(b byte) byte {
	if b == 0 {
		return 'N'
	}
	return b
}

// StickTable returns backend's stick table, nil if it has none: for peer
// replication and for handing it to the next configuration on reload
// (Options.StickTables).
func (p *Proxy) StickTable(backend string) *stick.Table {
	if b := p.beByName[backend]; b != nil && b.stk != nil {
		return b.stk.table
	}
	return nil
}

// StickTables returns every backend's stick table by backend name.
func (p *Proxy) StickTables() map[string]*stick.Table {
	out := make(map[string]*stick.Table)
	for _, b := range p.backends {
		if b.stk != nil {
			out[b.name] = b.stk.table
		}
	}
	return out
}

// ShowTable appends HAProxy's `show table NAME` output for the stick table
// of backend name to dst; false if there is no such table. With name "",
// it appends the one-line summaries of every table, as `show table`.
func (p *Proxy) ShowTable(dst []byte, name string) ([]byte, bool) {
	if name == "" {
		for _, b := range p.backends {
			if b.stk == nil {
				continue
			}
			cfg := b.stk.table.Config()
			dst = fmt.Appendf(dst, "# table: %s, type: %s, size:%d, used:%d\n", b.name, cfg.Type, cfg.Size, b.stk.table.Len())
		}
		return dst, true
	}
	t := p.StickTable(name)
	if t == nil {
		return dst, false
	}
	return t.AppendShow(dst, name), true
}

// ClearTable empties backend name's stick table (`clear table NAME`);
// false if there is none.
func (p *Proxy) ClearTable(name string) bool {
	t := p.StickTable(name)
	if t == nil {
		return false
	}
	t.Clear()
	return true
}

var (
	hdrSetCookie    = []byte("Set-Cookie")
	hdrCacheControl = []byte("Cache-Control")
	valPrivate      = []byte("private")
)

// persistHTTP runs cookie, then stick-table persistence for a request to
// be, and returns the server it must go to (nil: balance). With indirect
// (or prefix mode) the persistence cookie is removed from (or unprefixed
// in) the headers the server will see.
func (s *session) persistHTTP(be *backend) *server {
	tx := &s.tx
	s.ckArena = s.ckArena[:0]
	s.stk.store = false
	var pinned *server
	if ck := be.ck; ck != nil {
		tx.ckReq.Reset()
		now := s.p.now().Unix()
		for _, f := range s.msg.h.list {
			if equalFoldString(f.name, "cookie") {
				ck.Scan(f.value, now, &tx.ckReq)
			}
		}
		if i := cookie.Lookup(&tx.ckReq, be.servers); i >= 0 {
			pinned = be.servers[i]
		}
		if tx.ckReq.Found() && ck.StripsRequest() {
			s.stripCookies(ck)
		}
	}
	if be.stk != nil {
		pinned, s.skey = stickMatch(be, &s.msg, pinned, &s.stk, s.skey)
	}
	tx.pinned = pinned
	return pinned
}

func (s *session) stripCookies(ck *cookie.Persist) {
	list := s.msg.h.list
	out := list[:0]
	for _, f := range list {
		if equalFoldString(f.name, "cookie") {
			v, changed := ck.StripRequest(s.ckScratch[:0], f.value)
			if changed {
				s.ckScratch = v[:0]
				if len(v) == 0 {
					continue // nothing left: drop the header
				}
				f.value = s.keepArena(v)
			}
		}
		out = append(out, f)
	}
	s.msg.h.list = out
}

// keepArena copies v into the request's arena, where header values that
// persistence rewrote live until the request is done. Earlier values stay
// valid when the arena grows: they keep the old array.
func (s *session) keepArena(v []byte) []byte {
	start := len(s.ckArena)
	s.ckArena = append(s.ckArena, v...)
	return s.ckArena[start:len(s.ckArena):len(s.ckArena)]
}

// persistResponse applies cookie persistence to the response head: the
// server's own persistence cookie is deleted, rewritten or prefixed, and
// insert mode adds its Set-Cookie (with Cache-Control: private under
// nocache when the response is cacheable).
func (s *session) persistResponse(be *backend) {
	ck := be.ck
	tx := &s.tx
	srv := tx.srv
	direct := tx.pinned == srv && !tx.redispatched && tx.ckReq.Status == cookie.ReqValid
	tx.ckResp.Reset(srv.cookie, direct)
	list := s.rmsg.h.list
	out := list[:0]
	for _, f := range list {
		if equalFoldString(f.name, "set-cookie") {
			v, act := ck.SetCookie(s.ckScratch[:0], f.value, &tx.ckResp)
			switch act {
			case cookie.Delete:
				continue
			case cookie.Replace:
				s.ckScratch = v[:0]
				f.value = s.keepArena(v)
			}
		}
		out = append(out, f)
	}
	s.rmsg.h.list = out
	v, ok := ck.Insert(s.ckScratch[:0], &tx.ckResp, &tx.ckReq, string(s.req.Method) == "POST", s.p.now().Unix())
	if !ok {
		return
	}
	s.ckScratch = v[:0]
	s.rmsg.h.add(hdrSetCookie, s.keepArena(v))
	if be.ckNoCache {
		var c cookie.Cache
		c.Request(s.req.Method)
		for _, f := range s.msg.h.list {
			c.RequestHeader(f.name, f.value)
		}
		c.Response(s.resp.Status)
		for _, f := range s.rmsg.h.list {
			c.ResponseHeader(f.name, f.value)
		}
		if c.Cacheable() {
			s.rmsg.h.add(hdrCacheControl, valPrivate)
		}
	}
}
