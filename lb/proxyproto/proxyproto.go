package proxyproto

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
)

// Header is a parsed PROXY header.
type Header struct {
	Version int // 1 or 2
	// Local: the connection was made by the proxy itself (v2 LOCAL, v1
	// UNKNOWN, or a family other than TCP over IPv4/IPv6); Src and Dst are
	// then invalid and the connection's own addresses stand.
	Local    bool
	Src, Dst netip.AddrPort
}

// Limits of the format.
const (
	maxV1    = 107 // "PROXY " ... "\r\n", the longest v1 line
	v2Fixed  = 16  // signature, version/command, family, length
	peekSize = 536 // what Read peeks at first; longer v2 headers (TLVs) are peeked again whole
)

var sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")

// Errors of Parse.
var (
	ErrNeedMore = errors.New("proxy protocol: incomplete header")
	ErrInvalid  = errors.New("proxy protocol: invalid header")
)

// AppendV1 appends the version 1 header for a TCP connection from src to
// dst ("PROXY TCP4 192.0.2.200 192.0.2.11 51234 80\r\n"); "PROXY
// UNKNOWN\r\n" when an address is invalid.
func AppendV1(b []byte, src, dst netip.AddrPort) []byte {
	s, d, fam := family(src, dst)
	switch fam {
	case 4:
		b = append(b, "PROXY TCP4 "...)
	case 6:
		b = append(b, "PROXY TCP6 "...)
	default:
		return append(b, "PROXY UNKNOWN\r\n"...)
	}
	b = s.AppendTo(b)
	b = append(b, ' ')
	b = d.AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(src.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	return append(b, "\r\n"...)
}

// family is the header's address family for src and dst: 4 when both
// are IPv4 (or IPv4-mapped IPv6), 6 when one is IPv6 (an IPv4 one is then
// given as IPv4-mapped IPv6, as the kernel would), 0 when one is invalid.
func family(src, dst netip.AddrPort) (s, d netip.Addr, fam int) {
	s, d = src.Addr().Unmap(), dst.Addr().Unmap()
	switch {
	case !src.IsValid() || !dst.IsValid():
		return s, d, 0
	case s.Is4() && d.Is4():
		return s, d, 4
	}
	return netip.AddrFrom16(s.As16()), netip.AddrFrom16(d.As16()), 6
}

// AppendV2 appends the version 2 (binary) header for a proxied TCP
// connection from src to dst; a LOCAL header when an address is invalid.
func AppendV2(b []byte, src, dst netip.AddrPort) []byte {
	b = append(b, sigV2...)
	s, d, fam := family(src, dst)
	switch fam {
	case 4:
		b = append(b, 0x21, 0x11, 0, 12)
		s4, d4 := s.As4(), d.As4()
		b = append(b, s4[:]...)
		b = append(b, d4[:]...)
	case 6:
		b = append(b, 0x21, 0x21, 0, 36)
		s16, d16 := s.As16(), d.As16()
		b = append(b, s16[:]...)
		b = append(b, d16[:]...)
	default:
		return append(b, 0x20, 0x00, 0, 0)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}

// Parse reads a header at the start of b and returns it with its length.
// ErrNeedMore: b is a valid beginning, read more. ErrInvalid: not a PROXY
// header (or a malformed one); the connection should be closed.
func Parse(b []byte) (Header, int, error) {
	if len(b) == 0 {
		return Header{}, 0, ErrNeedMore
	}
	if b[0] == '\r' {
		return parseV2(b)
	}
	if b[0] == 'P' {
		return parseV1(b)
	}
	return Header{}, 0, ErrInvalid
}

func parseV1(b []byte) (Header, int, error) {
	const pfx = "PROXY "
	n := min(len(b), len(pfx))
	if string(b[:n]) != pfx[:n] {
		return Header{}, 0, ErrInvalid
	}
	end := -1
	for i := 0; i < len(b) && i < maxV1; i++ {
		if b[i] == '\n' {
			end = i
			break
		}
	}
	if end < 0 {
		if len(b) >= maxV1 {
			return Header{}, 0, ErrInvalid
		}
		// Only printable bytes may come before the CRLF.
		for _, c := range b {
			if (c < ' ' || c > '~') && c != '\r' {
				return Header{}, 0, ErrInvalid
			}
		}
		return Header{}, 0, ErrNeedMore
	}
	if end < 1 || b[end-1] != '\r' {
		return Header{}, 0, ErrInvalid
	}
	line := b[len(pfx) : end-1]
	var f [5][]byte
	nf := 0
	for len(line) > 0 && nf < len(f) {
		i := 0
		for i < len(line) && line[i] != ' ' {
			i++
		}
		f[nf] = line[:i]
		nf++
		if i < len(line) {
			i++
			if i == len(line) {
				return Header{}, 0, ErrInvalid // trailing space
			}
		}
		line = line[i:]
	}
	if nf == 0 {
		return Header{}, 0, ErrInvalid
	}
	if string(f[0]) == "UNKNOWN" {
		// The rest of the line is to be ignored.
		return Header{Version: 1, Local: true}, end + 1, nil
	}
	if len(line) > 0 || nf != 5 || (string(f[0]) != "TCP4" && string(f[0]) != "TCP6") {
		return Header{}, 0, ErrInvalid
	}
	src, err1 := netip.ParseAddr(string(f[1]))
	dst, err2 := netip.ParseAddr(string(f[2]))
	sp, ok1 := parsePort(f[3])
	dp, ok2 := parsePort(f[4])
	if err1 != nil || err2 != nil || !ok1 || !ok2 || src.Zone() != "" || dst.Zone() != "" {
		return Header{}, 0, ErrInvalid
	}
	want4 := string(f[0]) == "TCP4"
	if src.Is4() != want4 || dst.Is4() != want4 {
		return Header{}, 0, ErrInvalid
	}
	return Header{Version: 1, Src: netip.AddrPortFrom(src, sp), Dst: netip.AddrPortFrom(dst, dp)}, end + 1, nil
}

// parsePort reads a decimal port without leading zeros.
func parsePort(b []byte) (uint16, bool) {
	if len(b) == 0 || len(b) > 5 || (b[0] == '0' && len(b) > 1) {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return uint16(v), v <= 65535
}

func parseV2(b []byte) (Header, int, error) {
	n := min(len(b), len(sigV2))
	if string(b[:n]) != string(sigV2[:n]) {
		return Header{}, 0, ErrInvalid
	}
	if len(b) < v2Fixed {
		return Header{}, 0, ErrNeedMore
	}
	verCmd, fam := b[12], b[13]
	if verCmd>>4 != 2 {
		return Header{}, 0, ErrInvalid
	}
	size := v2Fixed + int(binary.BigEndian.Uint16(b[14:16]))
	cmd := verCmd & 0x0f
	if cmd > 1 {
		return Header{}, 0, ErrInvalid
	}
	// Validate the address block's size before waiting for it all.
	var need int
	switch fam {
	case 0x11: // TCP over IPv4
		need = 12
	case 0x21: // TCP over IPv6
		need = 36
	}
	if cmd == 1 && need > 0 && size-v2Fixed < need {
		return Header{}, 0, ErrInvalid
	}
	if len(b) < size {
		return Header{}, 0, ErrNeedMore
	}
	h := Header{Version: 2}
	if cmd == 0 || need == 0 {
		// LOCAL, or UNSPEC/UDP/UNIX: keep the connection's own addresses.
		h.Local = true
		return h, size, nil
	}
	a := b[v2Fixed:]
	if fam == 0x11 {
		h.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[0:4])), binary.BigEndian.Uint16(a[8:10]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[4:8])), binary.BigEndian.Uint16(a[10:12]))
	} else {
		h.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[0:16])), binary.BigEndian.Uint16(a[32:34]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(a[16:32])), binary.BigEndian.Uint16(a[34:36]))
	}
	return h, size, nil
}
