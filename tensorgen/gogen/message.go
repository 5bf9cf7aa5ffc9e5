package gogen

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/tpool-go/tpool/tensorgen/schema"
)

// level is a message root or a group: a block of fields followed by
// groups and var data. Groups and data are "stages" 0..S-1 in schema order.
type level struct {
	prefix      string // Go name prefix, e.g. "Car" or "CarFuelFigures"
	fields      []*schema.Field
	groups      []*schema.Group
	data        []*schema.Data
	blockLength int
	msg         *schema.Message
	grp         *schema.Group
}

func (l *level) stages() int     { return len(l.groups) + len(l.data) }
func (l *level) decName() string { return l.prefix + "Decoder" }
func (l *level) encName() string { return l.prefix + "Encoder" }

func groupLevel(parent *level, gr *schema.Group) *level {
	return &level{
		prefix:      parent.prefix + exported(gr.Name),
		fields:      gr.Fields,
		groups:      gr.Groups,
		data:        gr.Data,
		blockLength: gr.BlockLength,
		grp:         gr,
	}
}

func fieldAccessor(f *schema.Field) accessor {
	return accessor{
		Common:    f.Common,
		typ:       f.Type,
		offset:    f.Offset,
		presence:  f.Presence,
		null:      f.Null,
		constEnum: f.ConstEnum,
	}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

// dim describes a group's dimension composite.
type dim struct {
	size    int
	blOff   int
	blPrim  schema.Primitive
	cntOff  int
	cntPrim schema.Primitive
	cntMax  uint64
}

// dimOf reads the dimension composite of gr; package schema has checked
// that blockLength and numInGroup are non-constant integer types.
func dimOf(gr *schema.Group) dim {
	bl, cnt := gr.Dimension.Member("blockLength"), gr.Dimension.Member("numInGroup")
	be, ce := bl.Type.(*schema.Encoded), cnt.Type.(*schema.Encoded)
	d := dim{
		size:    gr.Dimension.Size,
		blOff:   bl.Offset,
		blPrim:  be.Primitive,
		cntOff:  cnt.Offset,
		cntPrim: ce.Primitive,
		cntMax:  ce.Max.U,
	}
	if ce.Primitive.IsSigned() {
		d.cntMax = uint64(ce.Max.I)
	}
	return d
}

// putDim emits "func put<Prefix>Header(st *sbe.EncoderState, count int) error".
func (g *gen) putDim(gl *level) {
	d := dimOf(gl.grp)
	g.f.Func().Id("put"+gl.prefix+"Header").Params(jen.Id("st").Op("*").Qual(sbePkg, "EncoderState"), jen.Id("count").Int()).Error().Block(
		jen.List(jen.Id("p"), jen.Err()).Op(":=").Id("st").Dot("Reserve").Call(jen.Lit(d.size)),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.Clear(jen.Id("st").Dot("Buf").Index(jen.Id("p"), jen.Id("p").Op("+").Lit(d.size))),
		g.coder.write(d.blPrim, jen.Id("st").Dot("Buf"), jen.Id("p").Op("+").Lit(d.blOff), jen.Lit(gl.blockLength)),
		g.coder.write(d.cntPrim, jen.Id("st").Dot("Buf"), jen.Id("p").Op("+").Lit(d.cntOff), jen.Id("count")),
		jen.Return(jen.Nil()),
	)
}

func (g *gen) dataWidth(dt *schema.Data) (int, jen.Code, jen.Code) {
	w := dt.LengthType().Size()
	return w, jen.Lit(g.coder.big), jen.Op(strconv.FormatUint(dt.MaxLength(), 10))
}

// skipFunc emits the validating walk over one group.
func (g *gen) skipFunc(gl *level) {
	d := dimOf(gl.grp)
	buf := jen.Id("buf")
	var body []jen.Code
	body = append(body,
		jen.If(jen.Id("p").Op("<").Lit(0).Op("||").Len(jen.Id("buf")).Op("-").Id("p").Op("<").Lit(d.size)).Block(jen.Return(jen.Lit(0), jen.Qual(sbePkg, "ErrShortBuffer"))),
		jen.Id("blockLength").Op(":=").Int().Call(g.coder.read(d.blPrim, buf, jen.Id("p").Op("+").Lit(d.blOff))),
		jen.Id("count").Op(":=").Int().Call(g.coder.read(d.cntPrim, buf, jen.Id("p").Op("+").Lit(d.cntOff))),
		jen.If(jen.Id("count").Op("<").Lit(0)).Block(jen.Return(jen.Lit(0), jen.Qual(sbePkg, "ErrGroupCount"))),
		jen.Id("p").Op("+=").Lit(d.size),
	)
	if gl.stages() == 0 {
		body = append(body,
			jen.If(jen.Id("blockLength").Op(">").Lit(0).Op("&&").Id("count").Op(">").Parens(jen.Len(jen.Id("buf")).Op("-").Id("p")).Op("/").Id("blockLength")).Block(
				jen.Return(jen.Lit(0), jen.Qual(sbePkg, "ErrShortBuffer"))),
			jen.Return(jen.Id("p").Op("+").Id("count").Op("*").Id("blockLength"), jen.Nil()),
		)
	} else {
		loop := []jen.Code{
			jen.If(jen.Len(jen.Id("buf")).Op("-").Id("p").Op("<").Id("blockLength")).Block(jen.Return(jen.Lit(0), jen.Qual(sbePkg, "ErrShortBuffer"))),
			jen.Id("p").Op("+=").Id("blockLength"),
		}
		loop = append(loop, g.skipStages(gl, jen.Id("buf"), jen.Id("actingVersion"), nil)...)
		body = append(body,
			jen.Var().Err().Error(),
			jen.For(jen.Id("i").Op(":=").Lit(0), jen.Id("i").Op("<").Id("count"), jen.Id("i").Op("++")).Block(loop...),
			jen.Return(jen.Id("p"), jen.Nil()),
		)
	}
	g.f.Func().Id("skip"+gl.prefix).Params(jen.Id("buf").Index().Byte(), jen.List(jen.Id("p"), jen.Id("actingVersion")).Int()).Params(jen.Int(), jen.Error()).Block(body...)
}

// skipStages walks the groups and data of one level from p, recording each
// stage's position in posArr (when not nil) and returning on error.
func (g *gen) skipStages(l *level, buf, acting jen.Code, posArr func(i int) *jen.Statement) []jen.Code {
	var out []jen.Code
	i := 0
	for _, gr := range l.groups {
		gl := groupLevel(l, gr)
		var st []jen.Code
		if posArr != nil {
			st = append(st, posArr(i).Op("=").Id("p"))
		}
		st = append(st, jen.If(jen.List(jen.Id("p"), jen.Err()).Op("=").Id("skip"+gl.prefix).Call(buf, jen.Id("p"), acting), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())))
		out = append(out, g.versioned(gr.SinceVersion, acting, st, posArr, i)...)
		i++
	}
	for _, dt := range l.data {
		w, big, max := g.dataWidth(dt)
		var st []jen.Code
		if posArr != nil {
			st = append(st, posArr(i).Op("=").Id("p"))
		}
		st = append(st, jen.If(jen.List(jen.Id("p"), jen.Err()).Op("=").Qual(sbePkg, "SkipVarData").Call(buf, jen.Id("p"), jen.Lit(w), big, max), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())))
		out = append(out, g.versioned(dt.SinceVersion, acting, st, posArr, i)...)
		i++
	}
	return out
}

