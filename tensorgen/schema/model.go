package schema

import (
	"fmt"
	"math"
)

// Pos is a position in a schema file, kept on every element so that
// validation errors and generated doc comments can point at the source.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// ByteOrder is the schema's byte order.
type ByteOrder int

const (
	LittleEndian ByteOrder = iota
	BigEndian
)

func (b ByteOrder) String() string {
	if b == BigEndian {
		return "bigEndian"
	}
	return "littleEndian"
}

// Primitive is an SBE primitive type.
type Primitive int

const (
	Char Primitive = iota + 1
	Int8
	Int16
	Int32
	Int64
	Uint8
	Uint16
	Uint32
	Uint64
	Float
	Double
)

var primitiveNames = map[Primitive]string{
	Char: "char", Int8: "int8", Int16: "int16", Int32: "int32", Int64: "int64",
	Uint8: "uint8", Uint16: "uint16", Uint32: "uint32", Uint64: "uint64",
	Float: "float", Double: "double",
}

// PrimitiveByName maps an SBE primitive type name to its Primitive.
func PrimitiveByName(name string) (Primitive, bool) {
	for p, n := range primitiveNames {
		if n == name {
			return p, true
		}
	}
	return 0, false
}

// String returns the SBE name ("uint32").
func (p Primitive) String() string { return primitiveNames[p] }

// Size is the encoded size in bytes.
func (p Primitive) Size() int {
	switch p {
	case Char, Int8, Uint8:
		return 1
	case Int16, Uint16:
		return 2
	case Int32, Uint32, Float:
		return 4
	default:
		return 8
	}
}

// IsSigned reports a signed integer type.
func (p Primitive) IsSigned() bool { return p >= Int8 && p <= Int64 }

// IsUnsigned reports an unsigned integer type or char.
func (p Primitive) IsUnsigned() bool { return p == Char || (p >= Uint8 && p <= Uint64) }

// IsFloat reports float or double.
func (p Primitive) IsFloat() bool { return p == Float || p == Double }

// Value is a literal of a primitive type. Exactly one of the members is
// meaningful, chosen by the primitive: I for signed integers, U for unsigned
// integers and char, F for floating point.
type Value struct {
	I int64
	U uint64
	F float64
}

// Null returns the SBE default null value of p (NaN for floats).
func (p Primitive) Null() Value {
	switch p {
	case Char:
		return Value{U: 0}
	case Int8:
		return Value{I: math.MinInt8}
	case Int16:
		return Value{I: math.MinInt16}
	case Int32:
		return Value{I: math.MinInt32}
	case Int64:
		return Value{I: math.MinInt64}
	case Uint8:
		return Value{U: math.MaxUint8}
	case Uint16:
		return Value{U: math.MaxUint16}
	case Uint32:
		return Value{U: math.MaxUint32}
	case Uint64:
		return Value{U: math.MaxUint64}
	default:
		return Value{F: math.NaN()}
	}
}

// Min returns the SBE default minimum value of p.
func (p Primitive) Min() Value {
	switch p {
	case Char:
		return Value{U: 0x20}
	case Int8:
		return Value{I: math.MinInt8 + 1}
	case Int16:
		return Value{I: math.MinInt16 + 1}
	case Int32:
		return Value{I: math.MinInt32 + 1}
	case Int64:
		return Value{I: math.MinInt64 + 1}
	case Uint8, Uint16, Uint32, Uint64:
		return Value{U: 0}
	case Float:
		return Value{F: -math.MaxFloat32}
	default:
		return Value{F: -math.MaxFloat64}
	}
}

// Max returns the SBE default maximum value of p.
func (p Primitive) Max() Value {
	switch p {
	case Char:
		return Value{U: 0x7e}
	case Int8:
		return Value{I: math.MaxInt8}
	case Int16:
		return Value{I: math.MaxInt16}
	case Int32:
		return Value{I: math.MaxInt32}
	case Int64:
		return Value{I: math.MaxInt64}
	case Uint8:
		return Value{U: math.MaxUint8 - 1}
	case Uint16:
		return Value{U: math.MaxUint16 - 1}
	case Uint32:
		return Value{U: math.MaxUint32 - 1}
	case Uint64:
		return Value{U: math.MaxUint64 - 1}
	case Float:
		return Value{F: math.MaxFloat32}
	default:
		return Value{F: math.MaxFloat64}
	}
}

