package schema

import (
	"strings"
)

// resolver turns the element tree into the model, reporting every problem
// to errs. It keeps going after an error so that one run reports as much as
// possible; dependent checks are skipped when what they depend on failed.
type resolver struct {
	errs    *errorSink
	schema  *Schema
	version int

	defs  map[string]*typeDef // top-level named types
	order []*typeDef          // in declaration order
	// dataTypes holds the names of types used by <data> elements; their
	// varData member is variable-length whatever its length attribute says,
	// as in the reference tool.
	dataTypes map[string]bool
	depth     int // nesting of type resolutions in progress
}

// maxRefDepth bounds chains of type references (ref, encodingType,
// valueRef) resolved within one another, keeping recursion shallow for any
// input.
const maxRefDepth = 256

type defState int

const (
	unresolved defState = iota
	resolving
	resolved
)

type typeDef struct {
	n     *node
	state defState
	t     Type // nil when the definition is unusable
}

func resolve(errs *errorSink, root *node) *Schema {
	r := &resolver{errs: errs, defs: map[string]*typeDef{}, dataTypes: map[string]bool{}}
	if root.name != "messageSchema" {
		errs.add(root, "the root element must be messageSchema (namespace %s), not %s", sbeNamespace, root.name)
		return nil
	}
	s := &Schema{Pos: root.pos}
	r.schema = s
	r.schemaAttrs(root, s)

	var messages []*node
	for _, c := range root.children {
		switch c.name {
		case "types":
			r.collectTypes(c)
		case "message":
			messages = append(messages, c)
			r.collectDataTypes(c)
		default:
			errs.add(c, "unexpected element in messageSchema (want types or message)")
		}
	}

	for _, d := range r.order {
		r.resolveDef(d, d.n)
	}
	r.listTypes()

	headerType := "messageHeader"
	if h, ok := root.attr("headerType"); ok {
		headerType = h
	}
	s.Header = r.header(root, headerType)

	ids := map[int]*Message{}
	names := map[string]*Message{}
	for _, n := range messages {
		m := r.message(n)
		if m == nil {
			continue
		}
		if prev := ids[m.ID]; prev != nil {
			errs.add(n, "duplicate message id %d (also used by message %q at %s)", m.ID, prev.Name, prev.Pos)
		} else {
			ids[m.ID] = m
		}
		if prev := names[m.Name]; prev != nil && m.Name != "" {
			errs.add(n, "duplicate message name %q (also declared at %s)", m.Name, prev.Pos)
		} else {
			names[m.Name] = m
		}
		s.Messages = append(s.Messages, m)
	}
	return s
}

func (r *resolver) schemaAttrs(root *node, s *Schema) {
	if p, ok := root.attr("package"); !ok || strings.TrimSpace(p) == "" {
		r.errs.add(root, "missing package attribute")
	} else {
		s.Package = p
	}
	s.ID = r.requiredInt(root, "id", 0xffff)
	s.Version = r.intAttr(root, "version", 0, maxNumber)
	r.version = s.Version
	s.SemanticVersion, _ = root.attr("semanticVersion")
	s.Description, _ = root.attr("description")
	if bo, ok := root.attr("byteOrder"); ok {
		switch bo {
		case "littleEndian":
			s.ByteOrder = LittleEndian
		case "bigEndian":
			s.ByteOrder = BigEndian
		default:
			r.errs.add(root, "byteOrder=%q is neither littleEndian nor bigEndian", bo)
		}
	}
}

// collectTypes records the named types declared in a <types> element.
func (r *resolver) collectTypes(types *node) {
	for _, c := range types.children {
		switch c.name {
		case "type", "composite", "enum", "set":
		default:
			r.errs.add(c, "unexpected element in types (want type, composite, enum or set)")
			continue
		}
		name, _ := c.attr("name")
		if _, ok := PrimitiveByName(name); ok {
			r.errs.add(c, "type name %q is the name of a primitive type", name)
			continue
		}
		if prev := r.defs[name]; prev != nil {
			r.errs.add(c, "duplicate type name %q (first declared at %s)", name, prev.n.pos)
			continue
		}
		d := &typeDef{n: c}
		if name != "" {
			r.defs[name] = d
		}
		r.order = append(r.order, d)
	}
}

