// Package testmem gives tests of the Aeron internals zeroed shared memory:
// a file in t.TempDir() mapped read-write through runtime/shm, so concurrent
// tests exercise the same kind of memory as production and the race detector
// does not mistake protocol-ordered plain accesses for Go heap races.
package testmem

import (
	"path/filepath"
	"testing"

	"github.com/tpool-go/tpool/runtime/shm"
)

// Bytes returns n zeroed bytes of mapped memory, unmapped at test cleanup.
func Bytes(t testing.TB, n int) []byte {
	t.Helper()
	m, err := shm.Create(filepath.Join(t.TempDir(), "mem"), n, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m.Bytes()
}
