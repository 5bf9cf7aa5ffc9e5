package gen_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"

	"github.com/tpool-go/tpool/gen/discovery"
	"github.com/tpool-go/tpool/runtime/sbe"
)

// discoveryRequestWithTags returns a DiscoveryRequest whose tags group
// announces n entries of block length 0, each an empty tag (4 bytes).
func discoveryRequestWithTags(n int) []byte {
	b := make([]byte, 8+discovery.DiscoveryRequestBlockLength+4+4*n+8)
	binary.LittleEndian.PutUint16(b[0:], discovery.DiscoveryRequestBlockLength)
	binary.LittleEndian.PutUint16(b[2:], discovery.DiscoveryRequestTemplateID)
	binary.LittleEndian.PutUint16(b[4:], discovery.SchemaID)
	binary.LittleEndian.PutUint16(b[6:], discovery.SchemaVersion)
	g := b[8+discovery.DiscoveryRequestBlockLength:]
	binary.LittleEndian.PutUint16(g[0:], 0)
	binary.LittleEndian.PutUint16(g[2:], uint16(n))
	return b
}

// TestAppendJSONLimit checks the bound on the group entries AppendJSON
// renders: a few input bytes per entry once produced JSON without limit
// (65,535 empty entries from a 32-byte input made 5 MB).
func TestAppendJSONLimit(t *testing.T) {
	for _, tc := range []struct {
		entries int
		err     error
	}{
		{0, nil},
		{sbe.MaxJSONEntries, nil},
		{sbe.MaxJSONEntries + 1, sbe.ErrJSONLimit},
		{65535, sbe.ErrJSONLimit},
	} {
		var d discovery.Dispatcher
		m, err := d.Decode(discoveryRequestWithTags(tc.entries))
		if err != nil {
			t.Fatalf("%d entries: %v", tc.entries, err)
		}
		out, err := m.AppendJSON(nil)
		if !errors.Is(err, tc.err) {
			t.Errorf("%d entries: AppendJSON error %v, want %v", tc.entries, err, tc.err)
		}
		if err == nil && !json.Valid(out) {
			t.Errorf("%d entries: invalid JSON", tc.entries)
		}
		// Each rendered entry is {"tag":""} and a comma: the output stays
		// within the bound whatever the count.
		if max := 1024 + 11*sbe.MaxJSONEntries; len(out) > max {
			t.Errorf("%d entries: %d bytes of JSON, more than %d", tc.entries, len(out), max)
		}
		if s := m.String(); err != nil && s != err.Error() {
			t.Errorf("String() = %q, want the error", s)
		}
	}
}
