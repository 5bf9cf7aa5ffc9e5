package gen_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestViewsInline guards the speed of the value-type codecs (issue 10,
// docs/TENSORGEN.md "Views and writers"): their fast paths only beat the
// pointer-receiver codecs because Go inlines them into the caller, and
// Decoder.View sits exactly at the inliner's budget (cost 80 of 80). A
// generator change or a Go release that pushes one over fails here, not
// silently in a benchmark. It asks the compiler (go build -gcflags=-m=2,
// replayed from the build cache when nothing changed).
func TestViewsInline(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("needs the go command on PATH to ask the compiler what it inlines")
	}
	cmd := exec.Command(goTool, "build", "-gcflags=-m=2", "./bridge", "./discovery", "./driver", "./joinbarrier", "./tracelink", "./wire")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build -gcflags=-m=2: %v\n%s", err, out)
	}
	decision := regexp.MustCompile(`(can|cannot) inline (\(\*\w+Decoder\)\.View|New\w+Writer|\w+(?:View|Writer)\.\w+)\b`)
	seen := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		m := decision.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		seen[m[2]] = true
		if m[1] == "cannot" {
			t.Errorf("%s is not inlined: %s", m[2], line)
		}
	}
	for _, want := range []string{
		"(*FrameDescriptorDecoder).View", "NewFrameDescriptorWriter",
		"FrameDescriptorView.Seq", "FrameDescriptorView.TraceIdIsNull", "FrameDescriptorWriter.SetSeq",
	} {
		if !seen[want] {
			t.Errorf("the compiler said nothing about %s (%d decisions seen)", want, len(seen))
		}
	}
}
