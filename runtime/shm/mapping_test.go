package shm

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestCreateSizesZeroFillsAndMapsReadWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "region")
	m, err := Create(path, 3*4096+17, 0o600)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer m.Close()

	if got, want := m.Len(), 3*4096+17; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
	if m.Access() != ReadWrite {
		t.Errorf("Access = %v, want ReadWrite", m.Access())
	}
	b := m.Bytes()
	for i, c := range b {
		if c != 0 {
			t.Fatalf("byte %d = %#x, want zero fill", i, c)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != int64(len(b)) {
		t.Errorf("file size %d, want %d", st.Size(), len(b))
	}
}

func TestCreateModeIgnoresUmask(t *testing.T) {
	// Not parallel: the umask is process-wide.
	tests := []struct {
		name  string
		umask int
		mode  os.FileMode
	}{
		{"restrictive umask does not narrow 0660", 0o077, 0o660},
		{"zero umask does not widen 0600", 0o000, 0o600},
		{"usual umask keeps 0640", 0o022, 0o640},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := unix.Umask(tt.umask)
			defer unix.Umask(old)
			path := filepath.Join(dir, "r"+string(rune('a'+i)))
			m, err := Create(path, 64, tt.mode)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			defer m.Close()
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != tt.mode {
				t.Errorf("mode = %v, want %v", got, tt.mode)
			}
		})
	}
}

func TestCreateRefuses(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("target"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		path    string
		size    int
		wantErr error
	}{
		{"existing file", existing, 64, fs.ErrExist},
		{"symlink to file", link, 64, fs.ErrExist},
		{"dangling symlink", dangling, 64, fs.ErrExist},
		{"zero size", filepath.Join(dir, "zero"), 0, ErrBadSize},
		{"negative size", filepath.Join(dir, "neg"), -1, ErrBadSize},
		{"missing directory", filepath.Join(dir, "no", "such"), 64, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Create(tt.path, tt.size, 0o600)
			if err == nil {
				m.Close()
				t.Fatal("Create succeeded, want error")
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	// Nothing was clobbered or followed.
	for path, want := range map[string]string{existing: "keep me", target: "target"} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dangling symlink target was created: %v", err)
	}
	for _, name := range []string{"zero", "neg"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left behind after failed Create", name)
		}
	}
}

func TestOpenSeesOwnerWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "region")
	owner, err := Create(path, 8192, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	reader, err := Open(path, ReadOnly)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer reader.Close()

	copy(owner.Bytes()[100:], "hello")
	w, err := Uint64At(owner.Bytes(), 4096)
	if err != nil {
		t.Fatal(err)
	}
	w.Store(0xfeedface)

	if got := string(reader.Bytes()[100:105]); got != "hello" {
		t.Errorf("reader sees %q, want hello", got)
	}
	r, err := Uint64At(reader.Bytes(), 4096)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Load(); got != 0xfeedface {
		t.Errorf("atomic through reader = %#x", got)
	}
	if reader.Len() != 8192 || reader.Access() != ReadOnly {
		t.Errorf("reader Len=%d Access=%v", reader.Len(), reader.Access())
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, make([]byte, 64), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		path    string
		access  Access
		wantErr error // nil: any error will do
	}{
		{"symlink", link, ReadOnly, syscall.ELOOP},
		{"directory", dir, ReadOnly, nil},
		{"empty file", empty, ReadOnly, ErrBadSize},
		{"missing", filepath.Join(dir, "missing"), ReadOnly, fs.ErrNotExist},
		// Opening a FIFO read-write does not block, so this checks the type test.
		{"fifo", fifo, ReadWrite, nil},
		{"device", "/dev/null", ReadOnly, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Open(tt.path, tt.access)
			if err == nil {
				m.Close()
				t.Fatal("Open succeeded, want error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestMapFileRejectsBadSize(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, size := range []int{0, -5} {
		if m, err := MapFile(f, size, ReadOnly); !errors.Is(err, ErrBadSize) {
			if m != nil {
				m.Close()
			}
			t.Errorf("MapFile size %d: err = %v, want ErrBadSize", size, err)
		}
	}
}

func TestMappingAfterClose(t *testing.T) {
	m, err := Create(filepath.Join(t.TempDir(), "r"), 4096, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Prefault(); err != nil {
		t.Errorf("Prefault: %v", err)
	}
	if err := m.Sync(); err != nil {
		t.Errorf("Sync: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if m.Bytes() != nil || m.Len() != 0 {
		t.Errorf("after Close: Bytes=%v Len=%d", m.Bytes() != nil, m.Len())
	}
	for name, f := range map[string]func() error{"Prefault": m.Prefault, "Lock": m.Lock, "Sync": m.Sync} {
		if err := f(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func TestPrefaultKeepsContents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r")
	m, err := Create(path, 5*4096, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for i := range m.Bytes() {
		m.Bytes()[i] = byte(i * 7)
	}
	if err := m.Prefault(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Prefault(); err != nil {
		t.Fatalf("read-only Prefault: %v", err)
	}
	if diff := cmp.Diff(m.Bytes(), ro.Bytes()); diff != "" {
		t.Errorf("contents changed (-rw +ro):\n%s", diff)
	}
}

func TestLock(t *testing.T) {
	m, err := Create(filepath.Join(t.TempDir(), "r"), 4096, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.EAGAIN) {
			m.Close()
			t.Skipf("mlock not permitted here: %v", err)
		}
		t.Fatalf("Lock: %v", err)
	}
	m.Bytes()[0] = 1
	if err := m.Close(); err != nil {
		t.Fatalf("Close of locked mapping: %v", err)
	}
}

func TestReadOnlyMappingFaultsOnWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r")
	owner, err := Create(path, 4096, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	ro, err := Open(path, ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()

	faulted := func() (faulted bool) {
		old := debug.SetPanicOnFault(true)
		defer debug.SetPanicOnFault(old)
		defer func() { faulted = recover() != nil }()
		ro.Bytes()[10] = 1
		return false
	}()
	if !faulted {
		t.Error("write through a read-only mapping did not fault")
	}
	if owner.Bytes()[10] != 0 {
		t.Error("write through a read-only mapping reached the file")
	}
}

func TestCreateAllocated(t *testing.T) {
	for _, tt := range []struct {
		name      string
		create    func(string, int, os.FileMode) (*Mapping, error)
		allocated bool
	}{
		{"Create is sparse", Create, false},
		{"CreateAllocated is not", CreateAllocated, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			const size = 1 << 20
			m, err := tt.create(path, size, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			var st unix.Stat_t
			if err := unix.Stat(path, &st); err != nil {
				t.Fatal(err)
			}
			if got := st.Blocks*512 >= size; got != tt.allocated {
				t.Errorf("%d of %d bytes allocated; want allocated=%v", st.Blocks*512, size, tt.allocated)
			}
			if len(m.Bytes()) != size || m.Bytes()[size-1] != 0 {
				t.Error("mapping not zero-filled to its size")
			}
		})
	}
}
