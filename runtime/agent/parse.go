package agent

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrUnknownIdleStrategy is returned (wrapped) by ParseIdleStrategy for a
// name it does not know or a bad sleep period.
var ErrUnknownIdleStrategy = errors.New("agent: unknown idle strategy")

// IdleStrategyNames lists what ParseIdleStrategy accepts, for usage texts.
const IdleStrategyNames = `"backoff", "sleep:DURATION" (e.g. sleep:10ms), "yield", "spin" or "noop"`

// ParseIdleStrategy returns the idle strategy a configuration names, with
// Aeron's names: "backoff" (NewBackoff), "sleep:DURATION" (Sleeping, a Go
// duration of at least 1µs), "yield" (Yielding, a Go scheduler yield),
// "spin" (BusySpin) or "noop" (NoOp).
func ParseIdleStrategy(s string) (IdleStrategy, error) {
	name, arg, hasArg := strings.Cut(s, ":")
	switch {
	case name == "backoff" && !hasArg:
		return NewBackoff(), nil
	case name == "yield" && !hasArg:
		return Yielding{}, nil
	case name == "spin" && !hasArg:
		return BusySpin{}, nil
	case name == "noop" && !hasArg:
		return NoOp{}, nil
	case name == "sleep" && hasArg:
		d, err := time.ParseDuration(arg)
		if err != nil || d < time.Microsecond {
			return nil, fmt.Errorf("%q: the sleep period must be a duration of at least 1µs: %w", s, ErrUnknownIdleStrategy)
		}
		return Sleeping{Period: d}, nil
	}
	return nil, fmt.Errorf("%q (want %s): %w", s, IdleStrategyNames, ErrUnknownIdleStrategy)
}
