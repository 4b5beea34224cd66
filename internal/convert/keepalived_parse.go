package convert

import (
	"fmt"
	"path"
	"strings"
)

// knode is one keepalived statement: its words and, for a block, the
// statements inside its braces.
type knode struct {
	src      srcRef
	words    []string
	block    bool
	children []*knode
}

// ktoken is a word or a brace, with the line it came from.
type ktoken struct {
	word  string
	brace byte // '{' or '}' when the token is a brace
	src   srcRef
	eol   bool // last token of its line
}

type kparser struct {
	readFile func(string) ([]byte, error)
	glob     func(string) ([]string, error)
	issues   []Issue
	params   map[string]string
	depth    int
}

const maxIncludeDepth = 8

func (p *kparser) issue(src srcRef, format string, args ...any) {
	p.issues = append(p.issues, Issue{File: src.File, Line: src.Line, Text: src.Text, Reason: fmt.Sprintf(format, args...)})
}

// tokens reads a file into tokens, following include lines.
func (p *kparser) tokens(file string, src []byte) []ktoken {
	var out []ktoken
	lines := strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		raw := lines[i]
		first := i + 1
		// A line ending in a backslash continues on the next one.
		for strings.HasSuffix(raw, "\\") && i+1 < len(lines) {
			i++
			raw = raw[:len(raw)-1] + " " + lines[i]
		}
		ref := srcRef{File: file, Line: first, Text: strings.TrimSpace(raw)}
		trim := strings.TrimSpace(raw)
		if strings.HasPrefix(trim, "@") {
			p.issue(ref, "conditional configuration lines (@config-id) are not evaluated: line left out")
			continue
		}
		if strings.HasPrefix(trim, "$") {
			if name, val, ok := strings.Cut(trim[1:], "="); ok && isVarName(strings.TrimSpace(name)) {
				p.params[strings.TrimSpace(name)] = strings.TrimSpace(val)
				continue
			}
		}
		words, braces, err := splitKeepalivedLine(p.substitute(raw))
		if err != "" {
			p.issue(ref, "%s", err)
			continue
		}
		if len(words) >= 1 && strings.HasPrefix(words[0], "include") && braces[0] == 0 {
			switch words[0] {
			case "include", "includer", "includem", "includew", "includeb", "includea":
				out = append(out, p.include(file, ref, words[1:])...)
				continue
			}
		}
		for j, w := range words {
			out = append(out, ktoken{word: w, brace: braces[j], src: ref, eol: j == len(words)-1})
		}
	}
	return out
}

func (p *kparser) include(file string, ref srcRef, args []string) []ktoken {
	if len(args) != 1 {
		p.issue(ref, "include needs one file name")
		return nil
	}
	if p.depth >= maxIncludeDepth {
		p.issue(ref, "includes nested more than %d deep: left out", maxIncludeDepth)
		return nil
	}
	pattern := args[0]
	if !strings.HasPrefix(pattern, "/") {
		pattern = path.Join(path.Dir(file), pattern)
	}
	names, err := p.glob(pattern)
	if err != nil || len(names) == 0 {
		p.issue(ref, "no file matches %s: nothing included (keepalived ignores it too)", pattern)
		return nil
	}
	var out []ktoken
	for _, n := range names {
		b, err := p.readFile(n)
		if err != nil {
			p.issue(ref, "cannot read %s: %v", n, err)
			continue
		}
		p.depth++
		out = append(out, p.tokens(n, b)...)
		p.depth--
	}
	return out
}

// substitute replaces $NAME and ${NAME} with parameters defined by
// "$NAME=value" lines.
func (p *kparser) substitute(s string) string {
	if len(p.params) == 0 || !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' {
			if name, _, _, n := envRef(s[i:]); n > 0 {
				if v, ok := p.params[name]; ok {
					b.WriteString(v)
					i += n - 1
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// splitKeepalivedLine cuts a line into words and braces: blanks separate
// words, '#' and '!' start a comment, double or single quotes group a word
// (with the shell's backslash escapes inside), and '{' and '}' outside
// quotes are tokens of their own.
func splitKeepalivedLine(line string) ([]string, []byte, string) {
	var (
		words  []string
		braces []byte
		cur    strings.Builder
		inWord bool
		quote  byte
	)
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			braces = append(braces, 0)
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			switch {
			case c == quote:
				quote = 0
			case c == '\\' && i+1 < len(line):
				i++
				switch n := line[i]; n {
				case 'n':
					cur.WriteByte('\n')
				case 't':
					cur.WriteByte('\t')
				case 'r':
					cur.WriteByte('\r')
				default:
					cur.WriteByte(n)
				}
			default:
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
			inWord = true
		case c == '#' || c == '!':
			flush()
			return words, braces, ""
		case c == '{' || c == '}':
			flush()
			words = append(words, string(c))
			braces = append(braces, c)
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f':
			flush()
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, nil, fmt.Sprintf("unterminated %c quote: line left out", quote)
	}
	flush()
	return words, braces, ""
}

// parseKeepalived reads a keepalived.conf (and what it includes) into a
// tree of statements.
func parseKeepalived(file string, src []byte, readFile func(string) ([]byte, error), glob func(string) ([]string, error)) ([]*knode, []Issue) {
	p := &kparser{readFile: readFile, glob: glob, params: map[string]string{}}
	toks := p.tokens(file, src)
	pos := 0
	var parse func(depth int) []*knode
	tooDeep := false
	parse = func(depth int) []*knode {
		var out []*knode
		if depth > 32 {
			if !tooDeep {
				p.issue(toks[pos-1].src, "blocks nested too deep: the rest of the file was left out")
				tooDeep = true
			}
			pos = len(toks)
			return nil
		}
		for pos < len(toks) {
			t := toks[pos]
			if t.brace == '}' {
				if depth == 0 {
					p.issue(t.src, "unbalanced '}'")
					pos++
					continue
				}
				pos++
				return out
			}
			// A statement: words up to the end of the line, or up to a
			// brace on the same line.
			n := &knode{src: t.src}
			if t.brace == '{' {
				// A block without a keyword: keep the statement empty.
				n.block = true
				pos++
				n.children = parse(depth + 1)
				out = append(out, n)
				continue
			}
			for pos < len(toks) && toks[pos].brace == 0 {
				n.words = append(n.words, toks[pos].word)
				pos++
				if toks[pos-1].eol {
					break
				}
			}
			if pos < len(toks) && toks[pos].brace == '{' && toks[pos].src == n.src {
				n.block = true
				pos++
				n.children = parse(depth + 1)
			} else if pos < len(toks) && toks[pos].brace == '{' && !toks[pos-1].eol {
				n.block = true
				pos++
				n.children = parse(depth + 1)
			} else if pos < len(toks) && toks[pos].brace == '{' && len(n.words) > 0 {
				// "vrrp_instance VI_1" with its brace on the next line.
				n.block = true
				pos++
				n.children = parse(depth + 1)
			}
			out = append(out, n)
		}
		if depth > 0 && !tooDeep {
			end := srcRef{File: file}
			if len(toks) > 0 {
				end = toks[len(toks)-1].src
			}
			p.issue(end, "missing '}' at the end of the file")
		}
		return out
	}
	nodes := parse(0)
	return nodes, p.issues
}
