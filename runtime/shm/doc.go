// Package shm is tpool's single boundary for memory mapping and for atomic
// access to memory shared between processes. No other package in tpool uses
// mmap or package unsafe.
//
// A [Mapping] is a file mapped into the address space. Its [Mapping.Bytes]
// slice is valid until [Mapping.Close]; touching it afterwards faults. Two
// processes that map the same file see each other's writes; ordering between
// them is only guaranteed through the atomic accessors in this package
// ([Int64At], [Uint64At], [Int32At], [Uint32At]), which return pointers to
// sync/atomic values placed inside the mapping after checking bounds and
// alignment once. Hot paths keep those pointers and pay no further checks.
// [Fence] orders plain accesses around them where a protocol needs it (a
// seqlock does). [SliceOf] views a checked, aligned byte slice as a slice
// of numbers without copying, for zero-copy tensors; it is valid as long as
// the bytes are.
//
// # Caveats
//
// Plain (non-atomic) reads of shared memory may observe a concurrent writer's
// partial update; protocols built on this package (the seqlock in
// runtime/pool, Aeron's log buffers) must validate what they read. The Go race
// detector does not instrument mmap'd memory, so such races are invisible to
// -race by design; correctness there rests on the protocol, and is tested by
// multi-process tests.
package shm
