package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// roundTripTest is the external module's test: an embedded media driver
// and tpoold's engine in the test process, configured with the generated
// TpooldProfile; a frame and a point cloud through the generated stubs;
// the metadata codec generated into a subpackage of the module.
const roundTripTest = `package cams

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"example.com/cams/sensor"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/driver/tomlconfig"
	"github.com/tpool-go/tpool/runtime/driverclient"
)

func TestRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	aeronDir, base := filepath.Join(dir, "aeron"), filepath.Join(dir, "shm")
	md, err := mediadriver.Start(mediadriver.Config{Dir: aeronDir})
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	cfg, _, err := tomlconfig.Parse("profile", []byte(TpooldProfile), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Driver.AeronDir, cfg.SHM.BaseDir, cfg.SHM.AllowedBaseDirs = aeronDir, base, []string{base}
	cfg.Policies.PrefaultSHM = false
	d, err := driver.Start(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c, err := client.New(ctx, client.Config{AeronDir: aeronDir, Driver: driverclient.Config{AllowedBaseDirs: []string{base}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	fc, err := NewFrameConsumer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	fp, err := NewFrameProducer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	img, err := fp.Claim()
	if err != nil {
		t.Fatal(err)
	}
	img.Set(240, 320, 4242)
	if _, err := fp.Commit(); err != nil {
		t.Fatal(err)
	}
	got, f, err := fc.Next(ctx)
	if err != nil || got.At(240, 320) != 4242 || !f.Verify() {
		t.Fatalf("frame: %v", err)
	}

	pc, err := NewPointsConsumer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pp, err := NewPointsProducer(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close()
	if _, err := pp.Offer([]float32{1, 2, 3, 4, 5, 6}); err != nil {
		t.Fatal(err)
	}
	cloud, _, err := pc.Next(ctx)
	if err != nil || cloud.Shape()[0] != 2 || cloud.At(1, 2) != 6 {
		t.Fatalf("cloud: %v", err)
	}

	var mp LensProducer
	mp.Meta().SetSerial(9)
	b, err := mp.MetaBytes()
	if err != nil {
		t.Fatal(err)
	}
	var dec sensor.CameraInfoDecoder
	if err := DecodeLensMeta(b, &dec); err != nil || dec.Serial() != 9 {
		t.Fatalf("metadata: %v", err)
	}
}
`

// A module of its own uses tensorgen the way the README says: the tool in
// go.mod, tensorgen init, a //go:generate directive, go generate, build,
// vet, and a round trip through the generated stubs. The module lives in
// a temporary directory with a replace to this checkout. Its go.mod's tool
// directive is written by hand: go get -tool cannot resolve a module that
// is not published (the replace is not consulted for it), which a real
// user's module does not meet. Dependencies come from the module cache
// (GOPROXY=off).
func TestExternalModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	checkout, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	write := func(name, content string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(mod, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mod, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/cams\n\ngo 1.26\n\n"+
		"require github.com/tpool-go/tpool v0.0.0-00010101000000-000000000000\n\n"+
		"replace github.com/tpool-go/tpool => "+checkout+"\n\n"+
		"tool github.com/tpool-go/tpool/cmd/tensorgen\n")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute) // a hang, not a speed limit
	defer cancel()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, goBin, args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOSUMDB=off", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil && strings.Contains(string(out), "module lookup disabled by GOPROXY=off") {
			t.Skipf("a dependency is not in the module cache (this test does not download): go %s: %s", strings.Join(args, " "), out)
		}
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("mod", "tidy")
	out := run("tool", "tensorgen", "init", "-package", "cams")
	if !strings.Contains(out, "streams.toml") {
		t.Fatalf("init: %s", out)
	}
	meta, err := os.ReadFile("../../tensorgen/decl/testdata/camera-meta.xml")
	if err != nil {
		t.Fatal(err)
	}
	write("camera-meta.xml", string(meta))
	decl, err := os.ReadFile(filepath.Join(mod, "streams.toml"))
	if err != nil {
		t.Fatal(err)
	}
	write("streams.toml", string(decl)+`
[[stream]]
name      = "Lens"
stream_id = 10002
dtype     = "float64"
shape     = [4]
metadata  = "sensor.CameraInfo"
schemas   = ["camera-meta.xml"]
`)
	write("cams.go", "// Package cams is a user's package with tensor streams.\npackage cams\n\n//go:generate go tool tensorgen stubs streams.toml\n")
	write("cams_test.go", roundTripTest)
	run("generate", "./...")
	for _, f := range []string{"streams.tpool.go", "sensor/sensor.sbe.go"} {
		if _, err := os.Stat(filepath.Join(mod, f)); err != nil {
			t.Fatalf("go generate did not write %s: %v", f, err)
		}
	}
	run("mod", "tidy")
	run("build", "./...")
	run("vet", "./...")
	if out := run("test", "-count=1", "./..."); !strings.Contains(out, "ok") {
		t.Fatalf("go test: %s", out)
	}
}
