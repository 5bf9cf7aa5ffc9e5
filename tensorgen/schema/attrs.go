package schema

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

const (
	// maxSize bounds lengths, offsets, block lengths, and the sizes of
	// composites and blocks: the largest block a schema may declare (an
	// explicit blockLength attribute is capped by it too). Attribute limits
	// alone do not bound sizes, because nested <ref>s multiply them (a
	// chain of composites holding two refs to the previous one doubles at
	// each step); so every composite and block size is checked against
	// maxSize as it is summed, and a larger one is an error naming the
	// composite or block. A member is then at most 8*maxSize bytes (an
	// encoded type of maxSize uint64s), so no sum overflows. The header
	// checks report a block that fits maxSize but not the header's
	// blockLength.
	maxSize = 1 << 24
	// maxNumber bounds ids, versions and other counters (int32, as the
	// reference tool parses them).
	maxNumber = math.MaxInt32
)

// intAttr parses a non-negative decimal attribute no greater than max,
// returning def when the attribute is absent or invalid (after reporting).
func (r *resolver) intAttr(n *node, name string, def, max int) int {
	s, ok := n.attr(name)
	if !ok {
		return def
	}
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < 0 || v > max {
		r.errs.add(n, "%s=%q is not a non-negative integer no greater than %d", name, s, max)
		return def
	}
	return v
}

// requiredInt is intAttr for an attribute that must be present.
func (r *resolver) requiredInt(n *node, name string, max int) int {
	if _, ok := n.attr(name); !ok {
		r.errs.add(n, "missing %s attribute", name)
		return 0
	}
	return r.intAttr(n, name, 0, max)
}

// presence parses the presence attribute.
func (r *resolver) presence(n *node, def Presence) (Presence, bool) {
	s, ok := n.attr("presence")
	if !ok {
		return def, false
	}
	switch s {
	case "required":
		return Required, true
	case "optional":
		return Optional, true
	case "constant":
		return Constant, true
	}
	r.errs.add(n, "presence=%q is not one of required, optional, constant", s)
	return def, false
}

// validName reports whether s can be used as an identifier in generated
// code: ASCII letters, digits and underscores, not starting with a digit.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// name returns the required, valid name attribute of n.
func (r *resolver) name(n *node) string {
	s, ok := n.attr("name")
	switch {
	case !ok || s == "":
		r.errs.add(n, "missing name attribute")
	case !validName(s):
		r.errs.add(n, "name %q is not a valid identifier (ASCII letters, digits and '_', not starting with a digit)", s)
	}
	return s
}

// common parses the attributes shared by types, fields, groups and data.
func (r *resolver) common(n *node) Common {
	c := Common{Pos: n.pos, Name: r.name(n)}
	c.Description, _ = n.attr("description")
	c.SemanticType, _ = n.attr("semanticType")
	c.SinceVersion = r.intAttr(n, "sinceVersion", 0, maxNumber)
	c.Deprecated = r.intAttr(n, "deprecated", 0, maxNumber)
	r.checkSince(n, c.SinceVersion)
	return c
}

func (r *resolver) checkSince(n *node, v int) {
	if v > r.version {
		r.errs.add(n, "sinceVersion %d is greater than the schema version %d", v, r.version)
	}
}

// parseValue parses a literal of primitive p. Integers are decimal; char is
// a single ASCII character; floats accept what strconv.ParseFloat does
// (including NaN and Inf).
func parseValue(p Primitive, s string) (Value, error) {
	switch {
	case p == Char:
		if len(s) != 1 || s[0] > 0x7f {
			return Value{}, fmt.Errorf("%q is not a single ASCII character", s)
		}
		return Value{U: uint64(s[0])}, nil
	case p.IsSigned():
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%q is not a decimal integer", s)
		}
		bits := uint(p.Size() * 8)
		if lo, hi := -int64(1)<<(bits-1), int64(1)<<(bits-1)-1; bits < 64 && (v < lo || v > hi) {
			return Value{}, fmt.Errorf("%d is outside the range of %s (%d..%d)", v, p, lo, hi)
		}
		return Value{I: v}, nil
	case p.IsUnsigned():
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("%q is not a non-negative decimal integer", s)
		}
		bits := uint(p.Size() * 8)
		if hi := uint64(1)<<bits - 1; bits < 64 && v > hi {
			return Value{}, fmt.Errorf("%d is outside the range of %s (0..%d)", v, p, hi)
		}
		return Value{U: v}, nil
	default:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), p.Size()*8)
		if err != nil {
			return Value{}, fmt.Errorf("%q is not a valid %s", s, p)
		}
		return Value{F: f}, nil
	}
}

// value parses attribute or text s as a literal of p, reporting failures.
func (r *resolver) value(n *node, what string, p Primitive, s string) (Value, bool) {
	v, err := parseValue(p, s)
	if err != nil {
		r.errs.add(n, "%s: %v", what, err)
		return p.Null(), false
	}
	return v, true
}

// compareValues orders two values of primitive p (NaN sorts as equal).
func compareValues(p Primitive, a, b Value) int {
	switch {
	case p.IsSigned():
		return cmpOrdered(a.I, b.I)
	case p.IsUnsigned():
		return cmpOrdered(a.U, b.U)
	default:
		return cmpOrdered(a.F, b.F)
	}
}

func cmpOrdered[T int64 | uint64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// formatValue renders v as a literal of p for messages.
func formatValue(p Primitive, v Value) string {
	switch {
	case p == Char:
		if v.U >= 0x20 && v.U < 0x7f {
			return strconv.QuoteRune(rune(v.U))
		}
		return strconv.FormatUint(v.U, 10)
	case p.IsSigned():
		return strconv.FormatInt(v.I, 10)
	case p.IsUnsigned():
		return strconv.FormatUint(v.U, 10)
	}
	return strconv.FormatFloat(v.F, 'g', -1, 64)
}

// fits reports whether the non-negative v is no greater than e's maximum.
func fits(e *Encoded, v int) bool {
	if e.Primitive.IsSigned() {
		return int64(v) <= e.Max.I
	}
	if e.Primitive.IsFloat() {
		return float64(v) <= e.Max.F
	}
	return uint64(v) <= e.Max.U
}
