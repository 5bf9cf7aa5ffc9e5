package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// testTimeout turns a hang into a failure; it is not a speed assertion.
const testTimeout = 90 * time.Second

// bin holds tp, tpoold and tpool-aeronmd, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tp-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir+"/", ".", "../tpoold", "../tpool-aeronmd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	bin = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		out  []string // in stdout
		err  string   // in stderr
	}{
		{nil, 2, nil, "Usage:"},
		{[]string{"-h"}, 0, []string{"tp produce", "tp consume", "Exit status"}, ""},
		{[]string{"produce", "-h"}, 0, []string{"-stream", "-frames", "-shape", "-dtype", "-rate", "-aeron-dir", "-control-channel", "-control-stream", "-client-id", "-allow-dir", "-log-level", "-no-driver", "-announce-period", "-freshness", "-base-dir", "-nslots", "-embedded-media-driver"}, ""},
		{[]string{"consume", "-h"}, 0, []string{"-stream", "-frames", "-timeout", "-idle", "-json", "-aeron-dir", "-control-channel", "-control-stream", "-client-id", "-allow-dir", "-mode", "-max-rate", "rate-limited", "-no-driver", "-announce-period", "-fallback-uri"}, ""},
		{[]string{"frobnicate"}, 2, nil, `unknown command "frobnicate"`},
		{[]string{"produce", "-dtype", "complex64"}, 2, nil, `-dtype "complex64": want one of`},
		{[]string{"produce", "-shape", "480x0"}, 2, nil, `dimension "0" is not a positive integer`},
		{[]string{"produce", "-stream", "0"}, 2, nil, "-stream: want a stream id"},
		{[]string{"consume", "-log-level", "loud"}, 2, nil, `-log-level "loud"`},
		{[]string{"consume", "extra"}, 2, nil, "unexpected arguments"},
		{[]string{"consume", "-mode", "slow"}, 2, nil, "-mode: want stream or rate-limited"},
		{[]string{"consume", "-mode", "rate-limited"}, 2, nil, "needs -max-rate"},
		{[]string{"consume", "-max-rate", "10"}, 2, nil, "-max-rate needs -mode rate-limited"},
		{[]string{"produce", "-no-driver", "-nslots", "100"}, 2, nil, "-nslots: want a power of two"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tt.args, &out, &errb); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, errb.String())
			}
			for _, w := range tt.out {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			if !strings.Contains(errb.String(), tt.err) {
				t.Errorf("stderr lacks %q:\n%s", tt.err, errb.String())
			}
		})
	}
}

func TestPattern(t *testing.T) {
	for _, n := range []int{16, 17, 23, 24, 100, 4096, 614400} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := make([]byte, n)
			fillPattern(b, 42)
			if !hasPattern(b) || !checkPattern(b, 42) {
				t.Fatal("the pattern does not check")
			}
			if checkPattern(b, 43) {
				t.Fatal("frame 42 checks as frame 43")
			}
			for _, i := range []int{0, 8, 15, min(16, n-1), n / 2, n - 1} {
				b[i] ^= 0x10
				if checkPattern(b, 42) {
					t.Errorf("byte %d flipped: still intact", i)
				}
				b[i] ^= 0x10
			}
		})
	}
	if hasPattern(make([]byte, 15)) {
		t.Fatal("a short payload has a pattern")
	}
}

// proc is a started command with its output collected.
type proc struct {
	t        *testing.T
	name     string
	cmd      *exec.Cmd
	mu       sync.Mutex
	out, err bytes.Buffer
	done     chan struct{}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func start(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: exec.Command(filepath.Join(bin, name), args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = lockedWriter{&p.mu, &p.out}
	p.cmd.Stderr = lockedWriter{&p.mu, &p.err}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s %v:\nstdout:\n%s\nstderr:\n%s", name, args, p.stdout(), p.stderr())
		}
	})
	return p
}

func (p *proc) stdout() string { p.mu.Lock(); defer p.mu.Unlock(); return p.out.String() }
func (p *proc) stderr() string { p.mu.Lock(); defer p.mu.Unlock(); return p.err.String() }

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(testTimeout):
		p.t.Fatalf("%s did not exit", p.name)
	}
	return p.cmd.ProcessState.ExitCode()
}

