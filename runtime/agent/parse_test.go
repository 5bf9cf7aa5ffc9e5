package agent

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseIdleStrategy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want IdleStrategy
	}{
		{"backoff", NewBackoff()},
		{"sleep:10ms", Sleeping{Period: 10 * time.Millisecond}},
		{"sleep:1us", Sleeping{Period: time.Microsecond}},
		{"yield", Yielding{}},
		{"spin", BusySpin{}},
		{"noop", NoOp{}},
	} {
		got, err := ParseIdleStrategy(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(Backoff{})); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, bad := range []string{"", "Backoff", "sleep", "sleep:", "sleep:10", "sleep:-1ms", "sleep:100ns", "spin:1ms", "backoff:", "busy"} {
		if s, err := ParseIdleStrategy(bad); !errors.Is(err, ErrUnknownIdleStrategy) {
			t.Errorf("%q: got %v, %v; want ErrUnknownIdleStrategy", bad, s, err)
		}
	}
}
