package acl

import (
	"fmt"
	"strings"
)

// splitWords cuts a definition or condition into words the way HAProxy's
// configuration parser does, so that lines copied from haproxy.cfg mean the
// same thing: blanks separate words; double quotes group and keep escapes;
// single quotes group literally; outside single quotes a backslash escapes
// \\, \<space>, \', \", \#, \$, and \r, \n, \t, \xHH are decoded. Any other
// backslash sequence is kept as written, which is what regular expressions
// such as `\.` and `\d` need.
func splitWords(s string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
		quote  byte // 0, '"' or '\''
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
				continue
			}
			cur.WriteByte(c)
		case c == '\\':
			inWord = true
			if i+1 >= len(s) {
				cur.WriteByte(c)
				continue
			}
			n := s[i+1]
			switch n {
			case '\\', ' ', '\'', '"', '#', '$':
				cur.WriteByte(n)
				i++
			case 'r':
				cur.WriteByte('\r')
				i++
			case 'n':
				cur.WriteByte('\n')
				i++
			case 't':
				cur.WriteByte('\t')
				i++
			case 'x':
				if i+3 < len(s) && isHex(s[i+2]) && isHex(s[i+3]) {
					cur.WriteByte(unhex(s[i+2])<<4 | unhex(s[i+3]))
					i += 3
					continue
				}
				return nil, fmt.Errorf("invalid escape '\\x' at offset %d (want \\xHH)", i)
			default:
				cur.WriteByte(c)
			}
		case quote == '"':
			if c == '"' {
				quote = 0
				continue
			}
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote = c
			inWord = true
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
