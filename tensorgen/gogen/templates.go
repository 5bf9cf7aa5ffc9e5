package gogen

import (
	"fmt"
	"math"
	"strings"

	"github.com/dave/jennifer/jen"

	"github.com/tpool-go/tpool/runtime/sbe"
	"github.com/tpool-go/tpool/tensorgen/schema"
)

// Templates: every block (message root or group entry) gets two byte
// images computed at generation time. The init image has the null value
// of every optional field and zeros elsewhere; an encoder copies it over a
// new block, so absent optional fields are always encoded as null. The null
// image has the null value of every field; a decoder reading a block that
// is shorter than the schema's, or older than some fields, reads from a
// copy of the block laid over the null image, so such fields read as null
// without a check in every getter.

func (g *gen) putValue(b []byte, off int, p schema.Primitive, v schema.Value) {
	u := v.U
	switch {
	case p == schema.Float:
		u = uint64(math.Float32bits(float32(v.F)))
	case p == schema.Double:
		u = math.Float64bits(v.F)
	case p.IsSigned():
		u = uint64(v.I)
	}
	sbe.PutUint(b[off:], p.Size(), g.coder.big, u)
}

// putNulls writes into b at off the null image of a value of type t.
// With optionalOnly, only optional values are written (the init image).
func (g *gen) putNulls(b []byte, off int, t schema.Type, presence schema.Presence, null schema.Value, optionalOnly bool) {
	switch t := t.(type) {
	case *schema.Encoded:
		if t.Presence == schema.Constant || presence == schema.Constant || t.Length != 1 {
			return
		}
		if optionalOnly && presence != schema.Optional {
			return
		}
		g.putValue(b, off, t.Primitive, null)
	case *schema.Enum:
		if presence == schema.Constant || (optionalOnly && presence != schema.Optional) {
			return
		}
		g.putValue(b, off, t.Encoding, t.Null)
	case *schema.Composite:
		if !g.compositeHasNulls(t, optionalOnly) {
			return
		}
		for _, m := range t.Members {
			pres, nv := memberNull(m)
			g.putNulls(b, off+m.Offset, m.Type, pres, nv, optionalOnly)
		}
	}
}

// memberNull is the presence and null value putNulls writes for a
// composite member: its type's own.
func memberNull(m *schema.Member) (schema.Presence, schema.Value) {
	switch mt := m.Type.(type) {
	case *schema.Encoded:
		return mt.Presence, mt.Null
	case *schema.Enum:
		return mt.Presence, mt.Null
	}
	return schema.Required, schema.Value{}
}

type nullsKey struct {
	c            *schema.Composite
	optionalOnly bool
}

// compositeHasNulls reports whether putNulls writes anything for a value of
// composite type c. It is memoized per composite, so that putNulls descends
// only into composites that hold a value to write. Without it, a chain of
// composites each holding two refs to the previous one costs 2^depth
// (unbounded when every size is 0); with it, each composite is examined
// once and every descent ends in a written value, so writing an image
// costs at most its bytes times the ref depth.
func (g *gen) compositeHasNulls(c *schema.Composite, optionalOnly bool) bool {
	k := nullsKey{c, optionalOnly}
	if has, ok := g.nulls[k]; ok {
		return has
	}
	has := false
	for _, m := range c.Members {
		pres, _ := memberNull(m)
		switch mt := m.Type.(type) {
		case *schema.Encoded:
			has = mt.Presence != schema.Constant && pres != schema.Constant && mt.Length == 1 &&
				(!optionalOnly || pres == schema.Optional)
		case *schema.Enum:
			has = pres != schema.Constant && (!optionalOnly || pres == schema.Optional)
		case *schema.Composite:
			has = g.compositeHasNulls(mt, optionalOnly)
		}
		if has {
			break
		}
	}
	if g.nulls == nil {
		g.nulls = make(map[nullsKey]bool)
	}
	g.nulls[k] = has
	return has
}

func (g *gen) images(l *level) (null, init []byte) {
	null = make([]byte, l.blockLength)
	init = make([]byte, l.blockLength)
	for _, f := range l.fields {
		if f.Offset+f.Type.EncodedSize() > l.blockLength {
			continue
		}
		g.putNulls(null, f.Offset, f.Type, f.Presence, f.Null, false)
		g.putNulls(init, f.Offset, f.Type, f.Presence, f.Null, true)
	}
	return null, init
}

