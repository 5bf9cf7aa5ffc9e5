package schema

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse: it must return a schema or an
// error, never panic. Includes resolve against testdata/sbe/schemas, so the
// seeds that include common-types.xml parse in full.
func FuzzParse(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{
		"testdata/sbe/schemas/*.xml",
		"testdata/sbe/invalid/*.xml",
		filepath.Join(protocolDir, "*.xml"),
		filepath.Join(vectorsDir, "sbe/schemas/*.xml"),
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
	name := filepath.Join("testdata", "sbe", "schemas", "fuzz.xml")
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(name, data)
		switch {
		case err == nil && s == nil:
			t.Fatal("nil schema and nil error")
		case err != nil && s != nil:
			t.Fatal("schema returned with an error")
		case err != nil && !errors.Is(err, ErrInvalid):
			t.Fatalf("error does not match ErrInvalid: %v", err)
		}
		if err == nil {
			// The accessors the emitter relies on must hold for any
			// accepted schema.
			for _, m := range s.Messages {
				checkBlocks(t, m.Data, m.Groups)
			}
		}
	})
}

func checkBlocks(t *testing.T, data []*Data, groups []*Group) {
	for _, d := range data {
		_ = d.LengthType()
		_ = d.MaxLength()
		_ = d.CharacterEncoding()
	}
	for _, g := range groups {
		if g.Dimension == nil {
			t.Fatalf("group %s without dimension", g.Name)
		}
		checkBlocks(t, g.Data, g.Groups)
	}
}
