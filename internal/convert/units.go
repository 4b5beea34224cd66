package convert

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseHAProxyTime reads an HAProxy time: a number with an optional unit
// (us, ms, s, m, h, d); a bare number is in defUnit (milliseconds for
// nearly every keyword).
func parseHAProxyTime(s string, defUnit time.Duration) (time.Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("time %q: want a number with an optional unit (us, ms, s, m, h, d)", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n > 1<<40 {
		return 0, fmt.Errorf("time %q is out of range", s)
	}
	unit := defUnit
	switch s[i:] {
	case "":
	case "us":
		unit = time.Microsecond
	case "ms":
		unit = time.Millisecond
	case "s":
		unit = time.Second
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	case "d":
		unit = 24 * time.Hour
	default:
		return 0, fmt.Errorf("time %q: unknown unit %q (use us, ms, s, m, h or d)", s, s[i:])
	}
	d := time.Duration(n) * unit
	if n != 0 && d/unit != time.Duration(n) {
		return 0, fmt.Errorf("time %q is out of range", s)
	}
	return d, nil
}

// fmtDur writes d with the largest unit that divides it exactly, the way a
// person writes a timeout: "5s", "50s", "1m", "1500ms".
func fmtDur(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}, {time.Microsecond, "us"}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.name
		}
	}
	return d.String()
}

// parseSize reads an HAProxy size with an optional k, m or g suffix
// (powers of 1024).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch strings.ToLower(s[len(s)-min(1, len(s)):]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("size %q: want a number with an optional k, m or g suffix", s)
	}
	return n * mult, nil
}

// parseUint reads a non-negative decimal integer.
func parseUint(s string, max int64) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > max {
		return 0, fmt.Errorf("%q is not a number in 0-%d", s, max)
	}
	return n, nil
}

// parseSeconds reads keepalived's <TIMER>: seconds, possibly fractional.
func parseSeconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e6 {
		return 0, fmt.Errorf("%q is not a number of seconds", s)
	}
	return time.Duration(f * float64(time.Second)).Round(time.Microsecond), nil
}