func byteLits(b []byte) []jen.Code {
	out := make([]jen.Code, len(b))
	for i, c := range b {
		out[i] = jen.Lit(int(c))
	}
	return out
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// blockType is the array type of a level's block.
func blockType(l *level) *jen.Statement { return jen.Index(jen.Lit(l.blockLength)).Byte() }

// emitImages declares the images of a level that are not all zero and
// returns the expression for its null image.
func (g *gen) emitImages(l *level) *jen.Statement {
	null, init := g.images(l)
	for _, img := range []struct {
		kind string
		b    []byte
	}{{"NullBlock", null}, {"InitBlock", init}} {
		if !allZero(img.b) {
			g.f.Var().Add(imageExpr(l, img.kind, img.b)).Op("=").Add(blockType(l)).Values(byteLits(img.b)...)
		}
	}
	return imageExpr(l, "NullBlock", null)
}

// imageExpr is a block image in generated code: the zero array literal, or
// the variable emitImages declares.
func imageExpr(l *level, kind string, b []byte) *jen.Statement {
	if allZero(b) {
		return blockType(l).Values()
	}
	return jen.Id(lowerFirst(l.prefix) + kind)
}

// maxSince is the newest version any field of the level, or any set
// choice inside one, was added in: a block of an older acting version takes
// the slow path (pad).
func maxSince(l *level) int {
	m := 0
	for _, f := range l.fields {
		m = max(m, f.SinceVersion)
		for _, c := range laterChoices(f) {
			m = max(m, c.since)
		}
		for _, lm := range laterMembers(f) {
			m = max(m, lm.since)
		}
	}
	return m
}

// laterMember is a composite member added after the field that holds the
// composite: in an older message it reads as its null value, as in SBE's
// C++ and Go flyweights, whose composites carry the acting version.
type laterMember struct {
	offset, size, since int // offset inside the block
	name                string
}

// laterMembers lists the members of composite field f (at any depth)
// whose sinceVersion is newer than f's, outermost first: a member listed
// is reset as a whole, so nothing inside it is listed again.
func laterMembers(f *schema.Field) []laterMember {
	if f.Presence == schema.Constant {
		return nil
	}
	// As in laterChoices, only composites that hold such a member are
	// entered, each decided once.
	memo := map[*schema.Composite]bool{}
	var holds func(c *schema.Composite) bool
	holds = func(c *schema.Composite) bool {
		if v, ok := memo[c]; ok {
			return v
		}
		memo[c] = false
		for _, m := range c.Members {
			inner, _ := m.Type.(*schema.Composite)
			if m.SinceVersion > f.SinceVersion || inner != nil && holds(inner) {
				memo[c] = true
				break
			}
		}
		return memo[c]
	}
	var out []laterMember
	var walk func(c *schema.Composite, off int, path string)
	walk = func(c *schema.Composite, off int, path string) {
		if !holds(c) {
			return
		}
		for _, m := range c.Members {
			if enc, ok := m.Type.(*schema.Encoded); ok && enc.Presence == schema.Constant {
				continue
			}
			if m.SinceVersion > f.SinceVersion {
				out = append(out, laterMember{offset: off + m.Offset, size: m.Type.EncodedSize(), since: m.SinceVersion, name: path + "." + m.Name})
				continue
			}
			if inner, ok := m.Type.(*schema.Composite); ok {
				walk(inner, off+m.Offset, path+"."+m.Name)
			}
		}
	}
	if c, ok := f.Type.(*schema.Composite); ok {
		walk(c, f.Offset, f.Name)
	}
	return out
}

// laterChoice is a set choice added after the field that holds it: when
// the message is older than the choice, the bit is cleared on decode, so
// the choice reads as not set, as SBE's flyweights do.
type laterChoice struct {
	offset int // of the set inside the block
	set    *schema.Set
	choice *schema.Choice
	since  int
}

// laterChoices lists the set choices inside field f (directly or in a
// composite) whose sinceVersion is newer than f's. Choices not newer than
// f need nothing: a message older than f has f reset to null as a whole.
func laterChoices(f *schema.Field) []laterChoice {
	if f.Presence == schema.Constant {
		return nil
	}
	var out []laterChoice
	// Only composites that hold such a choice are entered, each decided
	// once: a composite nesting another twice at every level would make a
	// blind walk exponential in the nesting depth.
	memo := map[*schema.Composite]bool{}
	var holds func(t schema.Type) bool
	holds = func(t schema.Type) bool {
		switch t := t.(type) {
		case *schema.Set:
			for _, c := range t.Choices {
				if c.SinceVersion > f.SinceVersion {
					return true
				}
			}
		case *schema.Composite:
			if v, ok := memo[t]; ok {
				return v
			}
			memo[t] = false
			for _, m := range t.Members {
				if holds(m.Type) {
					memo[t] = true
					break
				}
			}
			return memo[t]
		}
		return false
	}
	var walk func(t schema.Type, off int)
	walk = func(t schema.Type, off int) {
		if !holds(t) {
			return
		}
		switch t := t.(type) {
		case *schema.Set:
			for _, c := range t.Choices {
				if c.SinceVersion > f.SinceVersion {
					out = append(out, laterChoice{offset: off, set: t, choice: c, since: c.SinceVersion})
				}
			}
		case *schema.Composite:
			for _, m := range t.Members {
				walk(m.Type, off+m.Offset)
			}
		}
	}
	walk(f.Type, f.Offset)
	return out
}

// padFunc emits the slow path of a decoder level: the block laid over the
// null image, with fields newer than the acting version reset to null.
func (g *gen) padFunc(l *level, recv *jen.Statement, self string, nullImg *jen.Statement) {
	body := []jen.Code{
		jen.If(jen.Id(self).Dot("padded").Op("==").Nil()).Block(jen.Id(self).Dot("padded").Op("=").New(blockType(l))),
		jen.Op("*").Id(self).Dot("padded").Op("=").Add(nullImg),
		jen.Copy(jen.Id(self).Dot("padded").Index(jen.Empty(), jen.Empty()), jen.Id("b")),
	}
	for _, f := range l.fields {
		if f.SinceVersion == 0 || f.Presence == schema.Constant {
			continue
		}
		end := f.Offset + f.Type.EncodedSize()
		// An all-zero null image is a composite literal, which cannot be
		// sliced: clear instead.
		reset := jen.Clear(jen.Id(self).Dot("padded").Index(jen.Lit(f.Offset), jen.Lit(end)))
		if null, _ := g.images(l); !allZero(null) {
			reset = jen.Copy(jen.Id(self).Dot("padded").Index(jen.Lit(f.Offset), jen.Lit(end)), jen.Add(nullImg).Index(jen.Lit(f.Offset), jen.Lit(end)))
		}
		body = append(body, jen.If(jen.Id("actingVersion").Op("<").Lit(f.SinceVersion)).Block(reset))
	}
	for _, f := range l.fields {
		for _, lm := range laterMembers(f) {
			end := lm.offset + lm.size
			if end > l.blockLength {
				continue
			}
			reset := jen.Clear(jen.Id(self).Dot("padded").Index(jen.Lit(lm.offset), jen.Lit(end)))
			if null, _ := g.images(l); !allZero(null[lm.offset:end]) {
				reset = jen.Copy(jen.Id(self).Dot("padded").Index(jen.Lit(lm.offset), jen.Lit(end)), jen.Add(nullImg).Index(jen.Lit(lm.offset), jen.Lit(end)))
			}
			body = append(body, jen.If(jen.Id("actingVersion").Op("<").Lit(lm.since)).Block(
				jen.Comment(fmt.Sprintf("%s: since version %d", lm.name, lm.since)), reset))
		}
	}
	for _, f := range l.fields {
		// One statement per set and version: the choices it clears.
		type key struct{ offset, since int }
		var order []key
		masks := map[key][]laterChoice{}
		for _, lc := range laterChoices(f) {
			if lc.offset+lc.set.Encoding.Size() > l.blockLength {
				continue
			}
			k := key{lc.offset, lc.since}
			if masks[k] == nil {
				order = append(order, k)
			}
			masks[k] = append(masks[k], lc)
		}
		for _, k := range order {
			lcs := masks[k]
			set := lcs[0].set
			var names []string
			var mask *jen.Statement
			for _, lc := range lcs {
				names = append(names, lc.choice.Name)
				bit := jen.Id(exported(set.Name) + exported(lc.choice.Name))
				if mask == nil {
					mask = bit
				} else {
					mask = mask.Op("|").Add(bit)
				}
			}
			if len(lcs) > 1 {
				mask = jen.Parens(mask)
			}
			cur := g.coder.read(set.Encoding, jen.Id(self).Dot("padded"), jen.Lit(k.offset))
			body = append(body, jen.If(jen.Id("actingVersion").Op("<").Lit(k.since)).Block(
				jen.Comment(fmt.Sprintf("%s: %s since version %d", set.Name, choicesAre(names), k.since)),
				g.coder.write(set.Encoding, jen.Id(self).Dot("padded"), jen.Lit(k.offset),
					jen.Id(exported(set.Name)).Call(cur).Op("&^").Add(mask)),
			))
		}
	}
	body = append(body, jen.Return(jen.Id(self).Dot("padded")))
	g.f.Comment("pad is the slow path for a short or old block: it lays the block over the null image")
	g.f.Comment("and clears what the acting version did not have (newer fields, newer set choices).")
	g.f.Func().Params(recv).Id("pad").Params(jen.Id("b").Index().Byte(), jen.Id("actingVersion").Int()).Op("*").Add(blockType(l)).Block(body...)
}

// selectBlock returns the statement that points self.block at the block
// starting at buf[start:] (fast path) or at a padded copy (slow path).
func selectBlock(l *level, self string, buf, start, blockLength, acting jen.Code) jen.Code {
	bl := l.blockLength
	cond := jen.Add(blockLength).Op(">=").Lit(bl)
	if ms := maxSince(l); ms > 0 {
		cond = cond.Op("&&").Add(acting).Op(">=").Lit(ms)
	}
	return jen.If(cond).Block(
		jen.Id(self).Dot("block").Op("=").Parens(jen.Op("*").Add(blockType(l))).Call(jen.Add(buf).Index(jen.Add(start), jen.Add(start).Op("+").Lit(bl))),
	).Else().Block(
		jen.Id(self).Dot("block").Op("=").Id(self).Dot("pad").Call(jen.Add(buf).Index(jen.Add(start), jen.Add(start).Op("+").Id("min").Call(jen.Add(blockLength), jen.Lit(bl))), acting),
	)
}

// headerImage is the encoded message header of message m.
func (g *gen) headerImage(m *schema.Message) []byte {
	h := g.s.Header
	b := make([]byte, h.Size)
	set := func(name string, v uint64) {
		mem := h.Member(name)
		if mem == nil {
			return
		}
		e, ok := mem.Type.(*schema.Encoded)
		if !ok || e.Presence == schema.Constant {
			return
		}
		val := schema.Value{U: v, I: int64(v)}
		g.putValue(b, mem.Offset, e.Primitive, val)
	}
	set("blockLength", uint64(m.BlockLength))
	set("templateId", uint64(m.ID))
	set("schemaId", uint64(g.s.ID))
	set("version", uint64(g.s.Version))
	set("numGroups", uint64(len(m.Groups)))
	set("numVarDataFields", uint64(len(m.Data)))
	return b
}

// readHeader emits "func readHeader(buf []byte) (header, error)" reading
// the four header members directly (constants through the header view).
func (g *gen) readHeaderFunc() {
	h := g.s.Header
	hdrName := exported(h.Name)
	g.f.Comment("header holds the message header members that codecs use.")
	g.f.Type().Id("header").Struct(jen.List(jen.Id("blockLength"), jen.Id("templateID"), jen.Id("schemaID"), jen.Id("version")).Int())
	read := func(member string) jen.Code {
		mem := h.Member(member)
		e, ok := mem.Type.(*schema.Encoded)
		if !ok || e.Presence == schema.Constant {
			return jen.Int().Call(jen.Id(hdrName).Values(jen.Id("buf")).Dot(exported(member)).Call())
		}
		return jen.Int().Call(g.coder.read(e.Primitive, jen.Id("buf"), jen.Lit(mem.Offset)))
	}
	g.f.Func().Id("readHeader").Params(jen.Id("buf").Index().Byte()).Params(jen.Id("header"), jen.Error()).Block(
		jen.If(jen.Len(jen.Id("buf")).Op("<").Lit(h.Size)).Block(jen.Return(jen.Id("header").Values(), jen.Qual(sbePkg, "ErrShortBuffer"))),
		jen.Return(jen.Id("header").Values(jen.Dict{
			jen.Id("blockLength"): read("blockLength"),
			jen.Id("templateID"):  read("templateId"),
			jen.Id("schemaID"):    read("schemaId"),
			jen.Id("version"):     read("version"),
		}), jen.Nil()),
	)
}

func choicesAre(names []string) string {
	if len(names) == 1 {
		return "choice " + names[0] + " is"
	}
	return "choices " + strings.Join(names, ", ") + " are"
}
