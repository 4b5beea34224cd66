package admin

import (
	"errors"
	"strings"
)

// Command is one command: its words.
type Command []string

// String joins the words back, for logs.
func (c Command) String() string { return strings.Join(c, " ") }

// Limits of one line: longer lines or more words are refused, so a client
// cannot make tandem buffer without bound.
const (
	MaxLine  = 16 << 10
	MaxWords = 64
)

var (
	errTooManyWords = errors.New("too many words in one command")
	errLineTooLong  = errors.New("command line too long")
)

// Parse splits one line into commands as HAProxy's CLI does: `;` ends a
// command, spaces and tabs separate words, and a backslash makes the next
// character (`;`, a space, a backslash) literal. Empty commands are
// dropped. A trailing CR (a line typed in telnet) is ignored.
func Parse(line string) ([]Command, error) {
	if len(line) > MaxLine {
		return nil, errLineTooLong
	}
	line = strings.TrimSuffix(line, "\r")
	var (
		cmds []Command
		cur  Command
		word strings.Builder
		in   bool // inside a word
	)
	endWord := func() error {
		if !in {
			return nil
		}
		if len(cur) >= MaxWords {
			return errTooManyWords
		}
		cur = append(cur, word.String())
		word.Reset()
		in = false
		return nil
	}
	endCmd := func() {
		if len(cur) > 0 {
			cmds = append(cmds, cur)
		}
		cur = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line):
			i++
			word.WriteByte(line[i])
			in = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if err := endWord(); err != nil {
				return nil, err
			}
		case c == ';':
			if err := endWord(); err != nil {
				return nil, err
			}
			endCmd()
		default:
			word.WriteByte(c)
			in = true
		}
	}
	if err := endWord(); err != nil {
		return nil, err
	}
	endCmd()
	return cmds, nil
}

// Quote returns word escaped so that Parse reads it back as one word.
// Line breaks cannot be carried: a line ends at the first one.
func Quote(word string) string {
	var b strings.Builder
	for i := 0; i < len(word); i++ {
		switch c := word[i]; c {
		case ' ', '\t', ';', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
