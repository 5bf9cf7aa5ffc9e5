package tensorgen

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/tpool-go/tpool/tensorgen/decl"
	"github.com/tpool-go/tpool/tensorgen/stubgen"
)

// StubsConfig says what `tensorgen stubs` generates.
type StubsConfig struct {
	// Declaration is the stream declaration file.
	Declaration string
	// OutDir receives the stubs (the package's directory) and, for
	// metadata schemas, one codec subdirectory each.
	OutDir string
	// ImportPath is the output package's import path; empty: found from
	// the go.mod above OutDir (needed only for metadata codecs).
	ImportPath string
}

// BuildStubs parses the declaration and generates its stubs in memory,
// with paths under OutDir.
func BuildStubs(cfg StubsConfig) ([]Output, error) {
	f, err := decl.ParseFile(cfg.Declaration)
	if err != nil {
		return nil, err
	}
	imp := cfg.ImportPath
	if imp == "" && needsImportPath(f) {
		if imp, err = ImportPath(cfg.OutDir); err != nil {
			return nil, err
		}
	}
	// The header names the declaration relative to the output directory,
	// so the output does not depend on where tensorgen ran.
	src := filepath.ToSlash(cfg.Declaration)
	if rel, err := filepath.Rel(cfg.OutDir, cfg.Declaration); err == nil {
		src = filepath.ToSlash(rel)
	}
	gen, err := stubgen.Generate(f, stubgen.Options{Source: src, ImportPath: imp})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.Declaration, err)
	}
	outs := make([]Output, len(gen))
	for i, g := range gen {
		outs[i] = Output{Schema: cfg.Declaration, Package: f.Package, Path: filepath.Join(cfg.OutDir, filepath.FromSlash(g.Path)), Source: g.Source}
	}
	return outs, nil
}

func needsImportPath(f *decl.File) bool {
	for _, s := range f.Streams {
		if s.Metadata != nil {
			return true
		}
	}
	return false
}

// GenerateStubs builds and writes the stubs; nothing is written unless
// everything generated.
func GenerateStubs(cfg StubsConfig) ([]Output, error) {
	outs, err := BuildStubs(cfg)
	if err != nil {
		return nil, err
	}
	return outs, Write(outs)
}

// ImportPath returns the import path of the package in dir, from the
// module path in the nearest go.mod at or above it.
func ImportPath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		mod, err := modulePath(filepath.Join(d, "go.mod"))
		switch {
		case err == nil:
			rel, err := filepath.Rel(d, abs)
			if err != nil {
				return "", err
			}
			return path.Join(mod, filepath.ToSlash(rel)), nil
		case !errors.Is(err, os.ErrNotExist):
			return "", err
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod at or above %s: cannot tell the output's import path (give -import-path)", abs)
		}
	}
}

func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			mod := strings.Trim(strings.TrimSpace(rest), `"`)
			if i := strings.Index(mod, "//"); i >= 0 {
				mod = strings.TrimSpace(mod[:i])
			}
			if mod != "" {
				return mod, nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("%s: no module line", gomod)
}
