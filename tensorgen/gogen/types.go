package gogen

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/tpool-go/tpool/tensorgen/schema"
)

// doc builds a doc comment from a description and extra lines.
func doc(name, description string, extra ...string) *jen.Statement {
	var lines []string
	d := strings.Join(strings.Fields(description), " ")
	if d != "" {
		lines = append(lines, name+": "+d)
	}
	for _, e := range extra {
		if e != "" {
			lines = append(lines, e)
		}
	}
	if len(lines) == 0 {
		return jen.Null()
	}
	return jen.Comment(strings.Join(lines, "\n"))
}

// commonExtra returns the doc lines of c's semantic type, sinceVersion
// (followed by sinceNote) and deprecation, for the Go declaration what.
func commonExtra(c *schema.Common, what, sinceNote string) []string {
	var out []string
	if c.SemanticType != "" {
		out = append(out, "Semantic type: "+c.SemanticType+".")
	}
	if c.SinceVersion > 0 {
		out = append(out, fmt.Sprintf("Since schema version %d%s.", c.SinceVersion, sinceNote))
	}
	if c.Deprecated > 0 {
		out = append(out, "", fmt.Sprintf("Deprecated: %s deprecated in schema version %d.", what, c.Deprecated))
	}
	return out
}

func (g *gen) enumType(e *schema.Enum) {
	name := exported(e.Name)
	g.declare(g.top, name, "enum "+e.Name+" at "+e.Pos.String())
	g.f.Add(doc(name, e.Description, append([]string{fmt.Sprintf("%s is the SBE enum %s, encoded as %s.", name, e.Name, e.Encoding)}, commonExtra(&e.Common, name, "")...)...))
	g.f.Type().Id(name).Id(goType(e.Encoding))
	var consts []jen.Code
	valLit := func(v schema.Value) jen.Code {
		if e.Encoding == schema.Char && v.U >= 0x20 && v.U < 0x7f {
			return jen.LitRune(rune(v.U))
		}
		return lit(e.Encoding, v)
	}
	for _, v := range e.Values {
		cn := name + constName(v.Name)
		g.declare(g.top, cn, "enum value "+e.Name+"."+v.Name+" at "+v.Pos.String())
		consts = append(consts, doc(cn, v.Description, commonExtra(&v.Common, cn, "")...), jen.Id(cn).Id(name).Op("=").Add(valLit(v.Value)))
	}
	nullName := name + "NullValue"
	g.declare(g.top, nullName, "the null value of enum "+e.Name)
	consts = append(consts, jen.Comment(nullName+" is the SBE null value of "+name+"."), jen.Id(nullName).Id(name).Op("=").Add(valLit(e.Null)))
	g.f.Const().Defs(consts...)

	var cases []jen.Code
	var validCases []jen.Code
	for _, v := range e.Values {
		cn := name + constName(v.Name)
		cases = append(cases, jen.Case(jen.Id(cn)).Block(jen.Return(jen.Lit(v.Name))))
		validCases = append(validCases, jen.Id(cn))
	}
	cases = append(cases, jen.Case(jen.Id(nullName)).Block(jen.Return(jen.Lit("NULL_VALUE"))))
	conv := jen.Qual(strconvPkg, "FormatUint").Call(jen.Uint64().Call(jen.Id("v")), jen.Lit(10))
	if e.Encoding.IsSigned() {
		conv = jen.Qual(strconvPkg, "FormatInt").Call(jen.Int64().Call(jen.Id("v")), jen.Lit(10))
	}
	g.f.Comment("String returns the schema name of the value, NULL_VALUE, or " + name + "(n) for a value the schema does not define.")
	g.f.Func().Params(jen.Id("v").Id(name)).Id("String").Params().String().Block(
		jen.Switch(jen.Id("v")).Block(cases...),
		jen.Return(jen.Lit(name+"(").Op("+").Add(conv).Op("+").Lit(")")),
	)
	g.f.Comment("IsValid reports whether v is one of the values the schema defines (the null value is not).")
	body := []jen.Code{jen.Return(jen.False())}
	if len(validCases) > 0 {
		body = []jen.Code{jen.Switch(jen.Id("v")).Block(jen.Case(validCases...).Block(jen.Return(jen.True()))), jen.Return(jen.False())}
	}
	g.f.Func().Params(jen.Id("v").Id(name)).Id("IsValid").Params().Bool().Block(body...)
	// appendJSON: the name when valid, else the raw number.
	g.f.Func().Params(jen.Id("v").Id(name)).Id("appendJSON").Params(jen.Id("dst").Index().Byte()).Index().Byte().Block(
		jen.If(jen.Id("v").Dot("IsValid").Call()).Block(
			jen.Return(jen.Qual(sbePkg, "AppendJSONString").Call(jen.Id("dst"), jen.Index().Byte().Call(jen.Id("v").Dot("String").Call()))),
		),
		appendNumber(e.Encoding, jen.Id("v")),
		jen.Return(jen.Id("dst")),
	)
}

