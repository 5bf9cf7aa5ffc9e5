// Package stubgen emits typed producer and consumer stubs for the streams
// of a declaration file (package tensorgen/decl), on runtime/typed and
// runtime/client, with github.com/dave/jennifer. It is the back end of
// `tensorgen stubs`; docs/STUBS.md describes the generated API.
//
// For each stream Name the output has NameView (At, Set, Row, Data,
// Shape, Len), NameProducer (Claim, Commit, Abort, Offer,
// SetTimestampNs; TryClaim for a claim queue), NameClaim (View, Progress,
// ProgressRows, Commit, Abort), NameConsumer (Next, Poll, Run),
// NewNameProducer and NewNameConsumer with their With forms that take the
// client's configuration, OnNameProgress, NameSpec, and, when a
// metadata message is declared, NameMetaKey and the typed encode and
// decode of that message; the codecs of the metadata schemas are
// generated into a subpackage each. TpooldProfile holds the tpoold
// configuration of the streams (Profile).
package stubgen

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/tpool-go/tpool/tensorgen/decl"
	"github.com/tpool-go/tpool/tensorgen/gogen"
	"github.com/tpool-go/tpool/tensorgen/schema"
)

const (
	typedPkg  = "github.com/tpool-go/tpool/runtime/typed"
	clientPkg = "github.com/tpool-go/tpool/runtime/client"
	poolPkg   = "github.com/tpool-go/tpool/runtime/pool"
)

// Options control generation.
type Options struct {
	// Source names the declaration in the file comment (best relative, so
	// the output does not depend on where it was made).
	Source string
	// ImportPath is the import path of the output package. It is needed
	// only when a stream declares metadata: the metadata schemas' codecs
	// go into subpackages of it.
	ImportPath string
}

// Output is one generated file; Path is relative to the output directory.
type Output struct {
	Path   string
	Source []byte
}

// DefaultMetaBufferBytes is the encode buffer of a metadata message that
// has groups or var data (a block-only message gets exactly its size).
const DefaultMetaBufferBytes = 4096

// codec is one metadata schema's generated package.
type codec struct {
	schema *schema.Schema
	file   string
	pkg    string // package name
	path   string // import path
}

