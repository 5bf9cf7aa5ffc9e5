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
// # Validation
//
// Every rule the reference tool enforces is checked: required attributes,
// numbers that parse and fit their primitive type, known types and
// primitive types, constants that have a value (and non-constants that do
// not), valueRef naming an existing enum value of a matching encoding,
// enum values inside the encoding's range and different from its null,
// set choices inside the encoding's bits, composite members that do not
// overlap, no <group> or <data> inside a composite, no circular refs, a
// message header with blockLength, templateId, schemaId and version, group
// dimension types with blockLength and numInGroup, var-data types with a
// length (a uint32 one bounded by maxValue) and varData, fields before
// groups before data, offsets and block lengths that leave room for the
// fields, unique message ids and names, unique field, group and data ids
// and names within a block, and sinceVersion no greater than the schema
// version.
//
// It is stricter where the reference tool only warns but generated Go code
// would be wrong or would have to guess: every name must be an identifier
// (ASCII letters, digits and '_'; Go keywords are fine, the emitter
// capitalises), type names (including those of enums, sets and composites
// declared inside composites), enum value names and values and set choice
// names and bits must be unique, byteOrder must be littleEndian or
// bigEndian, ids and block lengths must fit the header and dimension
// members that carry them.
//
// Every problem found (up to a few dozen) is reported with the file, line,
// column (in bytes) and element, as an *Error or an ErrorList; all of them
// match ErrInvalid.
//
// # Model notes
//
// A char constant without a length attribute whose value is longer than one
// character (<type name="fuel" primitiveType="char"
// presence="constant">Petrol</type>) gets Length equal to the value's
// length, so Encoded.IsArray reports it as a char array. The varData member
// of a composite used by <data> has Length 0 even when declared without a
// length, as the reference tool treats it as variable-length.
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
