// Package templates holds the files `tensorgen init` scaffolds a project
// from, embedded in the tensorgen command: streams.toml, a stream
// declaration (package tensorgen/decl), and tpoold.toml, the driver
// configuration it completes with the declaration's profiles. They are Go
// text/template files; the data is Data.
package templates

import "embed"

// FS holds streams.toml and tpoold.toml.
//
//go:embed streams.toml tpoold.toml
var FS embed.FS

// Data is what the templates are executed with.
type Data struct {
	// Package is the Go package name of the generated stubs.
	Package string
	// Declaration is the declaration file's name (for tpoold.toml's
	// comment).
	Declaration string
	// BaseDir is tpoold's SHM base directory.
	BaseDir string
}
