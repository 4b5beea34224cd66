package acl

// ASCII case folding without allocation. Patterns compiled with -i are
// stored lowered, so only the sample side is folded at match time. HAProxy
// folds ASCII only (strncasecmp in the C locale); so do we.

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func lowerBytes(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = lower(c)
	}
	return out
}

// equalFold reports whether s equals the lowered pattern p, ignoring ASCII case in s.
func equalFold(s, p []byte) bool {
	if len(s) != len(p) {
		return false
	}
	for i := range s {
		if lower(s[i]) != p[i] {
			return false
		}
	}
	return true
}

// indexFold returns the index of the lowered pattern p in s, ignoring ASCII case in s.
func indexFold(s, p []byte) int {
	if len(p) == 0 {
		return 0
	}
	first := p[0]
	for i := 0; i+len(p) <= len(s); i++ {
		if lower(s[i]) == first && equalFold(s[i:i+len(p)], p) {
			return i
		}
	}
	return -1
}
