package client

// rateGate admits at most one event per interval on average: the pacing of
// a RATE_LIMITED consumer, by its producer on the consumer's own descriptor
// stream, or by the consumer itself when the producer declined (wire spec
// 11). It keeps a schedule rather than the time of the last admitted
// event, so events that arrive at a rate that is not a multiple of the
// limit still come out at the limit (30 Hz into 10 Hz gives 10 Hz, not
// 7.5), and it never bursts after a pause: a schedule that fell behind
// skips the slots it missed. A time far before the schedule (a clock or
// timestamp that went back, a new producer) restarts it.
//
// The zero value (interval 0) admits everything. It allocates nothing.
type rateGate struct {
	interval uint64 // ns; 0: no limit
	next     uint64 // the earliest time admitted next
	started  bool
}

// newRateGate returns a gate for hz events per second (0: unlimited).
func newRateGate(hz uint32) rateGate {
	if hz == 0 {
		return rateGate{}
	}
	return rateGate{interval: uint64(1e9) / uint64(hz)}
}

// admit reports whether an event at time t (ns) passes.
func (g *rateGate) admit(t uint64) bool {
	if g.interval == 0 {
		return true
	}
	switch {
	case !g.started || t+2*g.interval < g.next:
		g.started = true
		g.next = t + g.interval
		return true
	case t < g.next:
		return false
	}
	g.next += g.interval
	if g.next <= t { // behind: skip the slots missed, keeping the grid
		g.next += ((t-g.next)/g.interval + 1) * g.interval
	}
	return true
}
