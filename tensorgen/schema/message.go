package schema

import (
	"math"
	"strconv"
)

func itoa(i int) string { return strconv.Itoa(i) }

// header resolves and checks the message header composite.
func (r *resolver) header(root *node, name string) *Composite {
	t, found := r.lookup(name, root)
	if !found {
		r.errs.add(root, "message header type %q (headerType) is not declared", name)
		return nil
	}
	if t == nil {
		return nil
	}
	c, ok := t.(*Composite)
	if !ok {
		r.errs.add(root, "message header type %q (headerType) is not a composite", name)
		return nil
	}
	elem := "<composite name=" + strconv.Quote(c.Name) + ">"
	bad := false
	for _, want := range []string{"blockLength", "templateId", "schemaId", "version"} {
		m := c.Member(want)
		if m == nil {
			r.errs.addError(&Error{Pos: c.Pos, Element: elem, Msg: "message header has no " + quote(want) + " member"})
			bad = true
			continue
		}
		e, ok := m.Type.(*Encoded)
		if !ok || e.Length != 1 || !(e.Primitive.IsSigned() || e.Primitive.IsUnsigned()) || e.Primitive == Char {
			r.errs.addError(&Error{Pos: m.Pos, Element: elem, Msg: "message header member " + quote(want) + " must be an integer <type>"})
			bad = true
			continue
		}
		if want == "blockLength" && !e.Primitive.IsUnsigned() {
			r.errs.addError(&Error{Pos: m.Pos, Element: elem, Msg: "message header member \"blockLength\" must be unsigned"})
			bad = true
		}
	}
	if bad {
		return nil
	}
	s := r.schema
	if e := headerMember(c, "schemaId"); e.Presence != Constant && !fits(e, s.ID) {
		r.errs.add(root, "schema id %d does not fit in the header's schemaId (%s)", s.ID, e.Primitive)
	}
	if e := headerMember(c, "version"); e.Presence != Constant && !fits(e, s.Version) {
		r.errs.add(root, "schema version %d does not fit in the header's version (%s)", s.Version, e.Primitive)
	}
	return c
}

func headerMember(c *Composite, name string) *Encoded {
	return c.Member(name).Type.(*Encoded)
}

// message builds an <sbe:message>.
func (r *resolver) message(n *node) *Message {
	m := &Message{Common: r.common(n)}
	m.ID = r.requiredInt(n, "id", maxNumber)
	explicit := r.intAttr(n, "blockLength", 0, maxSize)
	b := r.block(n)
	m.Fields, m.Groups, m.Data = b.fields, b.groups, b.data
	m.BlockLength = r.blockLength(n, explicit, b.size)
	if h := r.schema.Header; h != nil {
		if e := headerMember(h, "templateId"); e.Presence != Constant && !fits(e, m.ID) {
			r.errs.add(n, "message id %d does not fit in the header's templateId (%s)", m.ID, e.Primitive)
		}
		if e := headerMember(h, "blockLength"); e.Presence != Constant && !fits(e, m.BlockLength) {
			r.errs.add(n, "blockLength %d does not fit in the header's blockLength (%s)", m.BlockLength, e.Primitive)
		}
	}
	return m
}

// blockLength applies an explicit blockLength attribute (0 when absent).
func (r *resolver) blockLength(n *node, explicit, computed int) int {
	if explicit == 0 {
		return computed
	}
	if explicit < computed {
		r.errs.add(n, "blockLength %d is less than the %d bytes its fields need", explicit, computed)
		return computed
	}
	return explicit
}

// block is the content of a message or of a group entry.
type block struct {
	fields []*Field
	groups []*Group
	data   []*Data
	size   int // computed block length: end of the last fixed field
}

