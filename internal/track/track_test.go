package track

import "testing"

func TestSignalNotifiesOnChangeOnly(t *testing.T) {
	t.Parallel()
	s := NewSignal("frontend:http-in", true)
	ch, cancel := s.Subscribe()
	defer cancel()

	s.Set(true) // no change, no notification
	select {
	case <-ch:
		t.Fatal("notified without a change")
	default:
	}
	s.Set(false)
	select {
	case <-ch:
	default:
		t.Fatal("no notification after a change")
	}
	if s.Healthy() {
		t.Fatal("Healthy() = true after Set(false)")
	}
	cancel()
	s.Set(true)
	select {
	case <-ch:
		t.Fatal("notified after cancel")
	default:
	}
}
