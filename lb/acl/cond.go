package acl

import (
	"errors"
	"fmt"
	"strings"
)

// term is one ACL reference in a condition, possibly negated.
type term struct {
	acl *acl
	neg bool
}

// Cond is a compiled condition: OR-ed groups of AND-ed terms, as HAProxy
// evaluates "a b || !c { path_beg /x }".
type Cond struct {
	groups [][]term
	unless bool
	expr   string
}

// Compile parses a condition against the set. unless=true negates the
// whole condition (HAProxy's `unless`). Terms separated by blanks are
// AND-ed, "||" or "or" separates OR-ed groups (AND binds tighter), "!"
// negates the term it prefixes, and "{ fetch [flags] patterns }" is an
// anonymous ACL usable as a term. An empty expression is an error.
func (s *Set) Compile(cond string, unless bool) (*Cond, error) {
	words, err := splitWords(cond)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, errors.New("empty condition")
	}
	c := &Cond{unless: unless, expr: cond}
	var (
		cur []term
		neg bool
	)
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "||" || strings.EqualFold(w, "or") {
			if neg {
				return nil, fmt.Errorf("'!' before '%s' negates nothing", w)
			}
			if len(cur) == 0 {
				return nil, fmt.Errorf("missing ACL before '%s'", w)
			}
			c.groups = append(c.groups, cur)
			cur = nil
			continue
		}
		for len(w) > 0 && w[0] == '!' {
			neg = !neg
			w = w[1:]
		}
		if w == "" {
			continue // a lone "!": negates the next word
		}
		var a *acl
		switch {
		case w == "{":
			end := -1
			for j := i + 1; j < len(words); j++ {
				if words[j] == "{" {
					return nil, errors.New("anonymous ACLs cannot be nested")
				}
				if words[j] == "}" {
					end = j
					break
				}
			}
			if end < 0 {
				return nil, errors.New("missing '}' closing the anonymous ACL")
			}
			if end == i+1 {
				return nil, errors.New("empty anonymous ACL '{ }'")
			}
			e, err := parseExpr(words[i+1 : end])
			if err != nil {
				return nil, fmt.Errorf("anonymous ACL '{ %s }': %w", strings.Join(words[i+1:end], " "), err)
			}
			a = &acl{name: "{ " + strings.Join(words[i+1:end], " ") + " }", exprs: []*expr{e}}
			i = end
		case w == "}":
			return nil, errors.New("'}' without a matching '{'")
		case w[0] == '{' || w[len(w)-1] == '}':
			return nil, fmt.Errorf("'{' and '}' must be separated by blanks from what they enclose, in '%s'", w)
		default:
			a, err = s.lookup(w)
			if err != nil {
				return nil, err
			}
		}
		cur = append(cur, term{acl: a, neg: neg})
		neg = false
	}
	if neg {
		return nil, errors.New("'!' at the end negates nothing")
	}
	if len(cur) == 0 {
		if len(c.groups) == 0 {
			return nil, errors.New("empty condition")
		}
		return nil, errors.New("missing ACL after the last '||'")
	}
	c.groups = append(c.groups, cur)
	return c, nil
}

// Match evaluates the condition. A nil *Cond matches everything (a rule
// without if/unless).
func (c *Cond) Match(s Sample) bool {
	if c == nil {
		return true
	}
	r := false
	for _, g := range c.groups {
		ok := true
		for _, t := range g {
			if t.acl.match(s) == t.neg {
				ok = false
				break
			}
		}
		if ok {
			r = true
			break
		}
	}
	return r != c.unless
}

// String returns the condition as written, with "unless " in front when
// it was compiled negated.
func (c *Cond) String() string {
	if c == nil {
		return ""
	}
	if c.unless {
		return "unless " + c.expr
	}
	return "if " + c.expr
}
