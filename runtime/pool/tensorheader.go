package pool

import "github.com/tpool-go/tpool/gen/wire"

// This file is the only place that touches the bytes of the TensorHeader
// SBE message (wire schema id 900, template 52, block length 184) embedded,
// with its 8-byte SBE message header, in a slot's headerBytes. It goes
// through the generated gen/wire codec; the tests also pin the layout to
// the reference vectors wire__TensorHeader.bin and
// wire__TensorHeader__hdr.bin. SBE packs without padding, so dims and
// strides are not 4-byte aligned in memory despite pad_align.

// TensorHeader describes the tensor in a frame's payload.
type TensorHeader struct {
	Dtype               Dtype
	MajorOrder          MajorOrder
	NDims               uint8
	ProgressUnit        ProgressUnit
	ProgressStrideBytes uint32
	// Dims and Strides hold NDims meaningful entries; the rest are zero on
	// the wire. A stride of 0 means "contiguous, inferred"; strides are in
	// bytes.
	Dims    [MaxDims]int32
	Strides [MaxDims]int32
}

// encodeTensorHeader writes h with its SBE message header into
// b[:TensorHeaderLen], zeroing the dims and strides beyond NDims and every
// reserved byte, as producers must.
func encodeTensorHeader(b []byte, h *TensorHeader) {
	var e wire.TensorHeaderEncoder
	if e.WrapWithHeader(b[:TensorHeaderLen]) != nil {
		panic("pool: tensor header buffer too short") // callers pass TensorHeaderLen bytes
	}
	e.SetDtype(h.Dtype)
	e.SetMajorOrder(wire.MajorOrder(h.MajorOrder))
	e.SetNdims(h.NDims)
	e.SetProgressUnit(wire.ProgressUnit(h.ProgressUnit))
	e.SetProgressStrideBytes(h.ProgressStrideBytes)
	var dims, strides [MaxDims]int32
	n := min(int(h.NDims), MaxDims)
	copy(dims[:n], h.Dims[:n])
	copy(strides[:n], h.Strides[:n])
	e.SetDims(dims)
	e.SetStrides(strides)
}

// decodeTensorHeader checks the embedded message header of b (which the
// caller has already checked is TensorHeaderLen bytes long) and decodes the
// block. It checks identity only; resolve checks the contents.
func decodeTensorHeader(b []byte, h *TensorHeader) DropReason {
	mh, err := wire.NewMessageHeader(b)
	if err != nil || len(b) < TensorHeaderLen {
		return DropHeaderLength
	}
	switch {
	case mh.SchemaId() != WireSchemaID:
		return DropSchemaID
	case mh.TemplateId() != TensorHeaderTemplateID:
		return DropTemplateID
	case mh.Version() != WireSchemaVersion:
		return DropSchemaVersion
	case mh.BlockLength() != TensorHeaderBlockLength:
		return DropHeaderLength
	}
	var d wire.TensorHeaderDecoder
	if d.Wrap(b[sbeMessageHeaderLen:TensorHeaderLen], TensorHeaderBlockLength, WireSchemaVersion) != nil {
		return DropHeaderLength
	}
	h.Dtype = d.Dtype()
	h.MajorOrder = MajorOrder(d.MajorOrder())
	h.NDims = d.Ndims()
	h.ProgressUnit = ProgressUnit(d.ProgressUnit())
	h.ProgressStrideBytes = d.ProgressStrideBytes()
	h.Dims = d.Dims()
	h.Strides = d.Strides()
	return DropNone
}
