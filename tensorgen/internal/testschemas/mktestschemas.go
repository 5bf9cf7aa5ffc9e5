//go:build ignore

// mktestschemas regenerates the test codecs in this directory from the SBE
// reference project's test schemas, which live outside the repository in
// ../shared/vectors/sbe/schemas (beside the checkout). In a clone without
// that directory it says so and leaves the committed codecs as they are,
// so that go generate ./... succeeds anywhere.
//
// Run by go generate in this directory:
//
//	go run mktestschemas.go [-schemas dir]
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tpool-go/tpool/tensorgen"
)

func main() {
	dir := flag.String("schemas", "../../../../shared/vectors/sbe/schemas", "directory of the SBE test schemas")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "mktestschemas:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "mktestschemas: %s not present (the shared vectors live beside the repository); committed test codecs kept\n", dir)
		return nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil {
		return err
	}
	var schemas []string
	for _, f := range files {
		// common-types.xml only holds types other schemas include.
		if filepath.Base(f) != "common-types.xml" {
			schemas = append(schemas, f)
		}
	}
	if len(schemas) == 0 {
		return fmt.Errorf("no schemas in %s", dir)
	}
	_, err = tensorgen.Generate(tensorgen.Config{OutDir: ".", Schemas: schemas, SourceRoot: "../../../.."})
	return err
}
