package shm

import (
	"sync/atomic"
	"unsafe"
)

// storeRelease32 is a plain 32-bit store in assembly: x86 never reorders a
// store with earlier stores, and the compiler cannot move memory accesses
// across a call it cannot see into, so it is a release store.
//
//go:noescape
func storeRelease32(p *int32, v int32)

// StoreRelease32 stores v with release semantics: a thread or process that
// reads v (with an atomic load) also sees every write made before it. It is
// Aeron's "ordered" store, used to commit a frame after its payload. On
// amd64 it avoids the locked instruction of a sequentially consistent
// atomic.Int32.Store; elsewhere it is that store.
func StoreRelease32(p *atomic.Int32, v int32) {
	storeRelease32((*int32)(unsafe.Pointer(p)), v)
}
