package balance

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// MaxWeight is the highest server weight, as in HAProxy.
const MaxWeight = 256

// Server is the balancer's view of one server. Implementations are atomic and
// cheap: every Pick may call them for every server of the group.
type Server interface {
	// Available reports whether the server may take new traffic now: health
	// up, admin ready, below its maxconn.
	Available() bool
	// Weight is the current effective weight 0..256 (runtime weight,
	// slowstart ramp applied); 0 means no new traffic.
	Weight() int
	// ActiveConns is the number of current connections, for leastconn and
	// random.
	ActiveConns() int
}

// Algorithm is a `balance` algorithm.
type Algorithm int

// The algorithms, named as in HAProxy.
const (
	Roundrobin Algorithm = iota
	StaticRR
	Leastconn
	First
	Source
	URI
	URLParam
	Header
	Random
)

var algorithmNames = [...]string{
	Roundrobin: "roundrobin",
	StaticRR:   "static-rr",
	Leastconn:  "leastconn",
	First:      "first",
	Source:     "source",
	URI:        "uri",
	URLParam:   "url_param",
	Header:     "hdr",
	Random:     "random",
}

// String returns the algorithm's HAProxy keyword (without argument).
func (a Algorithm) String() string {
	if a < 0 || int(a) >= len(algorithmNames) {
		return "Algorithm(" + strconv.Itoa(int(a)) + ")"
	}
	return algorithmNames[a]
}

// Hashing reports whether the algorithm picks from a key the caller computes
// (source, uri, url_param, hdr).
func (a Algorithm) Hashing() bool {
	switch a {
	case Source, URI, URLParam, Header:
		return true
	}
	return false
}

// HashType is how hashing algorithms map a key to a server (`hash-type`).
type HashType int

const (
	// MapBased takes the key's hash modulo the total weight of the servers
	// available now. Weights are those at New (static, as HAProxy's map-based
	// table); any change in availability remaps most keys.
	MapBased HashType = iota
	// Consistent places servers on a ring in proportion to their weight;
	// a server going away moves only its own keys.
	Consistent
)

// String returns the hash type's HAProxy keyword.
func (h HashType) String() string {
	switch h {
	case MapBased:
		return "map-based"
	case Consistent:
		return "consistent"
	}
	return "HashType(" + strconv.Itoa(int(h)) + ")"
}

// DefaultDraws is the number of draws of `random` without argument (power of
// two choices), as in HAProxy.
const DefaultDraws = 2

// Spec says which algorithm a balancer runs.
type Spec struct {
	Algorithm Algorithm
	// HashType applies to the hashing algorithms; the others ignore it (as
	// HAProxy does for a hash-type set in defaults).
	HashType HashType
	// Draws is N of random(N); 0 means DefaultDraws.
	Draws int
	// Rand is the randomness of Random. Nil means math/rand/v2's global
	// generator; tests inject a seeded source. A non-nil source is used under a
	// mutex since sources are not safe for concurrent use.
	Rand rand.Source
}

// ErrAlgorithm reports a `balance` or `hash_type` value tandem does not know.
var ErrAlgorithm = errors.New("unknown balance algorithm")

// ErrHashType is wrapped by ParseHashType's errors.
var ErrHashType = errors.New("unknown hash type")

// ParseAlgorithm parses HAProxy's `balance` value as tandem's TOML writes it:
// "roundrobin", "static-rr", "leastconn", "first", "source", "uri",
// "url_param(NAME)", "hdr(NAME)", "random", "random(N)". It returns the
// algorithm and its argument (NAME, or N for random; "" without one).
// Options of uri, url_param and hdr are separate config keys, not parsed here.
func ParseAlgorithm(s string) (Algorithm, string, error) {
	name, arg, hasArg := s, "", false
	if i := strings.IndexByte(s, '('); i >= 0 {
		if !strings.HasSuffix(s, ")") {
			return 0, "", fmt.Errorf("parse balance %q: missing closing parenthesis", s)
		}
		name, arg, hasArg = s[:i], s[i+1:len(s)-1], true
		if strings.ContainsAny(arg, "() \t") {
			return 0, "", fmt.Errorf("parse balance %q: invalid argument %q", s, arg)
		}
	}
	for a, n := range algorithmNames {
		if n != name {
			continue
		}
		alg := Algorithm(a)
		switch alg {
		case URLParam, Header:
			if arg == "" {
				return 0, "", fmt.Errorf("parse balance %q: %s needs a name, as %s(NAME)", s, name, name)
			}
			if !isToken(arg) {
				return 0, "", fmt.Errorf("parse balance %q: invalid %s name %q", s, name, arg)
			}
		case Random:
			if hasArg {
				n, err := strconv.Atoi(arg)
				if err != nil || n < 1 {
					return 0, "", fmt.Errorf("parse balance %q: draws must be a positive integer", s)
				}
			}
		default:
			if hasArg {
				return 0, "", fmt.Errorf("parse balance %q: %s takes no argument", s, name)
			}
		}
		return alg, arg, nil
	}
	return 0, "", fmt.Errorf("parse balance %q: %w (want roundrobin, static-rr, leastconn, first, source, uri, url_param(NAME), hdr(NAME), random or random(N))", s, ErrAlgorithm)
}

