package decl

import (
	"errors"
	"fmt"
	"go/token"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/tpool-go/tpool/tensorgen/schema"
)

// Limits of a declaration, from the wire spec and the driver.
const (
	// MaxDims is the wire spec's limit on a tensor's dimensions
	// (runtime/pool.MaxDims).
	MaxDims = 8
	// MaxStrideBytes is the largest pool slot a driver makes (the largest
	// power of two a uint32 holds).
	MaxStrideBytes = 1 << 31
	// MinStrideBytes and the alignment of every stride (NOTES.md decision 1).
	MinStrideBytes = 64
	// DefaultSlots is the header ring size of a stream that does not set
	// slots.
	DefaultSlots = 64
)

// ErrInvalid is matched by every *Error.
var ErrInvalid = errors.New("invalid stream declaration")

// Error is one problem of a declaration file, at the key that has it.
type Error struct {
	File    string
	Line    int // 0 when the problem has no place in the file
	Column  int
	Key     string // "stream[1].shape[0]"; empty for syntax errors without one
	Problem string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Problem)
	return b.String()
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// Errors returns the *Errors inside an error of Parse or ParseFile, in
// file order.
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// File is a parsed, validated declaration.
type File struct {
	// Path is the file's name as given to Parse.
	Path string
	// Package is the Go package name of the generated code.
	Package string
	// Streams in file order.
	Streams []*Stream
}

// Order is a tensor's memory order.
type Order int

// Orders.
const (
	RowMajor Order = iota
	ColumnMajor
)

func (o Order) String() string {
	if o == ColumnMajor {
		return "column"
	}
	return "row"
}

// Stream is one [[stream]] table.
type Stream struct {
	Line     int // of the [[stream]] header
	Name     string
	StreamID uint32
	Dtype    Dtype
	Order    Order
	// Shape has one entry per dim: the size, or -1 for a dynamic dim.
	Shape []int
	// MaxShape is Shape with every dynamic dim replaced by its bound.
	MaxShape []int
	// Metadata is the declared metadata message, nil if none.
	Metadata *Metadata
	// Slots is the header ring's slot count (a power of two), and the
	// number of slots of the one payload pool.
	Slots uint32
	// StrideBytes is the pool slot size: the declared stride_bytes, or the
	// smallest valid stride that holds MaxFrameBytes.
	StrideBytes uint32
}

// Metadata is a stream's metadata message.
type Metadata struct {
	// Name is as declared: "<schema package>.<message>".
	Name string
	// SchemaFile is the schema's path (relative to the working directory
	// when the declaration's was).
	SchemaFile string
	Schema     *schema.Schema
	Message    *schema.Message
}

// Dynamic reports whether any dim of s is dynamic.
func (s *Stream) Dynamic() bool {
	for _, d := range s.Shape {
		if d < 0 {
			return true
		}
	}
	return false
}

// MaxFrameBytes is the size of the largest frame (MaxShape).
func (s *Stream) MaxFrameBytes() int64 {
	n, _ := frameBytes(s.MaxShape, s.Dtype.Size)
	return n
}

// frameBytes returns the product of dims and size, and false (with a
// value above MaxStrideBytes) when it exceeds MaxStrideBytes.
func frameBytes(dims []int, size int) (int64, bool) {
	n := int64(size)
	for _, d := range dims {
		if d <= 0 {
			return 0, true
		}
		if n > MaxStrideBytes/int64(d) { // n*d > MaxStrideBytes
			return MaxStrideBytes + 1, false
		}
		n *= int64(d)
	}
	return n, n <= MaxStrideBytes
}

// strideFor returns the smallest valid stride holding n bytes.
func strideFor(n int64) uint32 {
	s := int64(MinStrideBytes)
	for s < n {
		s <<= 1
	}
	return uint32(s)
}

// ParseFile reads and parses the declaration at path. Schemas are read
// relative to its directory.
func ParseFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, filepath.Dir(path))
}