func (g *gen) versioned(since int, acting jen.Code, st []jen.Code, posArr func(i int) *jen.Statement, i int) []jen.Code {
	if since == 0 {
		return st
	}
	stmt := jen.If(jen.Add(acting).Op(">=").Lit(since)).Block(st...)
	if posArr != nil {
		stmt = stmt.Else().Block(posArr(i).Op("=").Lit(-1))
	}
	return []jen.Code{stmt}
}

// message emits everything for one message.
func (g *gen) message(m *schema.Message) {
	name := exported(m.Name)
	l := &level{prefix: name, fields: m.Fields, groups: m.Groups, data: m.Data, blockLength: m.BlockLength, msg: m}
	for _, id := range []string{name + "Decoder", name + "Encoder", name + "TemplateID", name + "BlockLength"} {
		g.declare(g.top, id, "message "+m.Name+" at "+m.Pos.String())
	}
	g.f.Const().Defs(
		jen.Comment(name+"TemplateID is the template id of message "+m.Name+"."),
		jen.Id(name+"TemplateID").Op("=").Lit(m.ID),
		jen.Comment(name+"BlockLength is the length of the root block of "+m.Name+" at this schema version."),
		jen.Id(name+"BlockLength").Op("=").Lit(m.BlockLength),
	)
	g.decoderLevel(l)
	g.encoderLevel(l)
	g.messageDecoder(l)
	g.messageEncoder(l)
	if g.hasView(l) {
		g.messageView(l)
	}
}

// decoderLevel emits the decoder type of a level (root or group), with
// its nested levels.
func (g *gen) decoderLevel(l *level) {
	for _, gr := range l.groups {
		gl := groupLevel(l, gr)
		g.declare(g.top, gl.decName(), "group "+gr.Name+" at "+gr.Pos.String())
		g.declare(g.top, gl.encName(), "group "+gr.Name+" at "+gr.Pos.String())
		g.decoderLevel(gl)
		g.skipFunc(gl)
		g.putDim(gl)
		g.groupDecoder(gl)
	}
}

func (g *gen) encoderLevel(l *level) {
	for _, gr := range l.groups {
		gl := groupLevel(l, gr)
		g.encoderLevel(gl)
		g.groupEncoder(gl)
	}
}

