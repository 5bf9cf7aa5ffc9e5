package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
)

func TestRunServesUntilCancelledAndRemovesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"-dir", dir, "-ipc-term-length", "65536", "-idle", "sleep:2ms"}, &stderr)
	}()
	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	c, err := aeron.Connect(cctx, aeron.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddPublication(cctx, "aeron:ipc", 1); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	cancel()
	if got := <-code; got != 0 {
		t.Fatalf("exit code %d: %s", got, stderr.String())
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory left behind: %v", err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"bad term length", []string{"-ipc-term-length", "1000"}, "invalid configuration"},
		{"extra args", []string{"x"}, "unexpected arguments"},
		{"bad idle strategy", []string{"-idle", "sleepy"}, "invalid -idle"},
		{"bad gomaxprocs", []string{"-gomaxprocs", "0"}, "invalid -gomaxprocs"},
		{"gomaxprocs not a number", []string{"-gomaxprocs", "many"}, "invalid -gomaxprocs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stderr); code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("code %d, stderr %q", code, stderr.String())
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-help"}, &stderr); code != 0 {
		t.Errorf("-help exit %d, want 0", code)
	}
	for _, want := range []string{"Usage:", "-dir", "-keep-dir", "SIGINT", "-threading", "-udp-term-length", "-image-liveness-timeout", "-rtt-interval", "aeron:udp", "interface=", "ttl=", "-gomaxprocs", "-cpuprofile"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, stderr.String())
		}
	}
}

func TestGOMAXPROCS(t *testing.T) {
	tests := []struct {
		flag    string
		fromEnv bool
		current int
		mode    mediadriver.ThreadingMode
		want    int
	}{
		{"auto", false, 2, mediadriver.ThreadingDedicated, 4},
		{"auto", false, 2, mediadriver.ThreadingSharedNetwork, 3},
		{"auto", false, 2, mediadriver.ThreadingShared, 2},
		{"auto", false, 1, mediadriver.ThreadingShared, 2},
		{"auto", false, 16, mediadriver.ThreadingDedicated, 16}, // never lowered
		{"auto", true, 2, mediadriver.ThreadingDedicated, 2},    // GOMAXPROCS in the environment wins
		{"3", false, 2, mediadriver.ThreadingDedicated, 3},
		{"1", true, 8, mediadriver.ThreadingDedicated, 1},
	}
	for _, tt := range tests {
		got, err := gomaxprocs(tt.flag, tt.fromEnv, tt.current, tt.mode)
		if err != nil || got != tt.want {
			t.Errorf("gomaxprocs(%q, env %v, %d, %s) = %d, %v; want %d", tt.flag, tt.fromEnv, tt.current, tt.mode, got, err, tt.want)
		}
	}
	for _, bad := range []string{"0", "-2", "", "four"} {
		if _, err := gomaxprocs(bad, false, 2, mediadriver.ThreadingDedicated); err == nil {
			t.Errorf("gomaxprocs(%q) accepted", bad)
		}
	}
}

func TestRunWritesCPUProfile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	prof := filepath.Join(t.TempDir(), "cpu.pprof")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"-dir", dir, "-ipc-term-length", "65536", "-idle", "sleep:2ms", "-cpuprofile", prof}, &stderr)
	}()
	cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer ccancel()
	c, err := aeron.Connect(cctx, aeron.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	cancel()
	if got := <-code; got != 0 {
		t.Fatalf("exit code %d: %s", got, stderr.String())
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	// A pprof profile is gzipped protobuf.
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("profile is not gzip data (%d bytes)", len(b))
	}
}
