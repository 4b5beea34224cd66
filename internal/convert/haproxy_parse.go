package convert

import (
	"fmt"
	"strings"
)

// hline is one logical line of an haproxy.cfg: its words after quoting,
// escaping and environment variables were applied.
type hline struct {
	src   srcRef
	words []string
}

// hsection is a section with the lines that follow its header.
type hsection struct {
	kind  string // global, defaults, frontend, backend, listen, or another section keyword
	name  string
	from  string // "from NAME": the defaults section it takes its settings from
	head  hline
	lines []hline
}

// HAProxy's section keywords. Only the first five carry proxy settings.
var hsectionKinds = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true, "listen": true,
	"peers": true, "resolvers": true, "userlist": true, "mailers": true, "cache": true,
	"program": true, "http-errors": true, "ring": true, "log-forward": true,
	"fcgi-app": true, "crt-store": true, "traces": true, "acme": true,
}

// parseHAProxy splits src into sections. Problems (an unterminated quote,
// a line outside any section, an undefined variable) are returned as issues;
// the offending line is left out.
func parseHAProxy(file string, src []byte, env func(string) (string, bool)) ([]*hsection, []Issue) {
	var (
		secs   []*hsection
		cur    *hsection
		issues []Issue
		skip   int // depth of .if blocks being skipped
		// setenv and friends in global change the variables of the
		// lines after them.
		overlay = map[string]*string{}
	)
	envFn := func(name string) (string, bool) {
		if v, ok := overlay[name]; ok {
			if v == nil {
				return "", false
			}
			return *v, true
		}
		return lookup(env, name)
	}
	text := strings.ReplaceAll(string(src), "\r\n", "\n")
	for i, raw := range strings.Split(text, "\n") {
		ref := srcRef{File: file, Line: i + 1, Text: strings.TrimSpace(raw)}
		words, probs := splitHAProxyLine(raw, envFn)
		for _, p := range probs {
			issues = append(issues, Issue{File: file, Line: i + 1, Text: ref.Text, Reason: p})
		}
		if len(words) == 0 {
			continue
		}
		// Conditional blocks (.if/.elif/.else/.endif) depend on the build
		// and the environment of the HAProxy that would run them.
		switch words[0] {
		case ".if":
			if skip == 0 {
				issues = append(issues, Issue{File: file, Line: i + 1, Text: ref.Text, Reason: "conditional blocks are not evaluated: the lines up to the matching .endif were left out"})
			}
			skip++
			continue
		case ".endif":
			if skip > 0 {
				skip--
			}
			continue
		case ".elif", ".else":
			continue
		case ".diag", ".notice", ".warning", ".alert":
			continue
		}
		if skip > 0 {
			continue
		}
		if hsectionKinds[words[0]] {
			cur = &hsection{kind: words[0], head: hline{src: ref, words: words}}
			if len(words) > 1 {
				cur.name = words[1]
			}
			if len(words) > 3 && words[2] == "from" {
				cur.from = words[3]
			}
			secs = append(secs, cur)
			continue
		}
		if cur == nil {
			issues = append(issues, Issue{File: file, Line: i + 1, Text: ref.Text, Reason: "outside of any section"})
			continue
		}
		if cur.kind == "global" {
			switch {
			case (words[0] == "setenv" || words[0] == "presetenv") && len(words) >= 3:
				if _, set := envFn(words[1]); words[0] == "setenv" || !set {
					v := strings.Join(words[2:], " ")
					overlay[words[1]] = &v
				}
			case words[0] == "unsetenv":
				for _, n := range words[1:] {
					overlay[n] = nil
				}
			}
		}
		cur.lines = append(cur.lines, hline{src: ref, words: words})
	}
	if skip > 0 {
		issues = append(issues, Issue{File: file, Line: strings.Count(text, "\n") + 1, Text: "", Reason: "missing .endif"})
	}
	return secs, issues
}

