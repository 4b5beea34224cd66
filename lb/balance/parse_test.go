package balance

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAlgorithm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Algorithm
		wantArg string
		wantErr bool
	}{
		{in: "roundrobin", want: Roundrobin},
		{in: "static-rr", want: StaticRR},
		{in: "leastconn", want: Leastconn},
		{in: "first", want: First},
		{in: "source", want: Source},
		{in: "uri", want: URI},
		{in: "url_param(userid)", want: URLParam, wantArg: "userid"},
		{in: "hdr(Host)", want: Header, wantArg: "Host"},
		{in: "random", want: Random},
		{in: "random(3)", want: Random, wantArg: "3"},
		{in: "", wantErr: true},
		{in: "round-robin", wantErr: true},
		{in: "Roundrobin", wantErr: true},
		{in: "url_param", wantErr: true},
		{in: "url_param()", wantErr: true},
		{in: "hdr(", wantErr: true},
		{in: "hdr(a b)", wantErr: true},
		{in: "hdr((x))", wantErr: true},
		{in: "hdr(a,b)", wantErr: true},
		{in: "url_param(a=b)", wantErr: true},
		{in: "hdr(X-Forwarded-For)", want: Header, wantArg: "X-Forwarded-For"},
		{in: "random(0)", wantErr: true},
		{in: "random(-1)", wantErr: true},
		{in: "random(two)", wantErr: true},
		{in: "roundrobin(1)", wantErr: true},
		{in: "source()", wantErr: true},
	}
	for _, tt := range tests {
		got, arg, err := ParseAlgorithm(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseAlgorithm(%q) = %v, %q, want error", tt.in, got, arg)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseAlgorithm(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want || arg != tt.wantArg {
			t.Errorf("ParseAlgorithm(%q) = %v, %q, want %v, %q", tt.in, got, arg, tt.want, tt.wantArg)
		}
	}
}

func TestParseAlgorithmRoundTrip(t *testing.T) {
	t.Parallel()
	for a := Roundrobin; a <= Random; a++ {
		s := a.String()
		if a == URLParam || a == Header {
			s += "(x)"
		}
		got, _, err := ParseAlgorithm(s)
		if err != nil || got != a {
			t.Errorf("ParseAlgorithm(%q) = %v, %v, want %v", s, got, err, a)
		}
	}
	if s := Algorithm(99).String(); s != "Algorithm(99)" {
		t.Errorf("Algorithm(99).String() = %q", s)
	}
}

func TestParseHashType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    HashType
		wantErr bool
	}{
		{in: "", want: MapBased},
		{in: "map-based", want: MapBased},
		{in: "consistent", want: Consistent},
		{in: "avalanche", wantErr: true},
		{in: "Consistent", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseHashType(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseHashType(%q) = %v, %v, want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrHashType) {
			t.Errorf("ParseHashType(%q) error %v does not wrap ErrHashType", tt.in, err)
		}
	}
}

func TestParseSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		balance, hashType string
		want              Spec
		wantArg           string
		wantErr           bool
	}{
		{balance: "roundrobin", want: Spec{Algorithm: Roundrobin}},
		{balance: "random", want: Spec{Algorithm: Random, Draws: 2}},
		{balance: "random(5)", want: Spec{Algorithm: Random, Draws: 5}},
		{balance: "hdr(X-User)", hashType: "consistent", want: Spec{Algorithm: Header, HashType: Consistent}, wantArg: "X-User"},
		{balance: "source", hashType: "map-based", want: Spec{Algorithm: Source}},
		{balance: "source", hashType: "crc32", wantErr: true},
		{balance: "bogus", wantErr: true},
	}
	for _, tt := range tests {
		got, arg, err := ParseSpec(tt.balance, tt.hashType)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSpec(%q, %q) error = %v, want error %v", tt.balance, tt.hashType, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" || arg != tt.wantArg {
			t.Errorf("ParseSpec(%q, %q) arg %q (want %q), spec diff (-want +got):\n%s", tt.balance, tt.hashType, arg, tt.wantArg, diff)
		}
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	_, ok := weighted(1, 1)
	tests := []struct {
		name    string
		spec    Spec
		servers []Server
	}{
		{"unknown algorithm", Spec{Algorithm: Algorithm(42)}, ok},
		{"unknown hash type", Spec{Algorithm: Source, HashType: HashType(7)}, ok},
		{"negative draws", Spec{Algorithm: Random, Draws: -1}, ok},
		{"too many draws", Spec{Algorithm: Random, Draws: maxDraws + 1}, ok},
		{"nil server", Spec{Algorithm: Roundrobin}, []Server{ok[0], nil}},
		{"too many servers", Spec{Algorithm: Roundrobin}, make([]Server, maxServers+1)},
	}
	for _, tt := range tests {
		if b, err := New(tt.spec, tt.servers); err == nil {
			t.Errorf("%s: New(%+v) = %T, want error", tt.name, tt.spec, b)
		}
	}
	// hash_type set in defaults applies to every backend: non-hashing
	// algorithms accept and ignore it.
	if _, err := New(Spec{Algorithm: Roundrobin, HashType: Consistent}, ok); err != nil {
		t.Errorf("roundrobin with consistent hash type: %v", err)
	}
}

// ParseAlgorithm never panics, and what it accepts is exactly the keyword
// with its argument.
func FuzzParseAlgorithm(f *testing.F) {
	for _, s := range []string{"roundrobin", "url_param(x)", "hdr(Host)", "random(2)", "random()", "(", ")", "hdr(a)b)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, arg, err := ParseAlgorithm(s)
		if err != nil {
			return
		}
		back := a.String()
		if arg != "" {
			back += "(" + arg + ")"
		}
		if back != s {
			t.Errorf("ParseAlgorithm(%q) = %v, %q, which reads back as %q", s, a, arg, back)
		}
		if _, _, err := ParseSpec(s, ""); err != nil {
			t.Errorf("ParseSpec(%q) fails where ParseAlgorithm accepts: %v", s, err)
		}
	})
}
