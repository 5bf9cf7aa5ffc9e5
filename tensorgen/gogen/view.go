package gogen

import (
	"fmt"

	"github.com/dave/jennifer/jen"

	"github.com/tpool-go/tpool/tensorgen/schema"
)

// hasView reports whether message level l gets the value-type View and
// Writer: a message that is one block and nothing after it (no groups,
// no var data), whose decoder has the WrapWithHeader fast path.
func (g *gen) hasView(l *level) bool {
	return l.msg != nil && l.stages() == 0 && l.blockLength > 0 && l.msg.SinceVersion <= g.s.Version
}

// viewNames are the Go names of a message's view, writer and writer
// constructor.
func viewNames(l *level) (view, writer, newWriter string) {
	return l.prefix + "View", l.prefix + "Writer", "New" + l.prefix + "Writer"
}

// headerMatches returns the condition that the first bytes of buf (at
// least a header long) are the header this schema version writes for m.
func (g *gen) headerMatches(m *schema.Message, buf jen.Code) jen.Code {
	hs := g.s.Header.Size
	img := g.headerImage(m)
	var w uint64
	for i := len(img) - 1; i >= 0; i-- {
		w = w<<8 | uint64(img[i])
	}
	if read := map[int]string{2: "Uint16", 4: "Uint32", 8: "Uint64"}[hs]; read != "" {
		return jen.Qual(binaryPkg, "LittleEndian").Dot(read).Call(buf).Op("==").Op(fmt.Sprintf("0x%0*x", 2*hs, w))
	}
	return jen.Index(jen.Lit(hs)).Byte().Parens(jen.Add(buf).Index(jen.Empty(), jen.Lit(hs))).Op("==").Id(lowerFirst(exported(m.Name)) + "Header")
}

// headerMember returns an int expression reading header member name from
// the header at the start of buf (an expression of an array pointer or
// slice at least a header long).
func (g *gen) headerMember(name string, buf jen.Code) jen.Code {
	h := g.s.Header
	mem := h.Member(name)
	e, ok := mem.Type.(*schema.Encoded)
	if !ok || e.Presence == schema.Constant {
		return jen.Int().Call(jen.Id(exported(h.Name)).Values(jen.Add(buf).Index(jen.Empty(), jen.Lit(h.Size))).Dot(exported(name)).Call())
	}
	return jen.Int().Call(g.coder.read(e.Primitive, buf, jen.Lit(mem.Offset)))
}

