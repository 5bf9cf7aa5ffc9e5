// Package nodriver_test runs the two no-driver example programs against
// each other as separate processes, with a tpool-aeronmd media driver.
package nodriver_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func buildDemo(t *testing.T, dir string) map[string]string {
	t.Helper()
	bin := map[string]string{}
	for name, pkg := range map[string]string{"producer": "./producer", "consumer": "./consumer", "tpool-aeronmd": "../../cmd/tpool-aeronmd"} {
		bin[name] = filepath.Join(dir, name)
		out, err := exec.Command("go", "build", "-o", bin[name], pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	return bin
}

// mediaDriver starts tpool-aeronmd in a private directory under /dev/shm
// (which it removes when it stops) and returns that directory.
func mediaDriver(t *testing.T, bin map[string]string) string {
	t.Helper()
	shm, err := os.MkdirTemp("/dev/shm", "tpool-nodriver-demo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	dir := filepath.Join(shm, "aeron")
	md := exec.Command(bin["tpool-aeronmd"], "-dir", dir) // stopped by the cleanup, after the test's context ends
	if err := md.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = md.Process.Signal(syscall.SIGTERM)
		if err := md.Wait(); err != nil {
			t.Errorf("tpool-aeronmd: %v", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("tpool-aeronmd left %s: %v", dir, err)
		}
	})
	return dir
}

// The demo on a fresh machine: the base directory does not exist when
// either program starts (issue 8 section 0), in both start orders; the
// producer announces its regions over Aeron (a tpool-aeronmd media
// driver).
func TestProducerAndConsumerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three programs")
	}
	bin := buildDemo(t, t.TempDir())
	for _, order := range []string{"consumer first", "producer first"} {
		t.Run(order, func(t *testing.T) {
			dir := t.TempDir()
			base := filepath.Join(dir, "shm", "tensorpool") // neither exists yet
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			aeronDir := mediaDriver(t, bin)
			var cout, pout bytes.Buffer
			cons := exec.CommandContext(ctx, bin["consumer"], "-aeron-dir", aeronDir, "-allow", base, "-frames", "2000",
				"-announce-period", "100ms", "-idle", "5s", "-wait", "50s")
			cons.Stdout, cons.Stderr = &cout, &cout
			prod := exec.CommandContext(ctx, bin["producer"], "-aeron-dir", aeronDir, "-base", base, "-frames", "2000",
				"-rate", "2000", "-nslots", "64", "-linger", "2s", "-announce-period", "100ms")
			var pw syncWriter
			pw.b = &pout
			prod.Stdout, prod.Stderr = &pw, &pw
			first, second := cons, prod
			if order == "producer first" {
				first, second = prod, cons
			}
			if err := first.Start(); err != nil {
				t.Fatal(err)
			}
			if order == "consumer first" {
				// The consumer is waiting with no base directory at all.
				time.Sleep(200 * time.Millisecond)
				if _, err := os.Stat(base); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("base dir before the producer: %v", err)
				}
			} else {
				waitFor(t, ctx, &pw, "producer: stream")
			}
			if err := second.Start(); err != nil {
				t.Fatal(err)
			}
			perr := prod.Wait()
			cerr := cons.Wait()
			t.Logf("producer:\n%s\nconsumer:\n%s", pw.String(), cout.String())
			if perr != nil || cerr != nil {
				t.Fatalf("producer: %v, consumer: %v", perr, cerr)
			}
			if !regexp.MustCompile(`all [1-9][0-9]* accepted frames intact`).Match(cout.Bytes()) {
				t.Error("consumer did not report intact frames")
			}
			if !strings.Contains(pw.String(), "committed 2000 frames") {
				t.Error("producer did not commit every frame")
			}
			// Frames it missed by joining late are reported as such.
			m := regexp.MustCompile(`received (\d+) of the (\d+) frames from seq (\d+)`).FindSubmatch(cout.Bytes())
			if m == nil {
				t.Fatal("consumer did not report the frames it looked at")
			}
			if joined := string(m[3]); joined != "0" && !bytes.Contains(cout.Bytes(), []byte("joined at seq "+joined)) {
				t.Errorf("consumer started at seq %s without saying it joined there", joined)
			}
			// The producer removed its regions: nothing under the base
			// directory but the (empty) user and namespace directories.
			if left, _ := filepath.Glob(filepath.Join(base, "*", "*", "*")); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// syncWriter is a bytes.Buffer safe to read while a process writes it.
type syncWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func waitFor(t *testing.T, ctx context.Context, w *syncWriter, s string) {
	t.Helper()
	for !strings.Contains(w.String(), s) {
		select {
		case <-ctx.Done():
			t.Fatalf("%q never appeared in %q", s, w.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// A producer killed with SIGKILL leaves its epoch directory; producer
// -clean removes it, and -n only lists it.
func TestProducerClean(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs programs")
	}
	dir := t.TempDir()
	bin := buildDemo(t, dir)
	base := filepath.Join(dir, "base")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	aeronDir := mediaDriver(t, bin)
	var pw syncWriter
	pw.b = new(bytes.Buffer)
	prod := exec.CommandContext(ctx, bin["producer"], "-aeron-dir", aeronDir, "-base", base, "-frames", "1000000", "-rate", "100")
	prod.Stdout, prod.Stderr = &pw, &pw
	if err := prod.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, &pw, "producer: stream")
	prod.Process.Kill()
	prod.Wait()
	left, _ := filepath.Glob(filepath.Join(base, "*", "*", "*", "*"))
	if len(left) != 1 {
		t.Fatalf("a killed producer left %v, want one epoch directory", left)
	}
	// Its activity is at most 100 ms old: fresh for the default (a
	// minute), stale for -stale-after 1ms.
	out, err := exec.CommandContext(ctx, bin["producer"], "-base", base, "-clean").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("nothing to clean")) {
		t.Fatalf("-clean right after the crash: %v\n%s", err, out)
	}
	time.Sleep(2 * time.Millisecond)
	out, err = exec.CommandContext(ctx, bin["producer"], "-base", base, "-clean", "-n", "-stale-after", "1ms").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("would remove "+left[0]+" (producer pid")) {
		t.Fatalf("-clean -n: %v\n%s", err, out)
	}
	if _, err := os.Stat(left[0]); err != nil {
		t.Fatalf("-n removed it: %v", err)
	}
	out, err = exec.CommandContext(ctx, bin["producer"], "-base", base, "-clean", "-stale-after", "1ms").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("removed "+left[0])) {
		t.Fatalf("-clean: %v\n%s", err, out)
	}
	if _, err := os.Stat(left[0]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after -clean: %v", err)
	}
}
