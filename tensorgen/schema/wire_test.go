package schema

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// wireOptions compares two schemas on what reaches the wire: positions and
// descriptions may differ.
var wireOptions = cmp.Options{
	cmpopts.IgnoreFields(Schema{}, "Pos", "Description"),
	cmpopts.IgnoreFields(Common{}, "Pos", "Description"),
	cmpopts.IgnoreFields(Member{}, "Pos"),
	cmpopts.EquateNaNs(),
}

// TestProtocolSchemasWireIdentical checks that the protocol schemas in
// schema/ describe the same wire format as the specification's: ids, names,
// types, order, presence, null values and block lengths. Positions and
// descriptions may differ.
func TestProtocolSchemasWireIdentical(t *testing.T) {
	skipWithout(t, specDir)
	specs, _ := filepath.Glob(filepath.Join(specDir, "*.xml"))
	ours, _ := filepath.Glob(filepath.Join(protocolDir, "*.xml"))
	if len(specs) == 0 {
		t.Fatalf("no schemas in %s", specDir)
	}
	have := map[string]bool{}
	for _, f := range ours {
		have[filepath.Base(f)] = true
	}
	for _, spec := range specs {
		name := filepath.Base(spec)
		t.Run(name, func(t *testing.T) {
			if !have[name] {
				t.Fatalf("%s has no counterpart in %s", name, protocolDir)
			}
			want := mustParse(t, spec)
			got := mustParse(t, filepath.Join(protocolDir, name))
			if diff := cmp.Diff(want, got, wireOptions); diff != "" {
				t.Errorf("%s differs from the specification (-spec +ours):\n%s", name, diff)
			}
		})
	}
	for name := range have {
		if _, err := os.Stat(filepath.Join(specDir, name)); err != nil {
			t.Errorf("%s/%s has no counterpart in the specification", protocolDir, name)
		}
	}
}

// TestWireCompareSeesDifferences makes sure the comparison above would
// notice a changed null value or block length.
func TestWireCompareSeesDifferences(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(protocolDir, "wire-schema.xml"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Parse("a.xml", src)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Parse("b.xml", src)
	if diff := cmp.Diff(a, b, wireOptions); diff != "" {
		t.Fatalf("same schema under two names differs:\n%s", diff)
	}
	b.Messages[0].Fields[0].Null = Value{U: 1}
	if cmp.Equal(a, b, wireOptions) {
		t.Error("changed null value not detected")
	}
	c, _ := Parse("c.xml", src)
	c.Messages[0].BlockLength++
	if cmp.Equal(a, c, wireOptions) {
		t.Error("changed block length not detected")
	}
}
