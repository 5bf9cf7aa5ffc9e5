package stubgen

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tpool-go/tpool/tensorgen/decl"
)

// ProfileName is the name of a stream's tpoold profile and stream table:
// "<package>_<stream name in lower case>".
func ProfileName(f *decl.File, s *decl.Stream) string {
	return f.Package + "_" + strings.ToLower(s.Name)
}

// Profile returns the tpoold configuration (profiles and streams tables)
// that gives each declared stream the pools its declaration needs: one
// payload pool whose stride holds the largest frame, with the declared
// number of slots. It is what the generated TpooldProfile holds.
func Profile(f *decl.File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# tpoold profiles for the streams declared in %s, made by tensorgen:\n", filepath.Base(f.Path))
	b.WriteString("# the pool sizes follow from each stream's dtype and (max) shape.\n")
	for _, s := range f.Streams {
		name := ProfileName(f, s)
		fmt.Fprintf(&b, "\n# %s: %s %v %s-major, largest frame %d bytes\n", s.Name, s.Dtype.Name, s.MaxShape, s.Order, s.MaxFrameBytes())
		fmt.Fprintf(&b, "[profiles.%s]\nheader_nslots = %d\n\n", name, s.Slots)
		fmt.Fprintf(&b, "[[profiles.%s.payload_pools]]\npool_id = 1\nstride_bytes = %d\n\n", name, s.StrideBytes)
		fmt.Fprintf(&b, "[streams.%s]\nstream_id = %d\nprofile = %q\n", name, s.StreamID, name)
	}
	return b.String()
}
