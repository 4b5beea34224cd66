package peers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Version is the protocol version a hello carries; a peer speaking another
// one is refused (the pair runs the same release, upgrades are one node at
// a time, and a refusal is logged on both sides).
const Version = 1

// magic opens every hello, so that something other than tandem (a port
// scan, a misdirected HAProxy peers link) is told apart from a bad secret.
var magic = [4]byte{'T', 'N', 'D', 'P'}

// Frame limits.
const (
	macLen      = sha256.Size
	headerLen   = 4 + 1 + 8 // length, type, sequence
	MaxFrame    = 1 << 20   // bytes after the length field
	nonceLen    = 16
	sectionMAC  = 16 // bytes of a section's keyed digest in a hello
	maxName     = 255
	maxBatch    = 512 // entries or states per message
	maxSections = 4096
)

// Type is a message type.
type Type uint8

// Message types.
const (
	TypeHello       Type = iota + 1 // first message each way
	TypeReject                      // why the acceptor refuses a hello, then close
	TypeHeartbeat                   // sent when nothing else was for a while
	TypeEntries                     // stick-table entries of one table
	TypeStates                      // operators' server states
	TypeResyncBegin                 // a full resync follows
	TypeResyncEnd                   // the full resync is complete
)

func (t Type) String() string {
	switch t {
	case TypeHello:
		return "hello"
	case TypeReject:
		return "reject"
	case TypeHeartbeat:
		return "heartbeat"
	case TypeEntries:
		return "entries"
	case TypeStates:
		return "states"
	case TypeResyncBegin:
		return "resync-begin"
	case TypeResyncEnd:
		return "resync-end"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// RejectReason says why a hello was refused.
type RejectReason uint8

// Reject reasons.
const (
	RejectVersion RejectReason = iota + 1 // protocol version differs
	RejectName                            // the hello's node is not the configured peer
	RejectRole                            // the peer dialled but should have waited (names ordered the other way)
)

func (r RejectReason) String() string {
	switch r {
	case RejectVersion:
		return "protocol version differs"
	case RejectName:
		return "node name is not the configured peer"
	case RejectRole:
		return "the node with the lower name dials, the other one accepts"
	}
	return fmt.Sprintf("RejectReason(%d)", uint8(r))
}

// Hello opens a connection in each direction.
type Hello struct {
	Version  uint16
	Node     string
	Nonce    [nonceLen]byte
	Sections []SectionSum // sorted by name
}

// SectionSum is one configuration section's keyed digest (see Digest.keyed).
type SectionSum struct {
	Name string
	Sum  [sectionMAC]byte
}

// Entry is one stick-table entry on the wire. Expire is relative (the two
// clocks need not agree): milliseconds left, 0 for "the receiving table's
// own expiry".
type Entry struct {
	Key      []byte
	ServerID uint32
	Server   string
	ExpireMS uint32
}

// State is one operator-set server state. Stamp orders changes made on
// either node (hybrid clock, see Node.PublishServerState): the higher
// stamp wins, so a resync after a partition does not swap the two sides.
type State struct {
	Backend, Server string
	Admin           uint8
	Weight          uint16
	Stamp           uint64
}

// Message is one decoded message. Fields beyond Type and Seq are set by
// type: Hello; Reason (reject); Table and Entries; States; Entries count
// and States count in Count (resync-end).
type Message struct {
	Type    Type
	Seq     uint64
	Hello   Hello
	Reason  RejectReason
	Table   string
	Entries []Entry
	States  []State
	Count   [2]uint32 // resync-end: entries and states sent
}

// Errors a reader tells apart.
var (
	ErrAuth     = errors.New("message authentication failed (wrong secret, or tampered)")
	ErrTooLarge = errors.New("message too large")
	errShort    = errors.New("truncated message")
)

// AppendFrame appends m framed and authenticated with key:
//
//	length uint32 | type uint8 | seq uint64 | body | HMAC-SHA256(key, all before)
//
// length counts everything after itself. Integers are big endian.
func AppendFrame(dst []byte, m *Message, key []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, byte(m.Type))
	dst = binary.BigEndian.AppendUint64(dst, m.Seq)
	var err error
	dst, err = appendBody(dst, m)
	if err != nil {
		return dst[:start], err
	}
	n := len(dst) - start - 4 + macLen
	if n > MaxFrame {
		return dst[:start], fmt.Errorf("encode %s: %d bytes: %w", m.Type, n, ErrTooLarge)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(n))
	return appendMAC(dst[:start], dst[start:], key), nil
}

// appendMAC appends frame (without its MAC) and its MAC to dst, which is
// frame's own prefix when called from AppendFrame.
func appendMAC(dst, frame, key []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(frame)
	return mac.Sum(append(dst, frame...))
}

func appendBody(b []byte, m *Message) ([]byte, error) {
	var err error
	switch m.Type {
	case TypeHello:
		h := &m.Hello
		b = append(b, magic[:]...)
		b = binary.BigEndian.AppendUint16(b, h.Version)
		if b, err = appendStr8(b, h.Node); err != nil {
			return b, err
		}
		b = append(b, h.Nonce[:]...)
		if len(h.Sections) > maxSections {
			return b, fmt.Errorf("hello: %d sections, at most %d", len(h.Sections), maxSections)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(h.Sections)))
		for _, s := range h.Sections {
			if b, err = appendStr16(b, []byte(s.Name)); err != nil {
				return b, err
			}
			b = append(b, s.Sum[:]...)
		}
	case TypeReject:
		b = append(b, byte(m.Reason))
	case TypeHeartbeat, TypeResyncBegin:
	case TypeResyncEnd:
		b = binary.BigEndian.AppendUint32(b, m.Count[0])
		b = binary.BigEndian.AppendUint32(b, m.Count[1])
	case TypeEntries:
		if b, err = appendStr8(b, m.Table); err != nil {
			return b, err
		}
		if len(m.Entries) > maxBatch {
			return b, fmt.Errorf("entries: %d in one message, at most %d", len(m.Entries), maxBatch)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(m.Entries)))
		for _, e := range m.Entries {
			if len(e.Key) == 0 {
				return b, errors.New("entries: empty key")
			}
			if b, err = appendStr16(b, e.Key); err != nil {
				return b, err
			}
			b = binary.BigEndian.AppendUint32(b, e.ServerID)
			if b, err = appendStr8(b, e.Server); err != nil {
				return b, err
			}
			b = binary.BigEndian.AppendUint32(b, e.ExpireMS)
		}
	case TypeStates:
		if len(m.States) > maxBatch {
			return b, fmt.Errorf("states: %d in one message, at most %d", len(m.States), maxBatch)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(m.States)))
		for _, s := range m.States {
			if b, err = appendStr8(b, s.Backend); err != nil {
				return b, err
			}
			if b, err = appendStr8(b, s.Server); err != nil {
				return b, err
			}
			b = append(b, s.Admin)
			b = binary.BigEndian.AppendUint16(b, s.Weight)
			b = binary.BigEndian.AppendUint64(b, s.Stamp)
		}
	default:
		return b, fmt.Errorf("encode: unknown message type %d", m.Type)
	}
	return b, nil
}

