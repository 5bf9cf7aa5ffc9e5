package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
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

	"example.com/cams/internal/lidarstubs"
	lidarsensor "example.com/cams/internal/lidarstubs/sensor"
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

	// The stubs a directive in lidar/ wrote to internal/lidarstubs with
	// -out, their metadata codec in a subpackage of that directory.
	var sp lidarstubs.ScanProducer
	sp.Meta().SetSerial(7)
	if b, err = sp.MetaBytes(); err != nil {
		t.Fatal(err)
	}
	var sdec lidarsensor.CameraInfoDecoder
	if err := lidarstubs.DecodeScanMeta(b, &sdec); err != nil || sdec.Serial() != 7 {
		t.Fatalf("lidar metadata: %v", err)
	}
	if s := lidarstubs.ScanSpec(); s.StreamID != 20000 || len(s.Shape) != 2 || s.Shape[0] != -1 {
		t.Fatalf("lidar spec %+v", s)
	}
}
`

// lidarDecl is a declaration kept in the lidar/ package whose directive
// sends the stubs elsewhere with -out.
const lidarDecl = `package = "lidarstubs"

[[stream]]
name      = "Scan"
stream_id = 20000
dtype     = "float32"
shape     = [-1, 4]
max_shape = [1024, 4]
metadata  = "sensor.CameraInfo"
schemas   = ["../camera-meta.xml"]
`

// toolPath is the package a user's module adds as a tool, spelled as the
// README and docs/STUBS.md tell users to.
const toolPath = "github.com/tpool-go/tpool/cmd/tensorgen"

// checkoutVersion is the version the checkout is served as. A
// prerelease: the only version the test proxy lists, so it is what "latest"
// resolves to, and it cannot be mistaken for a published one.
const checkoutVersion = "v0.0.0-checkout"

// A module of its own uses tensorgen the way the README says:
//
//	go get -tool github.com/tpool-go/tpool/cmd/tensorgen
//
// run literally, then tensorgen init, //go:generate directives (one
// writing into its own package, one sending its output elsewhere with
// -out), go generate, go mod tidy, build, vet, and a round trip through
// the generated stubs.
//
// tpool is not published, so go get cannot find it on the module proxy.
// The test serves this checkout itself: a file module proxy in a temporary
// directory holds github.com/tpool-go/tpool at checkoutVersion, zipped from
// the working tree (uncommitted changes included, see proxyFiles), and
// GOPROXY lists it before the module cache's download directory and the
// GOPROXY the go command would use anyway (for dependencies the cache
// lacks). The go commands of the test module run with:
//
//   - GOMODCACHE in the temporary directory (with -modcacherw, so it can
//     be removed): the checkout's zip is extracted there, never into the
//     user's module cache, where a later run would find a stale copy of
//     the same version and a concurrent run a different one;
//   - -trimpath: dependencies' compiled packages then do not depend on
//     where that module cache is, so the build cache serves them from the
//     previous run to go build, vet and test (speed only; go tool takes no
//     build flags, so it compiles tensorgen and what it imports every run);
//   - GONOSUMDB=github.com/tpool-go/tpool only: the checksum database has
//     no record of the checkout's zip, and every other module is still
//     checked, against the go.sum of this checkout that the test module
//     starts with. That go.sum holds what sum.golang.org said for the same
//     modules at the same versions; starting with it spares the network
//     and keeps the test working offline. GOSUMDB=off would skip the check
//     for every module, GOFLAGS=-mod=mod is not needed: the commands run
//     with the default -mod=readonly like a user's;
//   - GOFLAGS exactly "-modcacherw -trimpath": the caller's (CI's
//     -mod=readonly, a developer's -mod=vendor) are not inherited;
//   - GOPRIVATE and GONOPROXY empty (a developer's GOPRIVATE covering
//     tpool would send go get to GitHub), GOWORK=off, GOTOOLCHAIN=local.
//
// It skips only without a go command, or when a dependency is neither in
// the module cache nor downloadable (offline, or GOPROXY=off).
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
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute) // a hang, not a speed limit
	defer cancel()

	var goenv struct{ GOPROXY, GOMODCACHE string }
	out, err := exec.CommandContext(ctx, goBin, "env", "-json", "GOPROXY", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	if err := json.Unmarshal(out, &goenv); err != nil {
		t.Fatalf("go env: %v", err)
	}
	tmp := t.TempDir()
	proxy, mod := filepath.Join(tmp, "proxy"), filepath.Join(tmp, "cams")
	pm, err := writeModuleProxy(proxy, checkout, module.Version{Path: "github.com/tpool-go/tpool", Version: checkoutVersion})
	if err != nil {
		t.Fatalf("serving the checkout: %v", err)
	}
	t.Logf("checkout served as %s: %d files listed by %s, zip %d KiB, left out: %v",
		checkoutVersion, pm.Files, pm.Listed, pm.Size>>10, pm.Omitted)
	goproxy := fileURL(proxy)
	if goenv.GOMODCACHE != "" {
		goproxy += "," + fileURL(filepath.Join(goenv.GOMODCACHE, "cache", "download"))
	}
	if goenv.GOPROXY != "" {
		goproxy += "," + goenv.GOPROXY
	}
	env := append(os.Environ(),
		"GOPROXY="+goproxy,
		"GOMODCACHE="+filepath.Join(tmp, "modcache"),
		"GOFLAGS=-modcacherw -trimpath",
		"GONOSUMDB=github.com/tpool-go/tpool",
		"GOPRIVATE=", "GONOPROXY=",
		"GOWORK=off",
		"GOTOOLCHAIN=local",
	)

	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(mod, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mod, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) string {
		t.Helper()
		start := time.Now()
		cmd := exec.CommandContext(ctx, goBin, args...)
		cmd.Dir, cmd.Env = mod, env
		out, err := cmd.CombinedOutput()
		if err != nil && args[0] != "test" && unreachable(string(out)) {
			t.Skipf("a dependency is neither in the module cache nor downloadable: go %s: %s", strings.Join(args, " "), out)
		}
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		// CPU time is the go command's and its tools' (compile, link):
		// on a loaded machine the wall time says little.
		ps := cmd.ProcessState
		t.Logf("go %s: %v (cpu %v)", strings.Join(args, " "), time.Since(start).Round(time.Millisecond),
			(ps.UserTime() + ps.SystemTime()).Round(time.Millisecond))
		return string(out)
	}

	write("go.mod", "module example.com/cams\n\ngo 1.26\n")
	sum, err := os.ReadFile(filepath.Join(checkout, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", string(sum))

	run("get", "-tool", toolPath)
	gomod, err := os.ReadFile(filepath.Join(mod, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(mf.Tool) != 1 || mf.Tool[0].Path != toolPath {
		t.Fatalf("go get -tool left go.mod without the tool:\n%s", gomod)
	}
	var required bool
	for _, r := range mf.Require {
		required = required || (r.Mod.Path == "github.com/tpool-go/tpool" && r.Mod.Version == checkoutVersion)
	}
	if !required || len(mf.Replace) != 0 {
		t.Fatalf("go get -tool did not require the served checkout:\n%s", gomod)
	}

	out2 := run("tool", "tensorgen", "init", "-package", "cams")
	if !strings.Contains(out2, "streams.toml") {
		t.Fatalf("init: %s", out2)
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
	write("lidar/lidar.go", "// Package lidar holds a declaration whose stubs go elsewhere.\npackage lidar\n\n//go:generate go tool tensorgen stubs -out ../internal/lidarstubs scan.toml\n")
	write("lidar/scan.toml", lidarDecl)
	write("cams_test.go", roundTripTest)
	run("generate", "./...")
	// The output lands in the package holding the directive, or in -out.
	for dir, want := range map[string][]string{
		".":                          {"cams.go", "cams_test.go", "streams.tpool.go"},
		"sensor":                     {"sensor.sbe.go"},
		"lidar":                      {"lidar.go", "scan.toml"},
		"internal/lidarstubs":        {"scan.tpool.go"},
		"internal/lidarstubs/sensor": {"sensor.sbe.go"},
	} {
		ents, err := os.ReadDir(filepath.Join(mod, dir))
		if err != nil {
			t.Fatalf("go generate: %v", err)
		}
		var got []string
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".go") || (dir == "lidar" && strings.HasSuffix(e.Name(), ".toml")) {
				got = append(got, e.Name())
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("after go generate %s/ holds %v, want %v", dir, got, want)
		}
	}
	if src, err := os.ReadFile(filepath.Join(mod, "internal/lidarstubs/scan.tpool.go")); err != nil ||
		!bytes.Contains(src, []byte("\npackage lidarstubs\n")) ||
		!bytes.Contains(src, []byte(`"example.com/cams/internal/lidarstubs/sensor"`)) {
		t.Errorf("-out stubs: package or codec import path wrong (%v):\n%.600s", err, src)
	}
	run("mod", "tidy")
	run("build", "./...")
	run("vet", "./...")
	if out := run("test", "-count=1", "./..."); !strings.Contains(out, "ok") {
		t.Fatalf("go test: %s", out)
	}
}

// unreachable reports whether go command output says a module could not
// be downloaded because nothing that serves it can be reached: GOPROXY=off,
// or a request to a proxy that failed in the network.
func unreachable(out string) bool {
	if strings.Contains(out, "module lookup disabled by GOPROXY=off") {
		return true
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, `Get "http`) {
			continue
		}
		for _, s := range []string{"dial tcp", "no such host", "network is unreachable", "connection refused", "i/o timeout"} {
			if strings.Contains(line, s) {
				return true
			}
		}
	}
	return false
}