// block parses the fields, groups and data of a message or group and lays
// out the fields as the reference tool does: packed in order, without
// padding, except where an offset attribute moves a field forward.
func (r *resolver) block(n *node) block {
	var (
		b        block
		declared []*Data // var-data composites declared as <field>
		varField *node
		stage    int // 0 fields, 1 groups, 2 data
		ids      = map[int]*node{}
		names    = map[string]*node{}
	)
	register := func(c *node, name string, id int) {
		if prev := ids[id]; prev != nil {
			r.errs.add(c, "duplicate id %d (also used by %s at %s)", id, prev.describe(), prev.pos)
		} else {
			ids[id] = c
		}
		if prev := names[name]; prev != nil && name != "" {
			r.errs.add(c, "duplicate name %q (also used at %s)", name, prev.pos)
		} else {
			names[name] = c
		}
	}
	for _, c := range n.children {
		switch c.name {
		case "field":
			if stage > 0 {
				r.errs.add(c, "field after a group or data element: a block has fields, then groups, then data")
			}
			f, d, off := r.field(c)
			if d != nil {
				register(c, d.Name, d.ID)
				declared = append(declared, d)
				if varField == nil {
					varField = c
				}
				continue
			}
			if f == nil {
				continue
			}
			register(c, f.Name, f.ID)
			if varField != nil {
				r.errs.add(c, "field follows the var-data field %q, so it has no fixed offset", varField.attr1("name"))
			}
			if off > 0 {
				if off < b.size {
					r.errs.add(c, "offset %d overlaps the previous field, which ends at %d", off, b.size)
				}
				b.size = off
			}
			f.Offset = b.size
			if f.Presence != Constant {
				b.size += wireSize(f.Type)
				if b.size > maxSize {
					r.errs.add(c, "the block is more than %d bytes at this field (%d bytes so far), larger than any block a schema may declare",
						maxSize, b.size)
					b.size = 0 // stay bounded without repeating the error, which fails the schema
				}
			}
			b.fields = append(b.fields, f)
		case "group":
			if stage > 1 {
				r.errs.add(c, "group after a data element: a block has fields, then groups, then data")
			}
			stage = max(stage, 1)
			if g := r.group(c); g != nil {
				register(c, g.Name, g.ID)
				b.groups = append(b.groups, g)
			}
		case "data":
			stage = 2
			if d := r.data(c); d != nil {
				register(c, d.Name, d.ID)
				b.data = append(b.data, d)
			}
		default:
			r.errs.add(c, "unexpected element (want field, group or data)")
		}
	}
	if varField != nil && len(b.groups) > 0 {
		r.errs.add(varField, "a field of var-data type %q in a block that also has groups is ambiguous: "+
			"its bytes could precede or follow the groups", varField.attr1("type"))
	}
	b.data = append(declared, b.data...)
	return b
}

