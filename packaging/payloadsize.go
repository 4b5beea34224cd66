package packaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ulikunitz/xz"
)

// RPM file layout: a 96-byte lead, the signature header (padded to 8 bytes),
// the main header, then the compressed cpio payload.
const (
	leadSize          = 96
	sigTagPayloadSize = 1007 // RPMSIGTAG_PAYLOADSIZE: bytes of the uncompressed cpio archive
	typeInt32         = 4
)

var (
	headerMagic = []byte{0x8e, 0xad, 0xe8, 0x01}
	xzMagic     = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// fixPayloadSize corrects RPMSIGTAG_PAYLOADSIZE in the package at path.
// rpmpack (nfpm's RPM writer) stores the sum of the file sizes there instead
// of the size of the cpio archive (google/rpmpack#60), which makes rpm2cpio,
// CentOS 7's included, exit 1 after writing a complete archive, and so breaks
// `rpm2cpio | cpio` under `set -o pipefail`. The signature header is covered
// by no digest (they cover the main header and the payload), so the fix
// leaves `rpm -K` intact.
func fixPayloadSize(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("fix payload size: %w", err)
	}
	sigIndex, sigData, sigEnd, err := header(b, leadSize)
	if err != nil {
		return fmt.Errorf("fix payload size: signature header: %w", err)
	}
	sigEnd = (sigEnd + 7) &^ 7
	_, _, mainEnd, err := header(b, sigEnd)
	if err != nil {
		return fmt.Errorf("fix payload size: main header: %w", err)
	}
	payload := b[mainEnd:]
	if !bytes.HasPrefix(payload, xzMagic) {
		return errors.New("fix payload size: payload is not xz")
	}
	r, err := xz.NewReader(bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("fix payload size: %w", err)
	}
	size, err := io.Copy(io.Discard, r)
	if err != nil {
		return fmt.Errorf("fix payload size: decompress payload: %w", err)
	}
	if size > 1<<31-1 {
		return fmt.Errorf("fix payload size: payload of %d bytes needs a 64-bit size tag", size)
	}
	for i := sigIndex; i < sigData; i += 16 {
		tag := binary.BigEndian.Uint32(b[i:])
		typ := binary.BigEndian.Uint32(b[i+4:])
		off := binary.BigEndian.Uint32(b[i+8:])
		count := binary.BigEndian.Uint32(b[i+12:])
		if tag != sigTagPayloadSize {
			continue
		}
		if typ != typeInt32 || count != 1 || sigData+int(off)+4 > sigEnd {
			return fmt.Errorf("fix payload size: unexpected tag %d (type %d, count %d, offset %d)", tag, typ, count, off)
		}
		binary.BigEndian.PutUint32(b[sigData+int(off):], uint32(size))
		return os.WriteFile(path, b, 0o644)
	}
	return errors.New("fix payload size: signature header has no payload size")
}

// header parses the header structure at off and returns where its index
// entries and its data store start and where it ends.
func header(b []byte, off int) (index, data, end int, err error) {
	if len(b) < off+16 || !bytes.Equal(b[off:off+4], headerMagic) {
		return 0, 0, 0, errors.New("bad magic")
	}
	n := int(binary.BigEndian.Uint32(b[off+8:]))
	size := int(binary.BigEndian.Uint32(b[off+12:]))
	index = off + 16
	data = index + 16*n
	end = data + size
	if n > 1<<16 || size > 1<<28 || end > len(b) {
		return 0, 0, 0, fmt.Errorf("%d entries and %d bytes do not fit the file", n, size)
	}
	return index, data, end, nil
}
