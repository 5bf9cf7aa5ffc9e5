// Package schema reads SBE (Simple Binary Encoding 1.0) XML message schemas
// and turns them into a resolved, validated model for tensorgen's emitter:
// every type reference resolved to its definition, every offset, size and
// block length computed.
//
// Parse and ParseFile accept the schemas the SBE reference tool
// (real-logic/simple-binary-encoding) accepts: namespaced or un-namespaced
// messageSchema and message elements, several <types> elements, xi:include
// (relative href, read from disk), custom message headers and dimension
// types, constants, valueRef, enums, sets, nested composites and refs,
// explicit offsets and block lengths, nested groups and var data. Offsets
// and block lengths are computed as the reference tool computes them:
// fields are packed in declaration order without padding unless an offset
// attribute moves one forward; a block length is the explicit blockLength
// when given (it must not be smaller than the fields need), else the end of
// the last fixed field.
//
// Validation is stricter than the reference tool where the reference only
// warns but generated Go code would be wrong or would have to guess: names
// must be identifiers, type names, enum values and set choices must be
// unique. Every problem found is reported with the file, line, column and
// element (see Error and ErrorList); all of them match ErrInvalid.
//
// # Extensions
//
// The tpool protocol schemas use three things SBE 1.0 does not define. This
// package honours them as follows:
//
//   - length on a <field> is ignored, as the reference tool ignores it; the
//     value is kept in Field.IgnoredLength for diagnostics only.
//   - nullValue on an optional <field> of scalar type is honoured: it
//     becomes Field.Null (Field.ExplicitNull is set). The reference tool
//     ignores it and uses the type's null.
//   - a <field> whose type is a var-data composite (a length member and a
//     varData member of length 0) becomes a *Data with DeclaredAsField set,
//     placed before the block's <data> elements. It takes no room in the
//     block and its bytes follow the block, which is the layout the
//     reference tool and the C implementation produce. Such a field may not
//     share a block with nested groups (where its bytes go would be
//     ambiguous), nor be followed by fixed fields.
package schema
