// Package driver_test runs make demo's script (demo.sh): tpoold, tp
// produce and two tp consume processes, on a base directory that does not
// exist yet (a fresh machine).
package driver_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs tpoold and three tp processes")
	}
	bin := t.TempDir()
	out, err := exec.Command("go", "build", "-o", bin+"/", "../../cmd/tpoold", "../../cmd/tp").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	shm, err := os.MkdirTemp("/dev/shm", "tpool-demo-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(shm)
	base := filepath.Join(shm, "fresh", "tensorpool") // neither exists yet
	cmd := exec.Command("sh", "demo.sh")
	cmd.Env = append(os.Environ(), "BIN="+bin, "DEMO_BASE="+base, "DEMO_FRAMES=600", "DEMO_RATE=300")
	out, err = cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("demo.sh: %v", err)
	}
	for _, want := range []string{"consumer A starts first and waits", "sent 600 frames", "demo: rates:", "demo: OK"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Consumer A saw the whole stream; a loaded machine may make it drop
	// a few frames (late), never accept a corrupt one. B, RATE_LIMITED at
	// 10 Hz from 1 s in, gets about 10 frames per second of the rest: a
	// generous band on the count, against how long the producer ran.
	received := map[string]int{}
	for _, name := range []string{"A", "B"} {
		m := regexp.MustCompile(`consumer ` + name + `: stream 10000: received (\d+), intact (\d+), corrupt 0,`).FindStringSubmatch(string(out))
		if m == nil || m[1] != m[2] {
			t.Errorf("consumer %s: no summary with every frame intact", name)
			continue
		}
		received[name], _ = strconv.Atoi(m[1])
	}
	secs := 2.0 // 600 frames at 300 Hz
	if m := regexp.MustCompile(`sent 600 frames in ([0-9.]+)s`).FindStringSubmatch(string(out)); m != nil {
		secs, _ = strconv.ParseFloat(m[1], 64)
	}
	if a, b := received["A"], received["B"]; a < 300 || b < 3 || float64(b) > 1.5*10*secs+3 {
		t.Errorf("consumer A received %d frames (want at least 300), B %d (want 3..%.0f at 10 Hz over %.2fs)", a, b, 1.5*10*secs+3, secs)
	}
	if !regexp.MustCompile(`consumer B: .*rate-limited to 10 Hz \(own stream \d+\)`).Match(out) {
		t.Errorf("consumer B was not paced on a per-consumer stream")
	}
	if ents, err := os.ReadDir(filepath.Join(shm, "fresh")); err == nil && len(ents) > 0 {
		t.Errorf("left behind: %v", ents)
	}
}
