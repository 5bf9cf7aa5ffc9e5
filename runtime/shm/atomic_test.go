package shm

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// aligned64 returns a 64-byte aligned slice of n bytes backed by the heap.
func aligned64(n int) []byte {
	b := make([]byte, n+64)
	for off := 0; off < 64; off++ {
		if Aligned(b, off, 64) {
			return b[off : off+n]
		}
	}
	panic("no 64-byte aligned offset")
}

func TestAtomicAccessorsCheckBoundsAndAlignment(t *testing.T) {
	b := aligned64(64)
	type accessor func(b []byte, off int) error
	u64 := func(b []byte, off int) error { _, err := Uint64At(b, off); return err }
	i64 := func(b []byte, off int) error { _, err := Int64At(b, off); return err }
	u32 := func(b []byte, off int) error { _, err := Uint32At(b, off); return err }
	i32 := func(b []byte, off int) error { _, err := Int32At(b, off); return err }

	tests := []struct {
		name    string
		fn      accessor
		off     int
		wantErr error
	}{
		{"u64 at 0", u64, 0, nil},
		{"u64 at last word", u64, 56, nil},
		{"u64 misaligned", u64, 4, ErrMisaligned},
		{"u64 past end", u64, 60, ErrOutOfRange},
		{"u64 beyond end", u64, 64, ErrOutOfRange},
		{"u64 negative", u64, -8, ErrOutOfRange},
		{"i64 at 8", i64, 8, nil},
		{"i64 misaligned", i64, 1, ErrMisaligned},
		{"i64 huge offset", i64, int(^uint(0) >> 1), ErrOutOfRange},
		{"u32 at 4", u32, 4, nil},
		{"u32 at last word", u32, 60, nil},
		{"u32 misaligned", u32, 2, ErrMisaligned},
		{"u32 past end", u32, 62, ErrOutOfRange},
		{"i32 at 12", i32, 12, nil},
		{"i32 misaligned", i32, 13, ErrMisaligned},
		{"i32 negative", i32, -1, ErrOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn(b, tt.off)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if _, err := Uint64At(nil, 0); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("nil slice: %v", err)
	}
}

func TestAtomicsAliasTheBytes(t *testing.T) {
	b := aligned64(16)
	u, err := Uint64At(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	u.Store(0x0807060504030201)
	if diff := cmp.Diff([]byte{1, 2, 3, 4, 5, 6, 7, 8}, b[:8]); diff != "" {
		t.Errorf("little-endian layout (-want +got):\n%s", diff)
	}
	i, err := Int32At(b, 8)
	if err != nil {
		t.Fatal(err)
	}
	i.Store(-2)
	if diff := cmp.Diff([]byte{0xfe, 0xff, 0xff, 0xff}, b[8:12]); diff != "" {
		t.Errorf("int32 bytes (-want +got):\n%s", diff)
	}
	u32, err := Uint32At(b, 8)
	if err != nil {
		t.Fatal(err)
	}
	if got := u32.Load(); got != 0xfffffffe {
		t.Errorf("Uint32At sees %#x", got)
	}
	i64, err := Int64At(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := i64.Add(1); got != 0x0807060504030202 {
		t.Errorf("Int64 Add = %#x", got)
	}
}

func TestAligned(t *testing.T) {
	b := aligned64(128)
	tests := []struct {
		off, align int
		want       bool
	}{
		{0, 64, true}, {64, 64, true}, {8, 64, false}, {8, 8, true}, {4, 8, false},
		{3, 1, true}, {-1, 8, false}, {128, 8, false}, {0, 0, false}, {0, -8, false},
	}
	for _, tt := range tests {
		if got := Aligned(b, tt.off, tt.align); got != tt.want {
			t.Errorf("Aligned(off %d, align %d) = %v, want %v", tt.off, tt.align, got, tt.want)
		}
	}
}

func TestSliceOf(t *testing.T) {
	b := aligned64(64)
	for i := range b {
		b[i] = byte(i)
	}
	t.Run("float32 aliases", func(t *testing.T) {
		f, err := SliceOf[float32](b)
		if err != nil {
			t.Fatal(err)
		}
		if len(f) != 16 {
			t.Fatalf("len = %d, want 16", len(f))
		}
		f[0] = 1.0 // 0x3f800000 little-endian
		if diff := cmp.Diff([]byte{0, 0, 0x80, 0x3f}, b[:4]); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("uint16 values", func(t *testing.T) {
		u, err := SliceOf[uint16](b[8:16])
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]uint16{0x0908, 0x0b0a, 0x0d0c, 0x0f0e}, u); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("empty", func(t *testing.T) {
		u, err := SliceOf[uint64](b[:0])
		if err != nil || len(u) != 0 {
			t.Errorf("got %v, %v", u, err)
		}
	})
	errs := []struct {
		name string
		fn   func() error
	}{
		{"length not a multiple", func() error { _, err := SliceOf[uint32](b[:6]); return err }},
		{"misaligned start", func() error { _, err := SliceOf[uint64](b[4:20]); return err }},
		{"misaligned int16", func() error { _, err := SliceOf[int16](b[1:5]); return err }},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.fn(); !errors.Is(err, ErrMisaligned) {
				t.Errorf("err = %v, want ErrMisaligned", err)
			}
		})
	}
	if u, err := SliceOf[uint8](b[3:8]); err != nil || len(u) != 5 {
		t.Errorf("bytes at any offset: %v, %v", u, err)
	}
}

// TestAtomicsAcrossMappings counts with atomic adds through two mappings of
// one file from several goroutines: every increment must survive.
func TestAtomicsAcrossMappings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "counter")
	a, err := Create(path, 4096, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path, ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	const workers, each = 4, 10000
	var wg sync.WaitGroup
	for w := range workers {
		m := a
		if w%2 == 1 {
			m = b
		}
		c, err := Uint64At(m.Bytes(), 64)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for range each {
				c.Add(1)
				Fence()
			}
		})
	}
	wg.Wait()
	c, _ := Uint64At(a.Bytes(), 64)
	if got := c.Load(); got != workers*each {
		t.Errorf("counter = %d, want %d", got, workers*each)
	}
}

