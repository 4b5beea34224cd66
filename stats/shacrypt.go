package stats

import (
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"strconv"
	"strings"
)

// SHA-crypt ($5$ SHA-256, $6$ SHA-512) as Ulrich Drepper specified it
// ("Unix crypt using SHA-256 and SHA-512", 2008), the hashes glibc's
// crypt(3), mkpasswd and `openssl passwd -5/-6` write. tandem implements
// it here (it is short) rather than depend on a module for it.

const (
	shaCryptRoundsDefault = 5000
	shaCryptRoundsMin     = 1000
	shaCryptRoundsMax     = 999999999
	shaCryptSaltMax       = 16
)

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var errBadShaCrypt = errors.New("malformed SHA-crypt hash")

// shaCrypt computes the SHA-crypt hash of password with the parameters
// (id, rounds, salt) of setting, a full hash or just "$6$rounds=N$salt".
func shaCrypt(password, setting string) (string, error) {
	var newHash func() hash.Hash
	var id string
	switch {
	case strings.HasPrefix(setting, "$5$"):
		newHash, id = sha256.New, "$5$"
	case strings.HasPrefix(setting, "$6$"):
		newHash, id = sha512.New, "$6$"
	default:
		return "", errBadShaCrypt
	}
	rest := setting[3:]
	rounds, custom := shaCryptRoundsDefault, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		n, after, found := strings.Cut(r, "$")
		if !found {
			return "", errBadShaCrypt
		}
		v, err := strconv.ParseUint(n, 10, 64)
		if err != nil {
			return "", errBadShaCrypt
		}
		rounds = int(min(max(v, shaCryptRoundsMin), shaCryptRoundsMax))
		custom, rest = true, after
	}
	salt, _, _ := strings.Cut(rest, "$")
	if len(salt) > shaCryptSaltMax {
		salt = salt[:shaCryptSaltMax]
	}
	pw, sl := []byte(password), []byte(salt)

	// Digest B: password, salt, password.
	h := newHash()
	h.Write(pw)
	h.Write(sl)
	h.Write(pw)
	b := h.Sum(nil)
	size := len(b)

	// Digest A.
	h.Reset()
	h.Write(pw)
	h.Write(sl)
	for n := len(pw); n > 0; n -= size {
		h.Write(b[:min(n, size)])
	}
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(pw)
		}
	}
	a := h.Sum(nil)

	// Digest DP: the password once per byte of it.
	h.Reset()
	for range pw {
		h.Write(pw)
	}
	dp := h.Sum(nil)
	p := make([]byte, 0, len(pw))
	for n := len(pw); n > 0; n -= size {
		p = append(p, dp[:min(n, size)]...)
	}

	// Digest DS: the salt 16 + A[0] times.
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(sl)
	}
	ds := h.Sum(nil)
	s := make([]byte, 0, len(sl))
	for n := len(sl); n > 0; n -= size {
		s = append(s, ds[:min(n, size)]...)
	}

	c := a
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}

	var out strings.Builder
	out.WriteString(id)
	if custom {
		out.WriteString("rounds=" + strconv.Itoa(rounds) + "$")
	}
	out.WriteString(salt)
	out.WriteByte('$')
	enc := func(b2, b1, b0 byte, n int) {
		w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
		for range n {
			out.WriteByte(cryptAlphabet[w&0x3f])
			w >>= 6
		}
	}
	if size == 32 {
		// The spec's byte order: groups (0,10,20), (21,1,11), (12,22,2)…
		// then the last two bytes.
		order := [10][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
			{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}}
		for _, g := range order {
			enc(c[g[0]], c[g[1]], c[g[2]], 4)
		}
		enc(0, c[31], c[30], 3)
	} else {
		for i := range 21 {
			a, b, d := i, i+21, i+42
			// SHA-512 groups: (0,21,42), (22,43,1), (44,2,23), then repeat
			// the rotation.
			switch i % 3 {
			case 1:
				a, b, d = i+21, i+42, i
			case 2:
				a, b, d = i+42, i, i+21
			}
			enc(c[a], c[b], c[d], 4)
		}
		enc(0, 0, c[63], 2)
	}
	return out.String(), nil
}
