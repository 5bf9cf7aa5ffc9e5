package driverclient

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tpool-go/tpool/runtime/pool"
)

const (
	nullU32 = ^uint32(0)
	nullU64 = ^uint64(0)
)

// Per-process sequences, seeded at random once (Appendix B): correlation ids
// never collide with stale responses to an earlier run, and auto-assigned
// client ids differ between processes.
var (
	seedOnce  sync.Once
	corrSeq   atomic.Int64
	clientSeq atomic.Uint32
)

func seed() {
	seedOnce.Do(func() {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			// crypto/rand does not fail on Linux; keep going with the clock.
			binary.LittleEndian.PutUint64(b[:], uint64(time.Now().UnixNano()))
		}
		corrSeq.Store(int64(binary.LittleEndian.Uint64(b[:]) >> 2)) // leaves room before overflow
		clientSeq.Store(binary.LittleEndian.Uint32(b[8:]))
	})
}

// nextCorrelationID returns a positive correlation id unique in the process.
func nextCorrelationID() int64 {
	seed()
	for {
		if v := corrSeq.Add(1); v > 0 {
			return v
		}
		corrSeq.Store(1)
	}
}

// nextClientID returns a client id that is neither 0 (the auto-assign
// sentinel) nor the null value.
func nextClientID() uint32 {
	seed()
	for {
		if v := clientSeq.Add(1); v != 0 && v != nullU32 {
			return v
		}
	}
}

// Now returns CLOCK_MONOTONIC in nanoseconds: the clock DoWork expects, and
// the clock domain of the driver's timestamps.
func Now() int64 { return int64(pool.MonotonicNow()) }
