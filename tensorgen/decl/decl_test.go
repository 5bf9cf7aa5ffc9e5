package decl

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tpool-go/tpool/tensorgen/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/<name>.golden (rewritten with -update).
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// dump writes what a declaration resolved to, one stream a paragraph.
func dump(f *File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package %s\n", f.Package)
	for _, s := range f.Streams {
		fmt.Fprintf(&b, "\nstream %s (line %d)\n", s.Name, s.Line)
		fmt.Fprintf(&b, "  stream_id %d\n  dtype %s (Go %s, %d bytes, pool.%s)\n  order %s\n", s.StreamID, s.Dtype.Name, s.Dtype.GoType, s.Dtype.Size, s.Dtype.Wire, s.Order)
		fmt.Fprintf(&b, "  shape %v max_shape %v dynamic %v\n", s.Shape, s.MaxShape, s.Dynamic())
		fmt.Fprintf(&b, "  max frame %d bytes, stride %d, slots %d\n", s.MaxFrameBytes(), s.StrideBytes, s.Slots)
		if m := s.Metadata; m != nil {
			fmt.Fprintf(&b, "  metadata %s: message id %d, block %d bytes, schema %s id %d\n", m.Name, m.Message.ID, m.Message.BlockLength, filepath.ToSlash(m.SchemaFile), m.Schema.ID)
		}
	}
	return b.String()
}

func TestValidGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.toml")
	if len(files) == 0 {
		t.Fatal("no testdata/valid/*.toml")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(file, ".toml")+".golden", dump(f))
		})
	}
}

// Every invalid declaration is rejected with the errors of its golden
// file; every error names the file, a line and column, and a key.
func TestInvalidGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.toml")
	if len(files) == 0 {
		t.Fatal("no testdata/invalid/*.toml")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := ParseFile(file)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not match ErrInvalid", err)
			}
			errs := Errors(err)
			if len(errs) == 0 {
				t.Fatalf("no *Error in %v", err)
			}
			for _, e := range errs {
				if e.File != file || e.Line == 0 || e.Column == 0 || (e.Key == "" && filepath.Base(file) != "syntax.toml") {
					t.Errorf("error without file, line, column or key: %#v", e)
				}
			}
			golden(t, strings.TrimSuffix(file, ".toml")+".golden", err.Error()+"\n")
		})
	}
}