// collectDataTypes records the types named by <data> elements below n.
func (r *resolver) collectDataTypes(n *node) {
	for _, c := range n.children {
		switch c.name {
		case "data":
			if t, ok := c.attr("type"); ok {
				r.dataTypes[t] = true
			}
		case "group":
			r.collectDataTypes(c)
		}
	}
}

// lookup returns the named top-level type, resolving it on first use.
// found is false when no type has that name; t is nil when the type exists
// but is unusable (its problems are already reported).
func (r *resolver) lookup(name string, from *node) (t Type, found bool) {
	d := r.defs[name]
	if d == nil {
		return nil, false
	}
	return r.resolveDef(d, from), true
}

func (r *resolver) resolveDef(d *typeDef, from *node) Type {
	switch d.state {
	case resolving:
		r.errs.add(from, "circular reference to type %q", d.n.attr1("name"))
		return nil
	case unresolved:
		if r.depth >= maxRefDepth {
			r.errs.add(from, "type references nested more than %d deep", maxRefDepth)
			return nil
		}
		r.depth++
		d.state = resolving
		d.t = r.build(d.n, true)
		d.state = resolved
		r.depth--
	}
	return d.t
}

func (n *node) attr1(name string) string {
	s, _ := n.attr(name)
	return s
}

// build makes the type declared by n (a type, enum, set or composite).
func (r *resolver) build(n *node, top bool) Type {
	switch n.name {
	case "type":
		if e := r.encoded(n); e != nil {
			return e
		}
	case "enum":
		if e := r.enum(n); e != nil {
			return e
		}
	case "set":
		if s := r.set(n); s != nil {
			return s
		}
	case "composite":
		if c := r.composite(n, top); c != nil {
			return c
		}
	}
	return nil
}

// listTypes fills Schema.Types: top-level types in declaration order, each
// composite followed by the enums, sets and composites declared inside it.
// Generated code gives every one of them a name, so names must not clash.
func (r *resolver) listTypes() {
	seen := map[string]Type{}
	var add func(t Type)
	add = func(t Type) {
		if prev, ok := seen[t.TypeName()]; ok {
			if prev != t {
				r.errs.addError(&Error{Pos: t.Position(), Element: kindOf(t) + " name=\"" + t.TypeName() + "\">",
					Msg: "duplicate type name " + quote(t.TypeName()) + " (also declared at " + prev.Position().String() + ")"})
			}
			return
		}
		seen[t.TypeName()] = t
		r.schema.Types = append(r.schema.Types, t)
		if c, ok := t.(*Composite); ok {
			for _, m := range c.Members {
				if m.Ref {
					continue
				}
				switch m.Type.(type) {
				case *Enum, *Set, *Composite:
					add(m.Type)
				}
			}
		}
	}
	for _, d := range r.order {
		if d.t != nil {
			add(d.t)
		}
	}
}

func kindOf(t Type) string {
	switch t.(type) {
	case *Encoded:
		return "<type"
	case *Enum:
		return "<enum"
	case *Set:
		return "<set"
	}
	return "<composite"
}

func quote(s string) string { return "\"" + s + "\"" }

