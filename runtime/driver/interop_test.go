package driver_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	gdriver "github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/driver"
)

// aeronBin returns an Aeron C binary from TPOOL_AERON_C_BIN (see
// docs/INTEROP.md), skipping the test when it is unset.
func aeronBin(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("TPOOL_AERON_C_BIN")
	if dir == "" {
		t.Skip("TPOOL_AERON_C_BIN is not set; point it at the Aeron C binaries (aeronmd, AeronStat) to run this interop test")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("TPOOL_AERON_C_BIN has no %s: %v", name, err)
	}
	return p
}

// startAeronmd runs the real C media driver in a temporary directory.
func startAeronmd(t *testing.T) string {
	bin := aeronBin(t, "aeronmd")
	dir := filepath.Join(t.TempDir(), "aeron")
	cmd := exec.Command(bin, "-Daeron.dir="+dir, "-Daeron.dir.delete.on.start=true", "-Daeron.dir.delete.on.shutdown=true",
		"-Daeron.term.buffer.length=65536", "-Daeron.ipc.term.buffer.length=65536")
	out, err := os.CreateTemp(t.TempDir(), "aeronmd-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("aeronmd output:\n%s", b)
		}
	})
	deadline := time.Now().Add(testTimeout)
	for {
		if _, err := os.Stat(filepath.Join(dir, "cnc.dat")); err == nil {
			return dir
		}
		if time.Now().After(deadline) {
			t.Fatal("aeronmd did not create its CnC file")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var statLine = regexp.MustCompile(`(?m)^\s*\d+ :\s+([-\d,]+) - tpoold active leases: it\s*$`)

// TestAeronStatShowsDriverCounters runs tpoold against the real aeronmd
// and against its embedded media driver, attaches one lease, and reads
// the driver's counters with the C AeronStat.
func TestAeronStatShowsDriverCounters(t *testing.T) {
	for _, mode := range []string{"aeronmd", "embedded"} {
		t.Run(mode, func(t *testing.T) {
			stat := aeronBin(t, "AeronStat")
			var cfg driver.Config
			if mode == "aeronmd" {
				cfg = testConfig(t, startAeronmd(t))
			} else {
				t.Setenv("AERON_DIR", filepath.Join(t.TempDir(), "aeron"))
				cfg = testConfig(t, "")
			}
			d, err := driver.Start(ctxT(t), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			p := newPeer(t, d.AeronDir(), cfg)
			if r := p.attach(10000, 1, gdriver.RoleConsumer); r.Code != gdriver.ResponseCodeOk {
				t.Fatalf("attach %+v", r)
			}
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			out, err := exec.CommandContext(ctx, stat, "-d", d.AeronDir(), "-w", "false").CombinedOutput()
			if err != nil {
				t.Fatalf("AeronStat: %v\n%s", err, out)
			}
			m := statLine.FindSubmatch(out)
			if m == nil {
				t.Fatalf("AeronStat does not list the driver's active leases:\n%s", out)
			}
			if v, _ := strconv.Atoi(string(m[1])); v != 1 {
				t.Errorf("AeronStat shows %d active leases, want 1", v)
			}
		})
	}
}

// TestIdleCPU measures the CPU time of this process (tpoold's engine, its
// Aeron client and ten clients keeping their leases alive) over 5 s, with
// the real aeronmd in its own process. It only runs with
// TPOOL_DRIVER_IDLE_CPU=1 (and TPOOL_AERON_C_BIN) and reports the figure;
// it fails only if the driver spins a core.
func TestIdleCPU(t *testing.T) {
	if os.Getenv("TPOOL_DRIVER_IDLE_CPU") != "1" {
		t.Skip("set TPOOL_DRIVER_IDLE_CPU=1 (and TPOOL_AERON_C_BIN) to measure the idle driver's CPU")
	}
	cfg := testConfig(t, startAeronmd(t))
	cfg.Policies.AnnouncePeriod = time.Second
	cfg.Policies.LeaseKeepaliveInterval = time.Second
	d, err := driver.Start(ctxT(t), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p := newPeer(t, d.AeronDir(), cfg)
	var leases []control.AttachResponse
	for c := uint32(1); c <= 10; c++ {
		role := gdriver.RoleConsumer
		if c == 1 {
			role = gdriver.RoleProducer
		}
		leases = append(leases, p.attach(10000, c, role))
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start, c0 := time.Now(), cpu()
	for time.Since(start) < 5*time.Second {
		for i, l := range leases {
			role := gdriver.RoleConsumer
			if i == 0 {
				role = gdriver.RoleProducer
			}
			p.s.SendKeepalive(&control.Keepalive{LeaseID: l.LeaseID, StreamID: l.StreamID, ClientID: uint32(i + 1), Role: role})
		}
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			p.p.Poll(16)
			time.Sleep(10 * time.Millisecond)
		}
	}
	used, wall := cpu()-c0, time.Since(start)
	share := float64(used) / float64(wall)
	t.Logf("idle driver with 10 leases: %v CPU in %v = %.1f%% of one core (this process: driver, its Aeron client, the test's client)", used, wall.Round(time.Millisecond), 100*share)
	if s := d.Stats(); s.ActiveLeases != 10 || s.Expiries != 0 {
		t.Errorf("stats %+v", s)
	}
	if share > 0.5 {
		t.Errorf("the idle driver uses %.0f%% of a core", 100*share)
	}
}
