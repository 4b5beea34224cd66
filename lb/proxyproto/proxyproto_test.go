package proxyproto

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	src4 = netip.MustParseAddrPort("192.0.2.200:51234")
	dst4 = netip.MustParseAddrPort("192.0.2.11:80")
	src6 = netip.MustParseAddrPort("[2001:db8::200]:51234")
	dst6 = netip.MustParseAddrPort("[2001:db8::11]:443")
)

func TestAppend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		src, dst netip.AddrPort
		v1       string
		v2       []byte
	}{
		{"tcp4", src4, dst4, "PROXY TCP4 192.0.2.200 192.0.2.11 51234 80\r\n",
			append([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c"), 192, 0, 2, 200, 192, 0, 2, 11, 0xc8, 0x22, 0, 80)},
		{"mapped", netip.AddrPortFrom(netip.MustParseAddr("::ffff:192.0.2.200"), 51234), dst4, "PROXY TCP4 192.0.2.200 192.0.2.11 51234 80\r\n",
			append([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c"), 192, 0, 2, 200, 192, 0, 2, 11, 0xc8, 0x22, 0, 80)},
		{"tcp6", src6, dst6, "PROXY TCP6 2001:db8::200 2001:db8::11 51234 443\r\n", nil},
		// One IPv6 side: the IPv4 one goes as IPv4-mapped IPv6, as HAProxy
		// sends it (v4tov6), not as UNKNOWN.
		{"mixed", src4, dst6, "PROXY TCP6 ::ffff:192.0.2.200 2001:db8::11 51234 443\r\n",
			append(append(append([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x21\x00\x24"), netip.MustParseAddr("::ffff:192.0.2.200").AsSlice()...), dst6.Addr().AsSlice()...), 0xc8, 0x22, 0x01, 0xbb)},
		{"invalid", netip.AddrPort{}, dst4, "PROXY UNKNOWN\r\n", []byte("\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00")},
	}
	for _, tt := range tests {
		if got := string(AppendV1(nil, tt.src, tt.dst)); got != tt.v1 {
			t.Errorf("%s: v1 %q, want %q", tt.name, got, tt.v1)
		}
		v2 := AppendV2(nil, tt.src, tt.dst)
		if tt.v2 != nil && !bytes.Equal(v2, tt.v2) {
			t.Errorf("%s: v2 %x, want %x", tt.name, v2, tt.v2)
		}
		for _, b := range [][]byte{[]byte(tt.v1), v2} {
			h, n, err := Parse(b)
			if err != nil || n != len(b) {
				t.Errorf("%s: Parse(%q) = %d, %v", tt.name, b, n, err)
				continue
			}
			if h.Local != (tt.v1 == "PROXY UNKNOWN\r\n") {
				t.Errorf("%s: Local = %v", tt.name, h.Local)
			}
			if !h.Local && (h.Src.Addr().Unmap() != tt.src.Addr().Unmap() || h.Src.Port() != tt.src.Port() || h.Dst != tt.dst) {
				t.Errorf("%s: parsed %v -> %v", tt.name, h.Src, h.Dst)
			}
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	v2tlv := AppendV2(nil, src4, dst4)
	v2tlv[15] += 7 // 7 bytes of TLV after the addresses
	v2tlv = append(v2tlv, 0x04, 0, 4, 'n', 'o', 'o', 'p')
	tests := []struct {
		name string
		in   string
		want Header
		n    int
		err  error
	}{
		{"v1 tcp4 with payload", "PROXY TCP4 192.0.2.200 192.0.2.11 51234 80\r\nGET /", Header{Version: 1, Src: src4, Dst: dst4}, 44, nil},
		{"v1 unknown with junk", "PROXY UNKNOWN whatever 1 2\r\n", Header{Version: 1, Local: true}, 28, nil},
		{"v1 partial", "PROXY TCP4 192.0.2.2", Header{}, 0, ErrNeedMore},
		{"v1 partial prefix", "PRO", Header{}, 0, ErrNeedMore},
		{"empty", "", Header{}, 0, ErrNeedMore},
		{"not proxy", "GET / HTTP/1.1\r\n\r\n", Header{}, 0, ErrInvalid},
		{"v1 bad prefix", "PROXZ TCP4", Header{}, 0, ErrInvalid},
		{"v1 bare LF", "PROXY TCP4 192.0.2.200 192.0.2.11 51234 80\n", Header{}, 0, ErrInvalid},
		{"v1 family mismatch", "PROXY TCP6 192.0.2.200 192.0.2.11 51234 80\r\n", Header{}, 0, ErrInvalid},
		{"v1 port range", "PROXY TCP4 192.0.2.200 192.0.2.11 65536 80\r\n", Header{}, 0, ErrInvalid},
		{"v1 leading zero port", "PROXY TCP4 192.0.2.200 192.0.2.11 080 80\r\n", Header{}, 0, ErrInvalid},
		{"v1 double space", "PROXY TCP4  192.0.2.200 192.0.2.11 1 80\r\n", Header{}, 0, ErrInvalid},
		{"v1 extra field", "PROXY TCP4 192.0.2.200 192.0.2.11 1 80 9\r\n", Header{}, 0, ErrInvalid},
		{"v1 zone", "PROXY TCP6 fe80::1%eth0 fe80::2 1 80\r\n", Header{}, 0, ErrInvalid},
		{"v1 too long", "PROXY TCP4 " + string(bytes.Repeat([]byte("1"), 120)), Header{}, 0, ErrInvalid},
		{"v1 control byte", "PROXY TCP4 \x00", Header{}, 0, ErrInvalid},
		{"v2 with TLV", string(v2tlv) + "payload", Header{Version: 2, Src: src4, Dst: dst4}, len(v2tlv), nil},
		{"v2 partial", string(v2tlv[:20]), Header{}, 0, ErrNeedMore},
		{"v2 partial sig", "\r\n\r\n\x00", Header{}, 0, ErrNeedMore},
		{"v2 bad sig", "\r\n\r\n\x01\r\nQUIT\n", Header{}, 0, ErrInvalid},
		{"v2 version 3", "\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x0c", Header{}, 0, ErrInvalid},
		{"v2 bad command", "\r\n\r\n\x00\r\nQUIT\n\x22\x11\x00\x0c", Header{}, 0, ErrInvalid},
		{"v2 short addresses", "\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x04abcd", Header{}, 0, ErrInvalid},
		{"v2 unix", "\r\n\r\n\x00\r\nQUIT\n\x21\x31\x00\x02ab", Header{Version: 2, Local: true}, 18, nil},
		{"v2 local", "\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00", Header{Version: 2, Local: true}, 16, nil},
	}
	for _, tt := range tests {
		h, n, err := Parse([]byte(tt.in))
		if !errors.Is(err, tt.err) || n != tt.n {
			t.Errorf("%s: n=%d err=%v; want %d %v", tt.name, n, err, tt.n, tt.err)
			continue
		}
		if d := cmp.Diff(tt.want, h, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
}

// Read takes the header and leaves the payload, even when the header
// arrives a byte at a time, and reports garbage and timeouts.
func TestRead(t *testing.T) {
	t.Parallel()
	big := AppendV2(nil, src6, dst6)
	big[14], big[15] = 0x04, 0x24 // 36 address bytes + 1024 of TLV padding
	big = append(big, make([]byte, 1024)...)
	tests := []struct {
		name     string
		send     []byte
		bytewise bool
		want     Header
		err      bool
	}{
		{"v1", AppendV1(nil, src4, dst4), false, Header{Version: 1, Src: src4, Dst: dst4}, false},
		{"v1 bytewise", AppendV1(nil, src4, dst4), true, Header{Version: 1, Src: src4, Dst: dst4}, false},
		{"v2 bytewise", AppendV2(nil, src6, dst6), true, Header{Version: 2, Src: src6, Dst: dst6}, false},
		{"v2 long TLVs", big, false, Header{Version: 2, Src: src6, Dst: dst6}, false},
		{"garbage", []byte("GET / HTTP/1.1\r\n"), false, Header{}, true},
		{"timeout", []byte("PROXY TCP4 1"), false, Header{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			cl, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			sv, err := ln.AcceptTCP()
			if err != nil {
				t.Fatal(err)
			}
			defer sv.Close()
			done := make(chan error, 1)
			go func() {
				_ = cl.SetNoDelay(true)
				msg := append(append([]byte{}, tt.send...), "payload"...)
				if tt.err {
					msg = tt.send
				}
				if !tt.bytewise {
					_, err := cl.Write(msg)
					done <- err
					return
				}
				for i := range msg {
					if _, err := cl.Write(msg[i : i+1]); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			_ = sv.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			h, err := Read(sv)
			if werr := <-done; werr != nil {
				t.Fatal(werr)
			}
			if tt.err {
				if err == nil {
					t.Fatalf("Read accepted %q", tt.send)
				}
				return
			}
			if err != nil || h != tt.want {
				t.Fatalf("Read = %+v, %v; want %+v", h, err, tt.want)
			}
			_ = sv.SetReadDeadline(time.Now().Add(2 * time.Second))
			rest := make([]byte, 7)
			if _, err := io.ReadFull(sv, rest); err != nil || string(rest) != "payload" {
				t.Fatalf("payload after the header: %q %v", rest, err)
			}
		})
	}
}

// FuzzParse: Parse never panics, a header it accepts re-encodes to one
// that parses to the same addresses, and every prefix of an accepted
// header asks for more instead of failing.
func FuzzParse(f *testing.F) {
	f.Add(AppendV1(nil, src4, dst4))
	f.Add(AppendV1(nil, src6, dst6))
	f.Add(AppendV2(nil, src4, dst4))
	f.Add(AppendV2(nil, src6, dst6))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x31\x00\x02ab"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with n=%d", err, n)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("n=%d of %d bytes", n, len(b))
		}
		for k := range n {
			if _, _, err := Parse(b[:k]); err != ErrNeedMore {
				t.Fatalf("prefix %d of an accepted header: %v", k, err)
			}
		}
		if h.Local {
			return
		}
		for _, enc := range [][]byte{AppendV1(nil, h.Src, h.Dst), AppendV2(nil, h.Src, h.Dst)} {
			h2, n2, err := Parse(enc)
			if err != nil || n2 != len(enc) || h2.Local {
				t.Fatalf("re-encoded %q: %v", enc, err)
			}
			if h2.Src.Addr().Unmap() != h.Src.Addr().Unmap() || h2.Dst.Addr().Unmap() != h.Dst.Addr().Unmap() ||
				h2.Src.Port() != h.Src.Port() || h2.Dst.Port() != h.Dst.Port() {
				t.Fatalf("round trip %+v -> %+v", h, h2)
			}
		}
	})
}
