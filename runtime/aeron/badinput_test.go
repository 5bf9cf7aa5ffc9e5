package aeron_test

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
)

func writeCnC(t *testing.T, dir string, mutate func([]byte)) {
	t.Helper()
	b := make([]byte, 128+1024*1024)
	le := binary.LittleEndian
	le.PutUint32(b[4:], 1024+768)
	le.PutUint32(b[8:], 1024+128)
	le.PutUint32(b[12:], 4*1024)
	le.PutUint32(b[16:], 1024)
	le.PutUint32(b[20:], 1024)
	le.PutUint32(b[0:], 512)
	// A fresh driver heartbeat.
	le.PutUint64(b[128+1024+640:], uint64(time.Now().UnixMilli()))
	mutate(b)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cnc.dat"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConnectRejectsBadCnC(t *testing.T) {
	tests := []struct {
		name   string
		mutate func([]byte)
		want   error
	}{
		{"major version 1", func(b []byte) { binary.LittleEndian.PutUint32(b, 1<<16) }, aeron.ErrCnCVersion},
		{"negative region", func(b []byte) { binary.LittleEndian.PutUint32(b[16:], 0xFFFFFF00) }, aeron.ErrCnCCorrupt},
		{"ring buffer not a power of two", func(b []byte) { binary.LittleEndian.PutUint32(b[4:], 1000+768) }, aeron.ErrCnCCorrupt},
		{"truncated", func(b []byte) { binary.LittleEndian.PutUint32(b[12:], 4*1024*1024) }, aeron.ErrNoDriver},
		{"stale heartbeat", func(b []byte) { binary.LittleEndian.PutUint64(b[128+1024+640:], 1) }, aeron.ErrNoDriver},
		{"never initialised", func(b []byte) { binary.LittleEndian.PutUint32(b, 0) }, aeron.ErrNoDriver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "aeron")
			writeCnC(t, dir, tt.mutate)
			cx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			_, err := aeron.Connect(cx, aeron.Config{Dir: dir, DriverTimeout: 100 * time.Millisecond, KeepaliveInterval: 10 * time.Millisecond})
			if !errors.Is(err, tt.want) {
				t.Errorf("Connect error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCorruptLogIsReportedNotFatal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	var mu sync.Mutex
	var errs []error
	cx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := aeron.Connect(cx, aeron.Config{Dir: dir, ErrorHandler: func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub, _ := c.AddSubscription(cx, "aeron:ipc", 41)
	pub, err := c.AddPublication(cx, "aeron:ipc", 41)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "connected", pub.IsConnected)
	offer(t, pub, []byte("good"))
	// Corrupt the next frame slot: a frame length past the end of the term.
	logFile := filepath.Join(dir, "publications", "")
	entries, _ := os.ReadDir(logFile)
	if len(entries) != 1 {
		t.Fatalf("log files: %v", entries)
	}
	f, err := os.OpenFile(filepath.Join(logFile, entries[0].Name()), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var bad [4]byte
	binary.LittleEndian.PutUint32(bad[:], 1<<30)
	if _, err := f.WriteAt(bad[:], 64); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	var got []string
	eventually(t, "good message", func() bool {
		sub.Poll(func(b []byte, _ *aeron.Header) { got = append(got, string(b)) }, 10)
		return len(got) == 1
	})
	for range 10 {
		sub.Poll(func(b []byte, _ *aeron.Header) { got = append(got, string(b)) }, 10)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 1 || !errors.Is(errs[0], aeron.ErrCorruptLog) {
		t.Errorf("errors = %v", errs)
	}
	if len(got) != 1 {
		t.Errorf("delivered %q", got)
	}
}

func TestCorruptTailClosesPublication(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	errs := make(chan error, 4)
	cx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := aeron.Connect(cx, aeron.Config{Dir: dir, ErrorHandler: func(err error) { errs <- err }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.AddSubscription(cx, "aeron:ipc", 43)
	pub, err := c.AddPublication(cx, "aeron:ipc", 43)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "connected", pub.IsConnected)
	entries, _ := os.ReadDir(filepath.Join(dir, "publications"))
	path := filepath.Join(dir, "publications", entries[0].Name())
	st, _ := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var raw [8]byte
	if _, err := f.ReadAt(raw[:], st.Size()-4096); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(raw[:], binary.LittleEndian.Uint64(raw[:])+3) // misalign the tail
	if _, err := f.WriteAt(raw[:], st.Size()-4096); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	if r := pub.Offer([]byte("x")); r != aeron.Closed {
		t.Errorf("offer on a corrupt log = %s", aeron.StatusString(r))
	}
	select {
	case err := <-errs:
		if !errors.Is(err, aeron.ErrCorruptLog) {
			t.Errorf("error = %v", err)
		}
	case <-cx.Done():
		t.Error("corruption not reported")
	}
}
