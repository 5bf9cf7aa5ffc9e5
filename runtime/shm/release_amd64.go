package shm

import (
	"sync/atomic"
	"unsafe"
)

// On amd64 a release store is a plain MOV. The hardware (x86-TSO) never
// makes a store visible before an earlier store, and the Go compiler keeps
// stores and calls in program order (they are chained through the SSA
// memory value, and no pass moves one past another), so a plain store here
// is Aeron's "ordered" store without the locked instruction of a
// sequentially consistent atomic.Int32.Store. The functions are small
// enough to inline, so a hot path pays no call either (a call to an
// assembly routine costs stack stores for its arguments and for every live
// register, which on a publisher saturating its store buffer was measured
// to matter: docs/PERFORMANCE.md).

// StoreRelease32 stores v with release semantics: a thread or process that
// reads v (with an atomic load) also sees every write made before it. It is
// Aeron's "ordered" store, used to commit a frame after its payload. On
// amd64 it is a plain store; elsewhere a sequentially consistent
// atomic.Int32.Store.
func StoreRelease32(p *atomic.Int32, v int32) {
	*(*int32)(unsafe.Pointer(p)) = v
}

// StoreRelease64 is the 64-bit [StoreRelease32]. Aeron's exclusive
// publications move their term tail with it: they are the only writer, so
// they need no atomic add.
func StoreRelease64(p *atomic.Int64, v int64) {
	*(*int64)(unsafe.Pointer(p)) = v
}

// StoreReleaseUint64 is [StoreRelease64] for an unsigned word (a seqlock's
// sequence).
func StoreReleaseUint64(p *atomic.Uint64, v uint64) {
	*(*uint64)(unsafe.Pointer(p)) = v
}

// StoreRelease32At is [StoreRelease32] on the int32 at b[off:off+4]. It
// panics if that is out of range or not 4-byte aligned, like an index out
// of range: callers pass offsets they constructed aligned.
func StoreRelease32At(b []byte, off int, v int32) {
	*word32(b, off) = v
}

// StoreRelease64At is [StoreRelease64] on the 8 bytes at p, which must be
// 8-aligned (it panics otherwise). It is one 8-byte store, so a concurrent
// reader of any part of the word sees all of it or none: unlike
// binary.PutUint64, whose byte stores the compiler merges into one store
// only when it optimizes (not under -race).
func StoreRelease64At(p *[8]byte, v int64) {
	*word64(p) = v
}
