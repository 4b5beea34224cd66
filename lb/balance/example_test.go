package balance_test

import (
	"fmt"
	"sync/atomic"

	"github.com/tandemlb/tandem/lb/balance"
)

// server is how an engine might back balance.Server with atomics.
type server struct {
	up     atomic.Bool
	weight atomic.Int32
	conns  atomic.Int32
}

func (s *server) Available() bool  { return s.up.Load() }
func (s *server) Weight() int      { return int(s.weight.Load()) }
func (s *server) ActiveConns() int { return int(s.conns.Load()) }

func Example() {
	spec, _, err := balance.ParseSpec("roundrobin", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	srvs := make([]balance.Server, 3)
	for i, w := range []int32{2, 1, 1} {
		s := &server{}
		s.up.Store(true)
		s.weight.Store(w)
		srvs[i] = s
	}
	b, err := balance.New(spec, srvs)
	if err != nil {
		fmt.Println(err)
		return
	}
	for range 8 {
		fmt.Print(b.Pick(nil), " ")
	}
	fmt.Println()
	// Output: 0 1 2 0 0 1 2 0
}

func ExampleParseSpec() {
	spec, name, err := balance.ParseSpec("url_param(userid)", "consistent")
	fmt.Println(spec.Algorithm, spec.HashType, name, err)
	spec, _, _ = balance.ParseSpec("random(3)", "")
	fmt.Println(spec.Algorithm, spec.Draws)
	// Output:
	// url_param consistent userid <nil>
	// random 3
}
