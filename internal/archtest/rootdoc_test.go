package archtest

import (
	"os"
	"strings"
	"testing"
)

// The root package doc (doc.go, package tpool) maps the packages for a
// newcomer: every public package under runtime/ (not internal ones) and
// every command must appear in it, so the map stays complete as packages
// are added.
func TestRootDocMapsEveryPackage(t *testing.T) {
	doc, err := os.ReadFile("../../doc.go")
	if err != nil {
		t.Fatalf("the root package doc: %v", err)
	}
	text := string(doc)
	if !strings.Contains(text, "\npackage tpool\n") {
		t.Fatal("doc.go is not package tpool")
	}
	for pkg := range deps(t) {
		public := strings.HasPrefix(pkg, "runtime/") || strings.HasPrefix(pkg, "cmd/")
		if !public || strings.Contains(pkg, "/internal") || strings.HasSuffix(pkg, "/interop") {
			continue
		}
		if !strings.Contains(text, pkg) {
			t.Errorf("doc.go does not mention %s", pkg)
		}
	}
}