func TestStoreRelease32WithoutAllocating(t *testing.T) {
	b := make([]byte, 16)
	p, err := Int32At(b, 4)
	if err != nil {
		t.Fatal(err)
	}
	StoreRelease32(p, -7)
	if p.Load() != -7 || b[4] != 0xf9 || b[3] != 0 || b[8] != 0 {
		t.Fatalf("stored %x", b)
	}
	if n := testing.AllocsPerRun(100, func() { StoreRelease32(p, 1) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func TestStoreRelease64WithoutAllocating(t *testing.T) {
	b := make([]byte, 24)
	p, err := Int64At(b, 8)
	if err != nil {
		t.Fatal(err)
	}
	StoreRelease64(p, -7)
	if p.Load() != -7 || b[8] != 0xf9 || b[15] != 0xff || b[7] != 0 || b[16] != 0 {
		t.Fatalf("stored %x", b)
	}
	if n := testing.AllocsPerRun(100, func() { StoreRelease64(p, 1) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func TestWordAtAccessorsWithoutAllocating(t *testing.T) {
	b := make([]byte, 16) // heap allocations of 16 bytes are 8-aligned
	StoreRelease32At(b, 12, -5)
	if got := LoadAcquire32At(b, 12); got != -5 || b[12] != 0xfb || b[11] != 0 {
		t.Fatalf("load %d, bytes %x", got, b)
	}
	for _, tc := range []struct {
		name string
		off  int
	}{{"misaligned", 2}, {"past the end", 16}, {"straddling the end", 13}, {"negative", -4}} {
		t.Run(tc.name, func(t *testing.T) {
			for _, op := range []func(){
				func() { StoreRelease32At(b, tc.off, 1) },
				func() { LoadAcquire32At(b, tc.off) },
			} {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("offset %d did not panic", tc.off)
						}
					}()
					op()
				}()
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { StoreRelease32At(b, 4, LoadAcquire32At(b, 8)) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func TestStoreReleaseUint64(t *testing.T) {
	b := make([]byte, 24)
	p, err := Uint64At(b, 8)
	if err != nil {
		t.Fatal(err)
	}
	StoreReleaseUint64(p, 1<<63|5)
	if p.Load() != 1<<63|5 || b[8] != 5 || b[15] != 0x80 || b[7] != 0 || b[16] != 0 {
		t.Fatalf("stored %x", b)
	}
}

func TestStoreRelease64At(t *testing.T) {
	b := make([]byte, 24) // heap allocations of 24 bytes are 8-aligned
	StoreRelease64At((*[8]byte)(b[8:]), -2)
	if b[8] != 0xfe || b[15] != 0xff || b[7] != 0 || b[16] != 0 {
		t.Fatalf("stored %x", b)
	}
	defer func() {
		if recover() == nil {
			t.Error("a misaligned word did not panic")
		}
	}()
	StoreRelease64At((*[8]byte)(b[4:]), 1)
}
