package peers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func sampleMessages() []*Message {
	return []*Message{
		{Type: TypeHello, Hello: Hello{Version: Version, Node: "lb1", Nonce: [16]byte{1, 2, 3},
			Sections: []SectionSum{{Name: "backend ms1", Sum: [16]byte{9}}, {Name: "global"}}}},
		{Type: TypeHello, Hello: Hello{Version: 7, Node: ""}},
		{Type: TypeReject, Reason: RejectRole},
		{Type: TypeHeartbeat, Seq: 42},
		{Type: TypeResyncBegin, Seq: 1},
		{Type: TypeResyncEnd, Seq: 3, Count: [2]uint32{100000, 4}},
		{Type: TypeEntries, Seq: 2, Table: "ms1", Entries: []Entry{
			{Key: []byte{192, 0, 2, 200}, ServerID: 1, Server: "ms1.srv1", ExpireMS: 1800000},
			{Key: []byte("a string key"), ServerID: 2, Server: "ms1.srv2"},
		}},
		{Type: TypeStates, Seq: 1 << 40, States: []State{
			{Backend: "ms1", Server: "ms1.srv1", Admin: 1, Weight: 256, Stamp: 1764091800000000000},
		}},
	}
}

// TestRoundTrip: every message type decodes to what was encoded, with the
// same key; with another key it fails authentication.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, m := range sampleMessages() {
		t.Run(m.Type.String(), func(t *testing.T) {
			t.Parallel()
			frame, err := AppendFrame([]byte("prefix"), m, testKey)
			if err != nil {
				t.Fatal(err)
			}
			frame = frame[len("prefix"):]
			read, err := ReadFrame(bytes.NewReader(frame), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseFrame(read, testKey)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(m, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-sent +got):\n%s", diff)
			}
			if _, err := ParseFrame(read, []byte("another secret")); !errors.Is(err, ErrAuth) {
				t.Errorf("other key: err = %v, want ErrAuth", err)
			}
			flipped := append([]byte(nil), read...)
			flipped[len(flipped)/2] ^= 1
			if _, err := ParseFrame(flipped, testKey); err == nil {
				t.Error("a flipped bit was accepted")
			}
		})
	}
}

// TestEncodeLimits: what the wire cannot carry is refused when encoding.
func TestEncodeLimits(t *testing.T) {
	t.Parallel()
	long := string(bytes.Repeat([]byte("x"), 256))
	tests := []struct {
		name string
		m    Message
	}{
		{"long node name", Message{Type: TypeHello, Hello: Hello{Node: long}}},
		{"long table name", Message{Type: TypeEntries, Table: long}},
		{"empty key", Message{Type: TypeEntries, Table: "t", Entries: []Entry{{}}}},
		{"too many entries", Message{Type: TypeEntries, Table: "t", Entries: make([]Entry, maxBatch+1)}},
		{"long server", Message{Type: TypeStates, States: []State{{Backend: "b", Server: long}}}},
		{"unknown type", Message{Type: 99}},
		{"too large", Message{Type: TypeEntries, Table: "t", Entries: []Entry{
			{Key: make([]byte, 65535)}, {Key: make([]byte, 65535)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.name == "too large" {
				// 16 × 64 KiB keys go over 1 MiB.
				for len(tt.m.Entries) < 17 {
					tt.m.Entries = append(tt.m.Entries, Entry{Key: make([]byte, 65535)})
				}
			}
			out, err := AppendFrame([]byte("keep"), &tt.m, testKey)
			if err == nil {
				t.Fatal("encoded")
			}
			if string(out) != "keep" {
				t.Errorf("dst = %q after a failed encode, want it unchanged", out)
			}
		})
	}
}

// TestReadFrameLimits: a hostile length is refused before anything is
// allocated or read.
func TestReadFrameLimits(t *testing.T) {
	t.Parallel()
	huge := binary.BigEndian.AppendUint32(nil, MaxFrame+1)
	if _, err := ReadFrame(bytes.NewReader(huge), nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge length: %v", err)
	}
	tiny := binary.BigEndian.AppendUint32(nil, 3)
	if _, err := ReadFrame(bytes.NewReader(tiny), nil); err == nil {
		t.Error("tiny length accepted")
	}
	frame, _ := AppendFrame(nil, &Message{Type: TypeHeartbeat}, testKey)
	if _, err := ReadFrame(bytes.NewReader(frame[:len(frame)-1]), nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader(nil), nil); !errors.Is(err, io.EOF) {
		t.Errorf("empty: %v", err)
	}
}

// FuzzMessage feeds arbitrary bodies (correctly framed and authenticated,
// so the decoder itself is reached) and arbitrary frames. Whatever is
// accepted re-encodes to the same bytes.
func FuzzMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		frame, err := AppendFrame(nil, m, testKey)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(frame[4 : len(frame)-macLen])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// As a whole frame: must never panic.
		if fr, err := ReadFrame(bytes.NewReader(body), nil); err == nil {
			ParseFrame(fr, testKey)
		}
		if len(body) < headerLen-4 || len(body) > MaxFrame-macLen {
			return
		}
		frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)+macLen))
		frame = append(frame, body...)
		frame = appendMAC(nil, frame, testKey)
		m, err := ParseFrame(frame, testKey)
		if err != nil {
			return
		}
		again, err := AppendFrame(nil, m, testKey)
		if err != nil {
			t.Fatalf("accepted %+v but cannot re-encode it: %v", m, err)
		}
		if !bytes.Equal(again, frame) {
			t.Fatalf("re-encoded differently:\n in %x\nout %x", frame, again)
		}
	})
}
