package gogen

import (
	"math"
	"strconv"

	"github.com/dave/jennifer/jen"

	"github.com/tpool-go/tpool/tensorgen/schema"
)

const (
	binaryPkg  = "encoding/binary"
	mathPkg    = "math"
	strconvPkg = "strconv"
)

// goType returns the Go type of a primitive.
func goType(p schema.Primitive) string {
	switch p {
	case schema.Char:
		return "byte"
	case schema.Float:
		return "float32"
	case schema.Double:
		return "float64"
	default:
		return p.String()
	}
}

// lit returns a Go literal for v interpreted as p (untyped where possible).
func lit(p schema.Primitive, v schema.Value) *jen.Statement {
	switch {
	case p.IsFloat():
		if math.IsNaN(v.F) {
			return jen.Qual(mathPkg, "NaN").Call()
		}
		if math.IsInf(v.F, 0) {
			sign := 1
			if v.F < 0 {
				sign = -1
			}
			return jen.Qual(mathPkg, "Inf").Call(jen.Lit(sign))
		}
		s := strconv.FormatFloat(v.F, 'g', -1, 64)
		return jen.Op(s)
	case p.IsSigned():
		return jen.Op(strconv.FormatInt(v.I, 10))
	default:
		return jen.Op(strconv.FormatUint(v.U, 10))
	}
}

// typedLit returns T(lit) so that constants keep their type.
func typedLit(p schema.Primitive, v schema.Value) *jen.Statement {
	if p.IsFloat() && math.IsNaN(v.F) {
		if p == schema.Float {
			return jen.Id("float32").Call(jen.Qual(mathPkg, "NaN").Call())
		}
		return jen.Qual(mathPkg, "NaN").Call()
	}
	return jen.Id(goType(p)).Call(lit(p, v))
}

// coder emits byte-level reads and writes for one byte order.
type coder struct {
	big bool
}

func (c coder) order() *jen.Statement {
	if c.big {
		return jen.Qual(binaryPkg, "BigEndian")
	}
	return jen.Qual(binaryPkg, "LittleEndian")
}

// read returns an expression reading p from buf[off:] (buf and off are
// expressions).
func (c coder) read(p schema.Primitive, buf, off jen.Code) *jen.Statement {
	at := func() *jen.Statement { return jen.Add(buf).Index(jen.Add(off), jen.Empty()) }
	switch p {
	case schema.Char, schema.Uint8:
		return jen.Add(buf).Index(jen.Add(off))
	case schema.Int8:
		return jen.Int8().Call(jen.Add(buf).Index(jen.Add(off)))
	case schema.Uint16:
		return c.order().Dot("Uint16").Call(at())
	case schema.Int16:
		return jen.Int16().Call(c.order().Dot("Uint16").Call(at()))
	case schema.Uint32:
		return c.order().Dot("Uint32").Call(at())
	case schema.Int32:
		return jen.Int32().Call(c.order().Dot("Uint32").Call(at()))
	case schema.Uint64:
		return c.order().Dot("Uint64").Call(at())
	case schema.Int64:
		return jen.Int64().Call(c.order().Dot("Uint64").Call(at()))
	case schema.Float:
		return jen.Qual(mathPkg, "Float32frombits").Call(c.order().Dot("Uint32").Call(at()))
	default:
		return jen.Qual(mathPkg, "Float64frombits").Call(c.order().Dot("Uint64").Call(at()))
	}
}

// write returns a statement writing v (an expression of p's Go type, or of
// a named type with p's underlying type) to buf[off:].
func (c coder) write(p schema.Primitive, buf, off, v jen.Code) *jen.Statement {
	at := func() *jen.Statement { return jen.Add(buf).Index(jen.Add(off), jen.Empty()) }
	switch p {
	case schema.Char, schema.Uint8, schema.Int8:
		return jen.Add(buf).Index(jen.Add(off)).Op("=").Byte().Call(v)
	case schema.Uint16, schema.Int16:
		return c.order().Dot("PutUint16").Call(at(), jen.Uint16().Call(v))
	case schema.Uint32, schema.Int32:
		return c.order().Dot("PutUint32").Call(at(), jen.Uint32().Call(v))
	case schema.Uint64, schema.Int64:
		return c.order().Dot("PutUint64").Call(at(), jen.Uint64().Call(v))
	case schema.Float:
		return c.order().Dot("PutUint32").Call(at(), jen.Qual(mathPkg, "Float32bits").Call(v))
	default:
		return c.order().Dot("PutUint64").Call(at(), jen.Qual(mathPkg, "Float64bits").Call(v))
	}
}

// appendNumber returns a statement appending the JSON form of v (of
// primitive p) to dst.
func appendNumber(p schema.Primitive, v jen.Code) *jen.Statement {
	switch {
	case p == schema.Char:
		return jen.Id("dst").Op("=").Qual(sbePkg, "AppendJSONBytes").Call(jen.Id("dst"), jen.Index().Byte().Values(jen.Byte().Call(v)))
	case p.IsFloat():
		bits := 64
		if p == schema.Float {
			bits = 32
		}
		return jen.Id("dst").Op("=").Qual(sbePkg, "AppendJSONFloat").Call(jen.Id("dst"), jen.Float64().Call(v), jen.Lit(bits))
	case p.IsSigned():
		return jen.Id("dst").Op("=").Qual(strconvPkg, "AppendInt").Call(jen.Id("dst"), jen.Int64().Call(v), jen.Lit(10))
	default:
		return jen.Id("dst").Op("=").Qual(strconvPkg, "AppendUint").Call(jen.Id("dst"), jen.Uint64().Call(v), jen.Lit(10))
	}
}

// appendLit returns a statement appending a literal string to dst.
func appendLit(s string) *jen.Statement {
	if len(s) == 1 {
		return jen.Id("dst").Op("=").Append(jen.Id("dst"), jen.LitRune(rune(s[0])))
	}
	return jen.Id("dst").Op("=").Append(jen.Id("dst"), jen.Lit(s).Op("..."))
}