func (g *gen) setType(s *schema.Set) {
	name := exported(s.Name)
	g.declare(g.top, name, "set "+s.Name+" at "+s.Pos.String())
	g.f.Add(doc(name, s.Description, append([]string{fmt.Sprintf("%s is the SBE set %s: bit choices encoded as %s.", name, s.Name, s.Encoding)}, commonExtra(&s.Common, name, "")...)...))
	g.f.Type().Id(name).Id(goType(s.Encoding))
	methods := newScope("method of "+name, "String", "appendJSON")
	var consts []jen.Code
	for _, c := range s.Choices {
		cn := name + exported(c.Name)
		g.declare(g.top, cn, "choice "+s.Name+"."+c.Name+" at "+c.Pos.String())
		consts = append(consts, doc(cn, c.Description, append([]string{fmt.Sprintf("%s is bit %d.", cn, c.Bit)}, commonExtra(&c.Common, cn, "")...)...), jen.Id(cn).Id(name).Op("=").Lit(1).Op("<<").Lit(c.Bit))
	}
	if len(consts) > 0 {
		g.f.Const().Defs(consts...)
	}
	var strParts []jen.Code
	for _, c := range s.Choices {
		cn := name + exported(c.Name)
		m := exported(c.Name)
		g.declare(methods, m, "choice "+c.Name)
		g.declare(methods, "With"+m, "choice "+c.Name)
		g.f.Comment(fmt.Sprintf("%s reports whether choice %s (bit %d) is set.", m, c.Name, c.Bit))
		g.f.Func().Params(jen.Id("s").Id(name)).Id(m).Params().Bool().Block(jen.Return(jen.Id("s").Op("&").Id(cn).Op("!=").Lit(0)))
		g.f.Comment(fmt.Sprintf("With%s returns s with choice %s set or cleared.", m, c.Name))
		g.f.Func().Params(jen.Id("s").Id(name)).Id("With"+m).Params(jen.Id("on").Bool()).Id(name).Block(
			jen.If(jen.Id("on")).Block(jen.Return(jen.Id("s").Op("|").Id(cn))),
			jen.Return(jen.Id("s").Op("&^").Id(cn)),
		)
		strParts = append(strParts, jen.If(jen.Id("s").Op("&").Id(cn).Op("!=").Lit(0)).Block(
			jen.If(jen.Len(jen.Id("names")).Op(">").Lit(0)).Block(jen.Id("names").Op("=").Append(jen.Id("names"), jen.LitRune(','))),
			jen.Id("names").Op("=").Append(jen.Id("names"), jen.Lit(c.Name).Op("...")),
		))
	}
	g.f.Comment("String lists the set choices, e.g. {a,b}.")
	g.f.Func().Params(jen.Id("s").Id(name)).Id("String").Params().String().Block(
		append(append([]jen.Code{jen.Id("names").Op(":=").Make(jen.Index().Byte(), jen.Lit(0), jen.Lit(32))}, strParts...),
			jen.Return(jen.Lit("{").Op("+").String().Call(jen.Id("names")).Op("+").Lit("}")))...,
	)
	var jsonParts []jen.Code
	jsonParts = append(jsonParts, appendLit("["), jen.Id("first").Op(":=").True())
	for _, c := range s.Choices {
		cn := name + exported(c.Name)
		jsonParts = append(jsonParts, jen.If(jen.Id("s").Op("&").Id(cn).Op("!=").Lit(0)).Block(
			jen.If(jen.Op("!").Id("first")).Block(appendLit(",")),
			jen.Id("first").Op("=").False(),
			appendLit(strconv.Quote(c.Name)),
		))
	}
	jsonParts = append(jsonParts, jen.Id("_").Op("=").Id("first"), appendLit("]"), jen.Return(jen.Id("dst")))
	g.f.Func().Params(jen.Id("s").Id(name)).Id("appendJSON").Params(jen.Id("dst").Index().Byte()).Index().Byte().Block(jsonParts...)
}

