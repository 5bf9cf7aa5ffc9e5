package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// mediaDriver starts tpool-aeronmd in a private directory under /dev/shm
// and returns the flags of tp in no-driver mode: that media driver, a
// base directory that does not exist yet, announces every 100 ms.
func mediaDriver(t *testing.T) (base string, tpFlags []string) {
	t.Helper()
	shm, err := os.MkdirTemp("/dev/shm", "tp-nd-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	aeronDir, base := filepath.Join(shm, "aeron"), filepath.Join(shm, "tensorpool")
	md := start(t, nil, "tpool-aeronmd", "-dir", aeronDir)
	md.waitStderr(`aeron media driver started`)
	t.Cleanup(func() {
		_ = md.cmd.Process.Signal(syscall.SIGTERM)
		if code := md.wait(); code != 0 {
			t.Errorf("tpool-aeronmd exited %d", code)
		}
	})
	return base, []string{"-no-driver", "-aeron-dir", aeronDir, "-base-dir", base, "-allow-dir", base,
		"-announce-period", "100ms", "-freshness", "2s"}
}

// epochDirs lists the epoch directories under base.
func epochDirs(base string) []string {
	m, _ := filepath.Glob(filepath.Join(base, "*", "*", "*", "*"))
	return m
}

// tp produce -no-driver and tp consume -no-driver, in both start orders,
// from a base directory that does not exist: every frame intact, the
// producer's regions removed when it ends.
func TestNoDriverProduceConsume(t *testing.T) {
	for _, consumerFirst := range []bool{true, false} {
		name := map[bool]string{true: "consumer first", false: "producer first"}[consumerFirst]
		t.Run(name, func(t *testing.T) {
			base, flags := mediaDriver(t)
			consArgs := append([]string{"consume", "-stream", "10000", "-frames", "100", "-timeout", "60s", "-json",
				"-log-level", "info", "-fallback-uri", "bridge://cam0"}, flags...)
			prodArgs := append([]string{"produce", "-stream", "10000", "-frames", "300", "-shape", "120x160", "-dtype", "uint16",
				"-rate", "200", "-nslots", "256", "-log-level", "info"}, flags...)
			var cons, prod *proc
			if consumerFirst {
				cons = start(t, nil, "tp", consArgs...)
				time.Sleep(200 * time.Millisecond) // not a sync: the consumer waits either way
				if _, err := os.Stat(base); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("base dir before the producer: %v", err)
				}
				prod = start(t, nil, "tp", prodArgs...)
			} else {
				prod = start(t, nil, "tp", prodArgs...)
				prod.waitStderr(`producing`)
				cons = start(t, nil, "tp", consArgs...)
			}
			if code := cons.wait(); code != 0 {
				t.Fatalf("tp consume exited %d: %s", code, cons.stdout())
			}
			if code := prod.wait(); code != 0 {
				t.Fatalf("tp produce exited %d: %s", code, prod.stdout())
			}
			s := parseSummary(t, cons.stdout())
			if s.Received != 100 || s.Intact != 100 || s.Pattern != 100 || s.Corrupt != 0 {
				t.Fatalf("summary %+v", s)
			}
			if s.Announces == nil || s.Announces.Accepted == 0 || s.Announces.Rejected != 0 || s.Fallback != "not-implemented" {
				t.Fatalf("announces %+v, fallback %q", s.Announces, s.Fallback)
			}
			if left := epochDirs(base); len(left) != 0 {
				t.Fatalf("left behind: %v", left)
			}
			t.Logf("consume: %s", cons.stdout())
			t.Logf("produce: %s", prod.stdout())
		})
	}
}

// Issue 9 section 4 in no-driver mode: SIGKILL the producer mid-stream
// and start another: the consumer remaps to the new producer's (higher)
// epoch and accepts no corrupt frame.
func TestNoDriverProducerKilled(t *testing.T) {
	base, flags := mediaDriver(t)
	cons := start(t, nil, "tp", append([]string{"consume", "-stream", "10000", "-frames", "300", "-timeout", "80s", "-json", "-log-level", "info"}, flags...)...)
	args := append([]string{"produce", "-stream", "10000", "-frames", "0", "-shape", "240x320", "-dtype", "uint16", "-rate", "200", "-nslots", "256", "-log-level", "info"}, flags...)
	p1 := start(t, nil, "tp", args...)
	p1.waitStderr(`producing`)
	cons.waitStderr(`consumer mapped`)
	time.Sleep(300 * time.Millisecond) // mid-stream
	epochOf := func(p *proc) string {
		m := regexp.MustCompile(`producing.* epoch=(\d+)`).FindStringSubmatch(p.stderr())
		if m == nil {
			t.Fatalf("no epoch in %s", p.stderr())
		}
		return m[1]
	}
	killed := epochOf(p1)
	if err := p1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p1.wait()
	if left := epochDirs(base); len(left) != 1 {
		t.Fatalf("a killed producer left %v, want its epoch directory", left)
	}
	// Clean the killed producer's directory when the test ends.
	t.Cleanup(func() {
		for _, d := range epochDirs(base) {
			os.RemoveAll(d)
		}
	})
	p2 := start(t, nil, "tp", args...)
	p2.waitStderr(`producing`)
	next := epochOf(p2)
	var k, n uint64
	fmt.Sscan(killed, &k)
	fmt.Sscan(next, &n)
	if n <= k {
		t.Fatalf("restarted producer's epoch %d is not above the killed one's %d", n, k)
	}
	if code := cons.wait(); code != 0 {
		t.Fatalf("tp consume exited %d: %s", code, cons.stdout())
	}
	_ = p2.cmd.Process.Signal(syscall.SIGTERM)
	if code := p2.wait(); code != 1 { // interrupted before -frames: exit 1 by design
		t.Logf("tp produce exited %d", code)
	}
	s := parseSummary(t, cons.stdout())
	if fmt.Sprint(s.Epoch) != next {
		t.Fatalf("the consumer ended in epoch %d, want the new producer's %s", s.Epoch, next)
	}
	if s.Received != 300 || s.Corrupt != 0 || s.Intact != 300 || s.Remaps < 2 {
		t.Fatalf("summary %+v (want 300 intact frames over at least 2 mappings)", s)
	}
	// The new producer removed its own directory on SIGTERM; only the
	// killed one's remains.
	if left := epochDirs(base); len(left) != 1 || filepath.Base(left[0]) != killed {
		t.Fatalf("left %v, want only the killed producer's epoch %s", left, killed)
	}
	t.Logf("consume: %s", cons.stdout())
}
