package stick

import (
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Type is a table's key type.
type Type uint8

// Key types, as HAProxy's `stick-table type`. IP keys are IPv4 addresses
// (an IPv4-mapped IPv6 address is converted, others do not fit); IPv6 keys
// hold IPv4 addresses mapped; Integer is a signed 32-bit number; String
// keeps the first Len bytes.
const (
	IP Type = iota + 1
	IPv6
	Integer
	String
)

// ParseType reads a configuration type name.
func ParseType(s string) (Type, error) {
	switch s {
	case "ip":
		return IP, nil
	case "ipv6":
		return IPv6, nil
	case "integer":
		return Integer, nil
	case "string":
		return String, nil
	}
	return 0, fmt.Errorf("unknown stick table type %q (want ip, ipv6, integer or string)", s)
}

func (t Type) String() string {
	switch t {
	case IP:
		return "ip"
	case IPv6:
		return "ipv6"
	case Integer:
		return "integer"
	case String:
		return "string"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// DefaultLen is the key length of string tables when Len is not set.
const DefaultLen = 32

// Config is a `stick_table` setting.
type Config struct {
	Type   Type
	Size   int           // maximum number of entries (> 0)
	Expire time.Duration // since last store or match; 0 = never
	Len    int           // string tables: bytes of key kept; default 32
}

// Server is what an entry says: the server the key sticks to. ID is
// HAProxy's server id (its 1-based position in the backend), shown by
// `show table`; Name is what the engine resolves, stable across reloads.
type Server struct {
	ID   int
	Name string
}

// EventKind says what happened to an entry.
type EventKind uint8

// Event kinds.
const (
	Created EventKind = iota + 1 // a new key was stored
	Updated                      // an existing key was stored again (server may be unchanged)
	Expired                      // its expiry passed
	Evicted                      // dropped to make room (size bound)
	Deleted                      // removed by Delete or Clear
)

func (k EventKind) String() string {
	switch k {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Expired:
		return "expired"
	case Evicted:
		return "evicted"
	case Deleted:
		return "deleted"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is given to Options.OnEvent after the table's lock is released;
// two events for one key from different goroutines may arrive in either
// order. Key is the encoded key (see Table.FormatKey).
type Event struct {
	Kind   EventKind
	Key    string
	Server Server
	Expire time.Time // zero when the table does not expire
}

// Options are a table's injected dependencies.
type Options struct {
	Now     func() time.Time // default time.Now
	OnEvent func(Event)      // nil: no events; must not block for long
}

// Table is one stick table.
type Table struct {
	cfg    Config
	now    func() time.Time
	hook   func(Event)
	seed   maphash.Seed
	shards []shard
	nextID atomic.Uint64
}

type shard struct {
	mu         sync.Mutex
	m          map[string]*entry
	head, tail *entry // most and least recently used
	cap        int
}

type entry struct {
	key        string
	srv        Server
	exp        int64 // unix nanoseconds; 0 = never
	id         uint64
	prev, next *entry
}

// shardMin is the size from which a table is split into shards to spread
// lock contention; smaller tables keep one exact LRU.
const (
	shardMin = 4096
	nShards  = 16
)

// New builds an empty table.
func New(cfg Config, opts Options) (*Table, error) {
	var errs []error
	switch cfg.Type {
	case IP, IPv6, Integer, String:
	default:
		errs = append(errs, errors.New("stick table type is not set (want ip, ipv6, integer or string)"))
	}
	if cfg.Size <= 0 {
		errs = append(errs, fmt.Errorf("stick table size %d must be positive", cfg.Size))
	}
	if cfg.Expire < 0 {
		errs = append(errs, errors.New("stick table expire must not be negative"))
	}
	if cfg.Len < 0 || (cfg.Len > 0 && cfg.Type != String) {
		errs = append(errs, fmt.Errorf("stick table len %d: only string tables take a positive len", cfg.Len))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Type == String && cfg.Len == 0 {
		cfg.Len = DefaultLen
	}
	t := &Table{cfg: cfg, now: opts.Now, hook: opts.OnEvent, seed: maphash.MakeSeed()}
	if t.now == nil {
		t.now = time.Now
	}
	n := 1
	if cfg.Size >= shardMin {
		n = nShards
	}
	t.shards = make([]shard, n)
	for i := range t.shards {
		c := cfg.Size / n
		if i < cfg.Size%n {
			c++
		}
		t.shards[i] = shard{m: make(map[string]*entry), cap: c}
	}
	return t, nil
}

// Config returns the table's configuration (Len defaulted).
func (t *Table) Config() Config { return t.cfg }

func (t *Table) shard(key []byte) *shard {
	if len(t.shards) == 1 {
		return &t.shards[0]
	}
	return &t.shards[maphash.Bytes(t.seed, key)%uint64(len(t.shards))]
}

func (t *Table) expiry(now time.Time) int64 {
	if t.cfg.Expire <= 0 {
		return 0
	}
	return now.Add(t.cfg.Expire).UnixNano()
}

func expTime(e int64) time.Time {
	if e == 0 {
		return time.Time{}
	}
	return time.Unix(0, e)
}

// Get returns the server key sticks to, and refreshes the entry's expiry
// and recency (a match counts as a use, as in HAProxy). An expired entry
// is removed and reported absent.
func (t *Table) Get(key []byte) (Server, bool) {
	sh := t.shard(key)
	now := t.now()
	sh.mu.Lock()
	e := sh.m[string(key)]
	if e == nil {
		sh.mu.Unlock()
		return Server{}, false
	}
	if e.exp != 0 && e.exp <= now.UnixNano() {
		sh.remove(e)
		ev := event(Expired, e)
		sh.mu.Unlock()
		t.emit(ev)
		return Server{}, false
	}
	e.exp = t.expiry(now)
	sh.moveFront(e)
	s := e.srv
	sh.mu.Unlock()
	return s, true
}

// Put stores that key sticks to s, creating the entry (evicting the least
// recently used one when the table is full) or updating it.
func (t *Table) Put(key []byte, s Server) {
	t.put(key, s, t.expiry(t.now()), true)
}

// Learn stores an entry received from elsewhere (a peer, a previous
// process) with its own expiry, without an event, so that it is not sent
// back. A zero expire means the table's own.
func (t *Table) Learn(key []byte, s Server, expire time.Time) {
	if !t.validKey(key) {
		return
	}
	exp := t.expiry(t.now())
	if !expire.IsZero() && exp != 0 {
		exp = expire.UnixNano()
	}
	t.put(key, s, exp, false)
}

func (t *Table) put(key []byte, s Server, exp int64, notify bool) {
	sh := t.shard(key)
	sh.mu.Lock()
	if e := sh.m[string(key)]; e != nil {
		e.srv, e.exp = s, exp
		sh.moveFront(e)
		var ev Event
		if notify && t.hook != nil {
			ev = Event{Kind: Updated, Key: e.key, Server: s, Expire: expTime(exp)}
		}
		sh.mu.Unlock()
		if ev.Kind != 0 {
			t.hook(ev)
		}
		return
	}
	var gone Event
	if len(sh.m) >= sh.cap {
		v := sh.tail
		sh.remove(v)
		gone = event(Evicted, v)
		if v.exp != 0 && v.exp <= t.now().UnixNano() {
			gone.Kind = Expired
		}
	}
	e := &entry{key: string(key), srv: s, exp: exp, id: t.nextID.Add(1)}
	sh.m[e.key] = e
	sh.pushFront(e)
	created := event(Created, e)
	sh.mu.Unlock()
	if gone.Kind != 0 {
		t.emit(gone)
	}
	if notify {
		t.emit(created)
	}
}

// Delete removes key; false if it was not there.
func (t *Table) Delete(key []byte) bool {
	sh := t.shard(key)
	sh.mu.Lock()
	e := sh.m[string(key)]
	var ev Event
	if e != nil {
		sh.remove(e)
		ev = event(Deleted, e)
	}
	sh.mu.Unlock()
	if e != nil {
		t.emit(ev)
	}
	return e != nil
}

// Clear removes every entry (`clear table`).
func (t *Table) Clear() {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		var gone []Event
		if t.hook != nil {
			for e := sh.head; e != nil; e = e.next {
				gone = append(gone, event(Deleted, e))
			}
		}
		sh.m = make(map[string]*entry)
		sh.head, sh.tail = nil, nil
		sh.mu.Unlock()
		for _, ev := range gone {
			t.emit(ev)
		}
	}
}

// Len is the number of entries, expired ones not yet purged included.
func (t *Table) Len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// Purge removes the entries whose expiry has passed and returns how many.
// Every entry's expiry is its last use plus the table's expire, so the
// least recently used entries are the first to expire: Purge walks from
// the LRU end and stops at the first live one.
func (t *Table) Purge() int {
	if t.cfg.Expire <= 0 {
		return 0
	}
	now := t.now().UnixNano()
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		var gone []Event
		sh.mu.Lock()
		for e := sh.tail; e != nil && e.exp != 0 && e.exp <= now; e = sh.tail {
			sh.remove(e)
			gone = append(gone, event(Expired, e))
		}
		sh.mu.Unlock()
		n += len(gone)
		for _, ev := range gone {
			t.emit(ev)
		}
	}
	return n
}

// event describes e; built under the shard's lock, delivered after it.
func event(kind EventKind, e *entry) Event {
	return Event{Kind: kind, Key: e.key, Server: e.srv, Expire: expTime(e.exp)}
}

func (t *Table) emit(ev Event) {
	if t.hook != nil {
		t.hook(ev)
	}
}

func (sh *shard) pushFront(e *entry) {
	e.prev, e.next = nil, sh.head
	if sh.head != nil {
		sh.head.prev = e
	}
	sh.head = e
	if sh.tail == nil {
		sh.tail = e
	}
}

func (sh *shard) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		sh.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		sh.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (sh *shard) moveFront(e *entry) {
	if sh.head == e {
		return
	}
	sh.unlink(e)
	sh.pushFront(e)
}

func (sh *shard) remove(e *entry) {
	sh.unlink(e)
	delete(sh.m, e.key)
}
