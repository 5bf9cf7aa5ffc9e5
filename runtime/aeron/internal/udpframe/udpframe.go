// Package udpframe encodes and decodes the frames of Aeron's UDP protocol
// (aeron_udp_protocol.h of real-logic/aeron): data and padding frames,
// setup, status messages (SM), negative acknowledgements (NAK), round-trip
// time measurements (RTTM) and error frames. Heartbeats are data frames with
// a frame length of 0.
//
// All fields are little-endian, as in Aeron. Decoders take a datagram,
// check its version, type and lengths and return a value; they never
// allocate and survive any bytes. Encoders write into a caller's buffer.
package udpframe

import (
	"encoding/binary"
	"errors"
)

// Frame types (AERON_HDR_TYPE_*).
const (
	TypePad      = 0x00
	TypeData     = 0x01
	TypeNAK      = 0x02
	TypeSM       = 0x03
	TypeErr      = 0x04
	TypeSetup    = 0x05
	TypeRTTM     = 0x06
	TypeRes      = 0x07
	TypeRspSetup = 0x0B
	TypeExt      = -1
)

// Frame lengths.
const (
	HeaderLength         = 8  // frame length, version, flags, type
	DataHeaderLength     = 32 // also the heartbeat and padding header
	SetupLength          = 40
	NAKLength            = 28
	SMLength             = 36
	SMWithGroupTagLength = 44
	RTTMLength           = 40
	ErrorHeaderLength    = 40
	ErrorMaxTextLength   = 1023
	ErrorMaxFrameLength  = ErrorHeaderLength + ErrorMaxTextLength
	CurrentVersion       = 0
)

// Flags.
const (
	FlagBegin        = 0x80 // data
	FlagEnd          = 0x40 // data
	FlagEOS          = 0x20 // data: end of stream
	FlagUnfragmented = FlagBegin | FlagEnd
	FlagSMSetup      = 0x80 // status message: please send a setup
	FlagSMEOS        = 0x40 // status message: the receiver is going away
	FlagSetupSendRsp = 0x80 // setup: send a response setup
	FlagSetupGroup   = 0x40 // setup: the publication has group semantics
	FlagRTTMReply    = 0x80 // RTTM: reply requested
	FlagErrGroupTag  = 0x08 // error frame: carries a group tag
)

// Sentinel errors of the decoders. They are returned unwrapped so the
// receive path does not allocate.
var (
	// ErrShort: the datagram is shorter than its frame type needs.
	ErrShort = errors.New("udpframe: frame too short")
	// ErrVersion: the frame version is not CurrentVersion.
	ErrVersion = errors.New("udpframe: unknown frame version")
	// ErrType: the frame has another type than the decoder's.
	ErrType = errors.New("udpframe: unexpected frame type")
	// ErrLength: a length field contradicts the datagram or the protocol.
	ErrLength = errors.New("udpframe: bad length field")
)

var le = binary.LittleEndian

func i32(b []byte, off int) int32 { return int32(le.Uint32(b[off:])) }
func i64(b []byte, off int) int64 { return int64(le.Uint64(b[off:])) }

// Header is the common 8-byte frame header.
type Header struct {
	FrameLength int32
	Version     uint8
	Flags       uint8
	Type        int16
}

// DecodeHeader reads the common header of a datagram and checks its
// version.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderLength {
		return Header{}, ErrShort
	}
	h := Header{FrameLength: i32(b, 0), Version: b[4], Flags: b[5], Type: int16(le.Uint16(b[6:]))}
	if h.Version != CurrentVersion {
		return h, ErrVersion
	}
	return h, nil
}

func putHeader(b []byte, length int32, flags uint8, typ int16) {
	le.PutUint32(b[0:], uint32(length))
	b[4] = CurrentVersion
	b[5] = flags
	le.PutUint16(b[6:], uint16(typ))
}

func check(b []byte, typ int16, min int) (Header, error) {
	h, err := DecodeHeader(b)
	if err != nil {
		return h, err
	}
	if h.Type != typ {
		return h, ErrType
	}
	if len(b) < min {
		return h, ErrShort
	}
	return h, nil
}