// waitStderr waits for a line of stderr matching re.
func (p *proc) waitStderr(re string) {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(testTimeout)
	for !rx.MatchString(p.stderr()) {
		select {
		case <-p.done:
			p.t.Fatalf("%s exited before logging %q", p.name, re)
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s never logged %q", p.name, re)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// daemon starts tpoold with its embedded media driver in a temporary
// Aeron directory and regions under a temporary base directory; it
// returns the flags tp needs to reach it.
func daemon(t *testing.T) (p *proc, tpFlags []string) {
	t.Helper()
	dir := t.TempDir()
	shm, err := os.MkdirTemp("/dev/shm", "tp-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	aeronDir, base := filepath.Join(shm, "aeron"), filepath.Join(shm, "tensorpool")
	cfg := filepath.Join(dir, "tpoold.toml")
	toml := fmt.Sprintf(`[shm]
base_dir = %q
[policies]
prefault_shm = false
shutdown_timeout_ms = 200
[profiles.default]
header_nslots = 16
[[profiles.default.payload_pools]]
pool_id = 1
stride_bytes = 1048576
[streams.default]
stream_id = 10000
profile = "default"
`, base)
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	p = start(t, []string{"AERON_DIR=" + aeronDir}, "tpoold", "-config", cfg, "-log-level", "info")
	p.waitStderr(`tpoold started`)
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.wait(); code != 0 {
			t.Errorf("tpoold exited %d", code)
		}
		if _, err := os.Stat(base); err == nil {
			if ents, _ := os.ReadDir(base); len(ents) > 0 {
				t.Errorf("tpoold left %d entries in %s", len(ents), base)
			}
		}
	})
	return p, []string{"-aeron-dir", aeronDir, "-allow-dir", base}
}

func parseSummary(t *testing.T, out string) summary {
	t.Helper()
	var s summary
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &s); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	return s
}

// tp consume started before tp produce receives 480x640 uint16 frames,
// all intact, and both exit 0.
func TestProduceConsume(t *testing.T) {
	_, flags := daemon(t)
	cons := start(t, nil, "tp", append([]string{"consume", "-stream", "10000", "-frames", "100", "-timeout", "60s", "-json", "-log-level", "info"}, flags...)...)
	cons.waitStderr(`consumer mapped`)
	prod := start(t, nil, "tp", append([]string{"produce", "-stream", "10000", "-frames", "150", "-shape", "480x640", "-dtype", "uint16", "-rate", "300"}, flags...)...)
	if code := cons.wait(); code != 0 {
		t.Fatalf("tp consume exited %d: %s", code, cons.stdout())
	}
	if code := prod.wait(); code != 0 {
		t.Fatalf("tp produce exited %d: %s", code, prod.stdout())
	}
	s := parseSummary(t, cons.stdout())
	if s.Received != 100 || s.Intact != 100 || s.Pattern != 100 || s.Corrupt != 0 || s.FPS <= 0 {
		t.Fatalf("summary %+v", s)
	}
	if !strings.Contains(prod.stdout(), "sent 150 frames") {
		t.Fatalf("tp produce: %s", prod.stdout())
	}
	t.Logf("consume: %s", cons.stdout())
	t.Logf("produce: %s", prod.stdout())
}

// Issue 9 section 4: SIGKILL the producer mid-stream and start another:
// the consumer follows the new epoch and accepts no corrupt frame.
func TestProducerKilled(t *testing.T) {
	_, flags := daemon(t)
	cons := start(t, nil, "tp", append([]string{"consume", "-stream", "10000", "-frames", "300", "-timeout", "80s", "-json", "-log-level", "info"}, flags...)...)
	cons.waitStderr(`consumer mapped`)
	args := append([]string{"produce", "-stream", "10000", "-frames", "0", "-shape", "240x320", "-dtype", "uint16", "-rate", "200", "-log-level", "info"}, flags...)
	p1 := start(t, nil, "tp", args...)
	p1.waitStderr(`producing`)
	cons.waitStderr(`(?s)consumer mapped.*consumer mapped`) // the producer's epoch
	time.Sleep(500 * time.Millisecond)                      // mid-stream
	m := regexp.MustCompile(`consumer mapped.* epoch=(\d+)`).FindAllStringSubmatch(cons.stderr(), -1)
	killedEpoch := m[len(m)-1][1]
	if err := p1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p1.wait()
	// The killed producer's lease holds the stream until it expires; the
	// new producer retries its attach until then.
	p2 := start(t, nil, "tp", append(args[:len(args):len(args)], "-frames", "0")...)
	if code := cons.wait(); code != 0 {
		t.Fatalf("tp consume exited %d: %s", code, cons.stdout())
	}
	_ = p2.cmd.Process.Signal(syscall.SIGTERM)
	p2.wait()
	s := parseSummary(t, cons.stdout())
	if fmt.Sprint(s.Epoch) == killedEpoch {
		t.Fatalf("the consumer ended in the killed producer's epoch %s", killedEpoch)
	}
	if s.Received != 300 || s.Corrupt != 0 || s.Intact != 300 || s.Remaps < 3 {
		t.Fatalf("summary %+v (want 300 intact frames over at least 3 mappings: first epoch, killed producer's, new producer's)", s)
	}
	t.Logf("consume: %s", cons.stdout())
}

// tp consume -mode rate-limited -max-rate 10 next to a STREAM consumer:
// the first gets about 10 frames per second (paced by the producer on its
// own stream), the second every frame.
func TestConsumeRateLimited(t *testing.T) {
	_, flags := daemon(t)
	common := append([]string{"consume", "-stream", "10000", "-idle", "3s", "-timeout", "80s", "-json", "-log-level", "info"}, flags...)
	full := start(t, nil, "tp", common...)
	slow := start(t, nil, "tp", append(common[:len(common):len(common)], "-mode", "rate-limited", "-max-rate", "10")...)
	full.waitStderr(`consumer mapped`)
	slow.waitStderr(`consumer mapped`)
	const frames, rate = 600, 200
	begin := time.Now()
	prod := start(t, nil, "tp", append([]string{"produce", "-stream", "10000", "-frames", fmt.Sprint(frames), "-shape", "64x64", "-dtype", "uint16", "-rate", fmt.Sprint(rate)}, flags...)...)
	if code := prod.wait(); code != 0 {
		t.Fatalf("tp produce exited %d: %s", code, prod.stdout())
	}
	elapsed := time.Since(begin)
	for _, c := range []*proc{full, slow} {
		if code := c.wait(); code != 0 {
			t.Fatalf("tp consume exited %d: %s", code, c.stdout())
		}
	}
	f, s := parseSummary(t, full.stdout()), parseSummary(t, slow.stdout())
	t.Logf("stream: %s\nrate-limited: %s\nproducer: %s in %v", full.stdout(), slow.stdout(), prod.stdout(), elapsed)
	// Every frame reaches the STREAM consumer (a loaded machine may make
	// it late for a few: dropped as overwritten, never corrupt).
	if f.Received+f.Dropped != frames || f.Intact != f.Received || f.RateLimited != 0 || f.Mode != "stream" {
		t.Errorf("STREAM consumer: %+v", f)
	}
	// A generous band on the count of frames let through (received, or
	// late): at least half of 10 Hz over the nominal 3 s, at most 1.5 times
	// 10 Hz over the time the producer ran.
	lo, hi := uint64(0.5*10*frames/rate), uint64(1.5*10*elapsed.Seconds())+3
	if n := s.Received + s.Dropped; n < lo || n > hi || s.Intact != s.Received || s.Mode != "rate-limited" || s.MaxRateHz != 10 {
		t.Errorf("RATE_LIMITED consumer let %d frames through, want %d..%d: %+v", n, lo, hi, s)
	}
	if s.DescriptorStream == 0 || s.Paced == 0 || s.Gap != 0 {
		t.Errorf("RATE_LIMITED consumer not paced on its own stream: %+v", s)
	}
}
