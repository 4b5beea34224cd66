package health

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInherit drives an old server into a state, then checks what a fresh
// server of the next configuration (maybe with other rise/fall) inherits.
func TestInherit(t *testing.T) {
	t.Parallel()
	type state struct {
		Op     OpState
		Admin  AdminState
		Weight int
		Health int
	}
	tests := []struct {
		name             string
		seq              string // checks on the old server (rise 2, fall 3)
		admin            AdminState
		weight           int
		what             Inherit
		newRise, newFall int
		want             state
	}{
		{"up stays up", "PPP", Ready, 1, Inherit{Health: true}, 2, 3, state{Up, Ready, 1, 4}},
		{"down stays down", "FFFF", Ready, 1, Inherit{Health: true}, 2, 3, state{Down, Ready, 1, 0}},
		{"down stays down, other rise/fall", "FFFF", Ready, 1, Inherit{Health: true}, 5, 5, state{Down, Ready, 1, 0}},
		{"up, other rise/fall", "PPP", Ready, 1, Inherit{Health: true}, 5, 5, state{Up, Ready, 1, 9}},
		{"going down keeps its failures", "PPPF", Ready, 1, Inherit{Health: true}, 2, 3, state{GoingDown, Ready, 1, 3}},
		{"going up keeps its passes", "FFFFP", Ready, 1, Inherit{Health: true}, 3, 3, state{GoingUp, Ready, 1, 1}},
		{"health not inherited: restarts at rise", "FFFF", Ready, 1, Inherit{}, 2, 3, state{GoingDown, Ready, 1, 2}},
		{"drain and weight", "PPP", Drain, 7, Inherit{Health: true, Admin: true, Weight: true}, 2, 3, state{Up, Drain, 7, 4}},
		{"admin and weight not inherited", "PPP", Maint, 7, Inherit{Health: true}, 2, 3, state{Up, Ready, 1, 4}},
		{"maint inherited", "", Maint, 1, Inherit{Admin: true}, 2, 3, state{GoingDown, Maint, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			old := checkedServer(2, 3)
			NewBackend("be", []*Server{old}, nil)
			for i := range tt.seq {
				old.record(result(tt.seq[i]), t0)
			}
			old.SetAdmin(tt.admin)
			if err := old.SetWeight(tt.weight); err != nil {
				t.Fatal(err)
			}
			s := checkedServer(tt.newRise, tt.newFall)
			b := NewBackend("be", []*Server{s}, nil)
			s.Inherit(old, tt.what)
			snap := s.Snapshot()
			got := state{snap.Op, snap.Admin, snap.Weight, snap.Health}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("inherited state (-want +got):\n%s", d)
			}
			wantUp := got.Op.IsUp() && got.Admin == Ready && got.Weight > 0
			if b.Signal().Healthy() != wantUp {
				t.Errorf("backend signal %v after Inherit, want %v", b.Signal().Healthy(), wantUp)
			}
		})
	}
}
