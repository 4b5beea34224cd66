package convert

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Issue is one line (or part of a line) of the input that was not converted,
// or not exactly.
type Issue struct {
	File   string
	Line   int
	Text   string // the original line, or the part of it that was left out
	Reason string
}

func (i Issue) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", i.File, i.Line, clip(i.Text, 120), i.Reason)
}

// clip shortens s for a one-line message.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// srcRef is where a converted thing came from.
type srcRef struct {
	File string
	Line int
	Text string
}

func (s srcRef) valid() bool { return s.File != "" }

func (s srcRef) comment() string {
	return fmt.Sprintf("%s:%d: %s", s.File, s.Line, clip(s.Text, 160))
}

func sortIssues(list []Issue) []Issue {
	slices.SortStableFunc(list, func(a, b Issue) int {
		if c := cmp.Compare(a.File, b.File); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Text, b.Text); c != 0 {
			return c
		}
		return cmp.Compare(a.Reason, b.Reason)
	})
	return slices.CompactFunc(list, func(a, b Issue) bool { return a == b })
}
