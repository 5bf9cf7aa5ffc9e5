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
	for _, want := range []string{"consumer A starts first and waits", "sent 600 frames", "demo: OK"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Consumer A saw the whole stream, B its second half at least; a
	// loaded machine may make them drop a few frames (late), never accept
	// a corrupt one.
	for _, c := range []struct {
		name string
		min  int
	}{{"A", 300}, {"B", 50}} {
		m := regexp.MustCompile(`consumer ` + c.name + `: stream 10000: received (\d+), intact (\d+), corrupt 0,`).FindStringSubmatch(string(out))
		if m == nil || m[1] != m[2] {
			t.Errorf("consumer %s: no summary with every frame intact", c.name)
			continue
		}
		if n, _ := strconv.Atoi(m[1]); n < c.min {
			t.Errorf("consumer %s received %d frames, want at least %d", c.name, n, c.min)
		}
	}
	if ents, err := os.ReadDir(filepath.Join(shm, "fresh")); err == nil && len(ents) > 0 {
		t.Errorf("left behind: %v", ents)
	}
}
