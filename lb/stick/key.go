package stick

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// Keys are encoded per table type: 4 bytes for ip, 16 for ipv6, 4 (big
// endian, two's complement) for integer, at most Len bytes for string. The
// Key* methods append an encoded key to dst and report whether the sample
// fits the table's type; they do not allocate when dst has room.

// KeyAddr encodes an address (the `src` fetch).
func (t *Table) KeyAddr(dst []byte, a netip.Addr) ([]byte, bool) {
	switch t.cfg.Type {
	case IP:
		a = a.Unmap()
		if !a.Is4() {
			return dst, false
		}
		v := a.As4()
		return append(dst, v[:]...), true
	case IPv6:
		if !a.IsValid() {
			return dst, false
		}
		v := a.As16()
		return append(dst, v[:]...), true
	case Integer:
		// HAProxy converts an IPv4 address to its 32-bit value.
		a = a.Unmap()
		if !a.Is4() {
			return dst, false
		}
		v := a.As4()
		return append(dst, v[:]...), true
	case String:
		var buf [64]byte
		return t.KeySample(dst, a.AppendTo(buf[:0]))
	}
	return dst, false
}

// KeyInt encodes an integer; false outside the signed 32-bit range.
func (t *Table) KeyInt(dst []byte, v int64) ([]byte, bool) {
	switch t.cfg.Type {
	case Integer:
		if v < -1<<31 || v > 1<<31-1 {
			return dst, false
		}
		return binary.BigEndian.AppendUint32(dst, uint32(int32(v))), true
	case String:
		var buf [24]byte
		return t.KeySample(dst, strconv.AppendInt(buf[:0], v, 10))
	}
	return dst, false
}

// KeySample encodes a string sample (a header, URL parameter or cookie
// value): kept (truncated to Len) by string tables, parsed as an address
// by ip/ipv6 tables and as a decimal by integer tables. An empty sample
// never makes a key.
func (t *Table) KeySample(dst, s []byte) ([]byte, bool) {
	if len(s) == 0 {
		return dst, false
	}
	switch t.cfg.Type {
	case String:
		if len(s) > t.cfg.Len {
			s = s[:t.cfg.Len]
		}
		return append(dst, s...), true
	case Integer:
		v, ok := parseInt(s)
		if !ok {
			return dst, false
		}
		return t.KeyInt(dst, v)
	case IP:
		if v, ok := parseIPv4(s); ok {
			return append(dst, v[:]...), true
		}
		a, err := netip.ParseAddr(string(s))
		if err != nil {
			return dst, false
		}
		return t.KeyAddr(dst, a)
	case IPv6:
		if v, ok := parseIPv4(s); ok {
			return t.KeyAddr(dst, netip.AddrFrom4(v))
		}
		a, err := netip.ParseAddr(string(s))
		if err != nil || a.Zone() != "" {
			return dst, false
		}
		return t.KeyAddr(dst, a)
	}
	return dst, false
}

func (t *Table) validKey(key []byte) bool {
	switch t.cfg.Type {
	case IP, Integer:
		return len(key) == 4
	case IPv6:
		return len(key) == 16
	case String:
		return len(key) > 0 && len(key) <= t.cfg.Len
	}
	return false
}

// FormatKey renders an encoded key as `show table` prints it.
func (t *Table) FormatKey(key string) string { return string(t.AppendKey(nil, key)) }

// AppendKey appends the printed form of an encoded key: dotted quad, IPv6
// text, decimal, or the string with bytes outside printable ASCII (and
// space) as \xHH.
func (t *Table) AppendKey(dst []byte, key string) []byte {
	switch {
	case t.cfg.Type == IP && len(key) == 4:
		return netip.AddrFrom4([4]byte([]byte(key))).AppendTo(dst)
	case t.cfg.Type == IPv6 && len(key) == 16:
		return netip.AddrFrom16([16]byte([]byte(key))).AppendTo(dst)
	case t.cfg.Type == Integer && len(key) == 4:
		return strconv.AppendInt(dst, int64(int32(binary.BigEndian.Uint32([]byte(key)))), 10)
	}
	const hex = "0123456789abcdef"
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c <= ' ' || c >= 0x7f || c == '\\' {
			dst = append(dst, '\\', 'x', hex[c>>4], hex[c&15])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

func parseInt(s []byte) (int64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// parseIPv4 reads a dotted quad without allocating.
func parseIPv4(s []byte) ([4]byte, bool) {
	var out [4]byte
	part, digits := 0, 0
	v := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || part > 3 {
				return out, false
			}
			out[part] = byte(v)
			part++
			v, digits = 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || (digits == 1 && v == 0) {
			return out, false // not a digit, or a leading zero
		}
		v = v*10 + int(c-'0')
		digits++
		if v > 255 {
			return out, false
		}
	}
	return out, part == 4
}
