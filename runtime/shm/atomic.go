package shm

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// This file holds the package's only uses of unsafe: converting a checked,
// naturally aligned location inside a byte slice into a pointer to a
// sync/atomic value. The returned pointer aliases the slice's memory and is
// valid as long as that memory is (for a Mapping: until Close).

func check(b []byte, off, size int) error {
	if off < 0 || size > len(b) || off > len(b)-size {
		return fmt.Errorf("%d-byte atomic at offset %d of %d bytes: %w", size, off, len(b), ErrOutOfRange)
	}
	if uintptr(unsafe.Pointer(&b[off]))%uintptr(size) != 0 {
		return fmt.Errorf("%d-byte atomic at offset %d: %w", size, off, ErrMisaligned)
	}
	return nil
}

// Int64At returns an atomic int64 located at b[off:off+8].
func Int64At(b []byte, off int) (*atomic.Int64, error) {
	if err := check(b, off, 8); err != nil {
		return nil, err
	}
	return (*atomic.Int64)(unsafe.Pointer(&b[off])), nil
}

// Uint64At returns an atomic uint64 located at b[off:off+8].
func Uint64At(b []byte, off int) (*atomic.Uint64, error) {
	if err := check(b, off, 8); err != nil {
		return nil, err
	}
	return (*atomic.Uint64)(unsafe.Pointer(&b[off])), nil
}

// Int32At returns an atomic int32 located at b[off:off+4].
func Int32At(b []byte, off int) (*atomic.Int32, error) {
	if err := check(b, off, 4); err != nil {
		return nil, err
	}
	return (*atomic.Int32)(unsafe.Pointer(&b[off])), nil
}

// Uint32At returns an atomic uint32 located at b[off:off+4].
func Uint32At(b []byte, off int) (*atomic.Uint32, error) {
	if err := check(b, off, 4); err != nil {
		return nil, err
	}
	return (*atomic.Uint32)(unsafe.Pointer(&b[off])), nil
}

// Aligned reports whether b[off] is aligned to align bytes (a power of two).
// It lets callers validate layouts received from other processes before
// asking for atomics.
func Aligned(b []byte, off, align int) bool {
	if off < 0 || off >= len(b) || align <= 0 {
		return false
	}
	return uintptr(unsafe.Pointer(&b[off]))%uintptr(align) == 0
}
