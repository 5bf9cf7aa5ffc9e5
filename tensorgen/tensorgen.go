package tensorgen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tpool-go/tpool/tensorgen/gogen"
	"github.com/tpool-go/tpool/tensorgen/schema"
)

// Config says what to generate.
type Config struct {
	// OutDir receives one directory per schema, named after its package.
	OutDir string
	// Schemas are the schema files to read.
	Schemas []string
	// Package overrides the package name derived from the file name. It is
	// only allowed with a single schema.
	Package string
	// SourceRoot, when set, makes the schema path in each file's header
	// relative to it, so output does not depend on the working directory.
	SourceRoot string
}

// Output is one generated file.
type Output struct {
	Schema  string // schema file it came from
	Package string
	Path    string // OutDir/<package>/<package>.sbe.go
	Source  []byte
}

// Build parses every schema and generates its codecs in memory. Nothing is
// written; an error in any schema fails the whole build.
func Build(cfg Config) ([]Output, error) {
	if len(cfg.Schemas) == 0 {
		return nil, errors.New("no schema files given")
	}
	if cfg.Package != "" && len(cfg.Schemas) > 1 {
		return nil, errors.New("-package needs exactly one schema")
	}
	var outs []Output
	var errs []error
	seen := map[string]string{}
	for _, file := range cfg.Schemas {
		s, err := schema.ParseFile(file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pkg := cfg.Package
		if pkg == "" {
			pkg = gogen.PackageName(file)
		}
		if prev, ok := seen[pkg]; ok {
			errs = append(errs, fmt.Errorf("%s and %s both map to package %s; use separate runs with -package", prev, file, pkg))
			continue
		}
		seen[pkg] = file
		src := filepath.ToSlash(file)
		if cfg.SourceRoot != "" {
			if rel, err := filepath.Rel(cfg.SourceRoot, file); err == nil {
				src = filepath.ToSlash(rel)
			}
		}
		code, err := gogen.Generate(s, gogen.Options{Package: pkg, Source: src})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
			continue
		}
		outs = append(outs, Output{Schema: file, Package: pkg, Path: filepath.Join(cfg.OutDir, pkg, pkg+".sbe.go"), Source: code})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return outs, nil
}

// Write writes each output through a temporary file in the same directory
// and a rename, so that a failed run never leaves a partial file.
func Write(outs []Output) error {
	for _, o := range outs {
		dir := filepath.Dir(o.Path)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err // "mkdir <dir>: ..."
		}
		tmp, err := os.CreateTemp(dir, ".tensorgen-*")
		if err != nil {
			return err // "open <dir>/.tensorgen-...: ..."
		}
		_, werr := tmp.Write(o.Source)
		cerr := tmp.Close()
		if werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(tmp.Name(), 0o644)
		}
		if werr == nil {
			werr = os.Rename(tmp.Name(), o.Path)
		}
		if werr != nil {
			os.Remove(tmp.Name())
			if strings.Contains(werr.Error(), o.Path) {
				return werr // a rename error names both paths
			}
			return fmt.Errorf("write %s: %w", o.Path, werr)
		}
	}
	return nil
}

// Generate builds and writes; it writes nothing unless every schema
// generates.
func Generate(cfg Config) ([]Output, error) {
	outs, err := Build(cfg)
	if err != nil {
		return nil, err
	}
	return outs, Write(outs)
}
