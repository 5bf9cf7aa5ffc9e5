package pool

import "strconv"

// Dtype is the scalar element type of a tensor (wire spec 15.8; values
// must not change within v1.x).
type Dtype int16

// Element types. BOOLEAN is one byte per element, zero false and anything
// else true; BYTES is opaque bytes (element size 1); BIT is a bit-packed
// payload whose byte layout is the application's (element size 1 for
// stride arithmetic, as in the C implementation; extents are not checked).
const (
	DtypeUnknown Dtype = 0
	Uint8        Dtype = 1
	Int8         Dtype = 2
	Uint16       Dtype = 3
	Int16        Dtype = 4
	Uint32       Dtype = 5
	Int32        Dtype = 6
	Uint64       Dtype = 7
	Int64        Dtype = 8
	Float32      Dtype = 9
	Float64      Dtype = 10
	Boolean      Dtype = 11
	Bytes        Dtype = 13
	Bit          Dtype = 14
)

// Size returns the element size in bytes, or 0 for an unknown dtype
// (including UNKNOWN and the unassigned value 12).
func (d Dtype) Size() int {
	switch d {
	case Uint8, Int8, Boolean, Bytes, Bit:
		return 1
	case Uint16, Int16:
		return 2
	case Uint32, Int32, Float32:
		return 4
	case Uint64, Int64, Float64:
		return 8
	}
	return 0
}

var dtypeNames = [...]string{"UNKNOWN", "UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32",
	"UINT64", "INT64", "FLOAT32", "FLOAT64", "BOOLEAN", "", "BYTES", "BIT"}

func (d Dtype) String() string { return enumString(dtypeNames[:], "Dtype", int(d)) }

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