// Generate returns the stubs file (named after the declaration:
// camera.toml -> camera.tpool.go) and one codec file per metadata schema
// (<pkg>/<pkg>.sbe.go).
func Generate(f *decl.File, opts Options) ([]Output, error) {
	g := &gen{f: f, opts: opts, codecs: map[*schema.Schema]*codec{}, names: map[string]string{}}
	var outs []Output
	for _, s := range f.Streams {
		if s.Metadata == nil {
			continue
		}
		if _, ok := g.codecs[s.Metadata.Schema]; ok {
			continue
		}
		if opts.ImportPath == "" {
			return nil, fmt.Errorf("stream %s declares metadata: the import path of the output package is needed for its codec (run inside a Go module, or give -import-path)", s.Name)
		}
		pkg := codecPackage(s.Metadata.Schema.Package)
		for _, c := range g.codecs {
			if c.pkg == pkg {
				return nil, fmt.Errorf("schemas %s and %s both map to package %s", c.file, s.Metadata.SchemaFile, pkg)
			}
		}
		c := &codec{schema: s.Metadata.Schema, file: s.Metadata.SchemaFile, pkg: pkg, path: path.Join(opts.ImportPath, pkg)}
		g.codecs[c.schema] = c
		src, err := gogen.Generate(c.schema, gogen.Options{Package: pkg, Source: relSource(opts.Source, c.file)})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.file, err)
		}
		outs = append(outs, Output{Path: pkg + "/" + pkg + ".sbe.go", Source: src})
	}
	src, err := g.stubs()
	if err != nil {
		return nil, err
	}
	base := path.Base(strings.ReplaceAll(f.Path, `\`, "/"))
	base = strings.TrimSuffix(base, path.Ext(base))
	outs = append([]Output{{Path: base + ".tpool.go", Source: src}}, outs...)
	return outs, nil
}

// relSource names a schema in its codec's header: next to the declaration
// when the declaration is named relatively.
func relSource(declSource, schemaFile string) string {
	return path.Join(path.Dir(declSource), path.Base(strings.ReplaceAll(schemaFile, `\`, "/")))
}

var nonIdent = regexp.MustCompile(`[^a-z0-9]`)

// codecPackage names a schema's Go package after the last element of its
// package attribute: "acme.sensor" -> "sensor".
func codecPackage(sbePackage string) string {
	p := sbePackage
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		p = p[i+1:]
	}
	p = nonIdent.ReplaceAllString(strings.ToLower(p), "")
	if p == "" || p[0] >= '0' && p[0] <= '9' {
		p = "meta" + p
	}
	return p
}

type gen struct {
	f      *decl.File
	opts   Options
	out    *jen.File
	codecs map[*schema.Schema]*codec
	names  map[string]string // generated identifier -> the stream it is for
	errs   []error
}

func (g *gen) declare(name, what string) string {
	if prev, ok := g.names[name]; ok {
		g.errs = append(g.errs, fmt.Errorf("%s and %s both generate %s: rename a stream", prev, what, name))
	}
	g.names[name] = what
	return name
}

func (g *gen) stubs() ([]byte, error) {
	f := g.f
	g.out = jen.NewFile(f.Package)
	g.out.HeaderComment(gogen.Header)
	g.out.HeaderComment("source: " + g.opts.Source)
	g.out.ImportName(typedPkg, "typed")
	g.out.ImportName(clientPkg, "client")
	g.out.ImportName(poolPkg, "pool")
	for _, c := range g.sortedCodecs() {
		g.out.ImportName(c.path, c.pkg)
	}
	g.out.Const().Id("_").Op("=").Qual(typedPkg, "SupportPackageIsVersion2")
	g.declare("TpooldProfile", "the declaration")
	g.declare("WriteTpooldProfile", "the declaration")
	for _, s := range f.Streams {
		g.stream(s)
	}
	g.out.Comment("TpooldProfile is the tpoold configuration of the declared streams: append it")
	g.out.Comment("to tpoold's TOML file so that the driver's pools and these stubs agree.")
	g.out.Const().Id("TpooldProfile").Op("=").Lit(Profile(f))
	g.out.Comment("WriteTpooldProfile writes TpooldProfile to w.")
	g.out.Func().Id("WriteTpooldProfile").Params(jen.Id("w").Qual("io", "Writer")).Error().Block(
		jen.List(jen.Id("_"), jen.Err()).Op(":=").Qual("io", "WriteString").Call(jen.Id("w"), jen.Id("TpooldProfile")),
		jen.Return(jen.Err()),
	)
	if len(g.errs) > 0 {
		return nil, errors.Join(g.errs...)
	}
	var buf bytes.Buffer
	if err := g.out.Render(&buf); err != nil {
		return nil, fmt.Errorf("render package %s: %w", f.Package, err)
	}
	return buf.Bytes(), nil
}

func int32s(v []int) jen.Code {
	var items []jen.Code
	for _, d := range v {
		items = append(items, jen.Lit(d))
	}
	return jen.Index().Int32().Values(items...)
}

// dimNames returns the parameter names of a stream's indices and of its
// dynamic dims.
func dimNames(s *decl.Stream) (idx, dyn []string) {
	for i, d := range s.Shape {
		idx = append(idx, fmt.Sprintf("i%d", i))
		if d < 0 {
			dyn = append(dyn, fmt.Sprintf("n%d", i))
		}
	}
	return idx, dyn
}

func ids(names []string) []jen.Code {
	out := make([]jen.Code, len(names))
	for i, n := range names {
		out[i] = jen.Id(n)
	}
	return out
}

func (g *gen) stream(s *decl.Stream) {
	o := g.out
	N := s.Name
	T := jen.Id(s.Dtype.GoType)
	what := "stream " + N
	view := g.declare(N+"View", what)
	prod := g.declare(N+"Producer", what)
	cons := g.declare(N+"Consumer", what)
	specFn := g.declare(N+"Spec", what)
	newProd := g.declare("New"+N+"Producer", what)
	newCons := g.declare("New"+N+"Consumer", what)
	specVar := g.declare(strings.ToLower(N[:1])+N[1:]+"Spec", what)
	idx, dyn := dimNames(s)
	desc := fmt.Sprintf("%s %s, %s-major", s.Dtype.Name, shapeString(s), s.Order)
	typedT := func(name string) *jen.Statement { return jen.Qual(typedPkg, name).Types(T.Clone()) }

	order := "RowMajor"
	if s.Order == decl.ColumnMajor {
		order = "ColumnMajor"
	}
	o.Var().Id(specVar).Op("=").Qual(typedPkg, "Spec").Values(jen.Dict{
		jen.Id("Name"):        jen.Lit(g.f.Package + "." + N),
		jen.Id("StreamID"):    jen.Lit(int(s.StreamID)),
		jen.Id("Dtype"):       jen.Qual(poolPkg, s.Dtype.Wire),
		jen.Id("Order"):       jen.Qual(poolPkg, order),
		jen.Id("Shape"):       int32s(s.Shape),
		jen.Id("MaxShape"):    int32s(s.MaxShape),
		jen.Id("Slots"):       jen.Lit(int(s.Slots)),
		jen.Id("StrideBytes"): jen.Lit(int(s.StrideBytes)),
	})
	o.Commentf("%s returns the declaration of stream %s (stream id %d): %s.", specFn, N, s.StreamID, desc)
	o.Func().Id(specFn).Params().Qual(typedPkg, "Spec").Block(
		jen.Id("s").Op(":=").Id(specVar),
		jen.Id("s").Dot("Shape").Op("=").Append(jen.Index().Int32().Parens(jen.Nil()), jen.Id(specVar).Dot("Shape").Op("...")),
		jen.Id("s").Dot("MaxShape").Op("=").Append(jen.Index().Int32().Parens(jen.Nil()), jen.Id(specVar).Dot("MaxShape").Op("...")),
		jen.Return(jen.Id("s")),
	)

	// The view.
	o.Commentf("%s is a frame of stream %s: %s. It aliases shared memory:", view, N, desc)
	o.Comment("a producer's view is valid until Commit or Abort, a consumer's until the")
	o.Comment("handler returns or the next Next, Poll or Close.")
	o.Type().Id(view).Struct(jen.Id("v").Add(typedT("View")))
	idxParams := jen.List(ids(idx)...).Int()
	o.Comment("At returns the element at the given indices; an index out of range panics.")
	o.Func().Params(jen.Id("v").Id(view)).Id("At").Params(idxParams).Add(T.Clone()).Block(
		jen.Return(jen.Id("v").Dot("v").Dot("At").Call(ids(idx)...)))
	o.Comment("Set stores x at the given indices.")
	o.Func().Params(jen.Id("v").Id(view)).Id("Set").Params(jen.List(ids(idx)...).Int(), jen.Id("x").Add(T.Clone())).Block(
		jen.Id("v").Dot("v").Dot("Set").Call(append([]jen.Code{jen.Id("x")}, ids(idx)...)...))
	if len(s.Shape) > 1 {
		if s.Order == decl.ColumnMajor {
			o.Commentf("Row returns the contiguous elements whose last index is i (column-major: a column).")
		} else {
			o.Commentf("Row returns the contiguous elements whose first index is i (row-major: a row).")
		}
		o.Func().Params(jen.Id("v").Id(view)).Id("Row").Params(jen.Id("i").Int()).Index().Add(T.Clone()).Block(
			jen.Return(jen.Id("v").Dot("v").Dot("Row").Call(jen.Id("i"))))
	}
	o.Commentf("Data returns every element in memory order (%s-major).", s.Order)
	o.Func().Params(jen.Id("v").Id(view)).Id("Data").Params().Index().Add(T.Clone()).Block(
		jen.Return(jen.Id("v").Dot("v").Dot("Data").Call()))
	o.Comment("Shape returns the frame's dims.")
	o.Func().Params(jen.Id("v").Id(view)).Id("Shape").Params().Index().Int32().Block(
		jen.Return(jen.Id("v").Dot("v").Dot("Shape").Call()))
	o.Comment("Len returns the number of elements.")
	o.Func().Params(jen.Id("v").Id(view)).Id("Len").Params().Int().Block(
		jen.Return(jen.Id("v").Dot("v").Dot("Len").Call()))

	g.producer(s, view, prod, newProd, specVar, dyn, typedT)
	g.consumer(s, view, cons, newCons, specVar, typedT)
	if s.Metadata != nil {
		g.metadata(s, prod, cons)
	}
}

func shapeString(s *decl.Stream) string {
	parts := make([]string, len(s.Shape))
	for i, d := range s.Shape {
		if d < 0 {
			parts[i] = fmt.Sprintf("≤%d", s.MaxShape[i])
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (g *gen) producer(s *decl.Stream, view, prod, newProd, specVar string, dyn []string, typedT func(string) *jen.Statement) {
	o := g.out
	N := s.Name
	T := jen.Id(s.Dtype.GoType)
	fields := []jen.Code{jen.Id("p").Op("*").Add(typedT("Producer"))}
	if s.Metadata != nil {
		c := g.codecs[s.Metadata.Schema]
		msg := s.Metadata.Message.Name
		fields = append(fields,
			jen.Id("metaEnc").Qual(c.path, msg+"Encoder"),
			jen.Id("metaBuf").Index(jen.Lit(metaBufferBytes(s))).Byte(),
		)
	}
	o.Commentf("%s writes the frames of stream %s. It is not safe for concurrent use.", prod, N)
	o.Type().Id(prod).Struct(fields...)
	newProdWith := g.declare(newProd+"With", "stream "+N)
	o.Commentf("%s attaches a producer of stream %s (stream id %d) through c with the", newProd, N, s.StreamID)
	o.Commentf("client's defaults (%s with a zero client.ProducerConfig).", newProdWith)
	o.Func().Id(newProd).Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("c").Op("*").Qual(clientPkg, "Client")).
		Params(jen.Op("*").Id(prod), jen.Error()).Block(
		jen.Return(jen.Id(newProdWith).Call(jen.Id("ctx"), jen.Id("c"), jen.Qual(clientPkg, "ProducerConfig").Values())),
	)
	o.Commentf("%s attaches a producer of stream %s through c, configured by cfg:", newProdWith, N)
	o.Comment("the claim queue (MaxClaims), FrameProgress (Progress, ProgressInterval,")
	o.Comment("ProgressBytes), metadata and offer settings are the client's. The declaration")
	o.Commentf("fills in the rest: StreamID 0 becomes %d, and in no-driver mode an empty Layout", s.StreamID)
	o.Comment("becomes the declaration's pool sizing. It fails (typed.ErrMismatch, naming both)")
	o.Comment("if cfg contradicts the declaration (another StreamID, Layout pools too small)")
	o.Comment("or the driver's pools cannot hold the declared largest frame.")
	o.Func().Id(newProdWith).Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("c").Op("*").Qual(clientPkg, "Client"), jen.Id("cfg").Qual(clientPkg, "ProducerConfig")).
		Params(jen.Op("*").Id(prod), jen.Error()).Block(
		jen.List(jen.Id("p"), jen.Err()).Op(":=").Qual(typedPkg, "NewProducer").Types(T.Clone()).Call(
			jen.Id("ctx"), jen.Id("c"), jen.Op("&").Id(specVar), jen.Id("cfg")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Return(jen.Op("&").Id(prod).Values(jen.Dict{jen.Id("p"): jen.Id("p")}), jen.Nil()),
	)
	recv := jen.Id("p").Op("*").Id(prod)
	claimParams := []jen.Code{}
	if len(dyn) > 0 {
		claimParams = append(claimParams, jen.List(ids(dyn)...).Int())
	}
	if len(dyn) == 0 {
		o.Comment("Claim reserves a slot for the next frame and returns it to fill in place;")
	} else {
		o.Commentf("Claim reserves a slot for a frame whose dynamic dims are %s and returns it", strings.Join(dyn, ", "))
		o.Comment("to fill in place (each dim within its declared bound, else typed.ErrMismatch);")
	}
	o.Comment("then Commit or Abort. Errors are the client's (client.ErrPaused, ...).")
	o.Func().Params(recv.Clone()).Id("Claim").Params(claimParams...).Params(jen.Id(view), jen.Error()).Block(
		jen.List(jen.Id("v"), jen.Err()).Op(":=").Id("p").Dot("p").Dot("Claim").Call(ids(dyn)...),
		jen.Return(jen.Id(view).Values(jen.Id("v")), jen.Err()),
	)
	o.Comment("Commit publishes the claimed frame and returns its sequence number.")
	o.Func().Params(recv.Clone()).Id("Commit").Params().Params(jen.Uint64(), jen.Error()).Block(
		jen.Return(jen.Id("p").Dot("p").Dot("Commit").Call()))
	o.Comment("Abort gives up the claimed frame.")
	o.Func().Params(recv.Clone()).Id("Abort").Params().Block(jen.Id("p").Dot("p").Dot("Abort").Call())
	g.claim(s, view, prod, dyn, typedT)
	offerParams := []jen.Code{jen.Id("data").Index().Add(T.Clone())}
	offerArgs := []jen.Code{jen.Id("data")}
	switch len(dyn) {
	case 0:
		o.Comment("Offer copies data (every element, in memory order) into a new frame and")
		o.Comment("publishes it; len(data) must be the shape's element count (typed.ErrLength).")
	case 1:
		o.Commentf("Offer copies data (every element, in memory order) into a new frame whose")
		o.Commentf("dynamic dim %s is len(data) divided by the fixed dims, and publishes it.", dyn[0])
	default:
		o.Commentf("Offer copies data (every element, in memory order) into a new frame whose")
		o.Commentf("dynamic dims are %s, and publishes it.", strings.Join(dyn, ", "))
		offerParams = append(offerParams, jen.List(ids(dyn)...).Int())
		offerArgs = append(offerArgs, ids(dyn)...)
	}
	o.Func().Params(recv.Clone()).Id("Offer").Params(offerParams...).Params(jen.Uint64(), jen.Error()).Block(
		jen.Return(jen.Id("p").Dot("p").Dot("Offer").Call(offerArgs...)))
	o.Comment("SetTimestampNs sets the capture timestamp of the next frame (0: none).")
	o.Func().Params(recv.Clone()).Id("SetTimestampNs").Params(jen.Id("ns").Uint64()).Block(
		jen.Id("p").Dot("p").Dot("SetTimestampNs").Call(jen.Id("ns")))
	o.Comment("Untyped returns the client Producer underneath (stats, lease, epoch).")
	o.Func().Params(recv.Clone()).Id("Untyped").Params().Op("*").Qual(clientPkg, "Producer").Block(
		jen.Return(jen.Id("p").Dot("p").Dot("Untyped").Call()))
	o.Comment("Close detaches the producer.")
	o.Func().Params(recv.Clone()).Id("Close").Params().Error().Block(jen.Return(jen.Id("p").Dot("p").Dot("Close").Call()))
}

// claim emits the stream's claim type and the producer's TryClaim.
func (g *gen) claim(s *decl.Stream, view, prod string, dyn []string, typedT func(string) *jen.Statement) {
	o := g.out
	N := s.Name
	cl := g.declare(N+"Claim", "stream "+N)
	recv := jen.Id("p").Op("*").Id(prod)
	claimParams := []jen.Code{}
	if len(dyn) > 0 {
		claimParams = append(claimParams, jen.List(ids(dyn)...).Int())
	}
	if len(dyn) == 0 {
		o.Comment("TryClaim reserves a slot for a frame and returns the claim: fill its View in")
	} else {
		o.Commentf("TryClaim reserves a slot for a frame whose dynamic dims are %s (each within", strings.Join(dyn, ", "))
		o.Comment("its declared bound, else typed.ErrMismatch) and returns the claim: fill its View in")
	}
	o.Comment("place, report how far with Progress or ProgressRows, then Commit or Abort it.")
	o.Comment("Up to client.ProducerConfig.MaxClaims claims (see the With constructor) may be")
	o.Comment("open at once, filled and committed in any order; one more aborts the oldest.")
	o.Comment("Errors are the client's (client.ErrPaused, ...).")
	o.Func().Params(recv.Clone()).Id("TryClaim").Params(claimParams...).Params(jen.Id(cl), jen.Error()).Block(
		jen.List(jen.Id("c"), jen.Err()).Op(":=").Id("p").Dot("p").Dot("TryClaim").Call(ids(dyn)...),
		jen.Return(jen.Id(cl).Values(jen.Id("c")), jen.Err()),
	)
	o.Commentf("%s is a frame of stream %s being filled in place, from TryClaim. It is a", cl, N)
	o.Comment("small value: copies refer to the same claim. Its View is valid until Commit or")
	o.Comment("Abort; after that every method reports client.ErrClaimLost or does nothing.")
	o.Type().Id(cl).Struct(jen.Id("c").Add(typedT("Claim")))
	crecv := jen.Id("c").Id(cl)
	o.Comment("View returns the frame to fill.")
	o.Func().Params(crecv.Clone()).Id("View").Params().Id(view).Block(
		jen.Return(jen.Id(view).Values(jen.Id("c").Dot("c").Dot("View").Call())))
	o.Comment("Seq returns the frame's sequence number.")
	o.Func().Params(crecv.Clone()).Id("Seq").Params().Uint64().Block(
		jen.Return(jen.Id("c").Dot("c").Dot("Seq").Call()))
	o.Comment("Open reports whether the claim is neither committed nor aborted.")
	o.Func().Params(crecv.Clone()).Id("Open").Params().Bool().Block(
		jen.Return(jen.Id("c").Dot("c").Dot("Open").Call()))
	o.Comment("SetTimestampNs sets the frame's capture timestamp.")
	o.Func().Params(crecv.Clone()).Id("SetTimestampNs").Params(jen.Id("ns").Uint64()).Block(
		jen.Id("c").Dot("c").Dot("SetTimestampNs").Call(jen.Id("ns")))
	o.Comment("Progress reports the first filled bytes of the frame written: a FrameProgress")
	o.Comment("PROGRESS hint when the producer's config has Progress and the throttle allows.")
	o.Comment("It returns client.ErrProgress for a count past the frame or below an earlier one.")
	o.Func().Params(crecv.Clone()).Id("Progress").Params(jen.Id("filled").Int()).Error().Block(
		jen.Return(jen.Id("c").Dot("c").Dot("Progress").Call(jen.Id("filled"))))
	if s.Order == decl.ColumnMajor {
		o.Comment("ProgressRows is Progress for the first rows columns (View's Row) written.")
	} else {
		o.Comment("ProgressRows is Progress for the first rows rows (View's Row) written.")
	}
	o.Func().Params(crecv.Clone()).Id("ProgressRows").Params(jen.Id("rows").Int()).Error().Block(
		jen.Return(jen.Id("c").Dot("c").Dot("ProgressRows").Call(jen.Id("rows"))))
	o.Comment("Commit publishes the frame and returns its sequence number.")
	o.Func().Params(crecv.Clone()).Id("Commit").Params().Params(jen.Uint64(), jen.Error()).Block(
		jen.Return(jen.Id("c").Dot("c").Dot("Commit").Call()))
	o.Comment("Abort gives up the frame, if the claim is still open.")
	o.Func().Params(crecv.Clone()).Id("Abort").Params().Block(jen.Id("c").Dot("c").Dot("Abort").Call())
}

func (g *gen) consumer(s *decl.Stream, view, cons, newCons, specVar string, typedT func(string) *jen.Statement) {
	o := g.out
	N := s.Name
	T := jen.Id(s.Dtype.GoType)
	handler := jen.Func().Params(jen.Id(view), jen.Qual(clientPkg, "FrameView"))
	o.Commentf("%s reads the frames of stream %s. It is not safe for concurrent use.", cons, N)
	fields := []jen.Code{
		jen.Id("s").Op("*").Add(typedT("Consumer")),
		jen.Id("handler").Add(handler.Clone()),
		jen.Id("fh").Func().Params(typedT("View"), jen.Qual(clientPkg, "FrameView")),
	}
	if s.Metadata != nil {
		c := g.codecs[s.Metadata.Schema]
		fields = append(fields, jen.Id("metaDec").Qual(c.path, s.Metadata.Message.Name+"Decoder"))
	}
	o.Type().Id(cons).Struct(fields...)
	newConsWith := g.declare(newCons+"With", "stream "+N)
	onProg := g.declare("On"+N+"Progress", "stream "+N)
	o.Commentf("%s attaches a consumer of stream %s (stream id %d) through c with the", newCons, N, s.StreamID)
	o.Commentf("client's defaults (%s with a zero client.ConsumerConfig).", newConsWith)
	o.Func().Id(newCons).Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("c").Op("*").Qual(clientPkg, "Client")).
		Params(jen.Op("*").Id(cons), jen.Error()).Block(
		jen.Return(jen.Id(newConsWith).Call(jen.Id("ctx"), jen.Id("c"), jen.Qual(clientPkg, "ConsumerConfig").Values())),
	)
	o.Commentf("%s attaches a consumer of stream %s through c, configured by cfg (mode,", newConsWith, N)
	o.Commentf("rate, metadata, OnProgress: see %s): StreamID 0 becomes %d. It fails", onProg, s.StreamID)
	o.Comment("(typed.ErrMismatch, naming both) if cfg names another stream or the driver's")
	o.Comment("pools cannot hold the declared largest frame.")
	o.Func().Id(newConsWith).Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("c").Op("*").Qual(clientPkg, "Client"), jen.Id("cfg").Qual(clientPkg, "ConsumerConfig")).
		Params(jen.Op("*").Id(cons), jen.Error()).Block(
		jen.List(jen.Id("s"), jen.Err()).Op(":=").Qual(typedPkg, "NewConsumer").Types(T.Clone()).Call(
			jen.Id("ctx"), jen.Id("c"), jen.Op("&").Id(specVar), jen.Id("cfg")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Id("x").Op(":=").Op("&").Id(cons).Values(jen.Dict{jen.Id("s"): jen.Id("s")}),
		jen.Id("x").Dot("fh").Op("=").Id("x").Dot("frame"),
		jen.Return(jen.Id("x"), jen.Nil()),
	)
	o.Commentf("%s makes client.ConsumerConfig.OnProgress from a handler of stream %s's", onProg, N)
	o.Comment("FrameProgress hints in its units (typed.Progress: Elements, Rows), for")
	o.Commentf("%s. The handler runs inside Poll, Next or Run; it allocates nothing per hint.", newConsWith)
	o.Func().Id(onProg).Params(jen.Id("h").Func().Params(jen.Qual(typedPkg, "Progress"))).Func().Params(jen.Qual(clientPkg, "FrameProgress")).Block(
		jen.Return(jen.Qual(typedPkg, "OnProgress").Call(jen.Op("&").Id(specVar), jen.Id("h"))))
	recv := jen.Id("s").Op("*").Id(cons)
	o.Comment("frame adapts the typed view to this stream's; bound once, as fh, so Poll")
	o.Comment("allocates nothing.")
	o.Func().Params(recv.Clone()).Id("frame").Params(jen.Id("v").Add(typedT("View")), jen.Id("f").Qual(clientPkg, "FrameView")).Block(
		jen.Id("s").Dot("handler").Call(jen.Id(view).Values(jen.Id("v")), jen.Id("f")))
	o.Comment("Next waits for the next frame; the view and f (sequence number, timestamp,")
	o.Comment("Verify) are valid until the next Next, Poll or Close. A frame that does not")
	o.Comment("match the declaration is an error wrapping typed.ErrMismatch that names both;")
	o.Comment("Next can be called again.")
	o.Func().Params(recv.Clone()).Id("Next").Params(jen.Id("ctx").Qual("context", "Context")).
		Params(jen.Id(view), jen.Qual(clientPkg, "FrameView"), jen.Error()).Block(
		jen.List(jen.Id("v"), jen.Id("f"), jen.Err()).Op(":=").Id("s").Dot("s").Dot("Next").Call(jen.Id("ctx")),
		jen.Return(jen.Id(view).Values(jen.Id("v")), jen.Id("f"), jen.Err()),
	)
	o.Comment("Poll calls handler with each frame that has arrived and matches the")
	o.Comment("declaration (others are counted by Mismatched); it never blocks.")
	o.Func().Params(recv.Clone()).Id("Poll").Params(jen.Id("handler").Add(handler.Clone())).Int().Block(
		jen.Id("s").Dot("handler").Op("=").Id("handler"),
		jen.Id("n").Op(":=").Id("s").Dot("s").Dot("Poll").Call(jen.Id("s").Dot("fh")),
		jen.Id("s").Dot("handler").Op("=").Nil(),
		jen.Return(jen.Id("n")),
	)
	o.Comment("Run calls handler with every matching frame until ctx ends.")
	o.Func().Params(recv.Clone()).Id("Run").Params(jen.Id("ctx").Qual("context", "Context"), jen.Id("handler").Add(handler.Clone())).Error().Block(
		jen.Id("s").Dot("handler").Op("=").Id("handler"),
		jen.Defer().Func().Params().Block(jen.Id("s").Dot("handler").Op("=").Nil()).Call(),
		jen.Return(jen.Id("s").Dot("s").Dot("Run").Call(jen.Id("ctx"), jen.Id("s").Dot("fh"))),
	)
	o.Comment("Mismatched counts the frames Poll skipped because they did not match the")
	o.Comment("declaration.")
	o.Func().Params(recv.Clone()).Id("Mismatched").Params().Uint64().Block(jen.Return(jen.Id("s").Dot("s").Dot("Mismatched").Call()))
	o.Comment("Err returns the last mismatch Poll, Next or Run met (nil if none).")
	o.Func().Params(recv.Clone()).Id("Err").Params().Error().Block(jen.Return(jen.Id("s").Dot("s").Dot("Err").Call()))
	o.Comment("Untyped returns the client Consumer underneath (stats, lease, epoch).")
	o.Func().Params(recv.Clone()).Id("Untyped").Params().Op("*").Qual(clientPkg, "Consumer").Block(
		jen.Return(jen.Id("s").Dot("s").Dot("Untyped").Call()))
	o.Comment("Close detaches the consumer.")
	o.Func().Params(recv.Clone()).Id("Close").Params().Error().Block(jen.Return(jen.Id("s").Dot("s").Dot("Close").Call()))
}

// metaBufferBytes sizes a producer's metadata encode buffer.
func metaBufferBytes(s *decl.Stream) int {
	m := s.Metadata.Message
	if len(m.Groups) == 0 && len(m.Data) == 0 {
		return s.Metadata.Schema.Header.EncodedSize() + m.BlockLength
	}
	return DefaultMetaBufferBytes
}

// MetaKey is the DataSourceMeta attribute key that carries a stream's
// metadata message: "sbe:<schema package>.<message>".
func MetaKey(m *decl.Metadata) string { return "sbe:" + m.Name }

// MetaFormat is the format of that attribute: "sbe:<schema id>.<template
// id>" (wire spec 10.3.2).
func MetaFormat(m *decl.Metadata) string {
	return fmt.Sprintf("sbe:%d.%d", m.Schema.ID, m.Message.ID)
}

func (g *gen) metadata(s *decl.Stream, prod, cons string) {
	o := g.out
	N := s.Name
	c := g.codecs[s.Metadata.Schema]
	msg := s.Metadata.Message.Name
	key := g.declare(N+"MetaKey", "stream "+N)
	format := g.declare(N+"MetaFormat", "stream "+N)
	dec := g.declare("Decode"+N+"Meta", "stream "+N)
	o.Commentf("%s is the DataSourceMeta attribute key whose value is stream %s's", key, N)
	o.Commentf("metadata: a %s message of SBE schema %q (id %d), encoded with its header.", msg, s.Metadata.Schema.Package, s.Metadata.Schema.ID)
	o.Const().Id(key).Op("=").Lit(MetaKey(s.Metadata))
	o.Commentf("%s is the format of a %s attribute: \"sbe:<schema id>.<template id>\"", format, key)
	o.Comment("(wire spec 10.3.2).")
	o.Const().Id(format).Op("=").Lit(MetaFormat(s.Metadata))
	recv := jen.Id("p").Op("*").Id(prod)
	o.Commentf("Meta starts a new %s metadata message in the producer's buffer and returns", msg)
	o.Comment("its encoder: set its fields, then MetaBytes.")
	o.Func().Params(recv.Clone()).Id("Meta").Params().Op("*").Qual(c.path, msg+"Encoder").Block(
		jen.Id("_").Op("=").Id("p").Dot("metaEnc").Dot("WrapWithHeader").Call(jen.Id("p").Dot("metaBuf").Index(jen.Empty(), jen.Empty())),
		jen.Return(jen.Op("&").Id("p").Dot("metaEnc")),
	)
	o.Comment("MetaBytes finishes the message Meta started and returns its encoding (the")
	o.Commentf("value of a %s attribute). It aliases the producer's buffer until the next Meta.", key)
	o.Func().Params(recv.Clone()).Id("MetaBytes").Params().Params(jen.Index().Byte(), jen.Error()).Block(
		jen.List(jen.Id("n"), jen.Err()).Op(":=").Id("p").Dot("metaEnc").Dot("Finish").Call(),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
		jen.Return(jen.Id("p").Dot("metaBuf").Index(jen.Empty(), jen.Id("n")), jen.Nil()),
	)
	o.Commentf("PublishMeta sends the message Meta started as the stream's metadata: the")
	o.Commentf("DataSourceMeta attribute %s (format %s), replacing the", key, format)
	o.Comment("stream's attributes, as a new meta_version that every frame committed from")
	o.Comment("now on carries (client.Producer.PublishMeta). It returns that version.")
	o.Func().Params(recv.Clone()).Id("PublishMeta").Params().Params(jen.Uint32(), jen.Error()).Block(
		jen.List(jen.Id("b"), jen.Err()).Op(":=").Id("p").Dot("MetaBytes").Call(),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
		jen.Return(jen.Id("p").Dot("p").Dot("Untyped").Call().Dot("PublishMeta").Call(
			jen.Index().Qual(clientPkg, "Attribute").Values(jen.Values(jen.Dict{
				jen.Id("Key"): jen.Id(key), jen.Id("Format"): jen.Id(format), jen.Id("Value"): jen.Id("b"),
			})))),
	)
	crecv := jen.Id("s").Op("*").Id(cons)
	o.Commentf("Meta returns the %s metadata frame f refers to (its meta_version), decoded", msg)
	o.Comment("into the consumer's decoder: valid until the next Meta. It is nil when that")
	o.Comment("version has not arrived (metadata travels on its own stream) or has no")
	o.Commentf("%s attribute, and an error when the attribute does not decode.", key)
	o.Func().Params(crecv).Id("Meta").Params(jen.Id("f").Qual(clientPkg, "FrameView")).Params(jen.Op("*").Qual(c.path, msg+"Decoder"), jen.Error()).Block(
		jen.List(jen.Id("a"), jen.Id("ok")).Op(":=").Id("f").Dot("Meta").Call().Dot("Attribute").Call(jen.Id(key)),
		jen.If(jen.Op("!").Id("ok")).Block(jen.Return(jen.Nil(), jen.Nil())),
		jen.If(jen.Err().Op(":=").Id(dec).Call(jen.Id("a").Dot("Value"), jen.Op("&").Id("s").Dot("metaDec")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Nil(), jen.Qual("fmt", "Errorf").Call(jen.Lit("stream "+N+": metadata "+MetaKey(s.Metadata)+": %w"), jen.Err()))),
		jen.Return(jen.Op("&").Id("s").Dot("metaDec"), jen.Nil()),
	)
	o.Commentf("%s decodes the value of a %s attribute into d (it aliases b).", dec, key)
	o.Func().Id(dec).Params(jen.Id("b").Index().Byte(), jen.Id("d").Op("*").Qual(c.path, msg+"Decoder")).Error().Block(
		jen.Return(jen.Id("d").Dot("WrapWithHeader").Call(jen.Id("b"))))
}

// sortedCodecs is for deterministic output.
func (g *gen) sortedCodecs() []*codec {
	var cs []*codec
	for _, c := range g.codecs {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].pkg < cs[j].pkg })
	return cs
}
