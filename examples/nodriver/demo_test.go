// Package nodriver_test runs the two no-driver example programs against
// each other as separate processes.
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
	"testing"
	"time"
)

func buildDemo(t *testing.T, dir string) map[string]string {
	t.Helper()
	bin := map[string]string{}
	for _, name := range []string{"producer", "consumer"} {
		bin[name] = filepath.Join(dir, name)
		out, err := exec.Command("go", "build", "-o", bin[name], "./"+name).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
	}
	return bin
}

// The demo on a fresh machine: the base directory does not exist when
// either program starts (issue 8 section 0), in both start orders.
func TestProducerAndConsumerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two programs")
	}
	bin := buildDemo(t, t.TempDir())
	for _, order := range []string{"consumer first", "producer first"} {
		t.Run(order, func(t *testing.T) {
			dir := t.TempDir()
			base := filepath.Join(dir, "shm", "tensorpool") // neither exists yet
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			announce := filepath.Join(dir, "announce.json")
			var cout, pout bytes.Buffer
			cons := exec.CommandContext(ctx, bin["consumer"], "-allow", base, "-announce", announce, "-frames", "2000", "-idle", "5s", "-wait", "50s")
			cons.Stdout, cons.Stderr = &cout, &cout
			prod := exec.CommandContext(ctx, bin["producer"], "-base", base, "-announce", announce, "-frames", "2000", "-rate", "2000", "-nslots", "64", "-linger", "2s")
			prod.Stdout, prod.Stderr = &pout, &pout
			first, second := cons, prod
			if order == "producer first" {
				first, second = prod, cons
			}
			if err := first.Start(); err != nil {
				t.Fatal(err)
			}
			if order == "consumer first" {
				// The consumer is waiting with no base directory at all.
				if _, err := os.Stat(base); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("base dir before the producer: %v", err)
				}
			} else {
				waitFor(t, ctx, announce)
			}
			if err := second.Start(); err != nil {
				t.Fatal(err)
			}
			perr := prod.Wait()
			cerr := cons.Wait()
			t.Logf("producer:\n%s\nconsumer:\n%s", pout.String(), cout.String())
			if perr != nil || cerr != nil {
				t.Fatalf("producer: %v, consumer: %v", perr, cerr)
			}
			if !regexp.MustCompile(`all [1-9][0-9]* accepted frames intact`).Match(cout.Bytes()) {
				t.Error("consumer did not report intact frames")
			}
			if !bytes.Contains(pout.Bytes(), []byte("committed 2000 frames")) {
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
			// The producer removed its epoch directory.
			matches, _ := filepath.Glob(filepath.Join(base, "*", "*", "*", "*", "header.ring"))
			if len(matches) != 0 {
				t.Errorf("left behind: %v", matches)
			}
		})
	}
}

func waitFor(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never appeared", path)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// A producer killed with SIGKILL leaves its epoch directory; producer
// -clean removes it, and -n only lists it.
func TestProducerClean(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program")
	}
	dir := t.TempDir()
	bin := buildDemo(t, dir)
	base := filepath.Join(dir, "base")
	announce := filepath.Join(dir, "announce.json")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	prod := exec.CommandContext(ctx, bin["producer"], "-base", base, "-announce", announce, "-frames", "1000000", "-rate", "100")
	if err := prod.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, announce)
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
