package gogen

import (
	"fmt"

	"github.com/dave/jennifer/jen"

	"github.com/tpool-go/tpool/tensorgen/schema"
)

// owner says where the accessors of a block of fields go: the getter's
// receiver and buffer and the setter's receiver and buffer. A field's offset
// inside the block is its index into that buffer.
type owner struct {
	gen     *gen
	kind    string
	getRecv *jen.Statement // nil: no getters
	setRecv *jen.Statement // nil: no setters
	getBuf  func() *jen.Statement
	setBuf  func() *jen.Statement
	// guard: check the buffer length before each access (composite views).
	guard      bool
	getMethods *scope
	setMethods *scope
	// getName is the getter receiver's identifier.
	getName string
}

// accessor describes one field or composite member.
type accessor struct {
	schema.Common // name, position, description, versions
	typ           schema.Type
	offset        int
	presence      schema.Presence
	null          schema.Value
	constEnum     *schema.EnumValue
}

// docLines are the doc lines after a field getter's summary.
func (a accessor) docLines(what string) []string {
	return commonExtra(&a.Common, what, "; older messages read the null value")
}

func (o *owner) addGet(name, from string) {
	if o.getMethods != nil {
		o.gen.declare(o.getMethods, name, from)
	}
}

func (o *owner) addSet(name, from string) {
	if o.setMethods != nil {
		o.gen.declare(o.setMethods, name, from)
	}
}

func (o *owner) lenGuard(buf func() *jen.Statement, off, size int, null jen.Code) jen.Code {
	if !o.guard {
		return jen.Null()
	}
	if null == nil {
		return jen.If(jen.Len(buf()).Op("<").Lit(off + size)).Block(jen.Return())
	}
	return jen.If(jen.Len(buf()).Op("<").Lit(off + size)).Block(jen.Return(null))
}

// field emits the getter(s) and setter(s) of one field or member.
func (o *owner) field(a accessor) {
	g := o.gen
	m := exported(a.Name)
	from := fmt.Sprintf("%s %s at %s", o.kind, a.Name, a.Pos)
	switch t := a.typ.(type) {
	case *schema.Encoded:
		if t.Presence == schema.Constant || a.presence == schema.Constant {
			o.constant(a, t, m, from)
			return
		}
		if t.Length == 1 {
			o.scalar(a, t.Primitive, jen.Id(goType(t.Primitive)), m, from, nil)
			return
		}
		o.array(a, t, m, from)
	case *schema.Enum:
		if a.presence == schema.Constant {
			o.constant(a, nil, m, from)
			return
		}
		o.scalar(a, t.Encoding, jen.Id(exported(t.Name)), m, from, jen.Id(exported(t.Name)+"NullValue"))
	case *schema.Set:
		o.scalar(a, t.Encoding, jen.Id(exported(t.Name)), m, from, jen.Lit(0))
	case *schema.Composite:
		name := exported(t.Name)
		o.addGet(m, from)
		if o.getRecv != nil {
			g.f.Add(doc(m, a.Description, append([]string{fmt.Sprintf("%s returns a view of composite %s in place.", m, t.Name)}, a.docLines(m)...)...))
			g.f.Func().Params(o.getRecv).Id(m).Params().Id(name).Block(
				o.lenGuard(o.getBuf, a.offset, t.Size, jen.Id(name).Values()),
				jen.Return(jen.Id(name).Values(o.getBuf().Index(jen.Lit(a.offset), jen.Lit(a.offset).Op("+").Lit(t.Size), jen.Lit(a.offset).Op("+").Lit(t.Size)))),
			)
		}
		if o.setRecv != nil && o.setMethods != o.getMethods {
			o.addSet(m, from)
			g.f.Comment(fmt.Sprintf("%s returns a view of composite %s for writing in place.", m, t.Name))
			g.f.Func().Params(o.setRecv).Id(m).Params().Id(name).Block(
				jen.Return(jen.Id(name).Values(o.setBuf().Index(jen.Lit(a.offset), jen.Lit(a.offset).Op("+").Lit(t.Size), jen.Lit(a.offset).Op("+").Lit(t.Size)))),
			)
		}
	}
}

