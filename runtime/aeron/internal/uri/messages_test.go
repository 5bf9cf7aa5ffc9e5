package uri

import (
	"errors"
	"strings"
	"testing"
)

// The error for a channel without the aeron: prefix says what a channel
// looks like, with no doubled colon (issue 13).
func TestParseMissingPrefixMessage(t *testing.T) {
	_, err := Parse("ipc")
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Parse(ipc) = %v, want ErrInvalid", err)
	}
	want := `"ipc" does not start with "aeron:" (e.g. aeron:ipc or aeron:udp?endpoint=host:port): uri: invalid channel`
	if err.Error() != want {
		t.Errorf("Parse(ipc) = %q, want %q", err, want)
	}
	if strings.Contains(err.Error(), ": :") {
		t.Errorf("doubled colon in %q", err)
	}
}
