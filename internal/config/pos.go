package config

import (
	"strconv"
	"strings"
)

// Pos is a place in the configuration source.
type Pos struct {
	Line, Col int
}

// posIndex maps key paths to the position of the key in the source text.
// A path names array-of-table elements and inline array elements by index:
// "frontend.0.use_backend.1.backend". BurntSushi/toml exposes no key
// positions, so tandem scans the (already syntax-checked) source itself.
type posIndex struct {
	keys map[string]Pos
	// arrays counts elements of each array of tables seen so far, by path.
	arrays map[string]int
}

// indexPositions scans src, which must be valid TOML, and records where
// every key and every table header starts.
func indexPositions(src string) *posIndex {
	ix := &posIndex{keys: make(map[string]Pos), arrays: make(map[string]int)}
	s := &scanner{src: src, line: 1, col: 1, ix: ix}
	s.document()
	return ix
}

// lookup returns the position of path, or of its closest recorded parent.
func (ix *posIndex) lookup(path string) Pos {
	for {
		if p, ok := ix.keys[path]; ok {
			return p
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return Pos{Line: 1, Col: 1}
		}
		path = path[:i]
	}
}

type scanner struct {
	src       string
	off       int
	line, col int
	ix        *posIndex
}

func (s *scanner) eof() bool { return s.off >= len(s.src) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.off]
}

func (s *scanner) next() byte {
	c := s.src[s.off]
	s.off++
	if c == '\n' {
		s.line++
		s.col = 1
	} else {
		s.col++
	}
	return c
}

func (s *scanner) pos() Pos { return Pos{Line: s.line, Col: s.col} }

// skipSpace skips blanks and, with newlines, also line breaks and comments.
func (s *scanner) skipSpace(newlines bool) {
	for !s.eof() {
		switch c := s.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			s.next()
		case c == '\n' && newlines:
			s.next()
		case c == '#':
			for !s.eof() && s.peek() != '\n' {
				s.next()
			}
		default:
			return
		}
	}
}

func (s *scanner) document() {
	prefix := ""
	for {
		s.skipSpace(true)
		if s.eof() {
			return
		}
		if s.peek() == '[' {
			prefix = s.header()
			continue
		}
		s.keyValue(prefix)
	}
}

// header reads [a.b] or [[a.b]] and returns the resolved path prefix.
func (s *scanner) header() string {
	start := s.pos()
	s.next()
	array := false
	if s.peek() == '[' {
		s.next()
		array = true
	}
	keys := s.keyPath()
	for !s.eof() && s.peek() != '\n' {
		s.next()
	}
	// Resolve every segment but the last against arrays of tables: [frontend.tls]
	// after [[frontend]] means the last frontend element.
	path := ""
	for i, k := range keys {
		path = join(path, k)
		if n, ok := s.ix.arrays[path]; ok && (i < len(keys)-1 || !array) {
			path = join(path, strconv.Itoa(n-1))
		}
	}
	if array {
		n := s.ix.arrays[path]
		s.ix.arrays[path] = n + 1
		// A new element forgets nested arrays of the previous one.
		for k := range s.ix.arrays {
			if strings.HasPrefix(k, path+".") {
				delete(s.ix.arrays, k)
			}
		}
		if _, ok := s.ix.keys[path]; !ok {
			s.ix.keys[path] = start
		}
		path = join(path, strconv.Itoa(n))
	}
	s.ix.keys[path] = start
	return path
}

// keyPath reads a possibly dotted key and returns its parts.
func (s *scanner) keyPath() []string {
	var parts []string
	for {
		s.skipSpace(false)
		parts = append(parts, s.key())
		s.skipSpace(false)
		if s.peek() != '.' {
			return parts
		}
		s.next()
	}
}

func (s *scanner) key() string {
	switch s.peek() {
	case '"':
		return s.basicString()
	case '\'':
		return s.literalString()
	}
	start := s.off
	for !s.eof() {
		c := s.peek()
		if c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			s.next()
			continue
		}
		break
	}
	return s.src[start:s.off]
}

func (s *scanner) keyValue(prefix string) {
	start := s.pos()
	keys := s.keyPath()
	path := prefix
	for _, k := range keys {
		path = join(path, k)
		if _, ok := s.ix.keys[path]; !ok {
			s.ix.keys[path] = start
		}
	}
	s.ix.keys[path] = start
	s.skipSpace(false)
	if s.peek() == '=' {
		s.next()
	}
	s.skipSpace(false)
	s.value(path)
}

func (s *scanner) value(path string) {
	switch s.peek() {
	case '"':
		if strings.HasPrefix(s.src[s.off:], `"""`) {
			s.multiline(`"""`)
			return
		}
		s.basicString()
	case '\'':
		if strings.HasPrefix(s.src[s.off:], `'''`) {
			s.multiline(`'''`)
			return
		}
		s.literalString()
	case '[':
		s.next()
		for i := 0; ; i++ {
			s.skipSpace(true)
			if s.eof() || s.peek() == ']' {
				break
			}
			elem := join(path, strconv.Itoa(i))
			s.ix.keys[elem] = s.pos()
			s.value(elem)
			s.skipSpace(true)
			if s.peek() == ',' {
				s.next()
			}
		}
		if !s.eof() {
			s.next()
		}
	case '{':
		s.next()
		for {
			s.skipSpace(false)
			if s.eof() || s.peek() == '}' {
				break
			}
			s.keyValue(path)
			s.skipSpace(false)
			if s.peek() == ',' {
				s.next()
			}
		}
		if !s.eof() {
			s.next()
		}
	default:
		for !s.eof() {
			c := s.peek()
			if c == ',' || c == ']' || c == '}' || c == '\n' || c == '#' {
				return
			}
			s.next()
		}
	}
}

func (s *scanner) basicString() string {
	s.next()
	var b strings.Builder
	for !s.eof() {
		c := s.next()
		switch c {
		case '\\':
			if !s.eof() {
				b.WriteByte(s.next())
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func (s *scanner) literalString() string {
	s.next()
	start := s.off
	for !s.eof() && s.peek() != '\'' {
		s.next()
	}
	v := s.src[start:s.off]
	if !s.eof() {
		s.next()
	}
	return v
}

func (s *scanner) multiline(delim string) {
	for range 3 {
		s.next()
	}
	for !s.eof() {
		if strings.HasPrefix(s.src[s.off:], delim) {
			for range 3 {
				s.next()
			}
			// A closing delimiter may be followed by up to two quote characters.
			for !s.eof() && s.peek() == delim[0] {
				s.next()
			}
			return
		}
		if delim[0] == '"' && s.peek() == '\\' {
			s.next()
		}
		if !s.eof() {
			s.next()
		}
	}
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}
