package syslog

import (
	"bytes"
	"testing"
)

// FuzzAppendReadable: any record, JSON or not, gives one line (no newline
// or other control byte) and never panics.
func FuzzAppendReadable(f *testing.F) {
	f.Add([]byte(`{"level":"warn","message":"Server ms1/ms1.srv1 is DOWN","backend":"ms1"}`))
	f.Add([]byte(`{"message":"a\nb","k":"v\u0000"}`))
	f.Add([]byte("not json\n"))
	f.Add([]byte(`{"a":{"b":[1,2,{"c":"d e"}]}}`))
	f.Fuzz(func(t *testing.T, record []byte) {
		line := AppendReadable(nil, record)
		if i := bytes.IndexFunc(line, func(r rune) bool { return r < ' ' || r == 0x7f }); i >= 0 {
			t.Fatalf("control byte at %d in %q (from %q)", i, line, record)
		}
	})
}
