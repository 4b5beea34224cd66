package http1

import "errors"

// Limits of chunked framing, beyond which a body is refused with 400.
const (
	// MaxChunkLineBytes bounds a chunk-size line (size digits and
	// extensions, without CRLF): extensions are a known abuse vector and
	// nobody needs more.
	MaxChunkLineBytes = 4096
	// MaxTrailerBytes bounds the trailer section after the last chunk.
	MaxTrailerBytes = 16384
)

type chunkState uint8

const (
	csSize         chunkState = iota // first hex digit of a chunk size
	csSizeDigits                     // more hex digits, ';', BWS or CR
	csSizeBWS                        // whitespace after the size: more of it or ';'
	csExt                            // chunk extensions until CR
	csExtQuote                       // inside a quoted-string extension value
	csExtQuoteEsc                    // after a backslash in a quoted-string
	csSizeLF                         // LF ending the size line
	csData                           // chunk data, s.size bytes left
	csDataCR                         // CR after chunk data
	csDataLF                         // LF after chunk data
	csTrailerStart                   // start of a trailer field line, or the final CRLF
	csTrailerName                    // trailer field name
	csTrailerValue                   // trailer field value
	csTrailerLF                      // LF ending a trailer field line
	csEndLF                          // LF of the final CRLF
	csDone                           // message complete
)

// ChunkScanner follows chunked framing (RFC 9112 §7.1) through bytes that are
// forwarded verbatim. The zero value is ready to use; it never allocates.
type ChunkScanner struct {
	state   chunkState
	size    int64 // size being parsed, then data bytes left in the chunk
	lineLen int   // bytes of the current size line, or of the trailer section
	err     error
}

// Reset prepares s for a new chunked body.
func (s *ChunkScanner) Reset() { *s = ChunkScanner{} }

// Done reports whether the last-chunk and trailer section have been seen.
func (s *ChunkScanner) Done() bool { return s.state == csDone }

// DataRemaining returns how many bytes of chunk data come next, before any
// framing byte. A caller may move that many bytes without Scan (e.g. with
// splice) and then report them with Advance.
func (s *ChunkScanner) DataRemaining() int64 {
	if s.state == csData && s.err == nil {
		return s.size
	}
	return 0
}

var errAdvance = errors.New("http1: ChunkScanner.Advance beyond the current chunk's data")

// Advance accounts for n chunk-data bytes moved without Scan; n must not
// exceed DataRemaining.
func (s *ChunkScanner) Advance(n int64) error {
	if n < 0 || n > s.DataRemaining() {
		return errAdvance
	}
	if n == 0 {
		return nil
	}
	s.size -= n
	if s.size == 0 {
		s.state = csDataCR
	}
	return nil
}

// Scan consumes framing bytes from p and returns how many belong to the chunked body (n <= len(p)),
// done=true when the last-chunk and trailer section ended exactly at p[n-1] (then n may be < len(p): the rest is the next message).
// Malformed framing (bad hex, missing CRLF, chunk-size overflow, chunk extension abuse > 4 KiB, bare LF) → *Error{400,...}.
// On error, n counts the bytes before the offending one; the error sticks
// until Reset. After done, Scan returns 0, true, nil.
func (s *ChunkScanner) Scan(p []byte) (n int, done bool, err error) {
	if s.err != nil {
		return 0, false, s.err
	}
	i := 0
	for i < len(p) {
		if s.state == csData {
			k := int64(len(p) - i)
			if k > s.size {
				k = s.size
			}
			i += int(k)
			s.size -= k
			if s.size == 0 {
				s.state = csDataCR
			}
			continue
		}
		if s.state == csDone {
			return i, true, nil
		}
		if e := s.step(p[i]); e != nil {
			s.err = e
			return i, false, e
		}
		i++
		if s.state == csDone {
			return i, true, nil
		}
	}
	return i, s.state == csDone, nil
}

// step advances the framing state machine by one byte outside chunk data.
func (s *ChunkScanner) step(c byte) *Error {
	switch s.state {
	case csSize, csSizeDigits:
		if v := hexVal[c]; v >= 0 {
			if s.size > (1<<63-1)>>4 {
				return errChunkOverflow
			}
			s.size = s.size<<4 | int64(v)
			s.state = csSizeDigits
			return s.countLine()
		}
		if s.state == csSize {
			return errChunkSize
		}
		return s.afterSize(c)
	case csSizeBWS:
		if isOWS(c) || c == ';' {
			return s.afterSize(c)
		}
		return errChunkExt
	case csExt:
		switch {
		case c == '\r':
			s.state = csSizeLF
			return nil
		case c == '\n':
			return errChunkBareLF
		case c == '"':
			s.state = csExtQuote
		case !vchar[c]:
			return errChunkExt
		}
		return s.countLine()
	case csExtQuote:
		switch {
		case c == '"':
			s.state = csExt
		case c == '\\':
			s.state = csExtQuoteEsc
		case !vchar[c]:
			return errChunkExt
		}
		return s.countLine()
	case csExtQuoteEsc:
		if !vchar[c] {
			return errChunkExt
		}
		s.state = csExtQuote
		return s.countLine()
	case csSizeLF:
		if c != '\n' {
			return errChunkCRLF
		}
		s.lineLen = 0
		if s.size == 0 {
			s.state = csTrailerStart
		} else {
			s.state = csData
		}
		return nil
	case csDataCR:
		if c != '\r' {
			if c == '\n' {
				return errChunkBareLF
			}
			return errChunkCRLF
		}
		s.state = csDataLF
		return nil
	case csDataLF:
		if c != '\n' {
			return errChunkCRLF
		}
		s.state = csSize
		return nil
	case csTrailerStart:
		switch {
		case c == '\r':
			s.state = csEndLF
			return nil
		case c == '\n':
			return errChunkBareLF
		case isOWS(c):
			return errTrailerObsFold
		case !tchar[c]:
			return errTrailer
		}
		s.state = csTrailerName
		return s.countTrailer()
	case csTrailerName:
		switch {
		case c == ':':
			s.state = csTrailerValue
		case !tchar[c]:
			return errTrailer
		}
		return s.countTrailer()
	case csTrailerValue:
		switch {
		case c == '\r':
			s.state = csTrailerLF
		case c == '\n':
			return errChunkBareLF
		case !vchar[c]:
			return errTrailer
		}
		return s.countTrailer()
	case csTrailerLF:
		if c != '\n' {
			return errTrailer
		}
		s.state = csTrailerStart
		return s.countTrailer()
	case csEndLF:
		if c != '\n' {
			return errChunkCRLF
		}
		s.state = csDone
		return nil
	}
	return errChunkSize // unreachable: csData and csDone are handled by Scan
}

// afterSize handles the byte after the chunk-size digits or BWS.
func (s *ChunkScanner) afterSize(c byte) *Error {
	switch {
	case c == '\r':
		if s.state == csSizeBWS {
			return errChunkExt // BWS is only allowed before ';'
		}
		s.state = csSizeLF
		return nil
	case c == '\n':
		return errChunkBareLF
	case c == ';':
		s.state = csExt
	case isOWS(c):
		s.state = csSizeBWS
	default:
		return errChunkSize
	}
	return s.countLine()
}

func (s *ChunkScanner) countLine() *Error {
	s.lineLen++
	if s.lineLen > MaxChunkLineBytes {
		return errChunkExtLong
	}
	return nil
}

func (s *ChunkScanner) countTrailer() *Error {
	s.lineLen++
	if s.lineLen > MaxTrailerBytes {
		return errTrailerLarge
	}
	return nil
}
