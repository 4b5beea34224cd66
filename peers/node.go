package peers

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/lb/stick"
)

// Table is what peers needs of a stick table; *stick.Table has it. Learn
// must not report the entry back through the table's event hook (that is
// what keeps an entry from bouncing between the nodes).
type Table interface {
	Entries() []stick.Entry
	Learn(key []byte, s stick.Server, expire time.Time)
}

// Runtime applies a server state received from the peer.
type Runtime interface {
	SetServerState(backend, server string, admin health.AdminState, weight int) error
}

// ServerFunc adapts a lookup such as (*lb.Proxy).Server into a Runtime.
type ServerFunc func(backend, server string) *health.Server

// SetServerState sets the weight, then the admin state (so a server leaving
// maintenance comes back with the peer's weight).
func (f ServerFunc) SetServerState(backend, server string, admin health.AdminState, weight int) error {
	s := f(backend, server)
	if s == nil {
		return fmt.Errorf("set state of %s/%s: no such server", backend, server)
	}
	if err := s.SetWeight(weight); err != nil {
		return err
	}
	s.SetAdmin(admin)
	return nil
}

// Config is what both nodes of the pair are told (package config's
// [peers]), plus this node's configuration digest.
type Config struct {
	Local    string
	Bind     netip.AddrPort
	Peer     string
	PeerAddr netip.AddrPort
	Secret   []byte // empty: integrity only, no authentication
	Digest   Digest
}

// Options are a node's dependencies and tunables; zero values take the
// defaults.
type Options struct {
	Logger  zerolog.Logger
	Now     func() time.Time // default time.Now
	Tables  map[string]Table // by name (the backend's name for per-backend tables)
	Runtime Runtime          // nil: received server states are recorded, not applied

	Flush      time.Duration // how long changes are gathered before they are sent; default 10ms
	Heartbeat  time.Duration // idle interval after which a heartbeat is sent; default 1s
	Timeout    time.Duration // silence after which the link is dead; also dial and handshake; default 3s
	MaxPending int           // changes queued for the peer before they are dropped for a full resync; default 65536
	MinBackoff time.Duration // first redial delay; default 100ms
	MaxBackoff time.Duration // longest redial delay; default 2s
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Flush <= 0 {
		o.Flush = 10 * time.Millisecond
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Second
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 65536
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(2*time.Second, o.MinBackoff)
	}
}

// Node is this side of the peer link.
type Node struct {
	cfg  Config
	opts Options
	log  zerolog.Logger
	ln   net.Listener

	up atomic.Bool // a session is established: changes are queued

	mu         sync.Mutex
	sess       *session
	pend       map[pendKey]pendEntry
	pendStates map[string]State
	resync     bool             // the next flush starts with a full resync
	clock      uint64           // highest state stamp made or seen
	states     map[string]State // latest state per "backend/server", ours or the peer's
	since      time.Time        // link state changed
	lastRecv   time.Time
	lastSent   time.Time
	differs    []string // sections whose digest differs; nil when equal
	digestSeen bool
	lastAuth   time.Time // last auth failure logged
	unknown    map[string]bool
	tables     map[string]Table
	runtime    Runtime

	applyMu sync.Mutex // orders received states with their application

	entriesSent, entriesRecv atomic.Uint64
	statesSent, statesRecv   atomic.Uint64
	resyncsSent, resyncsRecv atomic.Uint64
	dropped, authFailures    atomic.Uint64
	protoErrors, connects    atomic.Uint64
}

type pendKey struct{ table, key string }

type pendEntry struct {
	srv    stick.Server
	expire time.Time
}