// encoded builds a <type>.
func (r *resolver) encoded(n *node) *Encoded {
	e := &Encoded{Common: r.common(n), Length: 1, Offset: r.offsetAttr(n)}
	pt, ok := n.attr("primitiveType")
	if !ok {
		r.errs.add(n, "missing primitiveType attribute")
		return nil
	}
	p, ok := PrimitiveByName(pt)
	if !ok {
		r.errs.add(n, "unknown primitiveType %q", pt)
		return nil
	}
	e.Primitive = p
	_, hasLength := n.attr("length")
	e.Length = r.intAttr(n, "length", 1, maxSize)
	if v, ok := n.attr("variableLength"); ok && v == "true" {
		r.errs.add(n, "variableLength is not supported: use <data> with a var-data composite (length and varData members)")
	}
	e.Presence, _ = r.presence(n, Required)
	e.Null, e.Min, e.Max = p.Null(), p.Min(), p.Max()
	if s, ok := n.attr("nullValue"); ok {
		e.Null, e.ExplicitNull = r.value(n, "nullValue", p, s)
	}
	if s, ok := n.attr("minValue"); ok {
		e.Min, _ = r.value(n, "minValue", p, s)
	}
	if s, ok := n.attr("maxValue"); ok {
		e.Max, _ = r.value(n, "maxValue", p, s)
	}
	if compareValues(p, e.Min, e.Max) > 0 {
		r.errs.add(n, "minValue %s is greater than maxValue %s", formatValue(p, e.Min), formatValue(p, e.Max))
	}
	if ce, ok := n.attr("characterEncoding"); ok {
		e.CharacterEncoding = strings.TrimSpace(ce)
	} else if p == Char {
		e.CharacterEncoding = "US-ASCII"
	}
	e.ValueRef, _ = n.attr("valueRef")
	text := n.text
	blank := strings.TrimSpace(text) == ""

	if e.Presence != Constant {
		if !blank {
			r.errs.add(n, "has a value (%q) but presence is %s: only constants have values", strings.TrimSpace(text), e.Presence)
		}
		if e.ValueRef != "" {
			r.errs.add(n, "valueRef %q requires presence=\"constant\"", e.ValueRef)
		}
		return e
	}
	switch {
	case e.ValueRef != "":
		if !blank {
			r.errs.add(n, "constant has both a value and valueRef %q", e.ValueRef)
		}
		if ev := r.valueRef(n, e.ValueRef); ev != nil {
			if ev.Enum.Encoding != p {
				r.errs.add(n, "valueRef %q: enum encoding %s does not match primitiveType %s", e.ValueRef, ev.Enum.Encoding, p)
			} else {
				e.ConstEnum = ev
				e.ConstValue = ev.Value
			}
		}
	case text == "" || (p != Char && blank):
		r.errs.add(n, "presence is constant but the type has no value")
	case p == Char:
		if !isASCII(text) {
			r.errs.add(n, "constant %q is not ASCII", text)
			break
		}
		if hasLength && len(text) > e.Length {
			r.errs.add(n, "constant %q is longer than length %d", text, e.Length)
			break
		}
		if !hasLength && len(text) > 1 {
			e.Length = len(text)
		}
		e.ConstString = text
		if e.Length == 1 {
			e.ConstValue = Value{U: uint64(text[0])}
		}
	default:
		if e.Length != 1 {
			r.errs.add(n, "constant arrays are only supported for char")
			break
		}
		e.ConstValue, _ = r.value(n, "constant value", p, text)
	}
	return e
}

// widen returns the 64-bit integer type of p's signedness.
func widen(p Primitive) Primitive {
	switch {
	case p.IsSigned():
		return Int64
	case p.IsUnsigned() && p != Char:
		return Uint64
	}
	return p
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] > 0x7f {
			return false
		}
	}
	return true
}

// offsetAttr parses the offset attribute of a composite member: -1 if none.
func (r *resolver) offsetAttr(n *node) int {
	return r.intAttr(n, "offset", -1, maxSize)
}

// valueRef resolves "Enum.Value".
func (r *resolver) valueRef(n *node, ref string) *EnumValue {
	i := strings.IndexByte(ref, '.')
	if i < 1 || i == len(ref)-1 {
		r.errs.add(n, "valueRef %q is not of the form EnumName.ValueName", ref)
		return nil
	}
	enumName, valueName := ref[:i], ref[i+1:]
	t, found := r.lookup(enumName, n)
	if !found {
		r.errs.add(n, "valueRef %q: no type named %q", ref, enumName)
		return nil
	}
	en, ok := t.(*Enum)
	if !ok {
		if t != nil {
			r.errs.add(n, "valueRef %q: %q is not an enum", ref, enumName)
		}
		return nil
	}
	for _, v := range en.Values {
		if v.Name == valueName {
			return v
		}
	}
	r.errs.add(n, "valueRef %q: enum %q has no validValue %q", ref, enumName, valueName)
	return nil
}

// encodingType resolves the encodingType of an enum or set: a primitive
// name or a named scalar <type>.
func (r *resolver) encodingType(n *node) (p Primitive, named *Encoded, ok bool) {
	et, ok := n.attr("encodingType")
	if !ok {
		r.errs.add(n, "missing encodingType attribute")
		return 0, nil, false
	}
	if p, ok := PrimitiveByName(et); ok {
		return p, nil, true
	}
	t, found := r.lookup(et, n)
	if !found {
		r.errs.add(n, "encodingType %q is neither a primitive type nor a declared type", et)
		return 0, nil, false
	}
	if t == nil {
		return 0, nil, false
	}
	e, isEnc := t.(*Encoded)
	if !isEnc || e.Length != 1 || e.Presence == Constant {
		r.errs.add(n, "encodingType %q must be a scalar, non-constant <type>", et)
		return 0, nil, false
	}
	return e.Primitive, e, true
}

