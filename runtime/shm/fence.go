package shm

import "sync/atomic"

// Fence is a full memory barrier for plain accesses to shared memory.
//
// Go's atomics are sequentially consistent among themselves, but on weakly
// ordered CPUs (arm64) a plain load that precedes an atomic load, or a plain
// store that follows an atomic store, may be reordered across it. A seqlock
// needs exactly those two orderings: the writer's payload stores must not
// become visible before its "in progress" word, and the reader's payload
// loads must complete before it re-reads the sequence word. An atomic
// read-modify-write has both acquire and release semantics on every
// architecture Go supports, so one on a private variable orders every
// earlier access before every later one. On amd64 (TSO) it costs one locked
// instruction.
func Fence() {
	var x atomic.Uint32
	x.Add(1)
}
