package aeron_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestImportDirections keeps the client and the media driver independent
// (both build on runtime/aeron/internal, runtime/shm and runtime/agent) and
// keeps unsafe out of them.
func TestImportDirections(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	const mod = "github.com/tpool-go/tpool/"
	tests := []struct {
		pkg       string
		forbidden []string
	}{
		{mod + "runtime/aeron", []string{mod + "runtime/aeron/mediadriver"}},
		{mod + "runtime/aeron/mediadriver", []string{mod + "runtime/aeron"}},
		{mod + "runtime/agent", []string{mod + "runtime/aeron", mod + "runtime/aeron/mediadriver", mod + "runtime/shm"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			out, err := exec.Command(goTool, "list", "-deps", tt.pkg).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			deps := strings.Fields(string(out))
			for _, f := range tt.forbidden {
				if slices.Contains(deps, f) {
					t.Errorf("%s depends on %s", tt.pkg, f)
				}
			}
		})
	}
	out, err := exec.Command(goTool, "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}",
		mod+"runtime/aeron/...", mod+"runtime/agent").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if slices.Contains(f[1:], "unsafe") {
			t.Errorf("%s imports unsafe (only runtime/shm may)", f[0])
		}
	}
}
