//go:build !amd64

package shm

import "sync/atomic"

// StoreRelease32 stores v with release semantics: a thread or process that
// reads v (with an atomic load) also sees every write made before it. It is
// Aeron's "ordered" store, used to commit a frame after its payload. On
// this architecture it is a sequentially consistent atomic store.
func StoreRelease32(p *atomic.Int32, v int32) { p.Store(v) }

// StoreRelease64 is the 64-bit [StoreRelease32]: on this architecture a
// sequentially consistent atomic store.
func StoreRelease64(p *atomic.Int64, v int64) { p.Store(v) }

// StoreReleaseUint64 is [StoreRelease64] for an unsigned word (a seqlock's
// sequence).
func StoreReleaseUint64(p *atomic.Uint64, v uint64) { p.Store(v) }

// StoreRelease32At is [StoreRelease32] on the int32 at b[off:off+4]. It
// panics if that is out of range or not 4-byte aligned, like an index out
// of range: callers pass offsets they constructed aligned.
func StoreRelease32At(b []byte, off int, v int32) {
	atomic.StoreInt32(word32(b, off), v)
}

// StoreRelease64At is [StoreRelease64] on the 8 bytes at p, which must be
// 8-aligned (it panics otherwise). It is one atomic store, so a concurrent
// reader of any part of the word sees all of it or none.
func StoreRelease64At(p *[8]byte, v int64) {
	atomic.StoreInt64(word64(p), v)
}
