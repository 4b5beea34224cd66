package rules

import "testing"

// FuzzRule: any rule compiles or fails cleanly, and a compiled one applies
// to a request without panicking.
func FuzzRule(f *testing.F) {
	f.Add("replace-value", "Accept", `^(a)(.*)$`, `\2\1%[src]`, "")
	f.Add("redirect", "", "", "", "https")
	f.Add("set-header", "X", "", "", "%[req.hdr(host)]%%")
	f.Add("replace-path", "", `/(.*)`, `/x/\1`, "")
	f.Add("set-query", "", "", "", "")
	set := testSet(f)
	f.Fuzz(func(t *testing.T, action, name, regex, replace, value string) {
		rules := []Rule{{Action: action, Name: name, Regex: regex, Replace: replace, Value: value}}
		if action == "redirect" {
			rules[0] = Rule{Action: action, Scheme: value}
		}
		l, err := Compile(rules, set)
		if err != nil {
			if l != nil {
				t.Fatal("a List returned with an error")
			}
			return
		}
		m := newMsg("GET /a/b?c=d", "Accept: a, \"b,c\", d", name+": "+value)
		l.Apply(m)
	})
}
