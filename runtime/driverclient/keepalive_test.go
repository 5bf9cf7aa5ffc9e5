package driverclient

import (
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/control"
)

// Keepalives go at a quarter of the granted lease interval when that is
// shorter than Config.KeepaliveInterval, at the interval otherwise (and
// without an expiry); a very short grant is floored.
func TestKeepaliveCadence(t *testing.T) {
	tests := []struct {
		name    string
		granted time.Duration // leaseExpiryTimestampNs - grant time; 0: null
		want    time.Duration // keepalive period
	}{
		{"no expiry", 0, time.Second},
		{"tpoold default (3 x 1 s)", 3 * time.Second, 750 * time.Millisecond},
		{"long lease", 20 * time.Second, time.Second},
		{"exactly 4 intervals", 4 * time.Second, time.Second},
		{"short lease", 400 * time.Millisecond, 100 * time.Millisecond},
		{"tiny lease", 2 * time.Millisecond, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			l := h.attach(consumer)
			r := h.okResponse(h.lastAttach())
			if tt.granted != 0 {
				r.LeaseExpiryNs = uint64(h.now + int64(tt.granted))
			}
			h.respond(r)
			h.run(0) // granted at h.now
			if l.State() != Attached {
				t.Fatalf("state %v", l.State())
			}
			h.f.keepalives = make([]control.Keepalive, 0, 64)
			step := tt.want / 10
			var sentAt []int64
			start := h.now
			for h.now-start < int64(4*tt.want) {
				l.lastAnnounce = h.now // the driver is alive
				n := len(h.f.keepalives)
				h.run(step)
				if len(h.f.keepalives) > n {
					sentAt = append(sentAt, h.now-start)
				}
			}
			if len(sentAt) != 4 {
				t.Fatalf("%d keepalives in 4 periods of %v (at %v)", len(sentAt), tt.want, sentAt)
			}
			for i, at := range sentAt {
				if want := int64(i+1) * int64(tt.want); at != want {
					t.Errorf("keepalive %d at %v, want %v", i, time.Duration(at), time.Duration(want))
				}
			}
		})
	}
}