// constant emits a getter returning a schema constant.
func (o *owner) constant(a accessor, t *schema.Encoded, m, from string) {
	g := o.gen
	o.addGet(m, from)
	if o.getRecv == nil {
		return
	}
	var typ jen.Code
	var val jen.Code
	ev := a.constEnum
	if ev == nil && t != nil {
		ev = t.ConstEnum
	}
	_, isEnum := a.typ.(*schema.Enum)
	switch {
	case ev != nil && isEnum:
		typ = jen.Id(exported(ev.Enum.Name))
		val = jen.Id(exported(ev.Enum.Name) + constName(ev.Name))
	case ev != nil:
		typ = jen.Id(goType(t.Primitive))
		val = jen.Id(goType(t.Primitive)).Call(jen.Id(exported(ev.Enum.Name) + constName(ev.Name)))
	case t != nil && t.Length != 1:
		typ = jen.String()
		val = jen.Lit(t.ConstString)
	case t != nil && t.Primitive == schema.Char:
		typ = jen.Byte()
		if t.ConstString != "" {
			val = jen.LitRune(rune(t.ConstString[0]))
		} else {
			val = lit(t.Primitive, t.ConstValue)
		}
	case t != nil:
		typ = jen.Id(goType(t.Primitive))
		val = lit(t.Primitive, t.ConstValue)
	default:
		g.fail(fmt.Errorf("%s: constant without a value", from))
		return
	}
	g.f.Add(doc(m, a.Description, append([]string{fmt.Sprintf("%s returns the schema constant; it is not on the wire.", m)}, a.docLines(m)...)...))
	g.f.Func().Params(o.getRecv).Id(m).Params().Add(typ).Block(jen.Return(val))
}

// scalar emits accessors for a primitive, enum or set value.
func (o *owner) scalar(a accessor, p schema.Primitive, typ jen.Code, m, from string, null jen.Code) {
	g := o.gen
	c := g.coder
	if null == nil {
		null = lit(p, a.null)
		if p.IsFloat() {
			null = typedLit(p, a.null)
		}
	}
	_, isEnum := a.typ.(*schema.Enum)
	_, isSet := a.typ.(*schema.Set)
	var read *jen.Statement
	if o.getRecv != nil {
		read = c.read(p, o.getBuf(), jen.Lit(a.offset))
		if isEnum || isSet {
			read = jen.Add(typ).Call(read)
		}
	}
	size := p.Size()
	o.addGet(m, from)
	if o.getRecv != nil {
		g.f.Add(doc(m, a.Description, append([]string{fmt.Sprintf("%s returns the %s field %s.", m, a.presence, a.Name)}, a.docLines(m)...)...))
		g.f.Func().Params(o.getRecv).Id(m).Params().Add(typ).Block(
			o.lenGuard(o.getBuf, a.offset, size, null),
			jen.Return(read),
		)
		if a.presence == schema.Optional {
			o.addGet(m+"IsNull", from)
			g.f.Comment(fmt.Sprintf("%sIsNull reports whether %s holds its null value (absent).", m, a.Name))
			var cmp jen.Code
			if p.IsFloat() {
				if a.null.F == a.null.F { // explicit non-NaN null
					cmp = jen.Id("v").Op("==").Add(lit(p, a.null))
				} else {
					cmp = jen.Id("v").Op("!=").Id("v")
				}
			} else {
				cmp = jen.Id("v").Op("==").Add(null)
			}
			g.f.Func().Params(o.getRecv).Id(m+"IsNull").Params().Bool().Block(
				jen.Id("v").Op(":=").Add(o.getRecvName()).Dot(m).Call(),
				jen.Return(cmp),
			)
		}
	}
	if o.setRecv != nil {
		o.addSet("Set"+m, from)
		g.f.Comment(fmt.Sprintf("Set%s writes the field %s.", m, a.Name))
		g.f.Func().Params(o.setRecv).Id("Set"+m).Params(jen.Id("v").Add(typ)).Block(
			o.lenGuard(o.setBuf, a.offset, size, nil),
			c.write(p, o.setBuf(), jen.Lit(a.offset), jen.Id("v")),
		)
		if a.presence == schema.Optional {
			o.addSet("Set"+m+"Null", from)
			g.f.Comment(fmt.Sprintf("Set%sNull marks the optional field %s absent by writing its null value.", m, a.Name))
			nullVal := jen.Add(typ).Call(null)
			if p.IsFloat() {
				nullVal = jen.Id(goType(p)).Call(lit(p, a.null))
			}
			g.f.Func().Params(o.setRecv).Id("Set"+m+"Null").Params().Block(
				o.lenGuard(o.setBuf, a.offset, size, nil),
				jen.Id("v").Op(":=").Add(nullVal),
				c.write(p, o.setBuf(), jen.Lit(a.offset), jen.Id("v")),
			)
		}
	}
}