// blockAccessors emits field getters/setters, group accessors and data
// accessors common to roots and group entries.
func (g *gen) blockAccessors(l *level, dec, enc *owner, decStatePos func(i int) *jen.Statement, decBuf, decActing jen.Code, encSt, encStRecv jen.Code) {
	for _, f := range l.fields {
		a := fieldAccessor(f)
		dec.field(a)
		if f.Presence != schema.Constant {
			enc.field(a)
		}
		g.inActingVersion(dec, decActing, exported(f.Name), "field "+f.Name, &f.Common, fieldAbsent(f))
		for _, lm := range laterMembers(f) {
			m := ""
			for _, part := range strings.Split(lm.name, ".") {
				m += exported(part)
			}
			c := schema.Common{Name: lm.name, SinceVersion: lm.since, Pos: f.Pos}
			g.inActingVersion(dec, decActing, m, "composite member "+lm.name, &c, "it reads as its null value")
		}
	}
	i := 0
	for _, gr := range l.groups {
		gl := groupLevel(l, gr)
		m := exported(gr.Name)
		from := "group " + gr.Name + " at " + gr.Pos.String()
		dec.addGet(m, from)
		g.inActingVersion(dec, decActing, m, "group "+gr.Name, &gr.Common, m+" has no entries")
		field := lowerFirst(m) + "G"
		g.f.Add(doc(m, gr.Description, append([]string{
			fmt.Sprintf("%s returns the decoder of group %s, positioned before its first entry;", m, gr.Name),
			"call Next to step through the entries. Calling it again restarts the iteration.",
		}, commonExtra(&gr.Common, m, "")...)...))
		g.f.Func().Params(dec.getRecv).Id(m).Params().Op("*").Id(gl.decName()).Block(
			jen.Id(dec.getName).Dot(field).Dot("init").Call(decBuf, decStatePos(i), decActing),
			jen.Return(jen.Op("&").Id(dec.getName).Dot(field)),
		)
		enc.addSet(m, from)
		g.f.Comment(fmt.Sprintf("%s starts group %s with count entries and returns its encoder; call Next before", m, gr.Name))
		g.f.Comment("filling each entry. Groups and var data must be written in schema order; skipped ones are written empty.")
		encName := "e"
		g.f.Func().Params(enc.setRecv).Id(m).Params(jen.Id("count").Int()).Params(jen.Op("*").Id(gl.encName()), jen.Error()).Block(
			jen.If(jen.Err().Op(":=").Id(encName).Dot("advance").Call(jen.Lit(i)), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.If(jen.Id("count").Op("<").Lit(0).Op("||").Uint64().Call(jen.Id("count")).Op(">").Op(strconv.FormatUint(dimOf(gr).cntMax, 10))).Block(
				jen.Return(jen.Nil(), jen.Add(encStRecv).Dot("Fail").Call(jen.Qual(sbePkg, "ErrGroupCount")))),
			jen.If(jen.Err().Op(":=").Id("put"+gl.prefix+"Header").Call(encSt, jen.Id("count")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.Id(encName).Dot(field).Dot("init").Call(encSt, jen.Id("count")),
			jen.Id(encName).Dot("stage").Op("=").Lit(i+1),
			jen.Id(encName).Dot("open").Op("=").Lit(i),
			jen.Return(jen.Op("&").Id(encName).Dot(field), jen.Nil()),
		)
		i++
	}
	for _, dt := range l.data {
		m := exported(dt.Name)
		from := "data " + dt.Name + " at " + dt.Pos.String()
		dec.addGet(m, from)
		g.inActingVersion(dec, decActing, m, "var data "+dt.Name, &dt.Common, m+" returns nil")
		w, big, max := g.dataWidth(dt)
		g.f.Add(doc(m, dt.Description, append([]string{fmt.Sprintf("%s returns the var data %s in place (no copy); nil when absent.", m, dt.Name)}, commonExtra(&dt.Common, m, "")...)...))
		g.f.Func().Params(dec.getRecv).Id(m).Params().Index().Byte().Block(
			jen.Return(jen.Qual(sbePkg, "VarData").Call(decBuf, decStatePos(i), jen.Lit(w), big)),
		)
		dec.addGet(m+"String", from)
		g.f.Comment(fmt.Sprintf("%sString returns %s as a string (a copy).", m, dt.Name))
		g.f.Func().Params(dec.getRecv).Id(m + "String").Params().String().Block(jen.Return(jen.String().Call(jen.Id(dec.getName).Dot(m).Call())))
		for _, variant := range []struct {
			suffix string
			typ    jen.Code
		}{{"", jen.Index().Byte()}, {"String", jen.String()}} {
			enc.addSet("Set"+m+variant.suffix, from)
			g.f.Comment(fmt.Sprintf("Set%s%s writes the var data %s (at most %d bytes). Groups and var data must be written in schema order.", m, variant.suffix, dt.Name, dt.MaxLength()))
			g.f.Func().Params(enc.setRecv).Id("Set"+m+variant.suffix).Params(jen.Id("v").Add(variant.typ)).Error().Block(
				jen.If(jen.Err().Op(":=").Id("e").Dot("advance").Call(jen.Lit(i)), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
				jen.If(jen.Err().Op(":=").Qual(sbePkg, "PutVarData").Call(encSt, jen.Lit(w), big, max, jen.Id("v")), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
				jen.Id("e").Dot("stage").Op("=").Lit(i+1),
				jen.Return(jen.Nil()),
			)
		}
		enc.addSet("Reserve"+m, from)
		g.f.Comment(fmt.Sprintf("Reserve%s writes the length prefix of var data %s for n bytes and returns", m, dt.Name))
		g.f.Comment("the n bytes to fill in place: a zero-copy alternative to Set" + m + ".")
		g.f.Func().Params(enc.setRecv).Id("Reserve"+m).Params(jen.Id("n").Int()).Params(jen.Index().Byte(), jen.Error()).Block(
			jen.If(jen.Err().Op(":=").Id("e").Dot("advance").Call(jen.Lit(i)), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.List(jen.Id("b"), jen.Err()).Op(":=").Qual(sbePkg, "ReserveVarData").Call(encSt, jen.Lit(w), big, max, jen.Id("n")),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Nil(), jen.Err())),
			jen.Id("e").Dot("stage").Op("=").Lit(i+1),
			jen.Return(jen.Id("b"), jen.Nil()),
		)
		i++
	}
}

// inActingVersion emits, for an element added after version 0 of the
// schema, the decoder method <M>InActingVersion reporting whether the
// element exists at the version the decoded message was encoded with (the
// equivalent of SBE's InActingVersion). Elements of version 0 exist in every
// message and get no method. absent says how accessor m reads otherwise.
func (g *gen) inActingVersion(dec *owner, acting jen.Code, m, what string, c *schema.Common, absent string) {
	if c.SinceVersion == 0 {
		return
	}
	method := m + "InActingVersion"
	dec.addGet(method, what+" at "+c.Pos.String())
	g.f.Comment(fmt.Sprintf("%s reports whether %s exists in the decoded message:", method, what))
	g.f.Comment(fmt.Sprintf("it was added in schema version %d, and in a message of an older version", c.SinceVersion))
	g.f.Comment(absent + ".")
	g.f.Func().Params(dec.getRecv.Clone()).Id(method).Params().Bool().Block(jen.Return(jen.Add(acting).Op(">=").Lit(c.SinceVersion)))
}

// fieldAbsent says how the getter of field f reads when f is newer than the message.
func fieldAbsent(f *schema.Field) string {
	m := exported(f.Name)
	if f.Presence == schema.Constant {
		return m + " still returns the schema constant"
	}
	switch t := f.Type.(type) {
	case *schema.Encoded:
		if t.Presence == schema.Constant {
			return m + " still returns the schema constant"
		}
		if t.Length != 1 {
			return m + " reads as zeros"
		}
	case *schema.Set:
		return m + " has no choice set"
	case *schema.Composite:
		return "the members of " + m + " read as their null values"
	}
	return m + " reads as its null value"
}

// advanceFunc emits the stage machine of an encoder level.
func (g *gen) advanceFunc(l *level, recv *jen.Statement, st, stRecv jen.Code) {
	var closeCases []jen.Code
	var fillCases []jen.Code
	i := 0
	for _, gr := range l.groups {
		gl := groupLevel(l, gr)
		field := lowerFirst(exported(gr.Name)) + "G"
		closeCases = append(closeCases, jen.Case(jen.Lit(i)).Block(jen.Err().Op("=").Id("e").Dot(field).Dot("close").Call()))
		fillCases = append(fillCases, jen.Case(jen.Lit(i)).Block(jen.Err().Op("=").Id("put"+gl.prefix+"Header").Call(st, jen.Lit(0))))
		i++
	}
	for _, dt := range l.data {
		w, big, max := g.dataWidth(dt)
		fillCases = append(fillCases, jen.Case(jen.Lit(i)).Block(jen.Err().Op("=").Qual(sbePkg, "PutVarData").Call(st, jen.Lit(w), big, max, jen.Index().Byte().Parens(jen.Nil()))))
		i++
	}
	body := []jen.Code{
		jen.If(jen.Add(stRecv).Dot("Err").Op("!=").Nil()).Block(jen.Return(jen.Add(stRecv).Dot("Err"))),
		jen.If(jen.Id("k").Op("<").Id("e").Dot("stage")).Block(jen.Return(jen.Add(stRecv).Dot("Fail").Call(jen.Qual(sbePkg, "ErrEncodeOrder")))),
		jen.Var().Err().Error(),
	}
	if len(closeCases) > 0 {
		body = append(body,
			jen.Switch(jen.Id("e").Dot("open")).Block(closeCases...),
			jen.Id("e").Dot("open").Op("=").Lit(-1),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		)
	}
	body = append(body,
		jen.For(jen.Op(";").Id("e").Dot("stage").Op("<").Id("k").Op(";").Id("e").Dot("stage").Op("++")).Block(
			jen.Switch(jen.Id("e").Dot("stage")).Block(fillCases...),
			jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		),
		jen.Return(jen.Nil()),
	)
	g.f.Func().Params(recv).Id("advance").Params(jen.Id("k").Int()).Error().Block(body...)
}

// initBlock returns statements that point e.block at a freshly reserved
// block and fill it with the init image (optional fields null).
func (g *gen) initBlock(l *level, buf jen.Code, start jen.Code) []jen.Code {
	if l.blockLength == 0 {
		return nil
	}
	_, init := g.images(l)
	return []jen.Code{
		jen.Id("e").Dot("block").Op("=").Parens(jen.Op("*").Add(blockType(l))).Call(jen.Add(buf).Index(jen.Add(start), jen.Add(start).Op("+").Lit(l.blockLength))),
		jen.Op("*").Id("e").Dot("block").Op("=").Add(imageExpr(l, "InitBlock", init)),
	}
}

// jsonLevel returns the statements of appendJSON for a level.
// budget is the expression of the *int that counts the group entries the
// message may still render (see sbe.MaxJSONEntries).
func (g *gen) jsonLevel(l *level, o *owner, buf, acting, budget jen.Code, posArr func(i int) *jen.Statement) []jen.Code {
	body := []jen.Code{appendLit("{")}
	first := true
	sep := func() string {
		if first {
			first = false
			return ""
		}
		return ","
	}
	for _, f := range l.fields {
		body = append(body, appendLit(sep()+strconv.Quote(f.Name)+":"))
		body = append(body, o.fieldJSON(fieldAccessor(f))...)
	}
	i := 0
	for _, gr := range l.groups {
		gl := groupLevel(l, gr)
		body = append(body, appendLit(sep()+strconv.Quote(gr.Name)+":["), jen.Block(
			jen.Var().Id("gd").Id(gl.decName()),
			jen.Id("gd").Dot("init").Call(buf, posArr(i), acting),
			jen.For(jen.Id("n").Op(":=").Lit(0), jen.Id("gd").Dot("Next").Call(), jen.Id("n").Op("++")).Block(
				jen.If(jen.Op("*").Add(budget).Op("<=").Lit(0)).Block(jen.Return(jen.Id("dst"), jen.Qual(sbePkg, "ErrJSONLimit"))),
				jen.Op("*").Add(budget).Op("--"),
				jen.If(jen.Id("n").Op(">").Lit(0)).Block(appendLit(",")),
				jen.Var().Err().Error(),
				jen.List(jen.Id("dst"), jen.Err()).Op("=").Id("gd").Dot("appendJSON").Call(jen.Id("dst"), budget),
				jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("dst"), jen.Err())),
			),
		), appendLit("]"))
		i++
	}
	for _, dt := range l.data {
		body = append(body, appendLit(sep()+strconv.Quote(dt.Name)+":"),
			jen.Id("dst").Op("=").Qual(sbePkg, "AppendJSONBytes").Call(jen.Id("dst"), jen.Id(o.getName).Dot(exported(dt.Name)).Call()))
		i++
	}
	body = append(body, appendLit("}"), jen.Return(jen.Id("dst"), jen.Nil()))
	return body
}

func (g *gen) groupDecoder(gl *level) {
	gr := gl.grp
	name := gl.decName()
	d := dimOf(gr)
	S := gl.stages()
	fields := []jen.Code{
		jen.Id("buf").Index().Byte(),
		jen.Id("actingVersion").Int(),
		jen.Id("blockLength").Int(),
		jen.Id("count").Int(),
		jen.Id("index").Int(),
		jen.Id("offset").Int(),
		jen.Id("next").Int(),
		jen.Id("start").Int(),
	}
	if gl.blockLength > 0 {
		fields = append(fields, jen.Id("block").Op("*").Add(blockType(gl)), jen.Id("padded").Op("*").Add(blockType(gl)))
	}
	if S > 0 {
		fields = append(fields, jen.Id("pos").Index(jen.Lit(S)).Int())
	}
	for _, ng := range gr.Groups {
		fields = append(fields, jen.Id(lowerFirst(exported(ng.Name))+"G").Id(groupLevel(gl, ng).decName()))
	}
	g.f.Add(doc(name, gr.Description, fmt.Sprintf("%s reads the entries of group %s. It is valid as long as the message buffer is.", name, gr.Name)))
	g.f.Type().Id(name).Struct(fields...)
	recv := jen.Id("g").Op("*").Id(name)
	g.f.Comment("init positions the decoder at the group header at buf[p:] (p < 0: absent at the acting version).")
	g.f.Func().Params(recv.Clone()).Id("init").Params(jen.Id("buf").Index().Byte(), jen.List(jen.Id("p"), jen.Id("actingVersion")).Int()).Block(
		jen.Id("g").Dot("buf").Op(",").Id("g").Dot("actingVersion").Op(",").Id("g").Dot("offset").Op(",").Id("g").Dot("start").Op("=").List(jen.Id("buf"), jen.Id("actingVersion"), jen.Lit(-1), jen.Id("p")),
		jen.Id("g").Dot("blockLength").Op(",").Id("g").Dot("count").Op(",").Id("g").Dot("index").Op(",").Id("g").Dot("next").Op("=").List(jen.Lit(0), jen.Lit(0), jen.Lit(0), jen.Lit(0)),
		jen.If(jen.Id("p").Op("<").Lit(0).Op("||").Id("p").Op(">").Len(jen.Id("buf")).Op("||").Len(jen.Id("buf")).Op("-").Id("p").Op("<").Lit(d.size)).Block(jen.Return()),
		jen.Id("g").Dot("blockLength").Op("=").Int().Call(g.coder.read(d.blPrim, jen.Id("buf"), jen.Id("p").Op("+").Lit(d.blOff))),
		jen.Id("g").Dot("count").Op("=").Int().Call(g.coder.read(d.cntPrim, jen.Id("buf"), jen.Id("p").Op("+").Lit(d.cntOff))),
		jen.If(jen.Id("g").Dot("count").Op("<").Lit(0)).Block(jen.Id("g").Dot("count").Op("=").Lit(0)),
		jen.Id("g").Dot("next").Op("=").Id("p").Op("+").Lit(d.size),
	)
	methods := newScope("method of "+name, "Count", "Next", "Reset", "Index", "init", "appendJSON")
	g.f.Comment("Count returns the number of entries.")
	g.f.Func().Params(recv.Clone()).Id("Count").Params().Int().Block(jen.Return(jen.Id("g").Dot("count")))
	g.f.Comment("Index returns the index of the current entry, or -1 before the first Next.")
	g.f.Func().Params(recv.Clone()).Id("Index").Params().Int().Block(jen.Return(jen.Id("g").Dot("index").Op("-").Lit(1)))
	g.f.Comment("Reset moves back before the first entry.")
	g.f.Func().Params(recv.Clone()).Id("Reset").Params().Block(jen.Id("g").Dot("init").Call(jen.Id("g").Dot("buf"), jen.Id("g").Dot("start"), jen.Id("g").Dot("actingVersion")))
	next := []jen.Code{
		jen.If(jen.Id("g").Dot("index").Op(">=").Id("g").Dot("count").Op("||").Len(jen.Id("g").Dot("buf")).Op("-").Id("g").Dot("next").Op("<").Id("g").Dot("blockLength")).Block(
			jen.Id("g").Dot("count").Op("=").Id("g").Dot("index"), jen.Return(jen.False())),
		jen.Id("g").Dot("offset").Op("=").Id("g").Dot("next"),
		jen.Id("p").Op(":=").Id("g").Dot("offset").Op("+").Id("g").Dot("blockLength"),
	}
	if gl.blockLength > 0 {
		next = append(next, selectBlock(gl, "g", jen.Id("g").Dot("buf"), jen.Id("g").Dot("offset"), jen.Id("g").Dot("blockLength"), jen.Id("g").Dot("actingVersion")))
	}
	if S > 0 {
		stages := g.skipStages(gl, jen.Id("g").Dot("buf"), jen.Id("g").Dot("actingVersion"), func(i int) *jen.Statement { return jen.Id("g").Dot("pos").Index(jen.Lit(i)) })
		next = append(next, jen.Var().Err().Error())
		next = append(next, jen.Id("p").Op(",").Id("err").Op("=").Id("g").Dot("layout").Call(jen.Id("p")))
		next = append(next, jen.If(jen.Err().Op("!=").Nil()).Block(jen.Id("g").Dot("count").Op("=").Id("g").Dot("index"), jen.Return(jen.False())))
		g.f.Comment("layout records where the current entry's groups and var data start.")
		g.f.Func().Params(recv.Clone()).Id("layout").Params(jen.Id("p").Int()).Params(jen.Int(), jen.Error()).Block(
			append(append([]jen.Code{jen.Var().Err().Error()}, stages...), jen.Return(jen.Id("p"), jen.Nil()))...,
		)
		g.declare(methods, "layout", "internal")
	}
	next = append(next, jen.Id("g").Dot("next").Op("=").Id("p"), jen.Id("g").Dot("index").Op("++"), jen.Return(jen.True()))
	g.f.Comment("Next moves to the next entry and reports whether there is one.")
	g.f.Func().Params(recv.Clone()).Id("Next").Params().Bool().Block(next...)

	nullImg := g.emitImages(gl)
	if gl.blockLength > 0 {
		g.padFunc(gl, recv.Clone(), "g", nullImg)
	}
	dec := &owner{
		gen:        g,
		kind:       "group " + gr.Name,
		getRecv:    recv.Clone(),
		getBuf:     func() *jen.Statement { return jen.Id("g").Dot("block") },
		getMethods: methods,
		getName:    "g",
	}
	encMethods := newScope("method of "+gl.encName(), "Next", "init", "close", "advance")
	enc := &owner{
		gen:        g,
		kind:       "group " + gr.Name,
		setRecv:    jen.Id("e").Op("*").Id(gl.encName()),
		setBuf:     func() *jen.Statement { return jen.Id("e").Dot("block") },
		setMethods: encMethods,
		getName:    "e",
	}
	g.blockAccessors(gl, dec, enc, func(i int) *jen.Statement { return jen.Id("g").Dot("pos").Index(jen.Lit(i)) }, jen.Id("g").Dot("buf"), jen.Id("g").Dot("actingVersion"), jen.Id("e").Dot("st"), jen.Id("e").Dot("st"))
	g.f.Func().Params(recv.Clone()).Id("appendJSON").Params(jen.Id("dst").Index().Byte(), jen.Id("budget").Op("*").Int()).Params(jen.Index().Byte(), jen.Error()).Block(
		g.jsonLevel(gl, dec, jen.Id("g").Dot("buf"), jen.Id("g").Dot("actingVersion"), jen.Id("budget"), func(i int) *jen.Statement { return jen.Id("g").Dot("pos").Index(jen.Lit(i)) })...,
	)
}

func (g *gen) groupEncoder(gl *level) {
	gr := gl.grp
	name := gl.encName()
	S := gl.stages()
	fields := []jen.Code{
		jen.Id("st").Op("*").Qual(sbePkg, "EncoderState"),
		jen.Id("count").Int(),
		jen.Id("index").Int(),
		jen.Id("offset").Int(),
		jen.Id("stage").Int(),
		jen.Id("open").Int(),
	}
	if gl.blockLength > 0 {
		fields = append(fields, jen.Id("block").Op("*").Add(blockType(gl)))
	}
	for _, ng := range gr.Groups {
		fields = append(fields, jen.Id(lowerFirst(exported(ng.Name))+"G").Id(groupLevel(gl, ng).encName()))
	}
	g.f.Comment(fmt.Sprintf("%s writes the entries of group %s.", name, gr.Name))
	g.f.Type().Id(name).Struct(fields...)
	recv := jen.Id("e").Op("*").Id(name)
	g.f.Func().Params(recv.Clone()).Id("init").Params(jen.Id("st").Op("*").Qual(sbePkg, "EncoderState"), jen.Id("count").Int()).Block(
		jen.Id("e").Dot("st").Op(",").Id("e").Dot("count").Op(",").Id("e").Dot("index").Op(",").Id("e").Dot("offset").Op(",").Id("e").Dot("stage").Op(",").Id("e").Dot("open").Op("=").List(jen.Id("st"), jen.Id("count"), jen.Lit(0), jen.Lit(-1), jen.Lit(0), jen.Lit(-1)),
	)
	st := jen.Id("e").Dot("st")
	next := []jen.Code{
		jen.If(jen.Id("e").Dot("st").Dot("Err").Op("!=").Nil()).Block(jen.Return(jen.Id("e").Dot("st").Dot("Err"))),
	}
	if S > 0 {
		next = append(next, jen.If(jen.Id("e").Dot("index").Op(">").Lit(0)).Block(
			jen.If(jen.Err().Op(":=").Id("e").Dot("advance").Call(jen.Lit(S)), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))))
	}
	next = append(next,
		jen.If(jen.Id("e").Dot("index").Op(">=").Id("e").Dot("count")).Block(jen.Return(jen.Id("e").Dot("st").Dot("Fail").Call(jen.Qual(sbePkg, "ErrGroupCount")))),
		jen.List(jen.Id("p"), jen.Err()).Op(":=").Id("e").Dot("st").Dot("Reserve").Call(jen.Lit(gl.blockLength)),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.Id("e").Dot("offset").Op("=").Id("p"),
		jen.Id("e").Dot("index").Op("++"),
		jen.Id("e").Dot("stage").Op(",").Id("e").Dot("open").Op("=").List(jen.Lit(0), jen.Lit(-1)),
	)
	next = append(next, g.initBlock(gl, jen.Id("e").Dot("st").Dot("Buf"), jen.Id("p"))...)
	next = append(next, jen.Return(jen.Nil()))
	g.f.Comment("Next starts the next entry; it fails when all announced entries are written.")
	g.f.Func().Params(recv.Clone()).Id("Next").Params().Error().Block(next...)
	closeBody := []jen.Code{}
	if S > 0 {
		closeBody = append(closeBody, jen.If(jen.Id("e").Dot("index").Op(">").Lit(0)).Block(
			jen.If(jen.Err().Op(":=").Id("e").Dot("advance").Call(jen.Lit(S)), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err()))))
	}
	closeBody = append(closeBody,
		jen.If(jen.Id("e").Dot("index").Op("<").Id("e").Dot("count")).Block(jen.Return(jen.Id("e").Dot("st").Dot("Fail").Call(jen.Qual(sbePkg, "ErrGroupCount")))),
		jen.Return(jen.Nil()))
	g.f.Func().Params(recv.Clone()).Id("close").Params().Error().Block(closeBody...)
	g.advanceFunc(gl, recv.Clone(), st, st)
}

