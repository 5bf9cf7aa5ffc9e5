package decl

import "sort"

// Dtype is an element type a stream can declare: one of the wire spec's
// dtypes (15.8) that has a Go element type. BIT is left out: its payload is
// bit-packed and has no element view.
type Dtype struct {
	Name   string // as declared: "uint16"
	Size   int    // bytes per element
	GoType string // the Go element type: "uint16"
	Wire   string // the constant of runtime/pool: "Uint16"
}

var dtypes = map[string]Dtype{
	"uint8":   {"uint8", 1, "uint8", "Uint8"},
	"int8":    {"int8", 1, "int8", "Int8"},
	"uint16":  {"uint16", 2, "uint16", "Uint16"},
	"int16":   {"int16", 2, "int16", "Int16"},
	"uint32":  {"uint32", 4, "uint32", "Uint32"},
	"int32":   {"int32", 4, "int32", "Int32"},
	"uint64":  {"uint64", 8, "uint64", "Uint64"},
	"int64":   {"int64", 8, "int64", "Int64"},
	"float32": {"float32", 4, "float32", "Float32"},
	"float64": {"float64", 8, "float64", "Float64"},
	// One byte per element; zero is false (wire spec 15.8). Viewed as
	// uint8 because not every byte is a valid Go bool.
	"boolean": {"boolean", 1, "uint8", "Boolean"},
	"bytes":   {"bytes", 1, "uint8", "Bytes"},
}

// DtypeByName returns the dtype declared as name (lower case).
func DtypeByName(name string) (Dtype, bool) {
	d, ok := dtypes[name]
	return d, ok
}

// DtypeNames returns the declarable dtype names, sorted.
func DtypeNames() []string {
	names := make([]string, 0, len(dtypes))
	for n := range dtypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