func (o *owner) getRecvName() *jen.Statement {
	return jen.Id(o.getName)
}

// array emits accessors for a fixed-length array.
func (o *owner) array(a accessor, t *schema.Encoded, m, from string) {
	g := o.gen
	c := g.coder
	p := t.Primitive
	n := t.Length
	size := p.Size() * n
	bytesLike := p == schema.Char || p == schema.Uint8
	o.addGet(m, from)
	if bytesLike {
		if o.getRecv != nil {
			g.f.Add(doc(m, a.Description, append([]string{fmt.Sprintf("%s returns the %d-byte array %s in place (no copy).", m, n, a.Name)}, a.docLines(m)...)...))
			g.f.Func().Params(o.getRecv).Id(m).Params().Index().Byte().Block(
				o.lenGuard(o.getBuf, a.offset, size, jen.Nil()),
				jen.Return(o.getBuf().Index(jen.Lit(a.offset), jen.Lit(a.offset).Op("+").Lit(n), jen.Lit(a.offset).Op("+").Lit(n))),
			)
			if p == schema.Char {
				o.addGet(m+"String", from)
				g.f.Comment(fmt.Sprintf("%sString returns %s as a string, up to its first NUL.", m, a.Name))
				g.f.Func().Params(o.getRecv).Id(m + "String").Params().String().Block(
					jen.Return(jen.String().Call(jen.Qual(sbePkg, "TrimNUL").Call(o.getRecvName().Dot(m).Call()))),
				)
			}
		}
		if o.setRecv != nil {
			o.addSet("Set"+m, from)
			g.f.Comment(fmt.Sprintf("Set%s copies v into %s and pads the rest with NUL bytes; v longer than %d bytes is refused.", m, a.Name, n))
			body := func(v jen.Code) []jen.Code {
				return []jen.Code{
					jen.If(jen.Len(v).Op(">").Lit(n)).Block(jen.Return(jen.Qual(sbePkg, "ErrValueTooLong"))),
					o.lenGuard(o.setBuf, a.offset, size, jen.Qual(sbePkg, "ErrShortBuffer")),
					jen.Id("b").Op(":=").Add(o.setBuf().Index(jen.Lit(a.offset), jen.Lit(a.offset).Op("+").Lit(n))),
					jen.Clear(jen.Id("b").Index(jen.Copy(jen.Id("b"), v), jen.Empty())),
					jen.Return(jen.Nil()),
				}
			}
			g.f.Func().Params(o.setRecv).Id("Set" + m).Params(jen.Id("v").Index().Byte()).Error().Block(body(jen.Id("v"))...)
			o.addSet("Set"+m+"String", from)
			g.f.Comment(fmt.Sprintf("Set%sString is Set%s for a string.", m, m))
			g.f.Func().Params(o.setRecv).Id("Set" + m + "String").Params(jen.Id("v").String()).Error().Block(body(jen.Id("v"))...)
		}
		return
	}
	arr := jen.Index(jen.Lit(n)).Id(goType(p))
	if o.getRecv != nil {
		g.f.Add(doc(m, a.Description, append([]string{fmt.Sprintf("%s returns a copy of the %d-element array %s.", m, n, a.Name)}, a.docLines(m)...)...))
		g.f.Func().Params(o.getRecv).Id(m).Params().Params(jen.Id("a").Add(arr)).Block(
			o.lenGuard(o.getBuf, a.offset, size, jen.Id("a")),
			jen.For(jen.Id("i").Op(":=").Range().Id("a")).Block(
				jen.Id("a").Index(jen.Id("i")).Op("=").Add(c.read(p, o.getBuf(), jen.Lit(a.offset).Op("+").Lit(p.Size()).Op("*").Id("i"))),
			),
			jen.Return(jen.Id("a")),
		)
	}
	if o.setRecv != nil {
		o.addSet("Set"+m, from)
		g.f.Comment(fmt.Sprintf("Set%s writes the %d-element array %s.", m, n, a.Name))
		g.f.Func().Params(o.setRecv).Id("Set"+m).Params(jen.Id("v").Add(arr)).Block(
			o.lenGuard(o.setBuf, a.offset, size, nil),
			jen.For(jen.Id("i").Op(":=").Range().Id("v")).Block(
				c.write(p, o.setBuf(), jen.Lit(a.offset).Op("+").Lit(p.Size()).Op("*").Id("i"), jen.Id("v").Index(jen.Id("i"))),
			),
		)
	}
}