// Parse parses a declaration read from name; schema paths are relative to
// dir. It returns every problem found, joined (see Errors); all match
// ErrInvalid, except a schema that cannot be read.
func Parse(name string, data []byte, dir string) (*File, error) {
	return parse(name, data, dir, schema.ParseFile)
}

// parse is Parse with the schema loader given (the fuzz target's reads
// nothing outside testdata).
func parse(name string, data []byte, dir string, load func(string) (*schema.Schema, error)) (*File, error) {
	p := &parser{file: name, dir: dir, pos: map[string]unstable.Position{}, schemas: map[string]*schemaResult{}, load: load}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, p.syntaxError(err)
	}
	p.index(data)
	f := p.parse(doc)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool {
			a, b := p.errs[i], p.errs[j]
			if a.Line != b.Line {
				return a.Line < b.Line
			}
			return a.Column < b.Column
		})
		errs := make([]error, len(p.errs))
		for i, e := range p.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return f, nil
}

type schemaResult struct {
	s   *schema.Schema
	err error
}

type parser struct {
	file    string
	dir     string
	pos     map[string]unstable.Position
	errs    []*Error
	schemas map[string]*schemaResult // by path
	load    func(string) (*schema.Schema, error)
}

func (p *parser) syntaxError(err error) error {
	e := &Error{File: p.file, Problem: strings.TrimPrefix(err.Error(), "toml: ")}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		e.Line, e.Column = de.Position()
		e.Key = strings.Join(de.Key(), ".")
	}
	return e
}

// errorf records a problem at key, placed where key (or the closest
// enclosing key) is set.
func (p *parser) errorf(key, format string, args ...any) {
	e := &Error{File: p.file, Key: key, Problem: fmt.Sprintf(format, args...)}
	for k := key; k != ""; k = parent(k) {
		if pos, ok := p.pos[k]; ok {
			e.Line, e.Column = pos.Line, pos.Column
			break
		}
	}
	p.errs = append(p.errs, e)
}

func parent(k string) string {
	i := strings.LastIndexAny(k, ".[")
	if i < 0 {
		return ""
	}
	return k[:i]
}

var (
	topKeys    = []string{"package", "stream"}
	streamKeys = []string{"name", "stream_id", "dtype", "shape", "max_shape", "order", "metadata", "schemas", "slots", "stride_bytes"}
)

func (p *parser) parse(doc map[string]any) *File {
	f := &File{Path: p.file}
	p.unknown("", doc, topKeys)
	switch v, ok := doc["package"]; {
	case !ok:
		p.errs = append(p.errs, &Error{File: p.file, Line: 1, Column: 1, Key: "package", Problem: "missing (the Go package name of the generated code)"})
	default:
		if s, ok := p.str("package", v); ok {
			if !token.IsIdentifier(s) || s == "_" {
				p.errorf("package", "%q is not a valid Go package name", s)
			}
			f.Package = s
		}
	}
	raw, ok := doc["stream"]
	if !ok {
		p.errs = append(p.errs, &Error{File: p.file, Line: 1, Column: 1, Key: "stream", Problem: "no [[stream]] declared"})
		return f
	}
	list, ok := raw.([]any)
	if !ok {
		p.errorf("stream", "must be an array of tables ([[stream]])")
		return f
	}
	names := map[string]string{}
	ids := map[uint32]string{}
	for i, e := range list {
		key := fmt.Sprintf("stream[%d]", i)
		t, ok := e.(map[string]any)
		if !ok {
			p.errorf(key, "must be a table")
			continue
		}
		s := p.stream(key, t)
		if s.Name != "" {
			if prev, dup := names[s.Name]; dup {
				p.errorf(key+".name", "%q is already the name of %s", s.Name, prev)
			}
			names[s.Name] = key
		}
		if s.StreamID != 0 {
			if prev, dup := ids[s.StreamID]; dup {
				p.errorf(key+".stream_id", "%d is already the stream id of %s", s.StreamID, prev)
			}
			ids[s.StreamID] = key
		}
		f.Streams = append(f.Streams, s)
	}
	return f
}