// Data is a data, padding or heartbeat frame header (aeron_data_header_t).
// A heartbeat is a data frame with FrameLength 0.
type Data struct {
	FrameLength   int32
	Flags         uint8
	Type          int16
	TermOffset    int32
	SessionID     int32
	StreamID      int32
	TermID        int32
	ReservedValue int64
}

// DecodeData reads the first data (or padding) frame header of a datagram.
func DecodeData(b []byte) (Data, error) {
	h, err := DecodeHeader(b)
	if err != nil {
		return Data{}, err
	}
	if h.Type != TypeData && h.Type != TypePad {
		return Data{}, ErrType
	}
	if len(b) < DataHeaderLength {
		return Data{}, ErrShort
	}
	return Data{FrameLength: h.FrameLength, Flags: h.Flags, Type: h.Type, TermOffset: i32(b, 8),
		SessionID: i32(b, 12), StreamID: i32(b, 16), TermID: i32(b, 20), ReservedValue: i64(b, 24)}, nil
}

// IsHeartbeat reports whether the data frame is a heartbeat.
func (d Data) IsHeartbeat() bool { return d.FrameLength == 0 && d.Type == TypeData }

// Encode writes the header into b (at least DataHeaderLength) and returns
// DataHeaderLength.
func (d Data) Encode(b []byte) int {
	_ = b[DataHeaderLength-1]
	putHeader(b, d.FrameLength, d.Flags, d.Type)
	le.PutUint32(b[8:], uint32(d.TermOffset))
	le.PutUint32(b[12:], uint32(d.SessionID))
	le.PutUint32(b[16:], uint32(d.StreamID))
	le.PutUint32(b[20:], uint32(d.TermID))
	le.PutUint64(b[24:], uint64(d.ReservedValue))
	return DataHeaderLength
}

// Setup announces a stream (aeron_setup_header_t).
type Setup struct {
	Flags         uint8
	TermOffset    int32
	SessionID     int32
	StreamID      int32
	InitialTermID int32
	ActiveTermID  int32
	TermLength    int32
	MTU           int32
	TTL           int32
}

// DecodeSetup reads a setup frame.
func DecodeSetup(b []byte) (Setup, error) {
	h, err := check(b, TypeSetup, SetupLength)
	if err != nil {
		return Setup{}, err
	}
	return Setup{Flags: h.Flags, TermOffset: i32(b, 8), SessionID: i32(b, 12), StreamID: i32(b, 16),
		InitialTermID: i32(b, 20), ActiveTermID: i32(b, 24), TermLength: i32(b, 28), MTU: i32(b, 32), TTL: i32(b, 36)}, nil
}

// Encode writes the frame into b (at least SetupLength) and returns its length.
func (s Setup) Encode(b []byte) int {
	_ = b[SetupLength-1]
	putHeader(b, SetupLength, s.Flags, TypeSetup)
	le.PutUint32(b[8:], uint32(s.TermOffset))
	le.PutUint32(b[12:], uint32(s.SessionID))
	le.PutUint32(b[16:], uint32(s.StreamID))
	le.PutUint32(b[20:], uint32(s.InitialTermID))
	le.PutUint32(b[24:], uint32(s.ActiveTermID))
	le.PutUint32(b[28:], uint32(s.TermLength))
	le.PutUint32(b[32:], uint32(s.MTU))
	le.PutUint32(b[36:], uint32(s.TTL))
	return SetupLength
}

// SM is a status message (aeron_status_message_header_t), with the
// optional group tag.
type SM struct {
	Flags                 uint8
	SessionID             int32
	StreamID              int32
	ConsumptionTermID     int32
	ConsumptionTermOffset int32
	ReceiverWindow        int32
	ReceiverID            int64
	HasGroupTag           bool
	GroupTag              int64
}