// splitHAProxyLine cuts one line into words as HAProxy does: blanks
// separate words; '#' starts a comment; a backslash escapes a blank, '#',
// a quote, '$' or itself, and \r \n \t \xHH are decoded (any other
// backslash is kept, as regular expressions need); double quotes group
// words and expand $NAME, ${NAME} and ${NAME-default}; single quotes group
// words literally. HAProxy has no line continuation: a trailing backslash
// stays a backslash, which is reported.
func splitHAProxyLine(line string, env func(string) (string, bool)) ([]string, []string) {
	var (
		words  []string
		probs  []string
		cur    strings.Builder
		inWord bool
		quote  byte
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
				continue
			}
			cur.WriteByte(c)
		case c == '\\':
			inWord = true
			if i+1 >= len(line) {
				cur.WriteByte(c)
				probs = append(probs, "HAProxy has no line continuation: the trailing backslash is kept and the next line is read on its own")
				continue
			}
			n := line[i+1]
			switch n {
			case '\\', ' ', '\t', '\'', '"', '#', '$':
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
				if i+3 < len(line) && isHexDigit(line[i+2]) && isHexDigit(line[i+3]) {
					cur.WriteByte(hexVal(line[i+2])<<4 | hexVal(line[i+3]))
					i += 3
					continue
				}
				probs = append(probs, "invalid \\x escape (want \\xHH)")
				return nil, probs
			default:
				cur.WriteByte(c)
			}
		case quote == '"':
			switch c {
			case '"':
				quote = 0
			case '$':
				name, def, hasDef, n := envRef(line[i:])
				if n == 0 {
					cur.WriteByte(c)
					continue
				}
				v, ok := lookup(env, name)
				switch {
				case ok:
					cur.WriteString(v)
				case hasDef:
					cur.WriteString(def)
				default:
					probs = append(probs, fmt.Sprintf("environment variable %s is not set: replaced by an empty string, as HAProxy does", name))
				}
				i += n - 1
			default:
				cur.WriteByte(c)
			}
		case c == '"' || c == '\'':
			quote = c
			inWord = true
		case c == '#':
			if inWord {
				words = append(words, cur.String())
			}
			return words, probs
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f':
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
		probs = append(probs, fmt.Sprintf("unterminated %c quote: line left out", quote))
		return nil, probs
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, probs
}

func lookup(env func(string) (string, bool), name string) (string, bool) {
	if env == nil {
		return "", false
	}
	return env(name)
}

// envRef reads $NAME, ${NAME} or ${NAME-default} at the start of s and
// returns the name, the default and how many bytes it spans (0 if s does
// not start with a variable reference).
func envRef(s string) (name, def string, hasDef bool, n int) {
	if len(s) < 2 {
		return "", "", false, 0
	}
	if s[1] == '{' {
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", "", false, 0
		}
		inner := s[2:end]
		name, def, hasDef = strings.Cut(inner, "-")
		if !isVarName(name) {
			return "", "", false, 0
		}
		return name, def, hasDef, end + 1
	}
	j := 1
	for j < len(s) && isVarChar(s[j], j == 1) {
		j++
	}
	if j == 1 {
		return "", "", false, 0
	}
	return s[1:j], "", false, j
}

func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isVarChar(s[i], i == 0) {
			return false
		}
	}
	return true
}

func isVarChar(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// quoteWord writes w so that HAProxy's (and tandem's ACL) word splitting
// reads it back as the same single word.
func quoteWord(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t\r\n\v\f\"'\\#$") {
		return w
	}
	if !strings.ContainsAny(w, "'\r\n\t") {
		return "'" + w + "'"
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(w); i++ {
		switch c := w[i]; c {
		case '"', '\\', '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r':
			b.WriteString(`\r`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// joinWords re-quotes words into one string of HAProxy syntax.
func joinWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = quoteWord(w)
	}
	return strings.Join(q, " ")
}