// messageView emits, for a block-only message, the value types of the hot
// path (see docs/TENSORGEN.md, "Views and writers"):
//
//   - <M>View: a read-only view of header and block, one array pointer,
//     getters without error results; <M>Decoder.View returns one. Its
//     fast path (the current header) is small enough for Go's inliner
//     (cost 80 of 80 for an 8-byte header; a test guards it), so a
//     caller's loop reads the message with no call and no stores.
//   - <M>Writer: header and block written in place through one array
//     pointer; New<M>Writer writes header and init block as one image.
//
// Being values held in registers, they let the compiler keep the block
// pointer in a register across field accesses, where a pointer-receiver
// codec must reload it after every store to memory it might alias.
func (g *gen) messageView(l *level) {
	m := l.msg
	hs := g.s.Header.Size
	bl := l.blockLength
	n := hs + bl
	view, writer, newWriter := viewNames(l)
	from := "message " + m.Name + " at " + m.Pos.String()
	for _, id := range []string{view, writer, newWriter} {
		g.declare(g.top, id, from)
	}
	full := func() *jen.Statement { return jen.Index(jen.Lit(n)).Byte() }
	block := func(recv string) func() *jen.Statement {
		return func() *jen.Statement { return jen.Id(recv).Dot("block").Call() }
	}
	decName := l.decName()
	lower := lowerFirst(exported(m.Name))

	// The view.
	g.f.Add(doc(view, "", []string{
		fmt.Sprintf("%s is a read-only view of a %s message (header and root block) in place,", view, m.Name),
		"held by value: its getters return plain values and check nothing, since",
		fmt.Sprintf("%s.View checked the whole message once. A view returned with an", decName),
		"error reads every field as its null value (required ones too: the",
		"decoder's null image). It is valid as long as the",
		"buffer it was made from is, and must not be used after that buffer is",
		"written to if the values matter (it does not copy).",
	}...))
	g.f.Type().Id(view).Struct(jen.Id("b").Op("*").Add(full()))
	nullImg, _ := g.images(l)
	nullView := lower + "NullView"
	g.f.Comment(nullView + " is what a view returned with an error reads: a zero header and the null block.")
	g.f.Var().Id(nullView).Op("=").Add(full()).Values(byteLits(append(make([]byte, hs), nullImg...))...)
	g.f.Func().Params(jen.Id("m").Id(view)).Id("block").Params().Op("*").Add(blockType(l)).Block(
		jen.Return(jen.Parens(jen.Op("*").Add(blockType(l))).Call(jen.Id("m").Dot("b").Index(jen.Lit(hs), jen.Empty()))),
	)
	g.f.Comment("ActingVersion returns the schema version the message was encoded with.")
	g.f.Func().Params(jen.Id("m").Id(view)).Id("ActingVersion").Params().Int().Block(jen.Return(g.headerMember("version", jen.Id("m").Dot("b"))))
	g.f.Comment("ActingBlockLength returns the root block length the message was encoded with.")
	g.f.Func().Params(jen.Id("m").Id(view)).Id("ActingBlockLength").Params().Int().Block(jen.Return(g.headerMember("blockLength", jen.Id("m").Dot("b"))))
	g.f.Comment("EncodedLength returns the length of the whole message, header included.")
	g.f.Func().Params(jen.Id("m").Id(view)).Id("EncodedLength").Params().Int().Block(jen.Return(jen.Lit(hs).Op("+").Id("m").Dot("ActingBlockLength").Call()))

	// Decoder.View: the fast path inlines; everything else is d.view.
	g.f.Comment(fmt.Sprintf("View decodes a message header at buf[0] and the %s after it, like", m.Name))
	g.f.Comment("WrapWithHeader, and returns a view of them. For the header this schema")
	g.f.Comment("version writes it is one comparison and inlines into the caller; any")
	g.f.Comment("other header (an older or newer sender) and every error go through")
	g.f.Comment("WrapWithHeader, and the view then reads older messages exactly as the")
	g.f.Comment("decoder does (absent fields null). d is only scratch for that slow path:")
	g.f.Comment("afterwards it may or may not be wrapped at buf, and a view of a message")
	g.f.Comment("whose block had to be padded (an older sender) reads d's copy, which d's")
	g.f.Comment("next View of such a message overwrites.")
	g.f.Func().Params(jen.Id("d").Op("*").Id(decName)).Id("View").Params(jen.Id("buf").Index().Byte()).Params(jen.Id("v").Id(view), jen.Err().Error()).Block(
		jen.If(jen.Len(jen.Id("buf")).Op(">=").Lit(n).Op("&&").Add(g.headerMatches(m, jen.Id("buf")))).Block(
			jen.Id("v").Dot("b").Op("=").Parens(jen.Op("*").Add(full())).Call(jen.Id("buf")),
		).Else().Block(
			jen.List(jen.Id("v"), jen.Err()).Op("=").Id("d").Dot("view").Call(jen.Id("buf")),
		),
		jen.Return(),
	)
	g.f.Comment("view is View for every header but the current one.")
	g.f.Func().Params(jen.Id("d").Op("*").Id(decName)).Id("view").Params(jen.Id("buf").Index().Byte()).Params(jen.Id(view), jen.Error()).Block(
		jen.If(jen.Err().Op(":=").Id("d").Dot("WrapWithHeader").Call(jen.Id("buf")), jen.Err().Op("!=").Nil()).Block(
			jen.Return(jen.Id(view).Values(jen.Op("&").Id(nullView)), jen.Err())),
		jen.If(jen.Id("d").Dot("block").Op("!=").Id("d").Dot("padded")).Block(
			jen.Comment("The block is in place, so buf holds header and block."),
			jen.Return(jen.Id(view).Values(jen.Parens(jen.Op("*").Add(full())).Call(jen.Id("buf"))), jen.Nil())),
		jen.Comment("An older or shorter block: the decoder's padded copy, behind a copy of the header."),
		jen.If(jen.Id("d").Dot("viewPad").Op("==").Nil()).Block(jen.Id("d").Dot("viewPad").Op("=").New(full())),
		jen.Copy(jen.Id("d").Dot("viewPad").Index(jen.Empty(), jen.Lit(hs)), jen.Id("buf")),
		jen.Op("*").Parens(jen.Op("*").Add(blockType(l))).Call(jen.Id("d").Dot("viewPad").Index(jen.Lit(hs), jen.Empty())).Op("=").Op("*").Id("d").Dot("block"),
		jen.Return(jen.Id(view).Values(jen.Id("d").Dot("viewPad")), jen.Nil()),
	)

	// The writer.
	g.f.Add(doc(writer, "", []string{
		fmt.Sprintf("%s writes a %s message (header and root block) in place, held by", writer, m.Name),
		"value: its setters check nothing, since " + newWriter + " checked the buffer",
		"once. The zero " + writer + " (returned with an error) must not be used.",
	}...))
	g.f.Type().Id(writer).Struct(jen.Id("b").Op("*").Add(full()))
	initVar := lower + "HeaderInit"
	g.f.Comment(fmt.Sprintf("%s writes the message header for %s at buf[0] and the root block", newWriter, m.Name))
	g.f.Comment("after it with every optional field null and every other byte zero (as")
	g.f.Comment(fmt.Sprintf("%s.WrapWithHeader does), and returns a writer over them.", l.encName()))
	g.f.Func().Id(newWriter).Params(jen.Id("buf").Index().Byte()).Params(jen.Id(writer), jen.Error()).Block(
		jen.If(jen.Len(jen.Id("buf")).Op("<").Lit(n)).Block(jen.Return(jen.Id(writer).Values(), jen.Qual(sbePkg, "ErrShortBuffer"))),
		jen.Op("*").Parens(jen.Op("*").Add(full())).Call(jen.Id("buf")).Op("=").Id(initVar),
		jen.Return(jen.Id(writer).Values(jen.Parens(jen.Op("*").Add(full())).Call(jen.Id("buf"))), jen.Nil()),
	)
	g.f.Func().Params(jen.Id("w").Id(writer)).Id("block").Params().Op("*").Add(blockType(l)).Block(
		jen.Return(jen.Parens(jen.Op("*").Add(blockType(l))).Call(jen.Id("w").Dot("b").Index(jen.Lit(hs), jen.Empty()))),
	)
	g.f.Comment("EncodedLength returns the length of the message, header included.")
	g.f.Func().Params(jen.Id("w").Id(writer)).Id("EncodedLength").Params().Int().Block(jen.Return(jen.Lit(n)))

	viewOwner := &owner{
		gen:        g,
		kind:       "message " + m.Name,
		getRecv:    jen.Id("m").Id(view),
		getBuf:     block("m"),
		getMethods: newScope("method of "+view, "block", "ActingVersion", "ActingBlockLength", "EncodedLength"),
		getName:    "m",
	}
	writerOwner := &owner{
		gen:        g,
		kind:       "message " + m.Name,
		setRecv:    jen.Id("w").Id(writer),
		setBuf:     block("w"),
		setMethods: newScope("method of "+writer, "block", "EncodedLength"),
		getName:    "w",
	}
	g.blockAccessors(l, viewOwner, writerOwner, nil, nil, jen.Id("m").Dot("ActingVersion").Call(), nil, nil)
}