func appendStr8(b []byte, s string) ([]byte, error) {
	if len(s) > maxName {
		return b, fmt.Errorf("name %.20q...: longer than %d bytes", s, maxName)
	}
	b = append(b, byte(len(s)))
	return append(b, s...), nil
}

func appendStr16(b, s []byte) ([]byte, error) {
	if len(s) > math.MaxUint16 {
		return b, fmt.Errorf("%d-byte field: longer than %d bytes", len(s), math.MaxUint16)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...), nil
}

// ReadFrame reads one frame (its length field included) into buf, which it
// grows as needed, and returns it. It refuses a length above MaxFrame
// before reading the rest, so a hostile peer cannot make it allocate.
func ReadFrame(r io.Reader, buf []byte) ([]byte, error) {
	buf = buf[:0]
	if cap(buf) < 4 {
		buf = make([]byte, 0, 4096)
	}
	buf = buf[:4]
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf[:0], err
	}
	n := binary.BigEndian.Uint32(buf)
	if n > MaxFrame {
		return buf[:0], fmt.Errorf("read frame: length %d: %w", n, ErrTooLarge)
	}
	if n < headerLen-4+macLen {
		return buf[:0], fmt.Errorf("read frame: length %d: %w", n, errShort)
	}
	total := 4 + int(n)
	if cap(buf) < total {
		nb := make([]byte, total, max(total, 2*cap(buf)))
		copy(nb, buf[:4])
		buf = nb
	}
	buf = buf[:total]
	if _, err := io.ReadFull(r, buf[4:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return buf[:0], fmt.Errorf("read frame: %w", err)
	}
	return buf, nil
}

