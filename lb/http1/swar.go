package http1

import "encoding/binary"

// Eight bytes at a time: the checks below answer "might this word hold a
// byte we must look at?" exactly when it does (false positives only, from
// borrows, which the byte loop then settles).
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasLess reports whether some byte of w is below n (n <= 128), bytes with
// the high bit set never count.
func hasLess(w uint64, n byte) uint64 { return (w - lsb*uint64(n)) & ^w & msb }

// hasByte reports whether some byte of w equals c.
func hasByte(w uint64, c byte) uint64 {
	x := w ^ (lsb * uint64(c))
	return (x - lsb) & ^x & msb
}

// validValue reports whether every byte of v is HT, SP, VCHAR or obs-text.
func validValue(v []byte) bool {
	for len(v) >= 8 {
		w := binary.LittleEndian.Uint64(v)
		if hasLess(w, 0x20)|hasByte(w, 0x7f) != 0 {
			for _, c := range v[:8] {
				if !vchar[c] {
					return false
				}
			}
		}
		v = v[8:]
	}
	for _, c := range v {
		if !vchar[c] {
			return false
		}
	}
	return true
}

// validTarget reports whether every byte of t is a VCHAR other than '#'.
func validTarget(t []byte) bool {
	for len(t) >= 8 {
		w := binary.LittleEndian.Uint64(t)
		if hasLess(w, 0x21)|hasByte(w, 0x7f)|hasByte(w, '#')|(w&msb) != 0 {
			for _, c := range t[:8] {
				if !targetChar[c] {
					return false
				}
			}
		}
		t = t[8:]
	}
	for _, c := range t {
		if !targetChar[c] {
			return false
		}
	}
	return true
}
