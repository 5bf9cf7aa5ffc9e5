package mediadriver

import (
	"bytes"
	"log/slog"
	"runtime"
	"strings"
	"testing"
)

func TestMinGOMAXPROCS(t *testing.T) {
	for mode, want := range map[ThreadingMode]int{ThreadingDedicated: 4, ThreadingSharedNetwork: 3, ThreadingShared: 2} {
		if got := mode.MinGOMAXPROCS(); got != want {
			t.Errorf("%s: MinGOMAXPROCS %d, want %d", mode, got, want)
		}
	}
}

// TestGOMAXPROCSWarning: the first UDP endpoint of a driver whose threading
// mode needs more Ps than GOMAXPROCS logs one warning; enough Ps, none.
func TestGOMAXPROCSWarning(t *testing.T) {
	tests := []struct {
		mode  ThreadingMode
		procs int
		warn  bool
	}{
		{ThreadingDedicated, 2, true},
		{ThreadingDedicated, 4, false},
		{ThreadingSharedNetwork, 2, true},
		{ThreadingSharedNetwork, 3, false},
		{ThreadingShared, 2, false},
		{ThreadingShared, 1, true},
	}
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	for _, tt := range tests {
		runtime.GOMAXPROCS(tt.procs)
		var out bytes.Buffer
		c := &conductor{log: slog.New(slog.NewTextHandler(&out, nil)),
			udp: newUDPState(UDPConfig{Threading: tt.mode}, newSystemCountersForTest())}
		c.checkGOMAXPROCS()
		c.checkGOMAXPROCS() // a second endpoint: no second warning
		if got := strings.Count(out.String(), "GOMAXPROCS is below"); got != map[bool]int{true: 1, false: 0}[tt.warn] {
			t.Errorf("%s at GOMAXPROCS %d: %d warnings, want warn=%v:\n%s", tt.mode, tt.procs, got, tt.warn, out.String())
		}
	}
}
