package pointcloud_test

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

	"github.com/tpool-go/tpool/examples/pointcloud/points"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/driver/tomlconfig"
)

// tpoold.toml carries the stubs' TpooldProfile, so the driver and the
// stubs agree on the pools.
func TestTpooldConfigMatchesStubs(t *testing.T) {
	b, err := os.ReadFile("tpoold.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), points.TpooldProfile) {
		t.Fatalf("tpoold.toml does not hold points.TpooldProfile; append it again:\n%s", points.TpooldProfile)
	}
	cfg, _, err := tomlconfig.Load("tpoold.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := points.CloudSpec()
	if len(cfg.Streams) != 1 || cfg.Streams[0].StreamID != spec.StreamID || int64(cfg.Profiles[0].PayloadPools[0].StrideBytes) < spec.MaxFrameBytes() {
		t.Fatalf("streams %+v profiles %+v for %v", cfg.Streams, cfg.Profiles, spec.String())
	}
}

// The producer and consumer commands move clouds of varying size through
// tpoold's engine (in this process, configured from tpoold.toml, in
// private directories).
func TestPointCloudRuns(t *testing.T) {
	dir := t.TempDir()
	aeronDir, base := filepath.Join(dir, "aeron"), filepath.Join(dir, "shm")
	md, err := mediadriver.Start(mediadriver.Config{Dir: aeronDir, ClientLivenessTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	cfg, _, err := tomlconfig.Load("tpoold.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Driver.AeronDir = aeronDir
	cfg.SHM.BaseDir, cfg.SHM.AllowedBaseDirs = base, []string{base}
	cfg.Policies.PrefaultSHM = false
	cfg.Policies.ShutdownTimeout = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang, not a speed limit
	defer cancel()
	d, err := driver.Start(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	bin := t.TempDir()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin+"/", "./producer", "./consumer").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	const frames = 30
	cons := exec.CommandContext(ctx, filepath.Join(bin, "consumer"), "-aeron-dir", aeronDir, "-base", base, "-frames", fmt.Sprint(frames))
	cons.Stderr = os.Stderr
	out, err := cons.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("consumer said %q", lines.Text())
	}
	prod := exec.CommandContext(ctx, filepath.Join(bin, "producer"), "-aeron-dir", aeronDir, "-base", base, "-frames", fmt.Sprint(frames), "-every", "2ms")
	if out, err := prod.CombinedOutput(); err != nil {
		t.Fatalf("producer: %v\n%s", err, out)
	}
	// Every cloud the consumer printed has the size its scan had; a slow
	// consumer may miss some (the producer does not wait for it) but most
	// arrive.
	want := map[string]bool{}
	for k := range frames {
		want[fmt.Sprintf("%d points, centroid", points.Points(k))] = true
	}
	got := 0
	for lines.Scan() {
		line := lines.Text()
		i := strings.Index(line, ": ")
		if i < 0 || !want[line[i+2:strings.Index(line, " (")]] {
			t.Errorf("unexpected line %q", line)
		}
		got++
		if got == frames {
			break
		}
	}
	if got == frames {
		if err := cons.Wait(); err != nil {
			t.Fatal(err)
		}
	} else {
		// Frames the consumer missed: it waits for more; stop it.
		_ = cons.Process.Signal(os.Interrupt)
		_ = cons.Wait()
	}
	if got < frames/2 {
		t.Fatalf("consumer printed %d of %d clouds", got, frames)
	}
}