// enum builds an <enum>.
func (r *resolver) enum(n *node) *Enum {
	en := &Enum{Common: r.common(n), Offset: r.offsetAttr(n)}
	en.Presence, _ = r.presence(n, Required)
	p, named, ok := r.encodingType(n)
	if !ok {
		return nil
	}
	if p != Char && !p.IsSigned() && !p.IsUnsigned() {
		r.errs.add(n, "encodingType %s: enums must be encoded as char or an integer type", p)
		return nil
	}
	en.Encoding = p
	lo, hi := p.Min(), p.Max()
	en.Null = p.Null()
	if named != nil {
		lo, hi, en.Null = named.Min, named.Max, named.Null
	}
	if s, ok := n.attr("nullValue"); ok {
		en.Null, _ = r.value(n, "nullValue", p, s)
	}
	et := n.attr1("encodingType")
	names := map[string]*EnumValue{}
	values := map[Value]*EnumValue{}
	for _, c := range n.children {
		if c.name != "validValue" {
			r.errs.add(c, "unexpected element in enum (want validValue)")
			continue
		}
		v := &EnumValue{Common: r.common(c), Enum: en}
		text := c.text
		if p != Char || len(text) != 1 {
			text = strings.TrimSpace(text)
		}
		val, err := parseValue(p, text)
		if err != nil {
			msg := "validValue " + quote(v.Name) + ": value " + err.Error()
			if wide := widen(p); wide != p {
				if _, werr := parseValue(wide, text); werr == nil {
					msg = "validValue " + quote(v.Name) + ": value " + strings.TrimSpace(text) + " outside the range of encodingType " +
						et + " (" + formatValue(p, lo) + ".." + formatValue(p, hi) + ")"
				}
			}
			r.errs.addError(&Error{Pos: c.pos, Element: n.describe(), Msg: msg})
			continue
		}
		v.Value = val
		if p != Char {
			switch {
			case compareValues(p, val, en.Null) == 0:
				r.errs.addError(&Error{Pos: c.pos, Element: n.describe(),
					Msg: "validValue " + quote(v.Name) + ": value " + formatValue(p, val) + " is the null value of the enum"})
			case compareValues(p, val, lo) < 0 || compareValues(p, val, hi) > 0:
				r.errs.addError(&Error{Pos: c.pos, Element: n.describe(),
					Msg: "validValue " + quote(v.Name) + ": value " + formatValue(p, val) + " outside the range of encodingType " +
						et + " (" + formatValue(p, lo) + ".." + formatValue(p, hi) + ")"})
			}
		}
		if prev := names[v.Name]; prev != nil {
			r.errs.add(c, "duplicate validValue name %q in enum %q", v.Name, en.Name)
		} else {
			names[v.Name] = v
		}
		if prev := values[val]; prev != nil {
			r.errs.add(c, "validValue %q has the same value %s as %q", v.Name, formatValue(p, val), prev.Name)
		} else {
			values[val] = v
		}
		en.Values = append(en.Values, v)
	}
	return en
}

// set builds a <set>.
func (r *resolver) set(n *node) *Set {
	s := &Set{Common: r.common(n), Offset: r.offsetAttr(n)}
	p, _, ok := r.encodingType(n)
	if !ok {
		return nil
	}
	switch p {
	case Uint8, Uint16, Uint32, Uint64:
	default:
		r.errs.add(n, "encodingType %s: sets must be encoded as uint8, uint16, uint32 or uint64", p)
		return nil
	}
	s.Encoding = p
	bits := p.Size() * 8
	names := map[string]*Choice{}
	positions := map[int]*Choice{}
	for _, c := range n.children {
		if c.name != "choice" {
			r.errs.add(c, "unexpected element in set (want choice)")
			continue
		}
		ch := &Choice{Common: r.common(c)}
		v, err := parseValue(Uint8, strings.TrimSpace(c.text))
		if err != nil || int(v.U) >= bits {
			r.errs.add(c, "choice bit %q is not in the range 0..%d of encodingType %s", strings.TrimSpace(c.text), bits-1, p)
			continue
		}
		ch.Bit = int(v.U)
		if prev := names[ch.Name]; prev != nil {
			r.errs.add(c, "duplicate choice name %q in set %q", ch.Name, s.Name)
		} else {
			names[ch.Name] = ch
		}
		if prev := positions[ch.Bit]; prev != nil {
			r.errs.add(c, "choice %q uses bit %d, as does %q", ch.Name, ch.Bit, prev.Name)
		} else {
			positions[ch.Bit] = ch
		}
		s.Choices = append(s.Choices, ch)
	}
	return s
}

