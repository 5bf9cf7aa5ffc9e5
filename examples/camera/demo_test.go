// Package camera_test runs make demo-camera's script (demo.sh): tpoold,
// the camera consumer and the camera producer as separate processes, on a
// base directory that does not exist yet (a fresh machine).
package camera_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tpool-go/tpool/examples/camera/internal/cam"
	"github.com/tpool-go/tpool/runtime/driver/tomlconfig"
	"github.com/tpool-go/tpool/tensorgen"
)

// tpoold.toml carries the stubs' TpooldProfile, so the driver and the
// stubs agree on the pools.
func TestTpooldConfigMatchesStubs(t *testing.T) {
	b, err := os.ReadFile("tpoold.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), cam.TpooldProfile) {
		t.Fatalf("tpoold.toml does not hold cam.TpooldProfile; append it again:\n%s", cam.TpooldProfile)
	}
	cfg, _, err := tomlconfig.Load("tpoold.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := cam.FrameSpec()
	if len(cfg.Streams) != 1 || cfg.Streams[0].StreamID != spec.StreamID || len(cfg.Profiles) != 1 ||
		int64(cfg.Profiles[0].PayloadPools[0].StrideBytes) < spec.MaxFrameBytes() {
		t.Fatalf("streams %+v profiles %+v for %v", cfg.Streams, cfg.Profiles, spec.String())
	}
}

// The committed stubs are what tensorgen generates from
// internal/cam/streams.toml now (make check-generated says the same).
func TestGeneratedUpToDate(t *testing.T) {
	outs, err := tensorgen.BuildStubs(tensorgen.StubsConfig{Declaration: "internal/cam/streams.toml", OutDir: "internal/cam"})
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 {
		t.Fatalf("%d files, want the stubs and the camerameta codec", len(outs))
	}
	for _, o := range outs {
		got, err := os.ReadFile(o.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, o.Source) {
			t.Errorf("%s is stale: run make generate", o.Path)
		}
	}
}

// The test pattern round-trips: a filled frame is intact and carries its
// number; one changed pixel is not.
func TestPattern(t *testing.T) {
	img := make([]uint16, cam.Rows*cam.Cols)
	for _, k := range []uint64{0, 1, 299, 1<<40 + 7} {
		for r := range cam.Rows {
			cam.FillRow(img[r*cam.Cols:(r+1)*cam.Cols], k, r)
		}
		if got, ok := cam.Intact(img); !ok || got != k {
			t.Errorf("frame %d: Intact = %d, %v", k, got, ok)
		}
		img[cam.Rows*cam.Cols/2]++
		if _, ok := cam.Intact(img); ok {
			t.Errorf("frame %d: a changed pixel is intact", k)
		}
	}
	if _, ok := cam.Intact(img[1:]); ok {
		t.Error("a short frame is intact")
	}
}

func TestCameraDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs tpoold and the camera producer and consumer")
	}
	bin := t.TempDir()
	for _, b := range []struct{ out, pkg string }{
		{"tpoold", "../../cmd/tpoold"},
		{"camera-producer", "./producer"},
		{"camera-consumer", "./consumer"},
	} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(bin, b.out), b.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("build %s: %v\n%s", b.pkg, err, out)
		}
	}
	for _, b := range []string{"camera-producer", "camera-consumer"} {
		out, err := exec.Command(filepath.Join(bin, b), "-h").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "-aeron-dir") {
			t.Errorf("%s -h: %v\n%s", b, err, out)
		}
	}
	shm, err := os.MkdirTemp("/dev/shm", "tpool-camera-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(shm)
	base := filepath.Join(shm, "fresh", "tensorpool") // neither exists yet
	cmd := exec.Command("sh", "demo.sh")
	cmd.Env = append(os.Environ(), "BIN="+bin, "DEMO_BASE="+base, "DEMO_FRAMES=300", "DEMO_RATE=100", "DEMO_EXPOSURE_EVERY=100", "DEMO_CLAIMS=3")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("demo.sh: %v", err)
	}
	s := string(out)
	for _, want := range []string{"the consumer starts first and waits", "sent 300 frames, 3 meta versions", "claim queue 3", "camera demo: OK",
		"sensor_id=4711 exposure_us=1000 gain=2", "dark_frame=614400B", "camera0 (480x640 uint16)"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Every frame received intact with consistent metadata; a loaded
	// machine may make the consumer drop a few (late), never accept a
	// corrupt one. The consumer sees the exposure changes as versions.
	m := regexp.MustCompile(`received (\d+), intact (\d+), corrupt 0, torn \d+, with metadata (\d+) \(inconsistent 0\), meta versions (\d+)`).FindStringSubmatch(s)
	if m == nil || m[1] != m[2] {
		t.Fatal("no consumer summary with every frame intact and consistent metadata")
	}
	if n, _ := strconv.Atoi(m[1]); n < 150 {
		t.Errorf("received %d frames, want at least 150", n)
	}
	if n, _ := strconv.Atoi(m[3]); n == 0 {
		t.Error("no frame came with its metadata")
	}
	if n, _ := strconv.Atoi(m[4]); n < 2 {
		t.Errorf("%d meta versions seen, want the exposure changes", n)
	}
	if !regexp.MustCompile(`t=\s*\d+s fps=\d+ frames=\d+ .* progress started=\d+ progress=\d+ complete=\d+`).MatchString(s) {
		t.Error("no per-second statistics line with progress counts")
	}
	// The claim queue's FrameProgress arrived: STARTED, throttled
	// PROGRESS and COMPLETE, every hint consistent with whole bands of
	// rows (the consumer's exit status says so too). Hints travel on
	// the control stream, not with the frames, so each kind must have
	// arrived, not one per frame.
	m = regexp.MustCompile(`progress hints started (\d+) progress (\d+) complete (\d+) \(inconsistent (\d+)\)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatal("no progress hints in the consumer's summary")
	}
	for i, what := range []string{"STARTED", "PROGRESS", "COMPLETE"} {
		if n, _ := strconv.Atoi(m[i+1]); n == 0 {
			t.Errorf("no %s hint arrived", what)
		}
	}
	if m[4] != "0" {
		t.Errorf("%s inconsistent progress hints", m[4])
	}
	p := regexp.MustCompile(`progress hints started (\d+) progress (\d+) \(throttled (\d+)\) complete (\d+)`).FindStringSubmatch(s)
	if p == nil {
		t.Fatal("no progress hints in the producer's summary")
	}
	if n, _ := strconv.Atoi(p[4]); n < 300 {
		t.Errorf("the producer sent %s COMPLETE hints for 300 frames", p[4])
	}
	if ents, err := os.ReadDir(filepath.Join(shm, "fresh")); err == nil && len(ents) > 0 {
		t.Errorf("left behind: %v", ents)
	}
}