// fieldJSON returns statements appending the field's JSON value to dst,
// using the getter (so version gating applies).
func (o *owner) fieldJSON(a accessor) []jen.Code {
	m := exported(a.Name)
	get := o.getRecvName().Dot(m).Call()
	switch t := a.typ.(type) {
	case *schema.Encoded:
		if t.Presence == schema.Constant || a.presence == schema.Constant {
			ev := a.constEnum
			if ev == nil {
				ev = t.ConstEnum
			}
			switch {
			case ev != nil:
				return []jen.Code{appendNumber(t.Primitive, get)}
			case t.Length != 1:
				return []jen.Code{jen.Id("dst").Op("=").Qual(sbePkg, "AppendJSONString").Call(jen.Id("dst"), jen.Index().Byte().Call(get))}
			default:
				return []jen.Code{appendNumber(t.Primitive, get)}
			}
		}
		if t.Length == 1 {
			val := []jen.Code{appendNumber(t.Primitive, get)}
			if a.presence == schema.Optional {
				return []jen.Code{jen.If(o.getRecvName().Dot(m + "IsNull").Call()).Block(appendLit("null")).Else().Block(val...)}
			}
			if t.Primitive == schema.Char {
				return []jen.Code{jen.Id("dst").Op("=").Qual(sbePkg, "AppendJSONChars").Call(jen.Id("dst"), jen.Index().Byte().Values(get))}
			}
			return val
		}
		if t.Primitive == schema.Char {
			return []jen.Code{jen.Id("dst").Op("=").Qual(sbePkg, "AppendJSONChars").Call(jen.Id("dst"), get)}
		}
		return []jen.Code{
			appendLit("["),
			jen.For(jen.List(jen.Id("i"), jen.Id("x")).Op(":=").Range().Add(get)).Block(
				jen.If(jen.Id("i").Op(">").Lit(0)).Block(appendLit(",")),
				appendNumber(t.Primitive, jen.Id("x")),
			),
			appendLit("]"),
		}
	case *schema.Enum:
		if a.presence == schema.Optional {
			return []jen.Code{jen.If(o.getRecvName().Dot(m + "IsNull").Call()).Block(appendLit("null")).Else().Block(jen.Id("dst").Op("=").Add(get).Dot("appendJSON").Call(jen.Id("dst")))}
		}
		return []jen.Code{jen.Id("dst").Op("=").Add(get).Dot("appendJSON").Call(jen.Id("dst"))}
	case *schema.Set, *schema.Composite:
		return []jen.Code{jen.Id("dst").Op("=").Add(get).Dot("appendJSON").Call(jen.Id("dst"))}
	}
	return nil
}
