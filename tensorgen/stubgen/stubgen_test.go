package stubgen

import (
	"bytes"
	"flag"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpool-go/tpool/runtime/driver/tomlconfig"
	"github.com/tpool-go/tpool/tensorgen/decl"
	"github.com/tpool-go/tpool/tensorgen/gogen"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The declarations of tensorgen/decl's valid tests, generated: the output
// is compared with testdata/<name>.<file>.golden, is gofmt'd, marked and
// deterministic. (internal/stubtest compiles and runs such stubs.)
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("../decl/testdata/valid/*.toml")
	if len(files) == 0 {
		t.Fatal("no declarations")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".toml")
		t.Run(name, func(t *testing.T) {
			f, err := decl.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{Source: name + ".toml", ImportPath: "example.com/app/" + f.Package}
			outs, err := Generate(f, opts)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := Generate(f, opts)
			for i, o := range outs {
				if !bytes.HasPrefix(o.Source, []byte("// "+gogen.Header+"\n")) {
					t.Errorf("%s: no generated-code header", o.Path)
				}
				if formatted, err := format.Source(o.Source); err != nil || !bytes.Equal(formatted, o.Source) {
					t.Errorf("%s: not gofmt'd (%v)", o.Path, err)
				}
				if !bytes.Equal(o.Source, again[i].Source) || o.Path != again[i].Path {
					t.Errorf("%s: differs between runs", o.Path)
				}
				golden := filepath.Join("testdata", name+"."+strings.ReplaceAll(o.Path, "/", "_")+".golden")
				if *update {
					if err := os.WriteFile(golden, o.Source, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (go test -update writes it)", err)
				}
				if !bytes.Equal(o.Source, want) {
					t.Errorf("%s differs from %s (go test -update rewrites it)", o.Path, golden)
				}
			}
		})
	}
}

// The profile a declaration generates is a valid tpoold configuration
// whose pools hold each stream's largest frame.
func TestProfileIsValidTpooldConfig(t *testing.T) {
	files, _ := filepath.Glob("../decl/testdata/valid/*.toml")
	for _, file := range files {
		f, err := decl.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _, err := tomlconfig.Parse("profile.toml", []byte(Profile(f)), nil)
		if err != nil {
			t.Fatalf("%s: %v\n%s", file, err, Profile(f))
		}
		for _, s := range f.Streams {
			found := false
			for _, sc := range cfg.Streams {
				if sc.StreamID != s.StreamID {
					continue
				}
				found = true
				for _, p := range cfg.Profiles {
					if p.Name == sc.Profile && (p.HeaderNslots != s.Slots || int64(p.PayloadPools[0].StrideBytes) < s.MaxFrameBytes()) {
						t.Errorf("%s: profile %+v for %d-byte frames in %d slots", s.Name, p, s.MaxFrameBytes(), s.Slots)
					}
				}
			}
			if !found {
				t.Errorf("%s: stream %d not in the profile", s.Name, s.StreamID)
			}
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	parse := func(src string) *decl.File {
		f, err := decl.Parse("d.toml", []byte(src), "../decl/testdata")
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	const meta = "package = \"x\"\n[[stream]]\nname = \"A\"\nstream_id = 1\ndtype = \"uint8\"\nshape = [1]\nmetadata = \"sensor.CameraInfo\"\nschemas = [\"camera-meta.xml\"]\n"
	if _, err := Generate(parse(meta), Options{Source: "d.toml"}); err == nil || !strings.Contains(err.Error(), "import path") {
		t.Errorf("metadata without an import path: %v", err)
	}
	// Stream NewPoints's producer type is stream Points's constructor.
	const clash = "package = \"x\"\n" +
		"[[stream]]\nname = \"Points\"\nstream_id = 1\ndtype = \"uint8\"\nshape = [1]\n" +
		"[[stream]]\nname = \"NewPoints\"\nstream_id = 2\ndtype = \"uint8\"\nshape = [1]\n"
	_, err := Generate(parse(clash), Options{Source: "d.toml"})
	if err == nil || !strings.Contains(err.Error(), "stream Points and stream NewPoints both generate NewPointsProducer") {
		t.Fatalf("clashing names: %v", err)
	}
}
