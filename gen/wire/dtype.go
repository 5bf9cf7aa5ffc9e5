package wire

// This file is written by hand (it is not produced by tensorgen): element
// sizes are a fact of the protocol (wire spec 15.8) that the schema cannot
// express. runtime/pool names this type pool.Dtype, so a tensor's dtype is
// one type from the wire to the typed views.

// Size returns the element size in bytes, or 0 for a value without one
// (UNKNOWN, the unassigned value 12, the null value, anything else).
// BOOLEAN, BYTES and BIT count as one byte: BIT is a bit-packed payload
// whose byte layout is the application's, sized in bytes for stride
// arithmetic as in the C implementation.
func (v Dtype) Size() int {
	switch v {
	case DtypeUint8, DtypeInt8, DtypeBoolean, DtypeBytes, DtypeBit:
		return 1
	case DtypeUint16, DtypeInt16:
		return 2
	case DtypeUint32, DtypeInt32, DtypeFloat32:
		return 4
	case DtypeUint64, DtypeInt64, DtypeFloat64:
		return 8
	}
	return 0
}
