package aeron_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
)

// Interop tests with the real Aeron C media driver and C samples. They run
// only when TPOOL_AERON_C_BIN names a directory holding aeronmd,
// basic_publisher, basic_subscriber and AeronStat built from
// real-logic/aeron outside this repository (see docs/AERON.md); otherwise
// they are skipped.

const cBinEnv = "TPOOL_AERON_C_BIN"

func cBinary(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv(cBinEnv)
	if dir == "" {
		t.Skipf("%s not set: no real Aeron C binaries", cBinEnv)
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s: %v", p, err)
	}
	return p
}

// cProcess runs a C binary and collects its stdout lines.
type cProcess struct {
	cmd   *exec.Cmd
	lines chan string
}

func startC(t *testing.T, bin string, env []string, args ...string) *cProcess {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &cProcess{cmd: cmd, lines: make(chan string, 1024)}
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			p.lines <- s.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return p
}

// collect waits until n lines containing substr were printed.
func (p *cProcess) collect(t *testing.T, substr string, n int) []string {
	t.Helper()
	var got []string
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	for len(got) < n {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("C process exited after %d of %d lines", len(got), n)
			}
			if strings.Contains(l, substr) {
				got = append(got, l)
			}
		case <-timer.C:
			t.Fatalf("saw %d of %d lines containing %q", len(got), n, substr)
		}
	}
	return got
}

// startRealDriver runs the C aeronmd on dir.
func startRealDriver(t *testing.T, dir string) {
	t.Helper()
	startC(t, cBinary(t, "aeronmd"), []string{"AERON_DIR=" + dir, "AERON_DIR_DELETE_ON_START=true", "AERON_DIR_DELETE_ON_SHUTDOWN=true"})
	c := connect(t, dir) // waits for the driver
	_ = c.Close()
}

func goPublishes(t *testing.T, dir, channel string, n int) {
	t.Helper()
	c := connect(t, dir)
	pub, err := c.AddPublication(ctx(t), channel, 1001)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "C subscriber connected", pub.IsConnected)
	for i := range n {
		offer(t, pub, []byte(fmt.Sprintf("Hello from Go %d", i)))
	}
}

func goSubscribes(t *testing.T, dir, channel string) (*aeron.Subscription, *[]string) {
	t.Helper()
	c := connect(t, dir)
	sub, err := c.AddSubscription(ctx(t), channel, 1001)
	if err != nil {
		t.Fatal(err)
	}
	got := &[]string{}
	return sub, got
}

func pollUntil(t *testing.T, sub *aeron.Subscription, got *[]string, n int) {
	t.Helper()
	h := aeron.NewFragmentAssembler(func(b []byte, _ *aeron.Header) { *got = append(*got, string(b)) }, 4096).Handler()
	eventually(t, "messages from C", func() bool { sub.Poll(h, 10); return len(*got) >= n })
}

var interopChannels = []string{"aeron:ipc", "aeron:udp?endpoint=localhost:24325"}

func TestInteropRealDriverGoToC(t *testing.T) {
	for _, channel := range interopChannels {
		t.Run(channel, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "aeron")
			startRealDriver(t, dir)
			sub := startC(t, cBinary(t, "basic_subscriber"), nil, "-p", dir, "-c", channel, "-s", "1001")
			goPublishes(t, dir, channel, 10)
			sub.collect(t, "Hello from Go", 10)
		})
	}
}

func TestInteropRealDriverCToGo(t *testing.T) {
	for _, channel := range interopChannels {
		t.Run(channel, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "aeron")
			startRealDriver(t, dir)
			sub, got := goSubscribes(t, dir, channel)
			startC(t, cBinary(t, "basic_publisher"), nil, "-p", dir, "-c", channel, "-s", "1001", "-m", "10", "-l", "2s")
			pollUntil(t, sub, got, 10)
			if !strings.HasPrefix((*got)[0], "Hello World!") {
				t.Errorf("got %q", *got)
			}
		})
	}
}

func TestInteropEmbeddedDriverWithCClients(t *testing.T) {
	t.Run("C publisher to Go", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "aeron")
		startDriver(t, dir)
		sub, got := goSubscribes(t, dir, "aeron:ipc")
		startC(t, cBinary(t, "basic_publisher"), nil, "-p", dir, "-c", "aeron:ipc", "-s", "1001", "-m", "10", "-l", "2s")
		pollUntil(t, sub, got, 10)
	})
	t.Run("Go publisher to C", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "aeron")
		startDriver(t, dir)
		sub := startC(t, cBinary(t, "basic_subscriber"), nil, "-p", dir, "-c", "aeron:ipc", "-s", "1001")
		goPublishes(t, dir, "aeron:ipc", 10)
		sub.collect(t, "Hello from Go", 10)
	})
	t.Run("AeronStat", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "aeron")
		startDriver(t, dir)
		c := connect(t, dir)
		if _, err := c.AddPublication(ctx(t), "aeron:ipc", 1001); err != nil {
			t.Fatal(err)
		}
		cx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		out, err := exec.CommandContext(cx, cBinary(t, "AeronStat"), "-d", dir, "-w", "false").CombinedOutput()
		if err != nil {
			t.Fatalf("AeronStat: %v\n%s", err, out)
		}
		for _, want := range []string{"0.2.0", "client-heartbeat", "pub-lmt", "pub-pos"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("AeronStat output lacks %q:\n%s", want, out)
			}
		}
	})
}
