package pool

import (
	"testing"
	"time"
)

// MonotonicNow reads CLOCK_MONOTONIC without a system call; it must stay
// in that clock's domain (other processes compare its timestamps with
// their own clock_gettime): between two system-call readings, within the
// start-up offset (the time between the two first readings, microseconds;
// 1 ms of slack).
func TestMonotonicNowIsClockMonotonic(t *testing.T) {
	for range 1000 {
		before := monotonicSyscall()
		now := MonotonicNow()
		after := monotonicSyscall()
		if now+uint64(time.Millisecond) < before || now > after {
			t.Fatalf("MonotonicNow %d outside [%d, %d]", now, before, after)
		}
	}
}