// field builds a <field>. A field whose type is a var-data composite is
// returned as *Data instead (a tpool extension). off is the explicit offset
// attribute, 0 when absent (as in the reference tool, offset="0" means
// "not given").
func (r *resolver) field(n *node) (f *Field, d *Data, off int) {
	c := r.common(n)
	id := r.requiredInt(n, "id", maxNumber)
	off = r.intAttr(n, "offset", 0, maxSize)
	tn, ok := n.attr("type")
	if !ok {
		r.errs.add(n, "missing type attribute")
		return nil, nil, 0
	}
	var t Type
	if x, found := r.lookup(tn, n); found {
		if x == nil {
			return nil, nil, 0
		}
		t = x
	} else if p, ok := PrimitiveByName(tn); ok {
		t = primitiveType(p, n.pos)
	} else {
		r.errs.add(n, "unknown type %q", tn)
		return nil, nil, 0
	}

	if comp, ok := t.(*Composite); ok && comp.IsVarData() {
		r.checkVarData(n, comp)
		return nil, &Data{Common: c, ID: id, Type: comp, DeclaredAsField: true}, 0
	}

	f = &Field{Common: c, ID: id, Type: t}
	f.Epoch, _ = n.attr("epoch")
	f.TimeUnit, _ = n.attr("timeUnit")
	f.IgnoredLength = r.intAttr(n, "length", 0, maxSize)
	tc := commonOf(t)
	if c.SemanticType != "" && tc.SemanticType != "" && c.SemanticType != tc.SemanticType {
		r.errs.add(n, "semanticType %q differs from the semanticType %q of type %q", c.SemanticType, tc.SemanticType, tn)
	}

	var typePresence Presence
	var prim Primitive // primitive of a scalar type, 0 for sets and composites
	switch t := t.(type) {
	case *Encoded:
		typePresence = t.Presence
		f.Null = t.Null
		if t.Length == 1 {
			prim = t.Primitive
		}
	case *Enum:
		typePresence = t.Presence
		f.Null = t.Null
		prim = t.Encoding
	}
	presence, given := r.presence(n, typePresence)
	if given && typePresence == Constant && presence != Constant {
		r.errs.add(n, "presence=%q conflicts with the constant type %q", presence, tn)
		presence = Constant
	}
	f.Presence = presence

	f.ValueRef, _ = n.attr("valueRef")
	if f.ValueRef != "" {
		if presence != Constant {
			r.errs.add(n, "valueRef %q requires presence=\"constant\"", f.ValueRef)
		} else if ev := r.valueRef(n, f.ValueRef); ev != nil {
			switch t := t.(type) {
			case *Enum:
				if ev.Enum != t {
					r.errs.add(n, "valueRef %q names a value of enum %q, not of the field's type %q", f.ValueRef, ev.Enum.Name, t.Name)
				} else {
					f.ConstEnum = ev
				}
			case *Encoded:
				if t.Length != 1 || t.Primitive != ev.Enum.Encoding {
					r.errs.add(n, "valueRef %q: enum encoding %s does not match the field's type %q", f.ValueRef, ev.Enum.Encoding, tn)
				} else {
					f.ConstEnum = ev
				}
			default:
				r.errs.add(n, "valueRef %q on a field of set or composite type %q", f.ValueRef, tn)
			}
		}
	} else if _, isEnum := t.(*Enum); presence == Constant && (isEnum || typePresence != Constant) {
		r.errs.add(n, "constant field of type %q needs a valueRef", tn)
	}

	if s, ok := n.attr("nullValue"); ok {
		switch {
		case prim == 0:
			r.errs.add(n, "nullValue on a field of non-scalar type %q", tn)
		case presence != Optional:
			r.errs.add(n, "nullValue on a field that is not optional (presence %s)", presence)
		default:
			f.Null, f.ExplicitNull = r.value(n, "nullValue", prim, s)
		}
	}
	return f, nil, off
}

// primitiveType is the anonymous type of a field declared with a primitive
// type name.
func primitiveType(p Primitive, pos Pos) *Encoded {
	e := &Encoded{
		Common:    Common{Pos: pos, Name: p.String()},
		Primitive: p,
		Length:    1,
		Null:      p.Null(),
		Min:       p.Min(),
		Max:       p.Max(),
		Offset:    -1,
	}
	if p == Char {
		e.CharacterEncoding = "US-ASCII"
	}
	return e
}

// group builds a repeating <group>.
func (r *resolver) group(n *node) *Group {
	g := &Group{Common: r.common(n)}
	g.ID = r.requiredInt(n, "id", maxNumber)
	dt := "groupSizeEncoding"
	if s, ok := n.attr("dimensionType"); ok {
		dt = s
	}
	t, found := r.lookup(dt, n)
	if !found {
		r.errs.add(n, "dimensionType %q is not declared", dt)
	} else if t != nil {
		if c, ok := t.(*Composite); !ok {
			r.errs.add(n, "dimensionType %q is not a composite with blockLength and numInGroup members", dt)
		} else if r.checkDimension(n, c) {
			g.Dimension = c
		}
	}
	explicit := r.intAttr(n, "blockLength", 0, maxSize)
	b := r.block(n)
	g.Fields, g.Groups, g.Data = b.fields, b.groups, b.data
	g.BlockLength = r.blockLength(n, explicit, b.size)
	if g.Dimension != nil {
		if e := g.Dimension.Member("blockLength").Type.(*Encoded); !fits(e, g.BlockLength) {
			r.errs.add(n, "blockLength %d does not fit in the dimension's blockLength (%s)", g.BlockLength, e.Primitive)
		}
	}
	return g
}