// DecodeSM reads a status message.
func DecodeSM(b []byte) (SM, error) {
	h, err := check(b, TypeSM, SMLength)
	if err != nil {
		return SM{}, err
	}
	if int(h.FrameLength) > len(b) || h.FrameLength < SMLength {
		return SM{}, ErrLength
	}
	m := SM{Flags: h.Flags, SessionID: i32(b, 8), StreamID: i32(b, 12), ConsumptionTermID: i32(b, 16),
		ConsumptionTermOffset: i32(b, 20), ReceiverWindow: i32(b, 24), ReceiverID: i64(b, 28)}
	if h.FrameLength >= SMWithGroupTagLength {
		m.HasGroupTag, m.GroupTag = true, i64(b, 36)
	}
	return m, nil
}

// Encode writes the frame into b (at least SMWithGroupTagLength when it
// has a group tag, else SMLength) and returns its length.
func (m SM) Encode(b []byte) int {
	n := SMLength
	if m.HasGroupTag {
		n = SMWithGroupTagLength
	}
	_ = b[n-1]
	putHeader(b, int32(n), m.Flags, TypeSM)
	le.PutUint32(b[8:], uint32(m.SessionID))
	le.PutUint32(b[12:], uint32(m.StreamID))
	le.PutUint32(b[16:], uint32(m.ConsumptionTermID))
	le.PutUint32(b[20:], uint32(m.ConsumptionTermOffset))
	le.PutUint32(b[24:], uint32(m.ReceiverWindow))
	le.PutUint64(b[28:], uint64(m.ReceiverID))
	if m.HasGroupTag {
		le.PutUint64(b[36:], uint64(m.GroupTag))
	}
	return n
}

// NAK asks for a retransmission (aeron_nak_header_t).
type NAK struct {
	SessionID  int32
	StreamID   int32
	TermID     int32
	TermOffset int32
	Length     int32
}

// DecodeNAK reads a NAK.
func DecodeNAK(b []byte) (NAK, error) {
	if _, err := check(b, TypeNAK, NAKLength); err != nil {
		return NAK{}, err
	}
	n := NAK{SessionID: i32(b, 8), StreamID: i32(b, 12), TermID: i32(b, 16), TermOffset: i32(b, 20), Length: i32(b, 24)}
	if n.Length < 0 || n.TermOffset < 0 {
		return NAK{}, ErrLength
	}
	return n, nil
}

// Encode writes the frame into b (at least NAKLength) and returns its length.
func (n NAK) Encode(b []byte) int {
	_ = b[NAKLength-1]
	putHeader(b, NAKLength, 0, TypeNAK)
	le.PutUint32(b[8:], uint32(n.SessionID))
	le.PutUint32(b[12:], uint32(n.StreamID))
	le.PutUint32(b[16:], uint32(n.TermID))
	le.PutUint32(b[20:], uint32(n.TermOffset))
	le.PutUint32(b[24:], uint32(n.Length))
	return NAKLength
}

// RTTM is a round-trip time measurement (aeron_rttm_header_t).
type RTTM struct {
	Flags          uint8
	SessionID      int32
	StreamID       int32
	EchoTimestamp  int64
	ReceptionDelta int64
	ReceiverID     int64
}

// DecodeRTTM reads an RTT measurement.
func DecodeRTTM(b []byte) (RTTM, error) {
	h, err := check(b, TypeRTTM, RTTMLength)
	if err != nil {
		return RTTM{}, err
	}
	return RTTM{Flags: h.Flags, SessionID: i32(b, 8), StreamID: i32(b, 12), EchoTimestamp: i64(b, 16),
		ReceptionDelta: i64(b, 24), ReceiverID: i64(b, 32)}, nil
}

// Encode writes the frame into b (at least RTTMLength) and returns its length.
func (r RTTM) Encode(b []byte) int {
	_ = b[RTTMLength-1]
	putHeader(b, RTTMLength, r.Flags, TypeRTTM)
	le.PutUint32(b[8:], uint32(r.SessionID))
	le.PutUint32(b[12:], uint32(r.StreamID))
	le.PutUint64(b[16:], uint64(r.EchoTimestamp))
	le.PutUint64(b[24:], uint64(r.ReceptionDelta))
	le.PutUint64(b[32:], uint64(r.ReceiverID))
	return RTTMLength
}

