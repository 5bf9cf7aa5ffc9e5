package pool

import (
	"strconv"

	"github.com/tpool-go/tpool/gen/wire"
)

// Dtype is the scalar element type of a tensor (wire spec 15.8; values
// must not change within v1.x). It is the wire schema's enum itself
// (gen/wire.Dtype), so a dtype read from a slot, written into one or
// passed to the typed views is one type; [Dtype.Size] gives its element
// size and String its schema name.
type Dtype = wire.Dtype

// Element types, the wire schema's values under shorter names. BOOLEAN is
// one byte per element, zero false and anything else true; BYTES is opaque
// bytes (element size 1); BIT is a bit-packed payload whose byte layout is
// the application's (element size 1 for stride arithmetic, as in the C
// implementation; extents are not checked).
const (
	DtypeUnknown = wire.DtypeUnknown
	Uint8        = wire.DtypeUint8
	Int8         = wire.DtypeInt8
	Uint16       = wire.DtypeUint16
	Int16        = wire.DtypeInt16
	Uint32       = wire.DtypeUint32
	Int32        = wire.DtypeInt32
	Uint64       = wire.DtypeUint64
	Int64        = wire.DtypeInt64
	Float32      = wire.DtypeFloat32
	Float64      = wire.DtypeFloat64
	Boolean      = wire.DtypeBoolean
	Bytes        = wire.DtypeBytes
	Bit          = wire.DtypeBit
)

// enumString returns names[v], or typ(v) for a value without a name: the
// String method of every wire enum in this package.
func enumString(names []string, typ string, v int) string {
	if v >= 0 && v < len(names) && names[v] != "" {
		return names[v]
	}
	return typ + "(" + strconv.Itoa(v) + ")"
}

// MajorOrder is the memory order of a tensor's dimensions.
type MajorOrder int16

// Major orders. UNKNOWN is never accepted by a consumer.
const (
	OrderUnknown MajorOrder = 0
	RowMajor     MajorOrder = 1
	ColumnMajor  MajorOrder = 2
)

var orderNames = [...]string{OrderUnknown: "UNKNOWN", RowMajor: "ROW", ColumnMajor: "COLUMN"}

func (o MajorOrder) String() string { return enumString(orderNames[:], "MajorOrder", int(o)) }

// ProgressUnit says how FrameProgress byte counts map onto the layout.
type ProgressUnit uint8

// Progress units.
const (
	ProgressNone    ProgressUnit = 0
	ProgressRows    ProgressUnit = 1
	ProgressColumns ProgressUnit = 2
)

var progressNames = [...]string{ProgressNone: "NONE", ProgressRows: "ROWS", ProgressColumns: "COLUMNS"}

func (u ProgressUnit) String() string {
	return enumString(progressNames[:], "ProgressUnit", int(u))
}
