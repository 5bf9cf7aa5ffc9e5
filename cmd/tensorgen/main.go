// Command tensorgen generates zero-copy Go codecs from SBE XML schemas.
//
// Usage:
//
//	tensorgen -out DIR [-package NAME] [-source-root DIR] schema.xml...
//
// Each schema becomes DIR/<package>/<package>.sbe.go, the package named
// after the schema file ("wire-schema.xml" -> wire) unless -package is
// given. Every line tensorgen writes to stderr starts with "tensorgen: ";
// schema errors then give file:line:col and the element. See package github.com/tpool-go/tpool/tensorgen for the generated
// API.
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

Each schema becomes DIR/<package>/<package>.sbe.go. Nothing is written
unless every schema is valid; errors name the file, line and element.

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