// Error is an error frame (aeron_error_t) a receiver sends to reject a
// stream. Message aliases the datagram.
type Error struct {
	Flags      uint8
	SessionID  int32
	StreamID   int32
	ReceiverID int64
	GroupTag   int64
	ErrorCode  int32
	Message    []byte
}

// DecodeError reads an error frame.
func DecodeError(b []byte) (Error, error) {
	h, err := check(b, TypeErr, ErrorHeaderLength)
	if err != nil {
		return Error{}, err
	}
	n := i32(b, 36)
	if n < 0 || n > ErrorMaxTextLength || int(n) > len(b)-ErrorHeaderLength || int(h.FrameLength) > len(b) ||
		int(h.FrameLength) < ErrorHeaderLength+int(n) {
		return Error{}, ErrLength
	}
	return Error{Flags: h.Flags, SessionID: i32(b, 8), StreamID: i32(b, 12), ReceiverID: i64(b, 16),
		GroupTag: i64(b, 24), ErrorCode: i32(b, 32), Message: b[ErrorHeaderLength : ErrorHeaderLength+int(n)]}, nil
}

// Encode writes the frame into b (at least ErrorHeaderLength + the
// message, which is cut at ErrorMaxTextLength) and returns its length.
func (e Error) Encode(b []byte) int {
	msg := e.Message
	if len(msg) > ErrorMaxTextLength {
		msg = msg[:ErrorMaxTextLength]
	}
	n := ErrorHeaderLength + len(msg)
	_ = b[n-1]
	putHeader(b, int32(n), e.Flags, TypeErr)
	le.PutUint32(b[8:], uint32(e.SessionID))
	le.PutUint32(b[12:], uint32(e.StreamID))
	le.PutUint64(b[16:], uint64(e.ReceiverID))
	le.PutUint64(b[24:], uint64(e.GroupTag))
	le.PutUint32(b[32:], uint32(e.ErrorCode))
	le.PutUint32(b[36:], uint32(len(msg)))
	copy(b[ErrorHeaderLength:], msg)
	return n
}

// Align rounds a frame length up to Aeron's 32-byte frame alignment.
func Align(n int) int { return (n + 31) &^ 31 }

// CheckDataDatagram checks that a datagram of data and padding frames is
// well formed for insertion into a term of termLength bytes: the first
// frame's term offset is 32-aligned, every frame of the batch has the first
// one's session, stream and term, the frames tile the datagram (a padding
// frame may be sent as its header only, and only last), and nothing ends
// past the term. A heartbeat (frame length 0, exactly one header) passes.
// It returns the number of term bytes the datagram covers.
func CheckDataDatagram(b []byte, termLength int) (int, error) {
	d, err := DecodeData(b)
	if err != nil {
		return 0, err
	}
	if d.TermOffset < 0 || d.TermOffset&31 != 0 || int(d.TermOffset) > termLength {
		return 0, ErrLength
	}
	if d.FrameLength == 0 {
		if d.Type != TypeData {
			return 0, ErrLength
		}
		return 0, nil // heartbeat
	}
	off, covered := 0, 0
	for off < len(b) {
		if len(b)-off < DataHeaderLength {
			return 0, ErrLength
		}
		n := int(i32(b, off))
		typ := int16(le.Uint16(b[off+6:]))
		if b[off+4] != CurrentVersion || n < DataHeaderLength || (typ != TypeData && typ != TypePad) ||
			i32(b, off+8) != d.TermOffset+int32(off) || i32(b, off+12) != d.SessionID ||
			i32(b, off+16) != d.StreamID || i32(b, off+20) != d.TermID {
			return 0, ErrLength
		}
		aligned := Align(n)
		if int(d.TermOffset)+off+aligned > termLength {
			return 0, ErrLength
		}
		if typ == TypePad && off+aligned > len(b) {
			// A padding frame sent as its header only: the last frame.
			if len(b)-off != DataHeaderLength {
				return 0, ErrLength
			}
			return covered + aligned, nil
		}
		if off+n > len(b) {
			return 0, ErrLength
		}
		covered += aligned
		off += aligned
	}
	return covered, nil
}
