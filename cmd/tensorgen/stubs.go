package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"text/template"

	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/templates"
	"github.com/tpool-go/tpool/tensorgen"
	"github.com/tpool-go/tpool/tensorgen/decl"
	"github.com/tpool-go/tpool/tensorgen/stubgen"
)

func runStubs(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tensorgen stubs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", ".", "output `DIR`: the package directory the stubs go to (go generate runs in the directive's package, so the default puts them there)")
	imp := fs.String("import-path", "", "import `PATH` of the output package, for metadata codecs (default: from the go.mod above -out)")
	printProfile := fs.Bool("print-profile", false, "print the tpoold profiles of the declared streams instead of generating")
	verbose := fs.Bool("v", false, "list the files written")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `tensorgen stubs generates typed producers and consumers from a stream declaration.

Usage:
  tensorgen stubs [-out DIR] [-import-path PATH] streams.toml
  tensorgen stubs -print-profile streams.toml

In a Go package, with the tool added to the module (go get -tool
github.com/tpool-go/tpool/cmd/tensorgen):

  //go:generate go tool tensorgen stubs streams.toml

writes streams.tpool.go into that package (-out DIR writes it to DIR
instead, e.g. -out ./camera for a subpackage; the package name is the
declaration's package key). A stream with metadata also gets its SBE
schema's codec in DIR/<schema package>/, imported by the stubs: the
import path comes from the go.mod above DIR unless -import-path is given.
Errors name the declaration file, line, column and key. docs/STUBS.md has
the whole story.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "tensorgen: stubs takes one declaration file (tensorgen stubs -h for usage)")
		return 2
	}
	if *printProfile {
		f, err := decl.ParseFile(fs.Arg(0))
		if err != nil {
			printErr(stderr, err)
			return 1
		}
		fmt.Fprint(stdout, stubgen.Profile(f))
		return 0
	}
	outs, err := tensorgen.GenerateStubs(tensorgen.StubsConfig{Declaration: fs.Arg(0), OutDir: *out, ImportPath: *imp})
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

func runInit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tensorgen init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "`DIR` to write streams.toml and tpoold.toml to")
	pkg := fs.String("package", "", "Go `NAME` of the generated package (default: from DIR's name)")
	base := fs.String("base-dir", pool.DefaultBaseDir, "tpoold's SHM base `DIR`")
	force := fs.Bool("force", false, "overwrite existing files")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `tensorgen init scaffolds a stream declaration and a matching tpoold configuration.

Usage:
  tensorgen init [-dir DIR] [-package NAME] [-base-dir DIR] [-force]

It writes DIR/streams.toml (two example streams: a fixed-shape image and a
dynamic-shape point cloud) and DIR/tpoold.toml (a driver configuration with
the profiles those streams need), from the templates embedded in tensorgen
(the repository's templates/ folder). It refuses to overwrite either file
without -force. Then edit streams.toml, add
  //go:generate go tool tensorgen stubs streams.toml
to a Go file of the package, run go generate, and start tpoold with
-config tpoold.toml.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "tensorgen: init takes no arguments (tensorgen init -h for usage)")
		return 2
	}
	files, err := scaffold(*dir, *pkg, *base)
	if err != nil {
		printErr(stderr, err)
		return 1
	}
	if !*force {
		for _, f := range files {
			if _, err := os.Stat(f.Path); err == nil {
				fmt.Fprintf(stderr, "tensorgen: %s exists (-force overwrites it)\n", f.Path)
				return 1
			}
		}
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		printErr(stderr, err)
		return 1
	}
	if err := tensorgen.Write(files); err != nil {
		printErr(stderr, err)
		return 1
	}
	for _, f := range files {
		fmt.Fprintln(stdout, "wrote", f.Path)
	}
	fmt.Fprintln(stdout, "next: add //go:generate go tool tensorgen stubs streams.toml to a Go file there, run go generate, start tpoold -config tpoold.toml")
	return 0
}

// scaffold executes the templates: the declaration, checked by parsing
// it, and tpoold.toml completed with its profiles.
func scaffold(dir, pkg, base string) ([]tensorgen.Output, error) {
	if pkg == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		pkg = packageFromDir(filepath.Base(abs))
	}
	data := templates.Data{Package: pkg, Declaration: "streams.toml", BaseDir: base}
	declSrc, err := execTemplate("streams.toml", data)
	if err != nil {
		return nil, err
	}
	declPath := filepath.Join(dir, "streams.toml")
	f, err := decl.Parse(declPath, declSrc, dir)
	if err != nil {
		return nil, fmt.Errorf("the scaffolded declaration: %w", err)
	}
	tp, err := execTemplate("tpoold.toml", data)
	if err != nil {
		return nil, err
	}
	tp = append(tp, '\n')
	tp = append(tp, stubgen.Profile(f)...)
	return []tensorgen.Output{
		{Path: declPath, Package: pkg, Source: declSrc},
		{Path: filepath.Join(dir, "tpoold.toml"), Package: pkg, Source: tp},
	}, nil
}

func execTemplate(name string, data templates.Data) ([]byte, error) {
	src, err := fs.ReadFile(templates.FS, name)
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// packageFromDir makes a Go package name of a directory name: lower case,
// letters and digits only, not starting with a digit ("my-app" -> "myapp").
func packageFromDir(name string) string {
	var b []byte
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b = append(b, byte(r))
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r-'A'+'a'))
		}
	}
	if len(b) == 0 || b[0] >= '0' && b[0] <= '9' {
		b = append([]byte("streams"), b...)
	}
	return string(b)
}
