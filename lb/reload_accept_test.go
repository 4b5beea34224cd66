package lb

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAcceptBackoff(t *testing.T) {
	t.Parallel()
	var b acceptBackoff
	var got []time.Duration
	for range 9 {
		got = append(got, b.next())
	}
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 500, 500}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("backoff delays (-want +got):\n%s", d)
	}
	b.reset()
	if d := b.next(); d != acceptBackoffMin {
		t.Errorf("after reset: %v, want %v", d, acceptBackoffMin)
	}
}
