//go:build !amd64

package shm

import "sync/atomic"

// StoreRelease32 stores v with release semantics: a thread or process that
// reads v (with an atomic load) also sees every write made before it. It is
// Aeron's "ordered" store, used to commit a frame after its payload. On
// this architecture it is a sequentially consistent atomic store.
func StoreRelease32(p *atomic.Int32, v int32) { p.Store(v) }