// compositeType emits a view type over the composite's bytes.
func (g *gen) compositeType(c *schema.Composite) {
	name := exported(c.Name)
	g.declare(g.top, name, "composite "+c.Name+" at "+c.Pos.String())
	size := name + "EncodedLength"
	g.declare(g.top, size, "the length of composite "+c.Name)
	g.declare(g.top, "New"+name, "the constructor of composite "+c.Name)
	g.f.Add(doc(name, c.Description, append([]string{
		fmt.Sprintf("%s is a view over the %d bytes of the SBE composite %s.", name, c.Size, c.Name),
		"Getters and setters read and write the underlying buffer in place; a view",
		"over too short a buffer reads null values and ignores writes.",
	}, commonExtra(&c.Common, name, "")...)...))
	g.f.Type().Id(name).Struct(jen.Id("b").Index().Byte())
	g.f.Comment(fmt.Sprintf("%s is the encoded length of %s in bytes.", size, name))
	g.f.Const().Id(size).Op("=").Lit(c.Size)
	g.f.Comment(fmt.Sprintf("New%s returns a view over the first %s bytes of b.", name, size))
	g.f.Func().Id("New"+name).Params(jen.Id("b").Index().Byte()).Params(jen.Id(name), jen.Error()).Block(
		jen.If(jen.Len(jen.Id("b")).Op("<").Id(size)).Block(jen.Return(jen.Id(name).Values(), jen.Qual(sbePkg, "ErrShortBuffer"))),
		jen.Return(jen.Id(name).Values(jen.Id("b").Index(jen.Empty(), jen.Id(size), jen.Id(size))), jen.Nil()),
	)
	g.f.Comment("Bytes returns the bytes the view covers.")
	g.f.Func().Params(jen.Id("c").Id(name)).Id("Bytes").Params().Index().Byte().Block(jen.Return(jen.Id("c").Dot("b")))

	methods := newScope("method of "+name, "Bytes", "appendJSON")
	o := &owner{
		gen:        g,
		kind:       "composite " + c.Name,
		getRecv:    jen.Id("c").Id(name),
		setRecv:    jen.Id("c").Id(name),
		getBuf:     func() *jen.Statement { return jen.Id("c").Dot("b") },
		setBuf:     func() *jen.Statement { return jen.Id("c").Dot("b") },
		guard:      true,
		getMethods: methods,
		setMethods: methods,
		getName:    "c",
	}
	var jsonBody []jen.Code
	jsonBody = append(jsonBody, appendLit("{"))
	for i, m := range c.Members {
		a := accessor{
			Common: schema.Common{Pos: m.Pos, Name: m.Name, Deprecated: m.Deprecated},
			typ:    m.Type,
			offset: m.Offset,
		}
		switch t := m.Type.(type) {
		case *schema.Encoded:
			a.presence = t.Presence
			a.null = t.Null
			a.Description = t.Description
			a.constEnum = t.ConstEnum
		case *schema.Enum:
			a.presence = t.Presence
			a.null = t.Null
			a.Description = t.Description
		case *schema.Set:
			a.Description = t.Description
		case *schema.Composite:
			a.Description = t.Description
		}
		o.field(a)
		sep := ","
		if i == 0 {
			sep = ""
		}
		jsonBody = append(jsonBody, appendLit(sep+strconv.Quote(m.Name)+":"))
		jsonBody = append(jsonBody, o.fieldJSON(a)...)
	}
	jsonBody = append(jsonBody, appendLit("}"), jen.Return(jen.Id("dst")))
	g.f.Func().Params(jen.Id("c").Id(name)).Id("appendJSON").Params(jen.Id("dst").Index().Byte()).Index().Byte().Block(jsonBody...)
	if err := methods.add("String", "the JSON form"); err == nil {
		g.f.Comment("String returns the composite as JSON.")
		g.f.Func().Params(jen.Id("c").Id(name)).Id("String").Params().String().Block(jen.Return(jen.String().Call(jen.Id("c").Dot("appendJSON").Call(jen.Nil()))))
	}
}
