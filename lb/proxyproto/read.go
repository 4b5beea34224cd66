package proxyproto

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"syscall"
)

// Read takes a PROXY header off c and nothing more: it peeks at what has
// arrived (MSG_PEEK), waits for more while the header is incomplete (up to
// c's read deadline), then reads exactly the header's bytes, so what the
// client sent next stays for the protocol above.
func Read(c *net.TCPConn) (Header, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return Header{}, fmt.Errorf("proxy protocol: %w", err)
	}
	buf := make([]byte, peekSize)
	var (
		h    Header
		n    int
		perr error
	)
	err = rc.Read(func(fd uintptr) bool {
		for {
			k, _, e := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch {
			case e == syscall.EAGAIN || e == syscall.EINTR:
				return false
			case e != nil:
				perr = e
				return true
			case k == 0:
				perr = io.ErrUnexpectedEOF
				return true
			}
			h, n, perr = Parse(buf[:k])
			if perr != ErrNeedMore {
				return true
			}
			if k == len(buf) && len(buf) >= v2Fixed && buf[0] == '\r' {
				// A v2 header longer than the buffer: peek it whole.
				if size := v2Fixed + int(binary.BigEndian.Uint16(buf[14:16])); size > len(buf) {
					buf = make([]byte, size)
					continue
				}
			}
			// Incomplete: wait for more bytes.
			return false
		}
	})
	if err != nil {
		return Header{}, fmt.Errorf("proxy protocol: waiting for the header: %w", err)
	}
	if perr == ErrInvalid {
		return Header{}, perr
	}
	if perr != nil {
		return Header{}, fmt.Errorf("proxy protocol: reading the header: %w", perr)
	}
	if _, err := io.ReadFull(c, buf[:n]); err != nil {
		return Header{}, fmt.Errorf("proxy protocol: consuming the header: %w", err)
	}
	return h, nil
}