// checkDimension checks a group's dimension composite: an unsigned
// blockLength and a numInGroup that cannot be negative.
func (r *resolver) checkDimension(n *node, c *Composite) bool {
	ok := true
	bl := scalarMember(c, "blockLength")
	switch {
	case bl == nil:
		r.errs.add(n, "dimensionType %q has no blockLength member (an unsigned integer <type>)", c.Name)
		ok = false
	case !bl.Primitive.IsUnsigned() || bl.Primitive == Char:
		r.errs.add(n, "dimensionType %q: blockLength must be an unsigned integer", c.Name)
		ok = false
	}
	num := scalarMember(c, "numInGroup")
	switch {
	case num == nil:
		r.errs.add(n, "dimensionType %q has no numInGroup member (an integer <type>)", c.Name)
		ok = false
	case num.Primitive == Char || num.Primitive.IsFloat():
		r.errs.add(n, "dimensionType %q: numInGroup must be an integer", c.Name)
		ok = false
	case num.Primitive.IsSigned() && num.Min.I < 0:
		r.errs.add(n, "dimensionType %q: a signed numInGroup needs minValue >= 0", c.Name)
		ok = false
	}
	return ok
}

// scalarMember returns the named member if it is a non-constant scalar
// <type>.
func scalarMember(c *Composite, name string) *Encoded {
	m := c.Member(name)
	if m == nil {
		return nil
	}
	e, ok := m.Type.(*Encoded)
	if !ok || e.Length != 1 || e.Presence == Constant {
		return nil
	}
	return e
}

// data builds a <data> element.
func (r *resolver) data(n *node) *Data {
	d := &Data{Common: r.common(n)}
	d.ID = r.requiredInt(n, "id", maxNumber)
	tn, ok := n.attr("type")
	if !ok {
		r.errs.add(n, "missing type attribute")
		return nil
	}
	t, found := r.lookup(tn, n)
	if !found {
		r.errs.add(n, "unknown type %q", tn)
		return nil
	}
	if t == nil {
		return nil
	}
	c, ok := t.(*Composite)
	if !ok {
		r.errs.add(n, "data type %q is not a composite with length and varData members", tn)
		return nil
	}
	if !r.checkVarData(n, c) {
		return nil
	}
	if def := r.defs[tn]; def != nil && def.n.attr1("presence") == "optional" {
		r.errs.add(n, "var-data type %q cannot have presence=\"optional\"", tn)
	}
	d.Type = c
	return d
}

// checkVarData checks a var-data composite: an unsigned length of at most
// 32 bits (a uint32 length must declare maxValue <= 2^31-1, as the
// reference tool requires) and a varData member.
func (r *resolver) checkVarData(n *node, c *Composite) bool {
	ok := true
	l := scalarMember(c, "length")
	switch {
	case l == nil:
		r.errs.add(n, "var-data type %q has no length member (an unsigned integer <type>)", c.Name)
		ok = false
	case l.Primitive == Uint8, l.Primitive == Uint16:
	case l.Primitive == Uint32:
		if l.Max.U > math.MaxInt32 {
			r.errs.add(n, "var-data type %q: a uint32 length needs maxValue <= %d", c.Name, math.MaxInt32)
			ok = false
		}
	default:
		r.errs.add(n, "var-data type %q: length must be uint8, uint16 or uint32, not %s", c.Name, l.Primitive)
		ok = false
	}
	m := c.Member("varData")
	if m == nil {
		r.errs.add(n, "var-data type %q has no varData member", c.Name)
		return false
	}
	if e, isEnc := m.Type.(*Encoded); !isEnc || e.Length != 0 {
		r.errs.add(n, "var-data type %q: varData must be a <type> with length=\"0\"", c.Name)
		ok = false
	}
	return ok
}