// New checks cfg and builds a node; Listen and Run start it.
func New(cfg Config, opts Options) (*Node, error) {
	var errs []error
	if cfg.Local == "" || cfg.Peer == "" {
		errs = append(errs, errors.New("peers: local and peer names are required"))
	}
	if cfg.Local == cfg.Peer {
		errs = append(errs, fmt.Errorf("peers: local and peer are both named %q", cfg.Local))
	}
	if len(cfg.Local) > maxName || len(cfg.Peer) > maxName {
		errs = append(errs, fmt.Errorf("peers: names are at most %d bytes", maxName))
	}
	if !cfg.Bind.IsValid() {
		errs = append(errs, errors.New("peers: no bind address"))
	}
	if cfg.Local < cfg.Peer && !cfg.PeerAddr.IsValid() {
		errs = append(errs, fmt.Errorf("peers: %s dials %s but has no address for it", cfg.Local, cfg.Peer))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	opts.defaults()
	n := &Node{
		cfg:        cfg,
		opts:       opts,
		log:        opts.Logger.With().Str("peer", cfg.Peer).Logger(),
		pend:       make(map[pendKey]pendEntry),
		pendStates: make(map[string]State),
		states:     make(map[string]State),
		unknown:    make(map[string]bool),
		since:      opts.Now(),
		tables:     opts.Tables,
		runtime:    opts.Runtime,
	}
	if n.cfg.Digest == nil {
		n.cfg.Digest = Digest{}
	}
	return n, nil
}

// dials reports whether this node opens the connection: the one whose name
// sorts first. The other only accepts, so there is never a pair of
// crossed connections to choose between.
func (n *Node) dials() bool { return n.cfg.Local < n.cfg.Peer }

// Listen opens the listener, so that a bind error stops the start.
func (n *Node) Listen() error {
	if n.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", n.cfg.Bind.String())
	if err != nil {
		return fmt.Errorf("peers: listen on %s: %w", n.cfg.Bind, err)
	}
	n.ln = ln
	return nil
}

// Addr is the listener's address (after Listen).
func (n *Node) Addr() netip.AddrPort {
	if n.ln == nil {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(n.ln.Addr().String())
	return ap
}

// Run accepts the peer (and dials it when this node's name sorts first)
// until ctx ends, keeping at most one session. It returns nil when ctx
// ends.
func (n *Node) Run(ctx context.Context) error {
	if err := n.Listen(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { n.acceptLoop(ctx, &wg) })
	if n.dials() {
		wg.Go(func() { n.dialLoop(ctx) })
	}
	n.log.Info().Str("bind", n.ln.Addr().String()).Bool("dials", n.dials()).Msg("peers: listening")
	<-ctx.Done()
	n.ln.Close()
	n.mu.Lock()
	s := n.sess
	n.mu.Unlock()
	if s != nil {
		s.close()
	}
	wg.Wait()
	return nil
}

func (n *Node) acceptLoop(ctx context.Context, wg *sync.WaitGroup) {
	handshakes := make(chan struct{}, 4)
	for {
		c, err := n.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n.log.Warn().Err(err).Msg("peers: accept")
			t := time.NewTimer(n.opts.MinBackoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		// Only the peer has business here: a few handshakes at a time are
		// plenty, and a flood of connections costs no more than that.
		select {
		case handshakes <- struct{}{}:
		default:
			c.Close()
			continue
		}
		wg.Go(func() {
			stop := context.AfterFunc(ctx, func() { c.Close() })
			defer stop()
			s, first, err := n.accept(c)
			<-handshakes
			if err != nil {
				c.Close()
				n.log.Debug().Err(err).Str("from", c.RemoteAddr().String()).Msg("peers: refused a connection")
				return
			}
			n.runSession(ctx, s, first)
		})
	}
}

func (n *Node) dialLoop(ctx context.Context) {
	backoff := n.opts.MinBackoff
	warned := false
	for ctx.Err() == nil {
		s, err := n.dial(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			ev := n.log.Debug()
			if !warned {
				ev = n.log.Warn()
				warned = true
			}
			ev.Err(err).Str("address", n.cfg.PeerAddr.String()).Dur("retry", backoff).Msg("peers: cannot reach the peer")
		} else {
			warned = false
			backoff = n.opts.MinBackoff
			n.runSession(ctx, s, nil)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, n.opts.MaxBackoff)
	}
}

// session is one authenticated connection.
type session struct {
	conn             net.Conn
	sendKey, recvKey []byte
	sendSeq, recvSeq uint64
	kick, full       chan struct{}
	closed           chan struct{}
	once             sync.Once
}

func newSession(c net.Conn) *session {
	return &session{conn: c, kick: make(chan struct{}, 1), full: make(chan struct{}, 1), closed: make(chan struct{}), sendSeq: 1, recvSeq: 1}
}

func (s *session) close() {
	s.once.Do(func() {
		close(s.closed)
		s.conn.Close()
	})
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Keys. Hellos are authenticated with helloKey (the acceptor's also binds
// the dialer's nonce, so an old one cannot be replayed); everything after
// them with a key per direction derived from both nonces.
func (n *Node) helloKey(dialerNonce *[nonceLen]byte) []byte {
	m := hmac.New(sha256.New, n.cfg.Secret)
	m.Write([]byte("tandem-peers hello\x00"))
	if dialerNonce != nil {
		m.Write(dialerNonce[:])
	}
	return m.Sum(nil)
}

func (n *Node) sessionKey(dir string, nd, na [nonceLen]byte) []byte {
	m := hmac.New(sha256.New, n.cfg.Secret)
	m.Write([]byte("tandem-peers session\x00" + dir + "\x00"))
	m.Write(nd[:])
	m.Write(na[:])
	return m.Sum(nil)
}

func (n *Node) hello(nonce [nonceLen]byte) *Message {
	return &Message{Type: TypeHello, Hello: Hello{
		Version: Version, Node: n.cfg.Local, Nonce: nonce,
		Sections: n.digest().keyed(n.cfg.Secret, nonce),
	}}
}

func writeMsg(w io.Writer, m *Message, key []byte) error {
	b, err := AppendFrame(nil, m, key)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func (n *Node) dial(ctx context.Context) (*session, error) {
	d := net.Dialer{Timeout: n.opts.Timeout}
	if a := n.cfg.Bind.Addr(); a.IsValid() && !a.IsUnspecified() {
		d.LocalAddr = &net.TCPAddr{IP: a.AsSlice()}
	}
	c, err := d.DialContext(ctx, "tcp", n.cfg.PeerAddr.String())
	if err != nil {
		return nil, fmt.Errorf("dial %s at %s: %w", n.cfg.Peer, n.cfg.PeerAddr, err)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	s, err := n.dialHandshake(c)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("handshake with %s at %s: %w", n.cfg.Peer, n.cfg.PeerAddr, err)
	}
	return s, nil
}

func (n *Node) dialHandshake(c net.Conn) (*session, error) {
	var nd [nonceLen]byte
	rand.Read(nd[:])
	c.SetDeadline(n.opts.Now().Add(n.opts.Timeout))
	if err := writeMsg(c, n.hello(nd), n.helloKey(nil)); err != nil {
		return nil, fmt.Errorf("send hello: %w", err)
	}
	frame, err := ReadFrame(c, nil)
	if err != nil {
		return nil, fmt.Errorf("read hello: %w", err)
	}
	m, err := ParseFrame(frame, n.helloKey(&nd))
	if err != nil {
		if errors.Is(err, ErrAuth) {
			n.authFailure(c.RemoteAddr())
		} else {
			n.protoErrors.Add(1)
		}
		return nil, err
	}
	switch {
	case m.Type == TypeReject:
		return nil, fmt.Errorf("refused: %s", m.Reason)
	case m.Type != TypeHello || m.Seq != 0:
		n.protoErrors.Add(1)
		return nil, fmt.Errorf("got %s #%d, want hello", m.Type, m.Seq)
	case m.Hello.Version != Version:
		return nil, fmt.Errorf("peer speaks protocol version %d, this node %d", m.Hello.Version, Version)
	case m.Hello.Node != n.cfg.Peer:
		return nil, fmt.Errorf("peer calls itself %q, want %q", m.Hello.Node, n.cfg.Peer)
	}
	n.compareDigest(&m.Hello)
	c.SetDeadline(time.Time{})
	s := newSession(c)
	s.sendKey = n.sessionKey("d", nd, m.Hello.Nonce)
	s.recvKey = n.sessionKey("a", nd, m.Hello.Nonce)
	return s, nil
}

// accept runs the acceptor's handshake. The session is returned only once
// the dialer's first message after the hellos authenticated, so that a
// replayed hello cannot displace a live session; that message is returned
// to be processed.
func (n *Node) accept(c net.Conn) (*session, *Message, error) {
	c.SetDeadline(n.opts.Now().Add(n.opts.Timeout))
	frame, err := ReadFrame(c, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("read hello: %w", err)
	}
	m, err := ParseFrame(frame, n.helloKey(nil))
	if err != nil {
		if errors.Is(err, ErrAuth) {
			n.authFailure(c.RemoteAddr())
			// Tell the dialer, which sees it as an auth failure too.
			writeMsg(c, &Message{Type: TypeReject}, n.helloKey(nil))
		} else {
			n.protoErrors.Add(1)
		}
		return nil, nil, err
	}
	if m.Type != TypeHello || m.Seq != 0 {
		n.protoErrors.Add(1)
		return nil, nil, fmt.Errorf("got %s #%d, want hello", m.Type, m.Seq)
	}
	h := &m.Hello
	reject := RejectReason(0)
	switch {
	case h.Version != Version:
		reject = RejectVersion
	case h.Node != n.cfg.Peer:
		reject = RejectName
	case !(h.Node < n.cfg.Local):
		reject = RejectRole
	}
	if reject != 0 {
		writeMsg(c, &Message{Type: TypeReject, Reason: reject}, n.helloKey(&h.Nonce))
		n.log.Warn().Str("from", c.RemoteAddr().String()).Str("node", h.Node).Uint16("version", h.Version).
			Msgf("peers: refused a hello: %s", reject)
		return nil, nil, fmt.Errorf("refused hello from %q: %s", h.Node, reject)
	}
	var na [nonceLen]byte
	rand.Read(na[:])
	if err := writeMsg(c, n.hello(na), n.helloKey(&h.Nonce)); err != nil {
		return nil, nil, fmt.Errorf("send hello: %w", err)
	}
	s := newSession(c)
	s.sendKey = n.sessionKey("a", h.Nonce, na)
	s.recvKey = n.sessionKey("d", h.Nonce, na)
	first, err := n.readMsg(s, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("first message: %w", err)
	}
	n.compareDigest(h)
	c.SetDeadline(time.Time{})
	return s, first, nil
}

func (n *Node) authFailure(from net.Addr) {
	total := n.authFailures.Add(1)
	now := n.opts.Now()
	n.mu.Lock()
	logIt := now.Sub(n.lastAuth) >= 10*time.Second || total == 1
	if logIt {
		n.lastAuth = now
	}
	n.mu.Unlock()
	if logIt {
		n.log.Warn().Str("from", from.String()).Uint64("auth_failures", total).
			Msg("peers: rejected a message that failed authentication (wrong secret?)")
	}
}

func (n *Node) compareDigest(h *Hello) {
	diff := n.digest().diffKeyed(n.cfg.Secret, h.Nonce, h.Sections)
	n.mu.Lock()
	changed := !n.digestSeen || !slices.Equal(diff, n.differs)
	n.differs, n.digestSeen = diff, true
	n.mu.Unlock()
	if len(diff) > 0 && changed {
		n.log.Warn().Strs("sections", diff).
			Msgf("peers: configuration differs from %s in: %s", n.cfg.Peer, joinNames(diff))
	} else if len(diff) == 0 && changed {
		n.log.Info().Msgf("peers: configuration matches %s", n.cfg.Peer)
	}
}

func joinNames(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}

// readMsg reads and authenticates the next message of s.
func (n *Node) readMsg(s *session, buf []byte) (*Message, error) {
	frame, err := ReadFrame(s.conn, buf)
	if err != nil {
		return nil, err
	}
	m, err := ParseFrame(frame, s.recvKey)
	if err != nil {
		if errors.Is(err, ErrAuth) {
			n.authFailure(s.conn.RemoteAddr())
		} else {
			n.protoErrors.Add(1)
		}
		return nil, err
	}
	if m.Seq != s.recvSeq {
		n.protoErrors.Add(1)
		return nil, fmt.Errorf("message #%d out of sequence, want #%d", m.Seq, s.recvSeq)
	}
	s.recvSeq++
	return m, nil
}

// runSession makes s the session, replacing any older one, and serves it
// until it breaks or ctx ends.
func (n *Node) runSession(ctx context.Context, s *session, first *Message) {
	stop := context.AfterFunc(ctx, s.close)
	defer stop()
	n.mu.Lock()
	old := n.sess
	n.sess = s
	clear(n.pend)
	clear(n.pendStates)
	n.resync = true
	n.since = n.opts.Now()
	n.lastRecv = n.since
	n.up.Store(true)
	n.mu.Unlock()
	if old != nil {
		old.close()
	}
	n.connects.Add(1)
	n.log.Info().Str("remote", s.conn.RemoteAddr().String()).Msgf("peers: link to %s up", n.cfg.Peer)
	signal(s.kick)

	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		werr = n.writer(s)
		s.close()
	})
	rerr := n.reader(s, first)
	s.close()
	wg.Wait()

	n.mu.Lock()
	if n.sess == s {
		n.sess = nil
		n.up.Store(false)
		clear(n.pend)
		clear(n.pendStates)
		n.since = n.opts.Now()
	}
	n.mu.Unlock()
	err := rerr
	if err == nil || errors.Is(err, net.ErrClosed) {
		err = werr
	}
	if ctx.Err() != nil {
		n.log.Info().Msgf("peers: link to %s closed", n.cfg.Peer)
		return
	}
	n.log.Warn().Err(err).Msgf("peers: link to %s down", n.cfg.Peer)
}

func (n *Node) reader(s *session, first *Message) error {
	if first != nil {
		n.handle(first)
	}
	var buf []byte
	for {
		s.conn.SetReadDeadline(n.opts.Now().Add(n.opts.Timeout))
		m, err := n.readMsg(s, buf)
		if err != nil {
			select {
			case <-s.closed:
				return nil
			default:
			}
			if errors.Is(err, io.EOF) {
				return errors.New("peer closed the connection")
			}
			return err
		}
		if err := n.handle(m); err != nil {
			n.protoErrors.Add(1)
			return err
		}
	}
}

func (n *Node) handle(m *Message) error {
	now := n.opts.Now()
	n.mu.Lock()
	n.lastRecv = now
	n.mu.Unlock()
	switch m.Type {
	case TypeHeartbeat:
	case TypeEntries:
		n.applyEntries(m, now)
	case TypeStates:
		n.applyStates(m.States)
	case TypeResyncBegin:
		n.log.Debug().Msg("peers: receiving a full resync")
	case TypeResyncEnd:
		n.resyncsRecv.Add(1)
		n.log.Info().Uint32("entries", m.Count[0]).Uint32("states", m.Count[1]).
			Msgf("peers: full resync from %s received", n.cfg.Peer)
	default:
		return fmt.Errorf("unexpected %s message", m.Type)
	}
	return nil
}

func (n *Node) applyEntries(m *Message, now time.Time) {
	n.mu.Lock()
	t := n.tables[m.Table]
	n.mu.Unlock()
	if t == nil {
		n.mu.Lock()
		first := !n.unknown[m.Table] && len(n.unknown) < 1000
		if first {
			n.unknown[m.Table] = true
		}
		n.mu.Unlock()
		if first {
			n.log.Warn().Str("table", m.Table).Msg("peers: the peer sends entries of a stick table this node does not have (configurations differ?)")
		}
		return
	}
	for _, e := range m.Entries {
		var exp time.Time
		if e.ExpireMS > 0 {
			exp = now.Add(time.Duration(e.ExpireMS) * time.Millisecond)
		}
		t.Learn(e.Key, stick.Server{ID: int(e.ServerID), Name: e.Server}, exp)
	}
	n.entriesRecv.Add(uint64(len(m.Entries)))
}

func (n *Node) applyStates(states []State) {
	n.applyMu.Lock()
	defer n.applyMu.Unlock()
	for _, st := range states {
		n.statesRecv.Add(1)
		if health.AdminState(st.Admin) > health.Maint || st.Weight > health.MaxWeight {
			n.log.Warn().Str("server", st.Backend+"/"+st.Server).Msg("peers: ignored a server state out of range")
			continue
		}
		key := st.Backend + "/" + st.Server
		n.mu.Lock()
		cur, ok := n.states[key]
		newer := !ok || st.Stamp > cur.Stamp
		n.clock = max(n.clock, st.Stamp)
		n.mu.Unlock()
		if !newer {
			continue
		}
		n.mu.Lock()
		rt := n.runtime
		n.mu.Unlock()
		if rt != nil {
			if err := rt.SetServerState(st.Backend, st.Server, health.AdminState(st.Admin), int(st.Weight)); err != nil {
				n.log.Warn().Err(err).Msg("peers: cannot apply the peer's server state")
				continue
			}
		}
		n.mu.Lock()
		n.states[key] = st
		n.mu.Unlock()
		n.log.Info().Str("server", key).Str("admin", health.AdminState(st.Admin).String()).Int("weight", int(st.Weight)).
			Msgf("peers: server state set by %s", n.cfg.Peer)
	}
}

// SetTables replaces the tables (after a reload built new ones; pass the
// new configuration's), and sends them whole to the peer.
func (n *Node) SetTables(tables map[string]Table) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.tables = tables
	clear(n.unknown)
	if n.sess != nil {
		clear(n.pend)
		n.resync = true
		signal(n.sess.kick)
	}
}

func (n *Node) digest() Digest {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cfg.Digest
}

// SetRuntime replaces where received server states are applied.
func (n *Node) SetRuntime(rt Runtime) {
	n.mu.Lock()
	n.runtime = rt
	n.mu.Unlock()
}

// SetDigest replaces this node's configuration digest (after a reload).
// The peer learns it from a hello, so when it changed the current link is
// closed and made again, with a full resync.
func (n *Node) SetDigest(d Digest) {
	if d == nil {
		d = Digest{}
	}
	n.mu.Lock()
	same := maps.Equal(n.cfg.Digest, d)
	n.cfg.Digest = d
	s := n.sess
	n.mu.Unlock()
	if s != nil && !same {
		s.close()
	}
}

// TableEvent is the stick tables' event hook: it queues created and
// updated entries of table for the peer. It never blocks; without a link
// it does nothing (the full resync at the next connection carries the
// table), and when the queue is full it drops it for a full resync.
func (n *Node) TableEvent(table string, ev stick.Event) {
	if n == nil || !n.up.Load() || (ev.Kind != stick.Created && ev.Kind != stick.Updated) {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	s := n.sess
	if s == nil || n.resync {
		// A full resync is due: it reads the table afresh.
		return
	}
	if len(n.pend) >= n.opts.MaxPending {
		clear(n.pend)
		n.resync = true
		n.dropped.Add(1)
		signal(s.kick)
		return
	}
	n.pend[pendKey{table, ev.Key}] = pendEntry{ev.Server, ev.Expire}
	if len(n.pend) == maxBatch {
		signal(s.full)
	}
	signal(s.kick)
}

// PublishServerState tells the peer that an operator set a server's admin
// state and weight here (the admin socket and the stats page call it after
// the change, unless the command was local only). It never blocks.
func (n *Node) PublishServerState(backend, server string, admin health.AdminState, weight int) {
	if n == nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	stamp := max(uint64(n.opts.Now().UnixNano()), n.clock+1)
	n.clock = stamp
	st := State{Backend: backend, Server: server, Admin: uint8(admin), Weight: uint16(min(max(weight, 0), health.MaxWeight)), Stamp: stamp}
	key := backend + "/" + server
	n.states[key] = st
	if n.sess != nil && !n.resync {
		n.pendStates[key] = st
		signal(n.sess.kick)
	}
}

// deadlineWriter bounds every write: a peer that stops reading is dead
// after Timeout, not a writer blocked for ever.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
	now     func() time.Time
}

func (w deadlineWriter) Write(b []byte) (int, error) {
	w.c.SetWriteDeadline(w.now().Add(w.timeout))
	return w.c.Write(b)
}

// sender frames messages of one session into a buffered writer.
type sender struct {
	n   *Node
	s   *session
	w   *bufio.Writer
	buf []byte
}

func (sd *sender) send(m *Message) error {
	m.Seq = sd.s.sendSeq
	var err error
	sd.buf, err = AppendFrame(sd.buf[:0], m, sd.s.sendKey)
	if err != nil {
		return err
	}
	sd.s.sendSeq++
	_, err = sd.w.Write(sd.buf)
	return err
}

func (sd *sender) flush() error {
	if sd.w.Buffered() == 0 {
		return nil
	}
	if err := sd.w.Flush(); err != nil {
		return err
	}
	now := sd.n.opts.Now()
	sd.n.mu.Lock()
	sd.n.lastSent = now
	sd.n.mu.Unlock()
	return nil
}

func (n *Node) writer(s *session) error {
	sd := &sender{n: n, s: s, w: bufio.NewWriterSize(deadlineWriter{s.conn, n.opts.Timeout, n.opts.Now}, 64<<10)}
	hb := time.NewTicker(n.opts.Heartbeat)
	defer hb.Stop()
	flush := time.NewTimer(n.opts.Flush)
	flush.Stop()
	lastSent := n.opts.Now()
	for {
		select {
		case <-s.closed:
			return nil
		case <-hb.C:
			if n.opts.Now().Sub(lastSent) < n.opts.Heartbeat/2 {
				continue
			}
			if err := sd.send(&Message{Type: TypeHeartbeat}); err != nil {
				return fmt.Errorf("send heartbeat: %w", err)
			}
		case <-s.kick:
			// Gather what comes within Flush into fewer, fuller messages.
			flush.Reset(n.opts.Flush)
			select {
			case <-flush.C:
			case <-s.full:
				flush.Stop()
			case <-s.closed:
				flush.Stop()
				return nil
			}
			if err := n.drain(sd); err != nil {
				return err
			}
		}
		if err := sd.flush(); err != nil {
			return fmt.Errorf("send: %w", err)
		}
		lastSent = n.opts.Now()
	}
}

// drain sends the full resync if one is due, then what is queued.
func (n *Node) drain(sd *sender) error {
	n.mu.Lock()
	resync := n.resync
	n.resync = false
	var entries map[pendKey]pendEntry
	if len(n.pend) > 0 {
		entries = n.pend
		n.pend = make(map[pendKey]pendEntry, min(len(entries), 1024))
	}
	var states []State
	if resync {
		for _, st := range n.states {
			states = append(states, st)
		}
	} else {
		for _, st := range n.pendStates {
			states = append(states, st)
		}
	}
	clear(n.pendStates)
	n.mu.Unlock()

	if resync {
		if err := n.sendResync(sd, states); err != nil {
			return err
		}
		states = nil
	}
	if len(entries) > 0 {
		byTable := make(map[string][]Entry)
		now := n.opts.Now()
		for k, e := range entries {
			if we, ok := wireEntry(k.key, e.srv, e.expire, now); ok {
				byTable[k.table] = append(byTable[k.table], we)
			}
		}
		for name, es := range byTable {
			if err := n.sendEntries(sd, name, es); err != nil {
				return err
			}
		}
	}
	return n.sendStates(sd, states)
}

func wireEntry(key string, srv stick.Server, expire, now time.Time) (Entry, bool) {
	e := Entry{Key: []byte(key), ServerID: uint32(max(srv.ID, 0)), Server: srv.Name}
	if len(e.Server) > maxName || len(e.Key) > math.MaxUint16 {
		return e, false
	}
	if !expire.IsZero() {
		left := expire.Sub(now)
		if left <= 0 {
			return e, false
		}
		e.ExpireMS = uint32(min((left+time.Millisecond-1)/time.Millisecond, math.MaxUint32))
	}
	return e, true
}

func (n *Node) sendEntries(sd *sender, table string, es []Entry) error {
	for len(es) > 0 {
		k := min(len(es), maxBatch)
		if err := sd.send(&Message{Type: TypeEntries, Table: table, Entries: es[:k]}); err != nil {
			return fmt.Errorf("send entries of %s: %w", table, err)
		}
		n.entriesSent.Add(uint64(k))
		es = es[k:]
		// Keep the buffer bounded while a large table streams out.
		if sd.w.Buffered() > 32<<10 {
			if err := sd.flush(); err != nil {
				return fmt.Errorf("send entries of %s: %w", table, err)
			}
		}
	}
	return nil
}

func (n *Node) sendStates(sd *sender, states []State) error {
	for len(states) > 0 {
		k := min(len(states), maxBatch)
		if err := sd.send(&Message{Type: TypeStates, States: states[:k]}); err != nil {
			return fmt.Errorf("send server states: %w", err)
		}
		n.statesSent.Add(uint64(k))
		states = states[k:]
	}
	return nil
}

// sendResync sends every live entry of every table and every known server
// state, between resync-begin and resync-end.
func (n *Node) sendResync(sd *sender, states []State) error {
	if err := sd.send(&Message{Type: TypeResyncBegin}); err != nil {
		return fmt.Errorf("send resync: %w", err)
	}
	n.mu.Lock()
	tables := n.tables
	n.mu.Unlock()
	names := make([]string, 0, len(tables))
	for name := range tables {
		names = append(names, name)
	}
	slices.Sort(names)
	var count uint32
	now := n.opts.Now()
	for _, name := range names {
		var es []Entry
		for _, e := range tables[name].Entries() {
			if we, ok := wireEntry(e.Key, e.Server, e.Expire, now); ok {
				es = append(es, we)
			}
		}
		if err := n.sendEntries(sd, name, es); err != nil {
			return err
		}
		count += uint32(len(es))
	}
	if err := n.sendStates(sd, states); err != nil {
		return err
	}
	if err := sd.send(&Message{Type: TypeResyncEnd, Count: [2]uint32{count, uint32(len(states))}}); err != nil {
		return fmt.Errorf("send resync: %w", err)
	}
	n.resyncsSent.Add(1)
	return nil
}
