package balance

import (
	"fmt"
	"sync"
	"testing"
)

// Many goroutines pick while another flips availability and weights (and
// reweights the ring): no data race, every answer is a valid index, and a
// server that is down throughout is never picked.
func TestConcurrentPick(t *testing.T) {
	t.Parallel()
	for _, ns := range benchSpecs() {
		t.Run(ns.name, func(t *testing.T) {
			t.Parallel()
			fs, ss := weighted(1, 1, 2, 3, 4, 1)
			fs[0].down.Store(true) // never comes up
			spec := ns.spec
			if spec.Rand != nil {
				spec.Rand = seeded(5)
			}
			b := mustNew(t, spec, ss)

			const pickers, picks = 8, 2000
			stop := make(chan struct{})
			var mut sync.WaitGroup
			mut.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					f := fs[1+i%(len(fs)-1)]
					f.down.Store(i%3 == 0)
					f.weight.Store(int32(i % 5))
					if rw, ok := b.(Reweighter); ok && i%50 == 0 {
						rw.Reweight()
					}
				}
			})
			var wg sync.WaitGroup
			errs := make(chan string, pickers)
			for g := range pickers {
				wg.Go(func() {
					key := []byte{192, 0, 2, byte(g)}
					for range picks {
						i := b.Pick(key)
						if i == 0 || i < -1 || i >= len(fs) {
							errs <- fmt.Sprintf("Pick = %d: invalid index or the server that is down", i)
							return
						}
						if i >= 0 {
							// As the engine does: a connection while it runs.
							fs[i].conns.Add(1)
							fs[i].conns.Add(-1)
						}
					}
				})
			}
			wg.Wait()
			close(stop)
			mut.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
		})
	}
}