// Presence is the presence of a type or field.
type Presence int

const (
	Required Presence = iota
	Optional
	Constant
)

func (p Presence) String() string {
	return [...]string{"required", "optional", "constant"}[p]
}

// Schema is a resolved, validated SBE message schema: every type reference
// is resolved to its definition and every offset, size and block length is
// computed.
type Schema struct {
	Pos             Pos
	Package         string // the package attribute, e.g. "shm.tensorpool.control"
	ID              int    // schema id (uint16 on the wire)
	Version         int    // schema version (0 when absent)
	SemanticVersion string
	Description     string
	ByteOrder       ByteOrder

	// Header is the message header composite (headerType, default
	// "messageHeader"). It has members blockLength, templateId, schemaId and
	// version in any order and width, possibly with others.
	Header *Composite

	// Types lists every named type in declaration order, including enums,
	// sets and composites declared inside composites. Inline <type> members
	// of composites are not listed here; they appear only as members.
	Types []Type

	Messages []*Message
}

// Type is one of *Encoded, *Enum, *Set or *Composite.
type Type interface {
	TypeName() string
	// EncodedSize is the number of bytes the type occupies on the wire
	// (0 for a constant).
	EncodedSize() int
	Position() Pos
}

// Common attributes shared by types, fields, groups and data.
type Common struct {
	Pos          Pos
	Name         string
	Description  string
	SemanticType string
	SinceVersion int
	Deprecated   int // 0 when not deprecated
}

// Position returns where the element is declared.
func (c *Common) Position() Pos { return c.Pos }

// TypeName returns the element's name.
func (c *Common) TypeName() string { return c.Name }

// Encoded is a <type>: a primitive scalar, a fixed-length array of a
// primitive (Length > 1, or a char array), or a constant.
type Encoded struct {
	Common
	Primitive Primitive
	// Length is the array length: 1 for a scalar, N for an array, 0 for the
	// varData member of a var-data composite.
	Length            int
	Presence          Presence
	Null, Min, Max    Value // explicit or the primitive's defaults
	ExplicitNull      bool  // Null came from a nullValue attribute
	CharacterEncoding string

	// Constants: ConstValue holds the value of a scalar constant;
	// ConstString the text of a char-array constant; ConstEnum the enum value
	// named by valueRef, when there is one.
	ConstValue  Value
	ConstString string
	ConstEnum   *EnumValue
	ValueRef    string

	// Offset is the explicit offset attribute inside a composite, -1 if none.
	Offset int
}

// EncodedSize implements Type.
func (e *Encoded) EncodedSize() int {
	if e.Presence == Constant {
		return 0
	}
	return e.Primitive.Size() * e.Length
}

// IsArray reports a fixed-length array (including char arrays of any
// length other than 1).
func (e *Encoded) IsArray() bool { return e.Length != 1 }

// Enum is an <enum>.
type Enum struct {
	Common
	Encoding Primitive // char or an integer type
	Null     Value     // the encoding's null (explicit nullValue of a named encodingType, else default)
	Values   []*EnumValue
	Presence Presence // for enums declared inside composites; normally Required
	Offset   int      // explicit offset inside a composite, -1 if none
}

// EncodedSize implements Type.
func (e *Enum) EncodedSize() int { return e.Encoding.Size() }

// EnumValue is a <validValue>.
type EnumValue struct {
	Common
	Value Value // U for char and unsigned encodings, I for signed
	Enum  *Enum
}

// Set is a <set> of bit choices.
type Set struct {
	Common
	Encoding Primitive // uint8, uint16, uint32 or uint64
	Choices  []*Choice
	Offset   int // explicit offset inside a composite, -1 if none
}