func (p *parser) unknown(prefix string, t map[string]any, known []string) {
	for k := range t {
		if !contains(known, k) {
			p.errorf(join(prefix, k), "unknown key (known: %s)", strings.Join(known, ", "))
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func (p *parser) str(key string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		p.errorf(key, "must be a string, not %s", kind(v))
	}
	return s, ok
}

func (p *parser) int(key string, v any, lo, hi int64) (int64, bool) {
	n, ok := v.(int64)
	if !ok {
		p.errorf(key, "must be an integer, not %s", kind(v))
		return 0, false
	}
	if n < lo || n > hi {
		p.errorf(key, "%d is out of range [%d, %d]", n, lo, hi)
		return 0, false
	}
	return n, true
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}

func (p *parser) required(key string, t map[string]any, k, what string) (any, bool) {
	v, ok := t[k]
	if !ok {
		p.errorf(key+"."+k, "missing (%s)", what)
	}
	return v, ok
}

func (p *parser) stream(key string, t map[string]any) *Stream {
	s := &Stream{Line: p.pos[key].Line, Slots: DefaultSlots}
	p.unknown(key, t, streamKeys)
	if v, ok := p.required(key, t, "name", "the Go identifier prefix of the stream's types"); ok {
		if n, ok := p.str(key+".name", v); ok {
			if !token.IsIdentifier(n) || !token.IsExported(n) {
				p.errorf(key+".name", "%q is not an exported Go identifier (it prefixes the generated types)", n)
			} else {
				s.Name = n
			}
		}
	}
	if v, ok := p.required(key, t, "stream_id", "the stream id the driver knows the stream by"); ok {
		if n, ok := p.int(key+".stream_id", v, 1, math.MaxUint32); ok {
			s.StreamID = uint32(n)
		}
	}
	if v, ok := p.required(key, t, "dtype", "the element type: "+strings.Join(DtypeNames(), ", ")); ok {
		if n, ok := p.str(key+".dtype", v); ok {
			if d, ok := DtypeByName(n); ok {
				s.Dtype = d
			} else if n == "bit" {
				p.errorf(key+".dtype", "bit tensors have no element type (their packing is the application's); use uint8 or bytes")
			} else {
				p.errorf(key+".dtype", "unknown dtype %q (one of %s)", n, strings.Join(DtypeNames(), ", "))
			}
		}
	}
	if v, ok := t["order"]; ok {
		if n, ok := p.str(key+".order", v); ok {
			switch n {
			case "row":
				s.Order = RowMajor
			case "column":
				s.Order = ColumnMajor
			default:
				p.errorf(key+".order", "%q is not \"row\" or \"column\"", n)
			}
		}
	}
	shapeOK := false
	if v, ok := p.required(key, t, "shape", "the dims; -1 for a dynamic dim"); ok {
		s.Shape, shapeOK = p.dims(key+".shape", v, true)
	}
	if shapeOK {
		shapeOK = p.maxShape(key, t, s)
	} else if v, ok := t["max_shape"]; ok {
		p.dims(key+".max_shape", v, false)
	}
	if v, ok := t["slots"]; ok {
		if n, ok := p.int(key+".slots", v, 1, 1<<30); ok {
			if n&(n-1) != 0 {
				p.errorf(key+".slots", "%d is not a power of two", n)
			} else {
				s.Slots = uint32(n)
			}
		}
	}
	if shapeOK && s.Dtype.Size > 0 {
		n, fits := frameBytes(s.MaxShape, s.Dtype.Size)
		largest := "a frame"
		if s.Dynamic() {
			largest = "the largest frame (max_shape)"
		}
		if v, ok := t["stride_bytes"]; ok {
			if st, ok := p.int(key+".stride_bytes", v, MinStrideBytes, MaxStrideBytes); ok {
				switch {
				case st%MinStrideBytes != 0 || st&(st-1) != 0:
					p.errorf(key+".stride_bytes", "%d is not a power of two and a multiple of %d", st, MinStrideBytes)
				case !fits || n > st:
					p.errorf(key+".stride_bytes", "%s of %s %v is %s; a pool slot of %d bytes cannot hold it", largest, s.Dtype.Name, s.MaxShape, bytesString(n, fits), st)
				default:
					s.StrideBytes = uint32(st)
				}
			}
		} else if !fits {
			p.errorf(key+".shape", "%s of %s %v is %s; the largest pool slot holds %d", largest, s.Dtype.Name, s.MaxShape, bytesString(n, fits), int64(MaxStrideBytes))
		} else {
			s.StrideBytes = strideFor(n)
		}
	}
	if v, ok := t["schemas"]; ok {
		p.metadata(key, t, v, s)
	} else if _, ok := t["metadata"]; ok {
		p.errorf(key+".metadata", "needs schemas: the SBE schema files the message is in")
	}
	return s
}

func bytesString(n int64, fits bool) string {
	if !fits {
		return fmt.Sprintf("more than %d bytes", int64(MaxStrideBytes))
	}
	return fmt.Sprintf("%d bytes", n)
}

// dims reads a shape (dynamic allows -1) or max_shape.
func (p *parser) dims(key string, v any, dynamic bool) ([]int, bool) {
	arr, ok := v.([]any)
	if !ok {
		p.errorf(key, "must be an array of integers, not %s", kind(v))
		return nil, false
	}
	if len(arr) == 0 || len(arr) > MaxDims {
		p.errorf(key, "%d dims; the wire spec allows 1 to %d", len(arr), MaxDims)
		return nil, false
	}
	out := make([]int, len(arr))
	good := true
	for i, e := range arr {
		k := fmt.Sprintf("%s[%d]", key, i)
		n, ok := e.(int64)
		switch {
		case !ok:
			p.errorf(k, "must be an integer, not %s", kind(e))
			good = false
		case n == -1 && dynamic:
			out[i] = -1
		case n <= 0:
			what := "a fixed dim must be positive"
			if dynamic {
				what += " (-1 declares a dynamic dim)"
			}
			p.errorf(k, "%d: %s", n, what)
			good = false
		case n > math.MaxInt32:
			p.errorf(k, "%d is larger than a dim can be (%d)", n, math.MaxInt32)
			good = false
		default:
			out[i] = int(n)
		}
	}
	return out, good
}

// maxShape checks max_shape against the shape and fills s.MaxShape.
func (p *parser) maxShape(key string, t map[string]any, s *Stream) bool {
	v, has := t["max_shape"]
	if !s.Dynamic() {
		if has {
			p.errorf(key+".max_shape", "given, but shape has no dynamic dim (-1) to bound")
			return false
		}
		s.MaxShape = s.Shape
		return true
	}
	if !has {
		for i, d := range s.Shape {
			if d < 0 {
				p.errorf(fmt.Sprintf("%s.shape[%d]", key, i), "dynamic dim (-1) without a bound: add max_shape")
			}
		}
		return false
	}
	ms, ok := p.dims(key+".max_shape", v, false)
	if !ok {
		return false
	}
	if len(ms) != len(s.Shape) {
		p.errorf(key+".max_shape", "%d dims, but shape has %d", len(ms), len(s.Shape))
		return false
	}
	good := true
	for i, d := range s.Shape {
		if d >= 0 && ms[i] != d {
			p.errorf(fmt.Sprintf("%s.max_shape[%d]", key, i), "%d, but dim %d is fixed at %d", ms[i], i, d)
			good = false
		}
	}
	s.MaxShape = ms
	return good
}

func (p *parser) metadata(key string, t map[string]any, v any, s *Stream) {
	arr, ok := v.([]any)
	if !ok {
		p.errorf(key+".schemas", "must be an array of file names, not %s", kind(v))
		return
	}
	type loaded struct {
		file string
		s    *schema.Schema
	}
	var all []loaded
	for i, e := range arr {
		k := fmt.Sprintf("%s.schemas[%d]", key, i)
		name, ok := p.str(k, e)
		if !ok {
			continue
		}
		if name == "" {
			p.errorf(k, "empty file name")
			continue
		}
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.dir, name)
		}
		r, ok := p.schemas[path]
		if !ok {
			sc, err := p.load(path)
			r = &schemaResult{s: sc, err: err}
			p.schemas[path] = r
		}
		if r.err != nil {
			p.errorf(k, "%s", strings.ReplaceAll(r.err.Error(), "\n", "\n\t"))
			continue
		}
		all = append(all, loaded{path, r.s})
	}
	mv, ok := t["metadata"]
	if !ok {
		return
	}
	name, ok := p.str(key+".metadata", mv)
	if !ok {
		return
	}
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || dot == len(name)-1 {
		p.errorf(key+".metadata", "%q is not <schema package>.<message>", name)
		return
	}
	pkg, msg := name[:dot], name[dot+1:]
	var pkgs []string
	for _, l := range all {
		pkgs = append(pkgs, l.s.Package)
		if l.s.Package != pkg {
			continue
		}
		for _, m := range l.s.Messages {
			if m.Name == msg {
				s.Metadata = &Metadata{Name: name, SchemaFile: l.file, Schema: l.s, Message: m}
				return
			}
		}
		var msgs []string
		for _, m := range l.s.Messages {
			msgs = append(msgs, m.Name)
		}
		p.errorf(key+".metadata", "schema package %q (%s) has no message %q (it has %s)", pkg, filepath.Base(l.file), msg, strings.Join(msgs, ", "))
		return
	}
	if len(all) < len(arr) {
		return // a schema failed to load: reported already
	}
	p.errorf(key+".metadata", "no listed schema has package %q (the schemas' packages: %s)", pkg, strings.Join(pkgs, ", "))
}