// composite builds a <composite>. top is true for a composite declared
// directly in <types>.
func (r *resolver) composite(n *node, top bool) *Composite {
	c := &Composite{Common: r.common(n), Offset: r.offsetAttr(n)}
	var offsets []int // explicit offsets, -1 if none, per member
	seen := map[string]bool{}
	for _, mn := range n.children {
		m := &Member{Pos: mn.pos}
		off := -1
		switch mn.name {
		case "type", "enum", "set", "composite":
			t := r.build(mn, false)
			if t == nil {
				continue
			}
			cm := commonOf(t)
			m.Name, m.Type, m.SinceVersion, m.Deprecated = cm.Name, t, cm.SinceVersion, cm.Deprecated
			off = explicitOffset(t)
		case "ref":
			m.Name = r.name(mn)
			m.Ref = true
			tn, ok := mn.attr("type")
			if !ok {
				r.errs.add(mn, "missing type attribute")
				continue
			}
			t, found := r.lookup(tn, mn)
			if !found {
				r.errs.add(mn, "ref to unknown type %q", tn)
				continue
			}
			if t == nil {
				continue
			}
			cm := commonOf(t)
			m.Type = t
			m.SinceVersion = r.intAttr(mn, "sinceVersion", cm.SinceVersion, maxNumber)
			r.checkSince(mn, m.SinceVersion)
			m.Deprecated = r.intAttr(mn, "deprecated", cm.Deprecated, maxNumber)
			off = r.intAttr(mn, "offset", explicitOffset(t), maxSize)
		case "group", "data":
			r.errs.add(mn, "<%s> is not allowed inside a composite", mn.name)
			continue
		default:
			r.errs.add(mn, "unexpected element in composite (want type, enum, set, composite or ref)")
			continue
		}
		if seen[m.Name] {
			r.errs.add(mn, "composite %q already has a member named %q", c.Name, m.Name)
			continue
		}
		seen[m.Name] = true
		c.Members = append(c.Members, m)
		offsets = append(offsets, off)
	}
	if top && r.dataTypes[c.Name] {
		// As the reference tool does for a type used by <data>: varData is
		// the variable-length part, whatever its declared length.
		if d := c.Member("varData"); d != nil && !d.Ref {
			if e, ok := d.Type.(*Encoded); ok {
				e.Length = 0
			}
		}
	}
	end := 0
	for i, m := range c.Members {
		if off := offsets[i]; off >= 0 {
			if off < end {
				r.errs.addError(&Error{Pos: m.Pos, Element: n.describe(),
					Msg: "member " + quote(m.Name) + " at offset " + itoa(off) + " overlaps the previous member, which ends at " + itoa(end)})
			}
			end = off
		}
		m.Offset = end
		end += wireSize(m.Type)
		if end > maxSize {
			r.errs.add(n, "composite %q is more than %d bytes at member %q (%d bytes so far), larger than any block a schema may declare",
				c.Name, maxSize, m.Name, end)
			// Count it as empty, so that the composites and blocks that
			// hold it neither overflow nor repeat the error (which fails
			// the schema).
			end = 0
			break
		}
	}
	c.Size = end
	return c
}

// wireSize is the number of block bytes a type takes: 0 for constants.
func wireSize(t Type) int {
	if e, ok := t.(*Enum); ok && e.Presence == Constant {
		return 0
	}
	return t.EncodedSize()
}

func explicitOffset(t Type) int {
	switch t := t.(type) {
	case *Encoded:
		return t.Offset
	case *Enum:
		return t.Offset
	case *Set:
		return t.Offset
	case *Composite:
		return t.Offset
	}
	return -1
}

func commonOf(t Type) *Common {
	switch t := t.(type) {
	case *Encoded:
		return &t.Common
	case *Enum:
		return &t.Common
	case *Set:
		return &t.Common
	case *Composite:
		return &t.Common
	}
	return &Common{}
}
