package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAllocationTestsRunInCI: the race detector allocates, so some
// allocation tests skip under -race, which is how make test runs
// everything. make test therefore runs the tests whose names match the
// Makefile's ALLOC_TESTS once more without -race (and .ci/run runs make
// test). This test keeps that true: every test calling
// testing.AllocsPerRun must match ALLOC_TESTS, and no helper other than a
// test or benchmark may call it (its callers would not be checked).
func TestAllocationTestsRunInCI(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ALLOC_TESTS\s*\??=\s*(\S+)\s*$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("Makefile defines no ALLOC_TESTS")
	}
	pattern := regexp.MustCompile(string(m[1]))
	if !regexp.MustCompile(`(?m)^test:.*\n(\t.*\n)*\t\$\(GO\) test [^\n]*-run '\$\(ALLOC_TESTS\)'`).Match(mk) {
		t.Error("make test does not run -run '$(ALLOC_TESTS)'")
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^make test$`).Match(ci) {
		t.Error(".ci/run does not call make test")
	}

	found := 0
	fset := token.NewFileSet()
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || (strings.HasPrefix(n, ".") && path != "../..") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil || !callsAllocsPerRun(fn.Body) {
				continue
			}
			found++
			name := fn.Name.Name
			switch {
			case strings.HasPrefix(name, "Benchmark"), strings.HasPrefix(name, "Test") && pattern.MatchString(name):
			case strings.HasPrefix(name, "Test"):
				t.Errorf("%s: %s calls AllocsPerRun but does not match ALLOC_TESTS %q: rename it", fset.Position(fn.Pos()), name, pattern)
			default:
				t.Errorf("%s: helper %s calls AllocsPerRun: call it from a test whose name matches %q", fset.Position(fn.Pos()), name, pattern)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Error("found no test calling AllocsPerRun: the walk is broken")
	}
}

func callsAllocsPerRun(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok && s.Sel.Name == "AllocsPerRun" {
			if x, ok := s.X.(*ast.Ident); ok && x.Name == "testing" {
				found = true
			}
		}
		return !found
	})
	return found
}