// index records where every key path of the document is set (the
// document has already been decoded without error).
func (p *parser) index(data []byte) {
	var up unstable.Parser
	up.Reset(data)
	var prefix string
	arrays := map[string]int{}
	for up.NextExpression() {
		e := up.Expression()
		switch e.Kind {
		case unstable.Table:
			key, pos := keyOf(&up, e.Key())
			prefix = key
			p.note(key, pos)
		case unstable.ArrayTable:
			key, pos := keyOf(&up, e.Key())
			p.note(key, pos)
			prefix = fmt.Sprintf("%s[%d]", key, arrays[key])
			arrays[key]++
			p.note(prefix, pos)
		case unstable.KeyValue:
			p.keyValue(&up, prefix, e)
		}
	}
}

func (p *parser) keyValue(up *unstable.Parser, prefix string, kv *unstable.Node) {
	key, pos := keyOf(up, kv.Key())
	for i := range len(key) {
		if key[i] == '.' {
			p.note(join(prefix, key[:i]), pos)
		}
	}
	key = join(prefix, key)
	p.note(key, pos)
	p.value(up, key, kv.Value(), pos)
}

func (p *parser) value(up *unstable.Parser, key string, v *unstable.Node, pos unstable.Position) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if it.Node().Kind == unstable.KeyValue {
				p.keyValue(up, key, it.Node())
			}
		}
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); {
			n := it.Node()
			if n.Kind == unstable.Comment {
				continue
			}
			ep := pos
			if n.Raw.Length > 0 {
				ep = up.Shape(n.Raw).Start
			}
			ek := fmt.Sprintf("%s[%d]", key, i)
			p.note(ek, ep)
			p.value(up, ek, n, ep)
			i++
		}
	}
}

func keyOf(up *unstable.Parser, it unstable.Iterator) (string, unstable.Position) {
	var parts []string
	var pos unstable.Position
	for it.Next() {
		n := it.Node()
		if len(parts) == 0 {
			pos = up.Shape(n.Raw).Start
		}
		parts = append(parts, string(n.Data))
	}
	return strings.Join(parts, "."), pos
}

func (p *parser) note(key string, pos unstable.Position) {
	if _, ok := p.pos[key]; !ok {
		p.pos[key] = pos
	}
}
