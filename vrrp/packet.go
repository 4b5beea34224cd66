package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// IPProto is the IP protocol number of VRRP.
const IPProto = 112

// MulticastGroup is the IPv4 destination of VRRP adverts (RFC 3768 §5.2.2).
var MulticastGroup = netip.AddrFrom4([4]byte{224, 0, 0, 18})

// Auth types of VRRPv2 (RFC 3768 §5.3.6; type 2, IP AH, is obsolete and rejected).
const (
	AuthNone   uint8 = 0
	AuthSimple uint8 = 1
)

const (
	typeAdvert   = 1
	headerLen    = 8
	authDataLen  = 8
	maxV3Centis  = 0x0fff
	maxAddresses = 255
)

// Codec errors; Parse wraps them with details.
var (
	ErrShort    = errors.New("vrrp: packet too short")
	ErrVersion  = errors.New("vrrp: unsupported version")
	ErrType     = errors.New("vrrp: not an advertisement")
	ErrLength   = errors.New("vrrp: length does not match address count")
	ErrChecksum = errors.New("vrrp: bad checksum")
	ErrAuthType = errors.New("vrrp: unsupported auth type")
)

// Packet is a VRRP advertisement, version 2 (RFC 3768) or 3 (RFC 5798), IPv4.
type Packet struct {
	Version  int   // 2 or 3
	VRID     uint8 // 1..255
	Priority uint8 // 0 = master gives up, 255 = address owner
	// AdvertInt is whole seconds in v2 (1..255 s) and centiseconds in v3
	// (10 ms..40.95 s); Marshal rejects what the version cannot carry.
	AdvertInt time.Duration
	Addrs     []netip.Addr // IPv4 virtual addresses
	AuthType  uint8        // v2 only
	AuthData  [8]byte      // v2 only: simple password, zero padded
}

// Len returns the encoded length of p.
func (p *Packet) Len() int {
	n := headerLen + 4*len(p.Addrs)
	if p.Version == 2 {
		n += authDataLen
	}
	return n
}

// Marshal encodes p. src and dst are the IP source and destination, needed
// for the v3 pseudo-header checksum and ignored for v2.
func (p *Packet) Marshal(src, dst netip.Addr) ([]byte, error) {
	b := make([]byte, p.Len())
	if err := p.marshalTo(b, src, dst); err != nil {
		return nil, err
	}
	return b, nil
}

func (p *Packet) marshalTo(b []byte, src, dst netip.Addr) error {
	if len(p.Addrs) > maxAddresses {
		return fmt.Errorf("vrrp: %d addresses, at most %d fit", len(p.Addrs), maxAddresses)
	}
	b[0] = byte(p.Version<<4) | typeAdvert
	b[1] = p.VRID
	b[2] = p.Priority
	b[3] = byte(len(p.Addrs))
	switch p.Version {
	case 2:
		if p.AdvertInt%time.Second != 0 || p.AdvertInt < time.Second || p.AdvertInt > 255*time.Second {
			return fmt.Errorf("vrrp: v2 advert interval %v is not 1..255 whole seconds", p.AdvertInt)
		}
		if p.AuthType != AuthNone && p.AuthType != AuthSimple {
			return fmt.Errorf("%w %d", ErrAuthType, p.AuthType)
		}
		b[4] = p.AuthType
		b[5] = byte(p.AdvertInt / time.Second)
	case 3:
		if p.AdvertInt%(10*time.Millisecond) != 0 || p.AdvertInt < 10*time.Millisecond || p.AdvertInt > maxV3Centis*10*time.Millisecond {
			return fmt.Errorf("vrrp: v3 advert interval %v is not 10ms..40.95s in centiseconds", p.AdvertInt)
		}
		binary.BigEndian.PutUint16(b[4:], uint16(p.AdvertInt/(10*time.Millisecond)))
		if !src.Is4() || !dst.Is4() {
			return fmt.Errorf("vrrp: v3 checksum needs IPv4 source and destination, have %v -> %v", src, dst)
		}
	default:
		return fmt.Errorf("%w %d", ErrVersion, p.Version)
	}
	b[6], b[7] = 0, 0
	off := headerLen
	for _, a := range p.Addrs {
		if !a.Is4() {
			return fmt.Errorf("vrrp: address %v is not IPv4", a)
		}
		a4 := a.As4()
		copy(b[off:], a4[:])
		off += 4
	}
	if p.Version == 2 {
		copy(b[off:], p.AuthData[:])
	}
	binary.BigEndian.PutUint16(b[6:], checksum(b, p.Version, src, dst))
	return nil
}

