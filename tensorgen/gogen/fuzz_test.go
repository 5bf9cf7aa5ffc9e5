package gogen

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tpool-go/tpool/tensorgen/schema"
)

// FuzzGenerate runs the emitter on every schema that Parse accepts: it
// must return code or an error, never panic or hang. Seeds are the test
// schemas, the protocol schemas, the shared vectors and the hardening
// vectors (which Parse now rejects; mutations of them reach near-limit
// sizes). Includes resolve against the seed's own directory.
func FuzzGenerate(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{
		"../schema/testdata/sbe/schemas/*.xml",
		"../../schema/*.xml",
		"../../../shared/vectors/sbe/schemas/*.xml",
		"../../../shared/vectors/hardening/*.xml",
	} {
		files, _ := filepath.Glob(pattern)
		seeds = append(seeds, files...)
	}
	for _, file := range seeds {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	name := filepath.Join("..", "schema", "testdata", "sbe", "schemas", "fuzz.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := schema.Parse(name, data)
		if err != nil {
			return
		}
		// A block's init and null images are emitted as byte literals, so
		// generation is linear in the block lengths, which may reach 16
		// MiB; keep each input fast by skipping blocks beyond 64 KiB.
		for _, m := range s.Messages {
			if m.BlockLength > 1<<16 || bigGroups(m.Groups) {
				return
			}
		}
		if _, err := Generate(s, Options{Package: "fuzz", Source: "fuzz.xml"}); err != nil {
			// Name clashes between generated identifiers are reported as
			// errors; anything else is fine as long as it does not panic.
			_ = err
		}
	})
}

func bigGroups(groups []*schema.Group) bool {
	for _, g := range groups {
		if g.BlockLength > 1<<16 || bigGroups(g.Groups) {
			return true
		}
	}
	return false
}
