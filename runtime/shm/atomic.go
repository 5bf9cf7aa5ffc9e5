package shm

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// This file holds the package's uses of unsafe on byte slices (the others,
// in release_amd64.go, store through the pointers made here):
// converting a checked, naturally aligned location inside a byte slice
// into a pointer to a sync/atomic value, or a checked byte slice into a
// slice of numbers. What
// is returned aliases the slice's memory and is valid as long as that
// memory is (for a Mapping: until Close).

func check(b []byte, off, size int) error {
	if off < 0 || size > len(b) || off > len(b)-size {
		return fmt.Errorf("%d-byte atomic at offset %d of %d bytes: %w", size, off, len(b), ErrOutOfRange)
	}
	if uintptr(unsafe.Pointer(&b[off]))%uintptr(size) != 0 {
		return fmt.Errorf("%d-byte atomic at offset %d: %w", size, off, ErrMisaligned)
	}
	return nil
}

// errMisalignedWord is the panic value of the ...At accessors given an
// offset that is not aligned (a caller's bug, not bad input: callers
// validate offsets from other processes before using them).
var errMisalignedWord = fmt.Errorf("4-byte access at an unaligned offset: %w", ErrMisaligned)

// word32 is the int32 at b[off:off+4], checked for range (panicking like an
// index) and alignment. It is small enough to inline.
func word32(b []byte, off int) *int32 {
	p := &b[off : off+4][0]
	if uintptr(unsafe.Pointer(p))&3 != 0 {
		panic(errMisalignedWord)
	}
	return (*int32)(unsafe.Pointer(p))
}

// word64 is the 8-aligned int64 at p; it panics if p is not aligned.
func word64(p *[8]byte) *int64 {
	if uintptr(unsafe.Pointer(p))&7 != 0 {
		panic(errMisalignedWord)
	}
	return (*int64)(unsafe.Pointer(p))
}

// LoadAcquire32At loads the int32 at b[off:off+4] atomically (acquire
// semantics). Like [StoreRelease32At] it panics if that is out of range or
// not 4-byte aligned. Hot paths that find frames by offset use the two
// instead of [Int32At], whose error result keeps it from being inlined.
func LoadAcquire32At(b []byte, off int) int32 {
	return atomic.LoadInt32(word32(b, off))
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

// Elem lists the element types a byte slice may be reinterpreted as by
// [SliceOf]. Every bit pattern is a valid value of each of them, which is
// what makes viewing memory written by another process safe; bool is
// deliberately absent (only 0 and 1 are valid Go bools).
type Elem interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~uint64 | ~int64 | ~float32 | ~float64
}

// SliceOf reinterprets b as a slice of T without copying. len(b) must be a
// multiple of the size of T and &b[0] aligned to it; otherwise it returns
// ErrMisaligned. An empty b yields an empty slice. The result aliases b and
// is valid as long as b is. Element values are in host byte order, which
// tpool requires to be little-endian.
func SliceOf[T Elem](b []byte) ([]T, error) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if len(b) == 0 {
		return []T{}, nil
	}
	if len(b)%size != 0 {
		return nil, fmt.Errorf("%d bytes as %d-byte elements: %w", len(b), size, ErrMisaligned)
	}
	if uintptr(unsafe.Pointer(&b[0]))%uintptr(size) != 0 {
		return nil, fmt.Errorf("%d-byte elements at unaligned address: %w", size, ErrMisaligned)
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/size), nil
}