// isToken reports whether s is an HTTP token (RFC 9110 tchar), which both a
// header name and a query parameter name must be here.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ParseHashType parses `hash_type`: "map-based" or "consistent"; "" is the
// default, map-based.
func ParseHashType(s string) (HashType, error) {
	switch s {
	case "", "map-based":
		return MapBased, nil
	case "consistent":
		return Consistent, nil
	}
	return 0, fmt.Errorf("parse hash_type %q: %w (want map-based or consistent)", s, ErrHashType)
}

// ParseSpec parses the `balance` and `hash_type` values into a Spec (with
// Draws set for random(N)) and returns the algorithm's NAME argument for
// url_param and hdr, which the caller needs to compute keys.
func ParseSpec(balance, hashType string) (Spec, string, error) {
	alg, arg, err := ParseAlgorithm(balance)
	if err != nil {
		return Spec{}, "", err
	}
	ht, err := ParseHashType(hashType)
	if err != nil {
		return Spec{}, "", err
	}
	spec := Spec{Algorithm: alg, HashType: ht}
	if alg == Random {
		spec.Draws = DefaultDraws
		if arg != "" {
			spec.Draws, _ = strconv.Atoi(arg) // validated by ParseAlgorithm
		}
		arg = ""
	}
	return spec, arg, nil
}

// Balancer picks servers for one server group.
type Balancer interface {
	// Pick returns the index (into the servers slice given to New) of the
	// chosen server, or -1 when no server is available. key is the hash input
	// for hashing algorithms; a nil or empty key on a hashing algorithm falls
	// back to round-robin, as HAProxy does for a missing param or header.
	// Other algorithms ignore key.
	Pick(key []byte) int
}

// Reweighter is implemented by balancers that precompute state from weights
// at New (the consistent-hash ring). The engine calls Reweight after a
// runtime weight change or a slowstart step so that the new weights apply;
// until then the balancer uses the weights it was built (or last reweighted)
// with, skipping servers whose Weight is 0 now. Reweight may allocate and
// takes time proportional to the ring size; Pick keeps working meanwhile.
type Reweighter interface {
	Reweight()
}

// New builds a balancer for one server group (the engine builds one for the
// active servers and one for the backups). Weights read by static algorithms
// are those the servers report now. The servers slice must not change after.
func New(spec Spec, servers []Server) (Balancer, error) {
	if len(servers) > maxServers {
		return nil, fmt.Errorf("build %s balancer: %d servers, at most %d", spec.Algorithm, len(servers), maxServers)
	}
	for i, s := range servers {
		if s == nil {
			return nil, fmt.Errorf("build %s balancer: server %d is nil", spec.Algorithm, i)
		}
	}
	switch spec.Algorithm {
	case Roundrobin:
		return newSWRR(servers, false), nil
	case StaticRR:
		return newSWRR(servers, true), nil
	case Leastconn:
		return &leastconn{servers: servers}, nil
	case First:
		return first(servers), nil
	case Source, URI, URLParam, Header:
		switch spec.HashType {
		case MapBased:
			return newMapBased(servers), nil
		case Consistent:
			return newConsistent(servers), nil
		}
		return nil, fmt.Errorf("build %s balancer: hash type %s: %w", spec.Algorithm, spec.HashType, ErrAlgorithm)
	case Random:
		draws := spec.Draws
		if draws == 0 {
			draws = DefaultDraws
		}
		if draws < 1 || draws > maxDraws {
			return nil, fmt.Errorf("build random balancer: draws %d out of range 1..%d", spec.Draws, maxDraws)
		}
		return newRandom(servers, draws, spec.Rand), nil
	}
	return nil, fmt.Errorf("build balancer: algorithm %s: %w", spec.Algorithm, ErrAlgorithm)
}

const (
	// maxServers bounds a group, as HAProxy's roundrobin (4095 servers per
	// backend), which also keeps the consistent ring within maxRing points.
	maxServers = 4095
	maxDraws   = 1024
)

// clampWeight keeps a misbehaving Server's weight in 0..MaxWeight.
func clampWeight(w int) int {
	if w <= 0 {
		return 0
	}
	if w > MaxWeight {
		return MaxWeight
	}
	return w
}

// usable returns the weight s may take new traffic with now, 0 if none.
func usable(s Server) int {
	w := clampWeight(s.Weight())
	if w == 0 || !s.Available() {
		return 0
	}
	return w
}