// Parse decodes and verifies a VRRP advertisement (the IP payload). src and
// dst are the IP addresses it came with (used by the v3 checksum). Trailing
// bytes after the v3 address list or the v2 auth data are rejected, so that
// what Parse accepts Marshal reproduces byte for byte.
func Parse(b []byte, src, dst netip.Addr) (*Packet, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	p := &Packet{Version: int(b[0] >> 4), VRID: b[1], Priority: b[2]}
	if t := b[0] & 0x0f; t != typeAdvert {
		return nil, fmt.Errorf("%w: type %d", ErrType, t)
	}
	n := int(b[3])
	want := headerLen + 4*n
	switch p.Version {
	case 2:
		want += authDataLen
		p.AuthType = b[4]
		if p.AuthType != AuthNone && p.AuthType != AuthSimple {
			return nil, fmt.Errorf("%w %d", ErrAuthType, p.AuthType)
		}
		p.AdvertInt = time.Duration(b[5]) * time.Second
	case 3:
		if b[4]&0xf0 != 0 {
			return nil, fmt.Errorf("vrrp: v3 reserved bits set")
		}
		p.AdvertInt = time.Duration(binary.BigEndian.Uint16(b[4:])&maxV3Centis) * 10 * time.Millisecond
		if !src.Is4() || !dst.Is4() {
			return nil, fmt.Errorf("vrrp: v3 checksum needs IPv4 source and destination, have %v -> %v", src, dst)
		}
	default:
		return nil, fmt.Errorf("%w %d", ErrVersion, p.Version)
	}
	if len(b) != want {
		return nil, fmt.Errorf("%w: %d bytes for %d addresses (want %d)", ErrLength, len(b), n, want)
	}
	if p.AdvertInt == 0 {
		return nil, fmt.Errorf("vrrp: zero advert interval")
	}
	if c := checksum(b, p.Version, src, dst); c != 0 {
		return nil, fmt.Errorf("%w: %#04x", ErrChecksum, binary.BigEndian.Uint16(b[6:]))
	}
	if n > 0 {
		p.Addrs = make([]netip.Addr, n)
		for i := range n {
			p.Addrs[i] = netip.AddrFrom4([4]byte(b[headerLen+4*i:]))
		}
	}
	if p.Version == 2 {
		copy(p.AuthData[:], b[headerLen+4*n:])
	}
	return p, nil
}

// checksum is the Internet checksum over b (with its checksum field as it
// is), preceded in v3 by the IPv4 pseudo-header. Over a correct packet it is 0.
func checksum(b []byte, version int, src, dst netip.Addr) uint16 {
	var sum uint32
	if version == 3 {
		s, d := src.As4(), dst.As4()
		sum += uint32(s[0])<<8 | uint32(s[1])
		sum += uint32(s[2])<<8 | uint32(s[3])
		sum += uint32(d[0])<<8 | uint32(d[1])
		sum += uint32(d[2])<<8 | uint32(d[3])
		sum += IPProto
		sum += uint32(len(b))
	}
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// authData returns the 8-byte v2 simple-password field for pass (zero padded,
// as keepalived sends it). pass must be at most 8 bytes (Config.Validate).
func authData(pass string) [8]byte {
	var a [8]byte
	copy(a[:], pass)
	return a
}
