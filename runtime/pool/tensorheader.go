package pool

import "encoding/binary"

// This file is the only place that touches the bytes of the TensorHeader
// SBE message (wire schema id 900, template 52, block length 184) embedded,
// with its 8-byte SBE message header, in a slot's headerBytes. It uses
// encoding/binary at the schema's offsets and is to be switched to the
// generated gen/wire codec once that exists; the tests pin the offsets to
// the reference vectors wire__TensorHeader.bin and wire__TensorHeader__hdr.bin.

// Offsets inside the TensorHeader block (after the message header). SBE
// packs without padding, so dims and strides are not 4-byte aligned in
// memory; they are read with encoding/binary, never as words.
const (
	thDtype          = 0
	thMajorOrder     = 2
	thNDims          = 4
	thPadAlign       = 5
	thProgressUnit   = 6
	thProgressStride = 7
	thDims           = 11
	thStrides        = thDims + 4*MaxDims
	thPad            = thStrides + 4*MaxDims // 109 reserved bytes to the end
)

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
	b = b[:TensorHeaderLen]
	le := binary.LittleEndian
	le.PutUint16(b[0:], TensorHeaderBlockLength)
	le.PutUint16(b[2:], TensorHeaderTemplateID)
	le.PutUint16(b[4:], WireSchemaID)
	le.PutUint16(b[6:], WireSchemaVersion)
	t := b[sbeMessageHeaderLen:]
	le.PutUint16(t[thDtype:], uint16(h.Dtype))
	le.PutUint16(t[thMajorOrder:], uint16(h.MajorOrder))
	t[thNDims] = h.NDims
	t[thPadAlign] = 0
	t[thProgressUnit] = byte(h.ProgressUnit)
	le.PutUint32(t[thProgressStride:], h.ProgressStrideBytes)
	for i := range MaxDims {
		var d, s int32
		if i < int(h.NDims) {
			d, s = h.Dims[i], h.Strides[i]
		}
		le.PutUint32(t[thDims+4*i:], uint32(d))
		le.PutUint32(t[thStrides+4*i:], uint32(s))
	}
	clear(t[thPad:])
}

// decodeTensorHeader checks the embedded message header of b (which the
// caller has already checked is TensorHeaderLen bytes long) and decodes the
// block. It checks identity only; validate checks the contents.
func decodeTensorHeader(b []byte, h *TensorHeader) DropReason {
	b = b[:TensorHeaderLen]
	le := binary.LittleEndian
	switch {
	case le.Uint16(b[4:]) != WireSchemaID:
		return DropSchemaID
	case le.Uint16(b[2:]) != TensorHeaderTemplateID:
		return DropTemplateID
	case le.Uint16(b[6:]) != WireSchemaVersion:
		return DropSchemaVersion
	case le.Uint16(b[0:]) != TensorHeaderBlockLength:
		return DropHeaderLength
	}
	t := b[sbeMessageHeaderLen:]
	h.Dtype = Dtype(le.Uint16(t[thDtype:]))
	h.MajorOrder = MajorOrder(le.Uint16(t[thMajorOrder:]))
	h.NDims = t[thNDims]
	h.ProgressUnit = ProgressUnit(t[thProgressUnit])
	h.ProgressStrideBytes = le.Uint32(t[thProgressStride:])
	for i := range MaxDims {
		h.Dims[i] = int32(le.Uint32(t[thDims+4*i:]))
		h.Strides[i] = int32(le.Uint32(t[thStrides+4*i:]))
	}
	return DropNone
}
