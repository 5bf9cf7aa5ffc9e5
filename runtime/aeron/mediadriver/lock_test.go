package mediadriver

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// childDirEnv makes the test binary run a media driver in that directory
// instead of the tests, print "ready" and wait to be killed.
const childDirEnv = "TPOOL_MEDIADRIVER_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		d, err := Start(testConfig(dir))
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("ready")
		time.Sleep(time.Hour)
		_ = d.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// spawnDriver runs a media driver in dir in another process and returns it
// once it is ready.
func spawnDriver(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("child driver: %q, %v", line, err)
	}
	return cmd
}

// A media driver SIGKILLed a moment ago leaves a CnC whose heartbeat looks
// fresh. A new driver replaces it only when the lock file proves that
// driver dead (free, and naming that CnC); otherwise Aeron's heartbeat rule
// holds and the directory is refused. A live driver in another process is
// always refused.
func TestRestartAfterKill(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, lockPath string) // after the kill
		ok     bool
	}{
		{"lock free and naming the cnc", nil, true},
		{"no lock file (another kind of driver)", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"lock naming another cnc", func(t *testing.T, p string) {
			if err := os.WriteFile(p, []byte("1 2\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "aeron")
			cmd := spawnDriver(t, dir)
			if _, err := Start(testConfig(dir)); !errors.Is(err, ErrActiveDriver) {
				t.Fatalf("start beside a live driver: %v, want ErrActiveDriver", err)
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			if tc.tamper != nil {
				tc.tamper(t, filepath.Join(dir, LockFileName))
			}
			// A driver timeout far longer than the test: the dead
			// driver's heartbeat counts as fresh throughout.
			cfg := testConfig(dir)
			cfg.DriverTimeout = time.Hour
			d, err := Start(cfg)
			if !tc.ok {
				if !errors.Is(err, ErrActiveDriver) {
					t.Fatalf("start after the kill: %v, want ErrActiveDriver", err)
				}
				if _, err := os.Stat(filepath.Join(dir, "cnc.dat")); err != nil {
					t.Fatalf("the refused start touched the directory: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("start after the kill: %v", err)
			}
			defer d.Close()
			b, err := os.ReadFile(filepath.Join(dir, LockFileName))
			if err != nil || !strings.HasPrefix(string(b), fmt.Sprint(os.Getpid())+" ") {
				t.Fatalf("lock file %q, %v: want this process's pid", b, err)
			}
		})
	}
}