// ParseFrame checks the frame's HMAC with key and decodes it. The decoded
// message's byte slices and strings are copies; frame can be reused.
func ParseFrame(frame, key []byte) (*Message, error) {
	if len(frame) < headerLen+macLen {
		return nil, errShort
	}
	if n := binary.BigEndian.Uint32(frame); int(n) != len(frame)-4 {
		return nil, fmt.Errorf("frame length %d, have %d bytes", n, len(frame)-4)
	}
	body, sum := frame[:len(frame)-macLen], frame[len(frame)-macLen:]
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), sum) {
		return nil, ErrAuth
	}
	m := &Message{Type: Type(body[4]), Seq: binary.BigEndian.Uint64(body[5:])}
	if err := decodeBody(m, body[headerLen:]); err != nil {
		return nil, fmt.Errorf("decode %s: %w", m.Type, err)
	}
	return m, nil
}

// decoder reads a body, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.err = errShort
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if v := d.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if v := d.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) str8() string  { return string(d.take(int(d.u8()))) }
func (d *decoder) str16() []byte { return append([]byte(nil), d.take(int(d.u16()))...) }

func decodeBody(m *Message, body []byte) error {
	d := &decoder{b: body}
	switch m.Type {
	case TypeHello:
		h := &m.Hello
		if mg := d.take(4); d.err == nil && [4]byte(mg) != magic {
			return errors.New("not a tandem peers hello")
		}
		h.Version = d.u16()
		h.Node = d.str8()
		copy(h.Nonce[:], d.take(nonceLen))
		n := int(d.u16())
		if n > maxSections {
			return fmt.Errorf("%d sections, at most %d", n, maxSections)
		}
		// Each section takes at least 2+16 bytes: bound the allocation by
		// what the body can hold.
		if d.err == nil && n*(2+sectionMAC) > len(d.b) {
			return errShort
		}
		for i := 0; i < n && d.err == nil; i++ {
			s := SectionSum{Name: string(d.str16())}
			copy(s.Sum[:], d.take(sectionMAC))
			h.Sections = append(h.Sections, s)
		}
	case TypeReject:
		m.Reason = RejectReason(d.u8())
	case TypeHeartbeat, TypeResyncBegin:
	case TypeResyncEnd:
		m.Count[0], m.Count[1] = d.u32(), d.u32()
	case TypeEntries:
		m.Table = d.str8()
		n := int(d.u16())
		if n > maxBatch {
			return fmt.Errorf("%d entries, at most %d", n, maxBatch)
		}
		if d.err == nil && n*(2+1+4+1+4) > len(d.b) {
			return errShort
		}
		for i := 0; i < n && d.err == nil; i++ {
			e := Entry{Key: d.str16(), ServerID: d.u32(), Server: d.str8(), ExpireMS: d.u32()}
			if d.err == nil && len(e.Key) == 0 {
				return errors.New("empty key")
			}
			m.Entries = append(m.Entries, e)
		}
	case TypeStates:
		n := int(d.u16())
		if n > maxBatch {
			return fmt.Errorf("%d states, at most %d", n, maxBatch)
		}
		if d.err == nil && n*(1+1+1+2+8) > len(d.b) {
			return errShort
		}
		for i := 0; i < n && d.err == nil; i++ {
			m.States = append(m.States, State{Backend: d.str8(), Server: d.str8(), Admin: d.u8(), Weight: d.u16(), Stamp: d.u64()})
		}
	default:
		return fmt.Errorf("unknown message type %d", m.Type)
	}
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return nil
}