// EncodedSize implements Type.
func (s *Set) EncodedSize() int { return s.Encoding.Size() }

// Choice is a <choice>: a bit position.
type Choice struct {
	Common
	Bit int
}

// Composite is a <composite>.
type Composite struct {
	Common
	Members []*Member
	Size    int // encoded size, including padding from member offsets
	Offset  int // explicit offset when used inside another composite, -1 if none
}

// EncodedSize implements Type.
func (c *Composite) EncodedSize() int { return c.Size }

// Member returns the member named name, or nil.
func (c *Composite) Member(name string) *Member {
	for _, m := range c.Members {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// IsVarData reports a var-data composite: a length member and a varData
// member of length 0.
func (c *Composite) IsVarData() bool {
	l, d := c.Member("length"), c.Member("varData")
	if l == nil || d == nil {
		return false
	}
	e, ok := d.Type.(*Encoded)
	return ok && e.Length == 0
}

// Member is one element of a composite: an inline <type>, <enum>, <set> or
// <composite>, or a <ref> to a named type.
type Member struct {
	Pos    Pos
	Name   string
	Offset int  // resolved byte offset inside the composite
	Type   Type // the inline definition or the referenced type
	Ref    bool // declared with <ref>
	// SinceVersion and Deprecated of the member (for a <ref>, the ref's own
	// attributes; otherwise those of the inline type).
	SinceVersion int
	Deprecated   int
}

// Message is an <sbe:message>.
type Message struct {
	Common
	ID          int
	BlockLength int // explicit blockLength or the computed size of the root block
	Fields      []*Field
	Groups      []*Group
	Data        []*Data
}

// Field is a <field> of a message or group.
type Field struct {
	Common
	ID int
	// Type is the field's type. A field declared with a primitive type name
	// ("uint32") gets an anonymous *Encoded named after the primitive.
	Type Type
	// Offset is the resolved offset inside the block.
	Offset int
	// Presence is the field's effective presence: the field attribute when
	// given, else the type's.
	Presence Presence
	// Null is the field's effective null value: a field-level nullValue
	// (non-standard, honoured by tpool), else the type's. ExplicitNull is
	// true when a field-level nullValue was given.
	Null         Value
	ExplicitNull bool
	// Constant fields: the value named by valueRef (ConstEnum), or the type's
	// constant.
	ValueRef  string
	ConstEnum *EnumValue
	// IgnoredLength is the non-standard length attribute on a field, which
	// the reference tool ignores (0 when absent). Kept only for diagnostics.
	IgnoredLength int
	Epoch         string
	TimeUnit      string
}

// Group is a repeating <group>.
type Group struct {
	Common
	ID          int
	Dimension   *Composite // dimensionType: members blockLength and numInGroup
	BlockLength int        // explicit blockLength or the computed size of one entry's block
	Fields      []*Field
	Groups      []*Group
	Data        []*Data
}

// Data is a variable-length <data> element.
type Data struct {
	Common
	ID   int
	Type *Composite // the var-data composite (length + varData)
	// DeclaredAsField is true for a <field> whose type is a var-data
	// composite (the protocol schemas do this inside groups). Such a field
	// takes no room in the block; its length and bytes are encoded as var
	// data directly after the block, before any nested group, which is what
	// the reference tool and the C implementation produce.
	DeclaredAsField bool
}

// LengthType returns the primitive of the length prefix.
func (d *Data) LengthType() Primitive {
	return d.Type.Member("length").Type.(*Encoded).Primitive
}

// MaxLength returns the maximum permitted length (the length member's
// maxValue, or the type's maximum).
func (d *Data) MaxLength() uint64 {
	return d.Type.Member("length").Type.(*Encoded).Max.U
}

// CharacterEncoding returns the varData member's characterEncoding, or "".
func (d *Data) CharacterEncoding() string {
	return d.Type.Member("varData").Type.(*Encoded).CharacterEncoding
}
