package pool

// DropReason says why a consumer dropped a frame. Drops are routine (a
// slot overwritten by a fast producer) or a sign of a broken or hostile
// writer; either way the frame is discarded, counted and never read.
type DropReason uint8

// Drop reasons, roughly in the order the consumer checks them.
const (
	DropNone DropReason = iota
	// DropEpoch: the descriptor's epoch is not the mapped one (10.2.1).
	DropEpoch
	// DropSeqRegression: the sequence is not after the last one read
	// (15.2: a regression calls for a remap).
	DropSeqRegression
	// DropNotCommitted: seq_commit had its commit bit clear (8.3 step 2).
	DropNotCommitted
	// DropOverwritten: the slot holds a newer frame (10.2.1 stale reuse).
	DropOverwritten
	// DropStale: the slot holds an older frame (15.3).
	DropStale
	// DropChanged: seq_commit changed while the frame was read (15.3).
	DropChanged
	// DropPayloadOffset: payload_offset is not 0 (8.2).
	DropPayloadOffset
	// DropPayloadSlot: payload_slot is not the header index (9, 15.5).
	DropPayloadSlot
	// DropUnknownPool: pool_id names no mapped pool.
	DropUnknownPool
	// DropValuesLen: values_len_bytes exceeds the pool's stride (10.2.1).
	DropValuesLen
	// DropHeaderLength: headerBytes is not an 8-byte message header plus
	// the TensorHeader block length (8.3 step 5).
	DropHeaderLength
	// DropSchemaID, DropTemplateID, DropSchemaVersion: the embedded message
	// header is not a wire-schema TensorHeader of the expected version.
	DropSchemaID
	DropTemplateID
	DropSchemaVersion
	// DropNDims: ndims is 0 or above MaxDims (8.2).
	DropNDims
	// DropDtype: unknown dtype (15.8).
	DropDtype
	// DropMajorOrder: major order neither ROW nor COLUMN (15.8).
	DropMajorOrder
	// DropProgressUnit: unknown progress unit.
	DropProgressUnit
	// DropDims: a negative dimension.
	DropDims
	// DropStrides: negative, overlapping or order-contradicting strides (8.2).
	DropStrides
	// DropProgressStride: progress_stride_bytes zero or not the true
	// row/column stride while a progress unit is set (8.2, 10.2.2).
	DropProgressStride
	// DropTensorExtent: dims and strides address bytes beyond
	// values_len_bytes.
	DropTensorExtent

	// NumDropReasons bounds the reasons, for counter arrays.
	NumDropReasons
)

var dropNames = [NumDropReasons]string{
	"none", "epoch mismatch", "sequence regression", "not committed", "overwritten",
	"stale slot", "changed during read", "payload offset not zero", "payload slot mismatch",
	"unknown pool", "values length exceeds stride", "header length", "schema id",
	"template id", "schema version", "ndims out of range", "unknown dtype",
	"unknown major order", "unknown progress unit", "negative dim", "invalid strides",
	"progress stride", "tensor exceeds payload",
}

func (r DropReason) String() string { return enumString(dropNames[:], "DropReason", int(r)) }

// Late reports whether r counts as drops_late (wire spec 15.4): the
// producer was writing or had overwritten the slot, i.e. the consumer was
// too late, as opposed to an invalid frame.
func (r DropReason) Late() bool {
	switch r {
	case DropNotCommitted, DropOverwritten, DropStale, DropChanged:
		return true
	}
	return false
}
