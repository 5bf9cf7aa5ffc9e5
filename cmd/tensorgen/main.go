// Command tensorgen generates zero-copy Go codecs from SBE XML schemas.
//
// Usage:
//
//	tensorgen -out DIR [-package NAME] [-source-root DIR] schema.xml...
//	tensorgen stubs [-out DIR] [-import-path PATH] [-print-profile] streams.toml
//	tensorgen init [-dir DIR] [-package NAME] [-base-dir DIR] [-force]
//
// Each schema becomes DIR/<package>/<package>.sbe.go, the package named
// after the schema file ("wire-schema.xml" -> wire) unless -package is
// given. Every line tensorgen writes to stderr starts with "tensorgen: ";
// schema errors then give file:line:col and the element. See package github.com/tpool-go/tpool/tensorgen for the generated
// API.
//
// tensorgen stubs reads a stream declaration (package
// github.com/tpool-go/tpool/tensorgen/decl) and writes typed producers and
// consumers for its streams into -out (default ".": the package holding
// the //go:generate directive), named after the declaration
// (streams.toml -> streams.tpool.go), plus one codec subpackage per
// metadata schema. tensorgen init writes streams.toml and a matching
// tpoold.toml from the embedded templates (the repository's templates/).
// docs/STUBS.md describes both.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tpool-go/tpool/tensorgen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "stubs":
			return runStubs(args[1:], stdout, stderr)
		case "init":
			return runInit(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("tensorgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "output directory; each schema gets a package directory under it (required)")
	pkg := fs.String("package", "", "Go package name (only with a single schema; default: from the file name)")
	root := fs.String("source-root", "", "make schema paths in generated headers relative to this directory")
	verbose := fs.Bool("v", false, "list the files written")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `tensorgen generates zero-copy Go codecs from SBE XML schemas.

Usage:
  tensorgen -out DIR [-package NAME] [-source-root DIR] schema.xml...
  tensorgen stubs [-out DIR] [-import-path PATH] streams.toml
  tensorgen init [-dir DIR] [-package NAME]

Each schema becomes DIR/<package>/<package>.sbe.go. Nothing is written
unless every schema is valid; errors name the file, line and element.

tensorgen stubs generates typed producers and consumers from a stream
declaration; tensorgen init scaffolds a declaration and a matching tpoold
configuration. tensorgen stubs -h and tensorgen init -h say more.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	switch {
	case *out == "" && fs.NArg() == 0:
		fs.Usage()
		return 2
	case *out == "":
		fmt.Fprintln(stderr, "tensorgen: -out is required: the directory to write the generated packages to (tensorgen -h for usage)")
		return 2
	case fs.NArg() == 0:
		fmt.Fprintln(stderr, "tensorgen: no schema files given (tensorgen -h for usage)")
		return 2
	}
	outs, err := tensorgen.Generate(tensorgen.Config{OutDir: *out, Schemas: fs.Args(), Package: *pkg, SourceRoot: *root})
	if err != nil {
		printErr(stderr, err)
		return 1
	}
	if *verbose {
		for _, o := range outs {
			fmt.Fprintln(stdout, o.Path)
		}
	}
	return 0
}

// printErr writes err to w one line at a time, each prefixed with
// "tensorgen: ", so every error reads the same whatever produced it.
func printErr(w io.Writer, err error) {
	for _, line := range strings.Split(strings.TrimRight(err.Error(), "\n"), "\n") {
		fmt.Fprintln(w, "tensorgen: "+line)
	}
}
