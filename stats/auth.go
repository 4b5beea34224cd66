package stats

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// authenticator checks HTTP basic credentials against the configured
// `auth` entries. Passwords are plain text or crypt hashes: bcrypt
// ($2a$, $2b$, $2y$) and SHA-crypt ($5$, $6$). Every comparison is
// constant-time; a verified (user, password) pair is remembered (as a
// SHA-256) so that a page refreshing every few seconds does not pay
// bcrypt's cost each time.
type authenticator struct {
	creds []Credential

	mu   sync.Mutex
	good map[[32]byte]bool
}

const maxAuthCache = 64

func newAuthenticator(creds []Credential) (*authenticator, error) {
	for _, c := range creds {
		if err := checkHash(c.Password); err != nil {
			return nil, fmt.Errorf("stats auth for user %q: %w", c.User, err)
		}
	}
	return &authenticator{creds: creds, good: make(map[[32]byte]bool)}, nil
}

// checkHash rejects a hash-looking password tandem cannot verify, so a
// typo is an error at start rather than a login that never works.
func checkHash(p string) error {
	switch {
	case isBcrypt(p):
		if _, err := bcrypt.Cost([]byte(p)); err != nil {
			return fmt.Errorf("bad bcrypt hash: %w", err)
		}
	case strings.HasPrefix(p, "$5$"), strings.HasPrefix(p, "$6$"):
		if _, err := shaCrypt("", p); err != nil {
			return err
		}
		if strings.Count(p, "$") < 3 {
			return errBadShaCrypt
		}
	case strings.HasPrefix(p, "$1$"), strings.HasPrefix(p, "$y$"), strings.HasPrefix(p, "$7$"):
		return errors.New("unsupported crypt hash (use bcrypt $2b$ or SHA-crypt $5$/$6$)")
	}
	return nil
}

func isBcrypt(p string) bool {
	return strings.HasPrefix(p, "$2a$") || strings.HasPrefix(p, "$2b$") || strings.HasPrefix(p, "$2y$")
}

// check reports whether user and password match an entry.
func (a *authenticator) check(user, password string) bool {
	key := sha256.Sum256([]byte(user + "\x00" + password))
	a.mu.Lock()
	cached := a.good[key]
	a.mu.Unlock()
	if cached {
		return true
	}
	var match *Credential
	for i := range a.creds {
		c := &a.creds[i]
		uh, ch := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(c.User))
		if subtle.ConstantTimeCompare(uh[:], ch[:]) == 1 && match == nil {
			match = c
		}
	}
	if match == nil {
		// Same work as a wrong password for a plain entry.
		verifyPassword("", password)
		return false
	}
	if !verifyPassword(match.Password, password) {
		return false
	}
	a.mu.Lock()
	if len(a.good) >= maxAuthCache {
		clear(a.good)
	}
	a.good[key] = true
	a.mu.Unlock()
	return true
}

func verifyPassword(stored, given string) bool {
	switch {
	case isBcrypt(stored):
		return bcrypt.CompareHashAndPassword([]byte(stored), []byte(given)) == nil
	case strings.HasPrefix(stored, "$5$"), strings.HasPrefix(stored, "$6$"):
		h, err := shaCrypt(given, stored)
		if err != nil {
			return false
		}
		return subtle.ConstantTimeCompare([]byte(h), []byte(stored)) == 1
	}
	sh, gh := sha256.Sum256([]byte(stored)), sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(sh[:], gh[:]) == 1
}