func (g *gen) messageDecoder(l *level) {
	m := l.msg
	name := l.decName()
	S := l.stages()
	hdr := g.s.Header
	hdrName := exported(hdr.Name)
	// A lean decoder (a block and nothing after it) keeps no buffer and no
	// end: its block pointer says whether it is wrapped, and the message
	// ends with the block. Wrapping one stores three ints and a pointer.
	lean := S == 0 && l.blockLength > 0
	fields := []jen.Code{
		jen.Id("headerLength").Int(),
		jen.Id("blockLength").Int(),
		jen.Id("actingVersion").Int(),
	}
	if !lean {
		fields = append([]jen.Code{jen.Id("buf").Index().Byte()}, append(fields, jen.Id("end").Int())...)
	}
	if l.blockLength > 0 {
		fields = append(fields, jen.Id("block").Op("*").Add(blockType(l)), jen.Id("padded").Op("*").Add(blockType(l)))
	}
	if g.hasView(l) {
		// The slow path of View: header and padded block behind each other.
		fields = append(fields, jen.Id("viewPad").Op("*").Index(jen.Lit(g.s.Header.Size+l.blockLength)).Byte())
	}
	if S > 0 {
		fields = append(fields, jen.Id("pos").Index(jen.Lit(S)).Int())
	}
	for _, gr := range m.Groups {
		fields = append(fields, jen.Id(lowerFirst(exported(gr.Name))+"G").Id(groupLevel(l, gr).decName()))
	}
	g.f.Add(doc(name, m.Description, append([]string{
		fmt.Sprintf("%s reads message %s (template %d) in place.", name, m.Name, m.ID),
		"Wrap or WrapWithHeader validates the whole message (block, groups and var",
		"data) against the buffer, so the accessors never fail and may be called",
		"in any order. Views it returns are valid as long as the buffer is.",
	}, commonExtra(&m.Common, name, "")...)...))
	g.f.Type().Id(name).Struct(fields...)
	recv := jen.Id("d").Op("*").Id(name)
	posArr := func(i int) *jen.Statement { return jen.Id("d").Dot("pos").Index(jen.Lit(i)) }

	// unwrap marks the decoder as not wrapped until a wrap succeeds.
	marker := "buf"
	if lean {
		marker = "block"
	}
	unwrap := jen.Id("d").Dot(marker).Op("=").Nil()
	body := []jen.Code{unwrap}
	if m.SinceVersion > 0 {
		body = append(body, jen.If(jen.Id("actingVersion").Op("<").Lit(m.SinceVersion)).Block(jen.Return(jen.Qual(sbePkg, "ErrVersion"))))
	}
	body = append(body,
		jen.If(jen.Id("blockLength").Op("<").Lit(0)).Block(jen.Return(jen.Qual(sbePkg, "ErrBlockLength"))),
		jen.If(jen.Len(jen.Id("buf")).Op("<").Id("blockLength")).Block(jen.Return(jen.Qual(sbePkg, "ErrShortBuffer"))),
	)
	if !lean {
		body = append(body, jen.Id("p").Op(":=").Id("blockLength"))
	}
	if S > 0 {
		body = append(body, jen.Var().Err().Error())
		stages := g.skipStages(l, jen.Id("buf"), jen.Id("actingVersion"), posArr)
		// skipStages returns (0, err); here we return err alone.
		body = append(body, jen.List(jen.Id("p"), jen.Err()).Op("=").Id("d").Dot("layout").Call(jen.Id("buf"), jen.Id("p"), jen.Id("actingVersion")))
		body = append(body, jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())))
		g.f.Comment("layout validates the groups and var data after the root block and records where each starts.")
		g.f.Func().Params(recv.Clone()).Id("layout").Params(jen.Id("buf").Index().Byte(), jen.List(jen.Id("p"), jen.Id("actingVersion")).Int()).Params(jen.Int(), jen.Error()).Block(
			append(append([]jen.Code{jen.Var().Err().Error()}, stages...), jen.Return(jen.Id("p"), jen.Nil()))...,
		)
	}
	if l.blockLength > 0 {
		body = append(body, selectBlock(l, "d", jen.Id("buf"), jen.Lit(0), jen.Id("blockLength"), jen.Id("actingVersion")))
	}
	if lean {
		body = append(body,
			jen.Id("d").Dot("headerLength").Op(",").Id("d").Dot("blockLength").Op(",").Id("d").Dot("actingVersion").Op("=").List(
				jen.Id("headerLength"), jen.Id("blockLength"), jen.Id("actingVersion")),
			jen.Return(jen.Nil()),
		)
	} else {
		body = append(body,
			jen.Id("d").Dot("buf").Op(",").Id("d").Dot("headerLength").Op(",").Id("d").Dot("blockLength").Op(",").Id("d").Dot("actingVersion").Op(",").Id("d").Dot("end").Op("=").List(
				jen.Id("buf"), jen.Id("headerLength"), jen.Id("blockLength"), jen.Id("actingVersion"), jen.Id("p")),
			jen.Return(jen.Nil()),
		)
	}
	g.f.Func().Params(recv.Clone()).Id("wrap").Params(jen.Id("buf").Index().Byte(), jen.List(jen.Id("headerLength"), jen.Id("blockLength"), jen.Id("actingVersion")).Int()).Error().Block(body...)
	nullImg := g.emitImages(l)
	if l.blockLength > 0 {
		g.padFunc(l, recv.Clone(), "d", nullImg)
	}

	g.f.Comment(fmt.Sprintf("Wrap decodes a %s that starts at buf[0] with no message header, using the", m.Name))
	g.f.Comment("acting block length and version of the sender (for a message of this schema")
	g.f.Comment(fmt.Sprintf("version: %sBlockLength and SchemaVersion).", exported(m.Name)))
	g.f.Func().Params(recv.Clone()).Id("Wrap").Params(jen.Id("buf").Index().Byte(), jen.List(jen.Id("actingBlockLength"), jen.Id("actingVersion")).Int()).Error().Block(
		jen.Return(jen.Id("d").Dot("wrap").Call(jen.Id("buf"), jen.Lit(0), jen.Id("actingBlockLength"), jen.Id("actingVersion"))),
	)
	g.f.Comment("WrapWithHeader decodes a message header at buf[0], checks that it names this")
	g.f.Comment(fmt.Sprintf("schema and message, and decodes the %s that follows.", m.Name))
	slow := []jen.Code{
		unwrap.Clone(),
		jen.List(jen.Id("h"), jen.Err()).Op(":=").Id("readHeader").Call(jen.Id("buf")),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err())),
		jen.If(jen.Id("h").Dot("schemaID").Op("!=").Id("SchemaID")).Block(jen.Return(jen.Qual(sbePkg, "SchemaMismatch").Call(jen.Id("h").Dot("schemaID"), jen.Id("SchemaID")))),
		jen.If(jen.Id("h").Dot("templateID").Op("!=").Id(exported(m.Name) + "TemplateID")).Block(jen.Return(jen.Qual(sbePkg, "ErrTemplateMismatch"))),
		jen.Return(jen.Id("d").Dot("wrap").Call(jen.Id("buf").Index(jen.Id(hdrName+"EncodedLength"), jen.Empty()), jen.Id(hdrName+"EncodedLength"),
			jen.Id("h").Dot("blockLength"), jen.Id("h").Dot("version"))),
	}
	if lean && m.SinceVersion <= g.s.Version {
		// Fast path: the header is exactly what this schema version
		// writes, so the block is complete and current; one comparison
		// decides. Every other header, and every error, is a call, which
		// keeps the fast path to a few instructions and four stores, the
		// block pointer last.
		hs := g.s.Header.Size
		differs := g.headerDiffers(m, jen.Id("buf"))
		if differs == nil {
			differs = jen.Index(jen.Lit(hs)).Byte().Parens(jen.Id("buf").Index(jen.Empty(), jen.Lit(hs))).Op("!=").Id(lowerFirst(exported(m.Name)) + "Header")
		}
		g.f.Func().Params(recv.Clone()).Id("WrapWithHeader").Params(jen.Id("buf").Index().Byte()).Error().Block(
			jen.If(jen.Len(jen.Id("buf")).Op("<").Lit(hs+l.blockLength).Op("||").Add(differs)).Block(
				jen.Return(jen.Id("d").Dot("wrapWithHeader").Call(jen.Id("buf")))),
			jen.Id("d").Dot("headerLength").Op(",").Id("d").Dot("blockLength").Op(",").Id("d").Dot("actingVersion").Op("=").List(jen.Lit(hs), jen.Lit(l.blockLength), jen.Id("SchemaVersion")),
			jen.Id("d").Dot("block").Op("=").Parens(jen.Op("*").Add(blockType(l))).Call(jen.Id("buf").Index(jen.Lit(hs), jen.Lit(hs+l.blockLength))),
			jen.Return(jen.Nil()),
		)
		g.f.Comment("wrapWithHeader is WrapWithHeader for every header but the current one.")
		g.f.Func().Params(recv.Clone()).Id("wrapWithHeader").Params(jen.Id("buf").Index().Byte()).Error().Block(slow...)
	} else {
		g.f.Func().Params(recv.Clone()).Id("WrapWithHeader").Params(jen.Id("buf").Index().Byte()).Error().Block(slow...)
	}
	methods := newScope("method of "+name, "Wrap", "WrapWithHeader", "wrap", "wrapWithHeader", "layout", "ActingVersion", "ActingBlockLength", "EncodedLength", "AppendJSON", "String", "SBETemplateID", "SBEMessageName", "View", "view")
	g.f.Comment("ActingVersion returns the schema version the message was encoded with.")
	g.f.Func().Params(recv.Clone()).Id("ActingVersion").Params().Int().Block(jen.Return(jen.Id("d").Dot("actingVersion")))
	g.f.Comment("ActingBlockLength returns the root block length the message was encoded with.")
	g.f.Func().Params(recv.Clone()).Id("ActingBlockLength").Params().Int().Block(jen.Return(jen.Id("d").Dot("blockLength")))
	g.f.Comment("EncodedLength returns the length of the whole message, header included when wrapped with one.")
	end := jen.Id("d").Dot("end")
	if lean {
		end = jen.Id("d").Dot("blockLength")
	}
	g.f.Func().Params(recv.Clone()).Id("EncodedLength").Params().Int().Block(jen.Return(jen.Id("d").Dot("headerLength").Op("+").Add(end)))
	g.f.Comment("SBETemplateID returns the template id of " + m.Name + ".")
	g.f.Func().Params(recv.Clone()).Id("SBETemplateID").Params().Uint16().Block(jen.Return(jen.Id(exported(m.Name) + "TemplateID")))
	g.f.Comment("SBEMessageName returns the schema name of the message.")
	g.f.Func().Params(recv.Clone()).Id("SBEMessageName").Params().String().Block(jen.Return(jen.Lit(m.Name)))

	dec := &owner{
		gen:        g,
		kind:       "message " + m.Name,
		getRecv:    recv.Clone(),
		getBuf:     func() *jen.Statement { return jen.Id("d").Dot("block") },
		getMethods: methods,
		getName:    "d",
	}
	encMethods := newScope("method of "+l.encName(), "Wrap", "WrapWithHeader", "WrapInPlace", "wrap", "Finish", "advance", "SBETemplateID")
	g.f.Comment("SBETemplateID returns the template id of " + m.Name + ".")
	g.f.Func().Params(jen.Id("e").Op("*").Id(l.encName())).Id("SBETemplateID").Params().Uint16().Block(jen.Return(jen.Id(exported(m.Name) + "TemplateID")))
	enc := &owner{
		gen:        g,
		kind:       "message " + m.Name,
		setRecv:    jen.Id("e").Op("*").Id(l.encName()),
		setBuf:     func() *jen.Statement { return jen.Id("e").Dot("block") },
		setMethods: encMethods,
		getName:    "e",
	}
	g.blockAccessors(l, dec, enc, posArr, jen.Id("d").Dot("buf"), jen.Id("d").Dot("actingVersion"), jen.Op("&").Id("e").Dot("st"), jen.Id("e").Dot("st"))
	g.f.Comment("AppendJSON appends the message as JSON to dst. Enums appear by name, sets as")
	g.f.Comment("lists of choices, var data as a string when printable ASCII (else {\"hex\":...}),")
	g.f.Comment("absent optional values as null. It renders at most sbe.MaxJSONEntries group")
	g.f.Comment("entries in all (a few bytes of input can announce thousands of empty")
	g.f.Comment("entries): beyond that it returns what it has appended and sbe.ErrJSONLimit.")
	jsonBody := []jen.Code{
		jen.If(jen.Id("d").Dot(marker).Op("==").Nil()).Block(jen.Return(jen.Append(jen.Id("dst"), jen.Lit("null").Op("...")), jen.Nil())),
		jen.Id("_").Op("=").Id("d").Dot("actingVersion"),
	}
	if len(l.groups) > 0 {
		jsonBody = append(jsonBody, jen.Id("entries").Op(":=").Qual(sbePkg, "MaxJSONEntries"), jen.Id("budget").Op(":=").Op("&").Id("entries"))
	}
	jsonBody = append(jsonBody, g.jsonLevel(l, dec, jen.Id("d").Dot("buf"), jen.Id("d").Dot("actingVersion"), jen.Id("budget"), posArr)...)
	g.f.Func().Params(recv.Clone()).Id("AppendJSON").Params(jen.Id("dst").Index().Byte()).Params(jen.Index().Byte(), jen.Error()).Block(jsonBody...)
	g.f.Comment("String returns the message as JSON, or the error of AppendJSON.")
	g.f.Func().Params(recv.Clone()).Id("String").Params().String().Block(
		jen.List(jen.Id("b"), jen.Err()).Op(":=").Id("d").Dot("AppendJSON").Call(jen.Nil()),
		jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Err().Dot("Error").Call())),
		jen.Return(jen.String().Call(jen.Id("b"))),
	)
}

