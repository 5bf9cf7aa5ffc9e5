package tomlconfig

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParse: any bytes give a configuration or errors, never a panic; a
// configuration that loads writes back to the same configuration.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.toml"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "[driver]\nstream_id_range = [1, 2]\n", "[profiles]\np.payload_pools = [{pool_id = 1, stride_bytes = 64}]\n",
		"[policies]\nepoch_gc_kep = 1\n", "a.b.c = 1\n[[x]]\n[[x]]\ny = [1, [2], {z = 3}]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := Parse("fuzz.toml", data, nil)
		if err != nil {
			for _, e := range Errors(err) {
				_ = e.Error()
			}
			return
		}
		b, err := Marshal(c)
		if err != nil {
			t.Fatalf("Marshal of a loaded config: %v", err)
		}
		back, _, err := Parse("marshalled", b, nil)
		if err != nil {
			t.Fatalf("Parse(Marshal(c)): %v\n%s", err, b)
		}
		if diff := cmp.Diff(c, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip (-before +after):\n%s", diff)
		}
	})
}
