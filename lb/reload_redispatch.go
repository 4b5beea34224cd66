package lb

// pickOther takes a slot on the first server of group other than avoid
// that can take traffic, for a redispatch the balancer could not place
// elsewhere; nil if there is none.
func pickOther(group []*server, avoid *server) *server {
	for _, s := range group {
		if s != avoid && s.Available() && s.Weight() > 0 && s.tryAcquire() {
			return s
		}
	}
	return nil
}