func (g *gen) messageEncoder(l *level) {
	m := l.msg
	name := l.encName()
	S := l.stages()
	hdrName := exported(g.s.Header.Name)
	fields := []jen.Code{
		jen.Id("st").Qual(sbePkg, "EncoderState"),
		jen.Id("headerLength").Int(),
		jen.Id("stage").Int(),
		jen.Id("open").Int(),
	}
	if l.blockLength > 0 {
		fields = append(fields, jen.Id("block").Op("*").Add(blockType(l)))
	}
	for _, gr := range m.Groups {
		fields = append(fields, jen.Id(lowerFirst(exported(gr.Name))+"G").Id(groupLevel(l, gr).encName()))
	}
	g.f.Comment(fmt.Sprintf("%s writes message %s (template %d) in place. Wrap clears the root", name, m.Name, m.ID))
	g.f.Comment("block and writes the null value of every optional field; set fields in any")
	g.f.Comment("order, then groups and var data in schema order, then call Finish.")
	g.f.Comment("An encoder must not be copied after Wrap.")
	g.f.Type().Id(name).Struct(fields...)
	recv := jen.Id("e").Op("*").Id(name)
	wrapBody := []jen.Code{}
	if l.blockLength > 0 {
		wrapBody = append(wrapBody, jen.If(jen.Len(jen.Id("buf")).Op("<").Lit(l.blockLength)).Block(jen.Return(jen.Qual(sbePkg, "ErrShortBuffer"))))
	}
	wrapBody = append(wrapBody,
		jen.Id("e").Dot("headerLength").Op("=").Id("headerLength"),
	)
	if S > 0 {
		wrapBody = append(wrapBody,
			jen.Id("e").Dot("st").Op("=").Qual(sbePkg, "EncoderState").Values(jen.Dict{jen.Id("Buf"): jen.Id("buf"), jen.Id("Limit"): jen.Lit(l.blockLength)}),
			jen.Id("e").Dot("stage").Op(",").Id("e").Dot("open").Op("=").List(jen.Lit(0), jen.Lit(-1)))
	}
	wrapBody = append(wrapBody, g.initBlock(l, jen.Id("buf"), jen.Lit(0))...)
	wrapBody = append(wrapBody, jen.Return(jen.Nil()))
	g.f.Func().Params(recv.Clone()).Id("wrap").Params(jen.Id("buf").Index().Byte(), jen.Id("headerLength").Int()).Error().Block(wrapBody...)
	g.f.Comment(fmt.Sprintf("Wrap starts encoding a %s at buf[0] with no message header.", m.Name))
	g.f.Func().Params(recv.Clone()).Id("Wrap").Params(jen.Id("buf").Index().Byte()).Error().Block(jen.Return(jen.Id("e").Dot("wrap").Call(jen.Id("buf"), jen.Lit(0))))
	inPlace := []jen.Code{}
	if l.blockLength > 0 {
		inPlace = append(inPlace,
			jen.If(jen.Len(jen.Id("buf")).Op("<").Lit(l.blockLength)).Block(jen.Return(jen.Qual(sbePkg, "ErrShortBuffer"))),
			jen.Id("e").Dot("block").Op("=").Parens(jen.Op("*").Add(blockType(l))).Call(jen.Id("buf").Index(jen.Empty(), jen.Lit(l.blockLength))))
	}
	inPlace = append(inPlace, jen.Id("e").Dot("headerLength").Op("=").Lit(0))
	if S > 0 {
		inPlace = append(inPlace,
			jen.Id("e").Dot("st").Op("=").Qual(sbePkg, "EncoderState").Values(jen.Dict{jen.Id("Buf"): jen.Id("buf"), jen.Id("Limit"): jen.Lit(l.blockLength)}),
			jen.Id("e").Dot("stage").Op(",").Id("e").Dot("open").Op("=").List(jen.Lit(0), jen.Lit(-1)))
	}
	inPlace = append(inPlace, jen.Return(jen.Nil()))
	g.f.Comment(fmt.Sprintf("WrapInPlace starts encoding a %s at buf[0] with no message header over bytes", m.Name))
	g.f.Comment("that already hold one, without initializing the block: fields not set keep")
	g.f.Comment("their bytes. It is for structures in shared memory where some words belong")
	g.f.Comment("to other writers or are only touched atomically (a slot's seq_commit).")
	g.f.Func().Params(recv.Clone()).Id("WrapInPlace").Params(jen.Id("buf").Index().Byte()).Error().Block(inPlace...)
	hdrVar := lowerFirst(exported(m.Name)) + "Header"
	hs := g.s.Header.Size
	if l.blockLength == 0 || g.headerDiffers(m, jen.Id("buf")) == nil {
		g.f.Var().Id(hdrVar).Op("=").Index(jen.Lit(hs)).Byte().Values(byteLits(g.headerImage(m))...)
	}
	wrapDoc := func() {
		g.f.Comment(fmt.Sprintf("WrapWithHeader writes the message header for %s at buf[0] and starts", m.Name))
		g.f.Comment("encoding the message after it.")
	}
	if l.blockLength == 0 {
		wrapDoc()
		g.f.Func().Params(recv.Clone()).Id("WrapWithHeader").Params(jen.Id("buf").Index().Byte()).Error().Block(
			jen.If(jen.Len(jen.Id("buf")).Op("<").Id(hdrName+"EncodedLength")).Block(jen.Return(jen.Qual(sbePkg, "ErrShortBuffer"))),
			jen.Op("*").Parens(jen.Op("*").Index(jen.Lit(hs)).Byte()).Call(jen.Id("buf")).Op("=").Id(hdrVar),
			jen.Return(jen.Id("e").Dot("wrap").Call(jen.Id("buf").Index(jen.Id(hdrName+"EncodedLength"), jen.Empty()), jen.Id(hdrName+"EncodedLength"))),
		)
	} else {
		// Header and init block are one image, copied in one go; the block
		// pointer is stored once, last.
		_, init := g.images(l)
		img := append(g.headerImage(m), init...)
		imgVar := lowerFirst(exported(m.Name)) + "HeaderInit"
		g.f.Var().Id(imgVar).Op("=").Index(jen.Lit(len(img))).Byte().Values(byteLits(img)...)
		body := []jen.Code{
			jen.If(jen.Len(jen.Id("buf")).Op("<").Lit(len(img))).Block(jen.Return(jen.Qual(sbePkg, "ErrShortBuffer"))),
			jen.Op("*").Parens(jen.Op("*").Index(jen.Lit(len(img))).Byte()).Call(jen.Id("buf")).Op("=").Id(imgVar),
			jen.Id("e").Dot("headerLength").Op("=").Lit(hs),
		}
		if S > 0 {
			body = append(body,
				jen.Id("e").Dot("st").Op("=").Qual(sbePkg, "EncoderState").Values(jen.Dict{jen.Id("Buf"): jen.Id("buf").Index(jen.Lit(hs), jen.Empty()), jen.Id("Limit"): jen.Lit(l.blockLength)}),
				jen.Id("e").Dot("stage").Op(",").Id("e").Dot("open").Op("=").List(jen.Lit(0), jen.Lit(-1)))
		}
		body = append(body,
			jen.Id("e").Dot("block").Op("=").Parens(jen.Op("*").Add(blockType(l))).Call(jen.Id("buf").Index(jen.Lit(hs), jen.Lit(len(img)))),
			jen.Return(jen.Nil()))
		wrapDoc()
		g.f.Func().Params(recv.Clone()).Id("WrapWithHeader").Params(jen.Id("buf").Index().Byte()).Error().Block(body...)
	}
	finish := []jen.Code{}
	if S > 0 {
		finish = append(finish, jen.If(jen.Err().Op(":=").Id("e").Dot("advance").Call(jen.Lit(S)), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Err())),
			jen.If(jen.Id("e").Dot("st").Dot("Err").Op("!=").Nil()).Block(jen.Return(jen.Lit(0), jen.Id("e").Dot("st").Dot("Err"))),
			jen.Return(jen.Id("e").Dot("headerLength").Op("+").Id("e").Dot("st").Dot("Limit"), jen.Nil()))
	} else {
		finish = append(finish, jen.Return(jen.Id("e").Dot("headerLength").Op("+").Lit(l.blockLength), jen.Nil()))
	}
	g.f.Comment("Finish writes any groups and var data not yet written (as empty), checks that")
	g.f.Comment("every group got its announced entries, and returns the encoded length,")
	g.f.Comment("header included. It returns the first error any encoding step met.")
	g.f.Func().Params(recv.Clone()).Id("Finish").Params().Params(jen.Int(), jen.Error()).Block(finish...)
	g.advanceFunc(l, recv.Clone(), jen.Op("&").Id("e").Dot("st"), jen.Id("e").Dot("st"))
}

// headerDiffers returns the condition that the first bytes of buf (at
// least a header long) are not the header this schema version writes
// for m: one integer comparison for a 2-, 4- or 8-byte header, read
// little-endian whatever the schema's byte order, since the constant is
// the image's bytes read the same way. For other sizes it returns nil.
func (g *gen) headerDiffers(m *schema.Message, buf jen.Code) jen.Code {
	img := g.headerImage(m)
	var w uint64
	for i := len(img) - 1; i >= 0; i-- {
		w = w<<8 | uint64(img[i])
	}
	read := map[int]string{2: "Uint16", 4: "Uint32", 8: "Uint64"}[len(img)]
	if read == "" {
		return nil
	}
	return jen.Qual("encoding/binary", "LittleEndian").Dot(read).Call(buf).Op("!=").Op(fmt.Sprintf("0x%0*x", 2*len(img), w))
}