// The rejections the issue lists, each with its own message (a table, so a
// rule whose message changes or disappears is seen here by name).
func TestRejections(t *testing.T) {
	const head = "package = \"x\"\n\n[[stream]]\nname = \"A\"\nstream_id = 1\n"
	tests := []struct {
		name, body, want string
	}{
		{"unknown dtype", `dtype = "complex64"` + "\nshape = [1]", `6:1: stream[0].dtype: unknown dtype "complex64"`},
		{"zero dim", "dtype = \"uint8\"\nshape = [3, 0]", "7:13: stream[0].shape[1]: 0: a fixed dim must be positive"},
		{"negative dim", "dtype = \"uint8\"\nshape = [-2]", "7:10: stream[0].shape[0]: -2: a fixed dim must be positive"},
		{"dynamic without bound", "dtype = \"uint8\"\nshape = [-1]", "7:10: stream[0].shape[0]: dynamic dim (-1) without a bound"},
		{"too many dims", "dtype = \"uint8\"\nshape = [1,1,1,1,1,1,1,1,1]", "7:1: stream[0].shape: 9 dims; the wire spec allows 1 to 8"},
		{"no dims", "dtype = \"uint8\"\nshape = []", "7:1: stream[0].shape: 0 dims; the wire spec allows 1 to 8"},
		{"larger than a slot", "dtype = \"uint8\"\nshape = [65]\nstride_bytes = 64", "8:1: stream[0].stride_bytes: a frame of uint8 [65] is 65 bytes; a pool slot of 64 bytes cannot hold it"},
		{"larger than any slot", "dtype = \"uint64\"\nshape = [268435457]", "7:1: stream[0].shape: a frame of uint64 [268435457] is more than 2147483648 bytes; the largest pool slot holds 2147483648"},
		{"exactly the largest slot", "dtype = \"uint64\"\nshape = [268435456]", ""},
		{"metadata not in schemas", "dtype = \"uint8\"\nshape = [1]\nmetadata = \"sensor.Nope\"\nschemas = [\"camera-meta.xml\"]", `stream[0].metadata: schema package "sensor" (camera-meta.xml) has no message "Nope"`},
		{"metadata without schemas", "dtype = \"uint8\"\nshape = [1]\nmetadata = \"sensor.CameraInfo\"", "stream[0].metadata: needs schemas"},
		{"metadata found", "dtype = \"uint8\"\nshape = [1]\nmetadata = \"sensor.CameraInfo\"\nschemas = [\"camera-meta.xml\"]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("d.toml", []byte(head+tt.body+"\n"), "testdata")
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(f.Streams) != 1 {
					t.Fatalf("%d streams", len(f.Streams))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDuplicateNamesAndIDs(t *testing.T) {
	src := "package = \"x\"\n" +
		"[[stream]]\nname = \"A\"\nstream_id = 1\ndtype = \"uint8\"\nshape = [1]\n" +
		"[[stream]]\nname = \"A\"\nstream_id = 1\ndtype = \"uint8\"\nshape = [1]\n"
	_, err := Parse("d.toml", []byte(src), ".")
	errs := Errors(err)
	if len(errs) != 2 {
		t.Fatalf("%d errors, want the name and the id: %v", len(errs), err)
	}
	if errs[0].Key != "stream[1].name" || errs[1].Key != "stream[1].stream_id" {
		t.Errorf("keys %q, %q", errs[0].Key, errs[1].Key)
	}
}

func TestStrideSizing(t *testing.T) {
	tests := []struct {
		dtype, shape string
		stride       uint32
	}{
		{"uint8", "[1]", 64},
		{"uint8", "[64]", 64},
		{"uint8", "[65]", 128},
		{"uint16", "[480, 640]", 1 << 20},
		{"float32", "[-1, 3]\nmax_shape = [65536, 3]", 1 << 20},
		{"float32", "[-1, 3]\nmax_shape = [100000, 3]", 2 << 20},
	}
	for _, tt := range tests {
		src := fmt.Sprintf("package = \"x\"\n[[stream]]\nname = \"A\"\nstream_id = 1\ndtype = %q\nshape = %s\n", tt.dtype, tt.shape)
		f, err := Parse("d.toml", []byte(src), ".")
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Streams[0].StrideBytes; got != tt.stride {
			t.Errorf("%s %s: stride %d, want %d", tt.dtype, tt.shape, got, tt.stride)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/valid", "testdata/invalid"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	// Schemas are read only from testdata: a fuzzed path could name
	// /dev/zero.
	load := func(path string) (*schema.Schema, error) {
		if rel, err := filepath.Rel("testdata", path); err != nil || strings.HasPrefix(rel, "..") || filepath.IsAbs(path) {
			return nil, fmt.Errorf("%s: outside testdata (fuzzing)", path)
		}
		if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("%s: not a regular file", path)
		}
		return schema.ParseFile(path)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := parse("fuzz.toml", data, "testdata", load)
		if err != nil {
			if file != nil {
				t.Fatal("a file and an error")
			}
			for _, e := range Errors(err) {
				if e.File != "fuzz.toml" {
					t.Fatalf("error names %q", e.File)
				}
			}
			return
		}
		for _, s := range file.Streams {
			if s.Name == "" || s.StreamID == 0 || s.Dtype.Size == 0 || len(s.Shape) == 0 || len(s.Shape) > MaxDims || len(s.MaxShape) != len(s.Shape) {
				t.Fatalf("accepted an incomplete stream: %+v", s)
			}
			n := s.MaxFrameBytes()
			if n > int64(s.StrideBytes) || s.StrideBytes%MinStrideBytes != 0 || s.StrideBytes&(s.StrideBytes-1) != 0 {
				t.Fatalf("frame of %d bytes in stride %d", n, s.StrideBytes)
			}
			for i, d := range s.MaxShape {
				if d <= 0 || (s.Shape[i] != -1 && s.Shape[i] != d) {
					t.Fatalf("max_shape %v for shape %v", s.MaxShape, s.Shape)
				}
			}
		}
	})
}
