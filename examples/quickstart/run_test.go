package quickstart

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuickstartRuns builds tpoold and the README's producer and consumer
// and runs them with their defaults (/dev/shm/aeron-<user>,
// /dev/shm/tensorpool). Those are shared paths, so the run happens in a
// private mount namespace with its own /dev/shm (unshare -m): it needs
// root and unshare(1), and skips with a message otherwise.
func TestQuickstartRuns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a private /dev/shm (unshare -m)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare(1) for a private /dev/shm")
	}
	if err := exec.Command("unshare", "-m", "true").Run(); err != nil {
		t.Skipf("unshare -m does not work here: %v", err)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "../../cmd/tpoold", "./producer", "./consumer")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// tpoold, then the consumer, then the producer (100 frames); Ctrl-C
	// (SIGINT) stops the consumer, SIGTERM tpoold; nothing may be left.
	script := `
set -e
mount -t tmpfs tmpfs /dev/shm
cd "$1"
./tpoold -log-level warn 2>tpoold.log & d=$!
i=0; until [ -e /dev/shm/tensorpool ]; do i=$((i+1)); [ $i -lt 300 ] || exit 3; sleep 0.1; done
./consumer >consumer.out & c=$!
sleep 1
./producer
i=0; until [ "$(wc -l <consumer.out)" -ge 100 ]; do i=$((i+1)); [ $i -lt 300 ] || break; sleep 0.1; done
kill -INT $c; wait $c
kill -TERM $d; wait $d
if [ -n "$(ls -A /dev/shm/tensorpool 2>/dev/null)" ]; then echo "left behind:"; ls -R /dev/shm/tensorpool; exit 4; fi
cat consumer.out
`
	cmd := exec.Command("unshare", "-m", "sh", "-c", script, "sh", bin)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute): // a hang, not a speed limit
		_ = cmd.Process.Kill()
		<-done
	}
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(bin, "tpoold.log"))
		t.Fatalf("%v\n%s\ntpoold log:\n%s", err, out, log)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 100 || lines[0] != "frame 0 [480 640] pixel 0" || lines[99] != "frame 99 [480 640] pixel 99" {
		t.Errorf("consumer printed %d lines, want frames 0..99:\n%s", len(lines), out)
	}
}
