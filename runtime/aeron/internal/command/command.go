// Package command encodes and decodes Aeron's control protocol: the commands
// clients write to the driver's ring buffer and the responses the driver
// broadcasts back (aeron_control_protocol.h and io.aeron.command of
// real-logic/aeron). Structures are little-endian and packed to 4 bytes;
// strings are an int32 length followed by ASCII bytes, and a string followed
// by another field is padded to 4 bytes.
//
// Decoders check every length against the message and return ErrMalformed
// instead of reading out of bounds.
package command

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Command type ids (client to driver).
const (
	AddPublication          = 0x01
	RemovePublication       = 0x02
	AddExclusivePublication = 0x03
	AddSubscription         = 0x04
	RemoveSubscription      = 0x05
	ClientKeepalive         = 0x06
	AddDestination          = 0x07
	RemoveDestination       = 0x08
	AddCounter              = 0x09
	RemoveCounter           = 0x0A
	ClientClose             = 0x0B
	AddRcvDestination       = 0x0C
	RemoveRcvDestination    = 0x0D
	TerminateDriver         = 0x0E
	AddStaticCounter        = 0x0F
	RejectImage             = 0x10
	RemoveDestinationByID   = 0x11
)

// Response type ids (driver to clients).
const (
	OnError                     = 0x0F01
	OnAvailableImage            = 0x0F02
	OnPublicationReady          = 0x0F03
	OnOperationSuccess          = 0x0F04
	OnUnavailableImage          = 0x0F05
	OnExclusivePublicationReady = 0x0F06
	OnSubscriptionReady         = 0x0F07
	OnCounterReady              = 0x0F08
	OnUnavailableCounter        = 0x0F09
	OnClientTimeout             = 0x0F0A
	OnStaticCounter             = 0x0F0B
	OnPublicationError          = 0x0F0C
)

// Error codes carried by OnError.
const (
	ErrorUnknownCodeValue               = -1
	ErrorUnused                         = 0
	ErrorInvalidChannel                 = 1
	ErrorUnknownSubscription            = 2
	ErrorUnknownPublication             = 3
	ErrorChannelEndpointError           = 4
	ErrorUnknownCounter                 = 5
	ErrorUnknownCommandTypeID           = 6
	ErrorMalformedCommand               = 7
	ErrorNotSupported                   = 8
	ErrorUnknownHost                    = 9
	ErrorResourceTemporarilyUnavailable = 10
	ErrorGenericError                   = 11
	ErrorStorageSpace                   = 12
	ErrorImageRejected                  = 13
	ErrorPublicationRevoked             = 14
)

// ErrMalformed is returned for a message too short for its fields or with
// an impossible length.
var ErrMalformed = errors.New("command: malformed message")

var le = binary.LittleEndian

func align4(n int) int { return (n + 3) &^ 3 }

func malformed(what string, n int) error {
	return fmt.Errorf("%s of %d bytes: %w", what, n, ErrMalformed)
}

func appendI32(b []byte, v int32) []byte { return le.AppendUint32(b, uint32(v)) }
func appendI64(b []byte, v int64) []byte { return le.AppendUint64(b, uint64(v)) }

// appendString appends s as an int32 length and its bytes, padded to 4
// bytes if pad is set.
func appendString[S string | []byte](b []byte, s S, pad bool) []byte {
	b = appendI32(b, int32(len(s)))
	b = append(b, s...)
	if pad {
		for i := len(s); i < align4(len(s)); i++ {
			b = append(b, 0)
		}
	}
	return b
}

// reader decodes fields in order, remembering the first failure.
type reader struct {
	b   []byte
	off int
	bad bool
}

func (r *reader) need(n int) bool {
	if r.bad || n < 0 || r.off+n > len(r.b) {
		r.bad = true
		return false
	}
	return true
}

func (r *reader) i32() int32 {
	if !r.need(4) {
		return 0
	}
	v := int32(le.Uint32(r.b[r.off:]))
	r.off += 4
	return v
}

func (r *reader) i64() int64 {
	if !r.need(8) {
		return 0
	}
	v := int64(le.Uint64(r.b[r.off:]))
	r.off += 8
	return v
}

func (r *reader) bytes(pad bool) []byte {
	n := int(r.i32())
	if !r.need(n) {
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	if pad {
		r.off = min(len(r.b), r.off+align4(n)-n)
	}
	return s
}

func (r *reader) str(pad bool) string { return string(r.bytes(pad)) }

// Correlated is the header of every command.
type Correlated struct {
	ClientID      int64
	CorrelationID int64
}

// PublicationMessage adds a publication (AddPublication,
// AddExclusivePublication).
type PublicationMessage struct {
	Correlated
	StreamID int32
	Channel  string
}

// Append encodes m onto b.
func (m *PublicationMessage) Append(b []byte) []byte {
	b = appendI64(b, m.ClientID)
	b = appendI64(b, m.CorrelationID)
	b = appendI32(b, m.StreamID)
	return appendString(b, m.Channel, false)
}

// DecodePublicationMessage decodes a publication command.
func DecodePublicationMessage(b []byte) (PublicationMessage, error) {
	r := reader{b: b}
	m := PublicationMessage{Correlated: Correlated{r.i64(), r.i64()}, StreamID: r.i32(), Channel: r.str(false)}
	if r.bad {
		return PublicationMessage{}, malformed("publication command", len(b))
	}
	return m, nil
}

// SubscriptionMessage adds a subscription.
type SubscriptionMessage struct {
	Correlated
	RegistrationCorrelationID int64
	StreamID                  int32
	Channel                   string
}

// Append encodes m onto b.
func (m *SubscriptionMessage) Append(b []byte) []byte {
	b = appendI64(b, m.ClientID)
	b = appendI64(b, m.CorrelationID)
	b = appendI64(b, m.RegistrationCorrelationID)
	b = appendI32(b, m.StreamID)
	return appendString(b, m.Channel, false)
}

// DecodeSubscriptionMessage decodes a subscription command.
func DecodeSubscriptionMessage(b []byte) (SubscriptionMessage, error) {
	r := reader{b: b}
	m := SubscriptionMessage{Correlated: Correlated{r.i64(), r.i64()}, RegistrationCorrelationID: r.i64(), StreamID: r.i32(), Channel: r.str(false)}
	if r.bad {
		return SubscriptionMessage{}, malformed("subscription command", len(b))
	}
	return m, nil
}

// RemoveMessage removes a publication, subscription or counter.
type RemoveMessage struct {
	Correlated
	RegistrationID int64
}

// Append encodes m onto b.
func (m *RemoveMessage) Append(b []byte) []byte {
	b = appendI64(b, m.ClientID)
	b = appendI64(b, m.CorrelationID)
	return appendI64(b, m.RegistrationID)
}

// DecodeRemoveMessage decodes a remove command.
func DecodeRemoveMessage(b []byte) (RemoveMessage, error) {
	r := reader{b: b}
	m := RemoveMessage{Correlated: Correlated{r.i64(), r.i64()}, RegistrationID: r.i64()}
	if r.bad {
		return RemoveMessage{}, malformed("remove command", len(b))
	}
	return m, nil
}

// Append encodes a bare correlated message (ClientKeepalive, ClientClose).
func (m *Correlated) Append(b []byte) []byte {
	b = appendI64(b, m.ClientID)
	return appendI64(b, m.CorrelationID)
}

// DecodeCorrelated decodes a bare correlated message.
func DecodeCorrelated(b []byte) (Correlated, error) {
	r := reader{b: b}
	m := Correlated{r.i64(), r.i64()}
	if r.bad {
		return Correlated{}, malformed("correlated command", len(b))
	}
	return m, nil
}

// CounterMessage adds a counter.
type CounterMessage struct {
	Correlated
	TypeID int32
	Key    []byte
	Label  string
}

// Append encodes m onto b.
func (m *CounterMessage) Append(b []byte) []byte {
	b = appendI64(b, m.ClientID)
	b = appendI64(b, m.CorrelationID)
	b = appendI32(b, m.TypeID)
	b = appendString(b, m.Key, true)
	return appendString(b, m.Label, false)
}

// DecodeCounterMessage decodes a counter command.
func DecodeCounterMessage(b []byte) (CounterMessage, error) {
	r := reader{b: b}
	m := CounterMessage{Correlated: Correlated{r.i64(), r.i64()}, TypeID: r.i32()}
	m.Key = append([]byte(nil), r.bytes(true)...)
	m.Label = r.str(false)
	if r.bad {
		return CounterMessage{}, malformed("counter command", len(b))
	}
	return m, nil
}

// PublicationReady answers an add publication (OnPublicationReady,
// OnExclusivePublicationReady).
type PublicationReady struct {
	CorrelationID            int64
	RegistrationID           int64
	SessionID                int32
	StreamID                 int32
	PositionLimitCounterID   int32
	ChannelStatusIndicatorID int32
	LogFileName              string
}

// Append encodes m onto b.
func (m *PublicationReady) Append(b []byte) []byte {
	b = appendI64(b, m.CorrelationID)
	b = appendI64(b, m.RegistrationID)
	b = appendI32(b, m.SessionID)
	b = appendI32(b, m.StreamID)
	b = appendI32(b, m.PositionLimitCounterID)
	b = appendI32(b, m.ChannelStatusIndicatorID)
	return appendString(b, m.LogFileName, false)
}

// DecodePublicationReady decodes a publication-ready response.
func DecodePublicationReady(b []byte) (PublicationReady, error) {
	r := reader{b: b}
	m := PublicationReady{CorrelationID: r.i64(), RegistrationID: r.i64(), SessionID: r.i32(), StreamID: r.i32(),
		PositionLimitCounterID: r.i32(), ChannelStatusIndicatorID: r.i32(), LogFileName: r.str(false)}
	if r.bad {
		return PublicationReady{}, malformed("publication ready", len(b))
	}
	return m, nil
}

// SubscriptionReady answers an add subscription.
type SubscriptionReady struct {
	CorrelationID            int64
	ChannelStatusIndicatorID int32
}

// Append encodes m onto b.
func (m *SubscriptionReady) Append(b []byte) []byte {
	b = appendI64(b, m.CorrelationID)
	return appendI32(b, m.ChannelStatusIndicatorID)
}

// DecodeSubscriptionReady decodes a subscription-ready response.
func DecodeSubscriptionReady(b []byte) (SubscriptionReady, error) {
	r := reader{b: b}
	m := SubscriptionReady{CorrelationID: r.i64(), ChannelStatusIndicatorID: r.i32()}
	if r.bad {
		return SubscriptionReady{}, malformed("subscription ready", len(b))
	}
	return m, nil
}

// ImageReady announces an available image (OnAvailableImage). CorrelationID
// is the image's correlation id (for IPC, the publication's registration id).
type ImageReady struct {
	CorrelationID            int64
	SessionID                int32
	StreamID                 int32
	SubscriptionRegistration int64
	SubscriberPositionID     int32
	LogFileName              string
	SourceIdentity           string
}

// Append encodes m onto b.
func (m *ImageReady) Append(b []byte) []byte {
	b = appendI64(b, m.CorrelationID)
	b = appendI32(b, m.SessionID)
	b = appendI32(b, m.StreamID)
	b = appendI64(b, m.SubscriptionRegistration)
	b = appendI32(b, m.SubscriberPositionID)
	b = appendString(b, m.LogFileName, true)
	return appendString(b, m.SourceIdentity, false)
}

// DecodeImageReady decodes an available-image response.
func DecodeImageReady(b []byte) (ImageReady, error) {
	r := reader{b: b}
	m := ImageReady{CorrelationID: r.i64(), SessionID: r.i32(), StreamID: r.i32(), SubscriptionRegistration: r.i64(),
		SubscriberPositionID: r.i32(), LogFileName: r.str(true), SourceIdentity: r.str(false)}
	if r.bad {
		return ImageReady{}, malformed("image ready", len(b))
	}
	return m, nil
}

// ImageMessage announces an unavailable image (OnUnavailableImage).
type ImageMessage struct {
	CorrelationID            int64
	SubscriptionRegistration int64
	StreamID                 int32
	Channel                  string
}

// Append encodes m onto b.
func (m *ImageMessage) Append(b []byte) []byte {
	b = appendI64(b, m.CorrelationID)
	b = appendI64(b, m.SubscriptionRegistration)
	b = appendI32(b, m.StreamID)
	return appendString(b, m.Channel, false)
}

// DecodeImageMessage decodes an unavailable-image response.
func DecodeImageMessage(b []byte) (ImageMessage, error) {
	r := reader{b: b}
	m := ImageMessage{CorrelationID: r.i64(), SubscriptionRegistration: r.i64(), StreamID: r.i32(), Channel: r.str(false)}
	if r.bad {
		return ImageMessage{}, malformed("image message", len(b))
	}
	return m, nil
}

// OperationSucceeded answers removes and keepalives that need an answer.
type OperationSucceeded struct{ CorrelationID int64 }

// Append encodes m onto b.
func (m *OperationSucceeded) Append(b []byte) []byte { return appendI64(b, m.CorrelationID) }

// DecodeOperationSucceeded decodes an operation-success response.
func DecodeOperationSucceeded(b []byte) (OperationSucceeded, error) {
	r := reader{b: b}
	m := OperationSucceeded{r.i64()}
	if r.bad {
		return OperationSucceeded{}, malformed("operation succeeded", len(b))
	}
	return m, nil
}

// ErrorResponse reports a failed command (OnError).
type ErrorResponse struct {
	OffendingCorrelationID int64
	ErrorCode              int32
	Message                string
}

// Append encodes m onto b.
func (m *ErrorResponse) Append(b []byte) []byte {
	b = appendI64(b, m.OffendingCorrelationID)
	b = appendI32(b, m.ErrorCode)
	return appendString(b, m.Message, false)
}

// DecodeErrorResponse decodes an error response.
func DecodeErrorResponse(b []byte) (ErrorResponse, error) {
	r := reader{b: b}
	m := ErrorResponse{OffendingCorrelationID: r.i64(), ErrorCode: r.i32(), Message: r.str(false)}
	if r.bad {
		return ErrorResponse{}, malformed("error response", len(b))
	}
	return m, nil
}

// CounterUpdate is OnCounterReady and OnUnavailableCounter.
type CounterUpdate struct {
	CorrelationID int64
	CounterID     int32
}

// Append encodes m onto b.
func (m *CounterUpdate) Append(b []byte) []byte {
	b = appendI64(b, m.CorrelationID)
	return appendI32(b, m.CounterID)
}

// DecodeCounterUpdate decodes a counter response.
func DecodeCounterUpdate(b []byte) (CounterUpdate, error) {
	r := reader{b: b}
	m := CounterUpdate{CorrelationID: r.i64(), CounterID: r.i32()}
	if r.bad {
		return CounterUpdate{}, malformed("counter update", len(b))
	}
	return m, nil
}

// ClientTimeout tells a client the driver timed it out.
type ClientTimeout struct{ ClientID int64 }

// Append encodes m onto b.
func (m *ClientTimeout) Append(b []byte) []byte { return appendI64(b, m.ClientID) }

// DecodeClientTimeout decodes a client-timeout response.
func DecodeClientTimeout(b []byte) (ClientTimeout, error) {
	r := reader{b: b}
	m := ClientTimeout{r.i64()}
	if r.bad {
		return ClientTimeout{}, malformed("client timeout", len(b))
	}
	return m, nil
}

// ErrorCodeString names an error code.
func ErrorCodeString(code int32) string {
	switch code {
	case ErrorInvalidChannel:
		return "INVALID_CHANNEL"
	case ErrorUnknownSubscription:
		return "UNKNOWN_SUBSCRIPTION"
	case ErrorUnknownPublication:
		return "UNKNOWN_PUBLICATION"
	case ErrorChannelEndpointError:
		return "CHANNEL_ENDPOINT_ERROR"
	case ErrorUnknownCounter:
		return "UNKNOWN_COUNTER"
	case ErrorUnknownCommandTypeID:
		return "UNKNOWN_COMMAND_TYPE_ID"
	case ErrorMalformedCommand:
		return "MALFORMED_COMMAND"
	case ErrorNotSupported:
		return "NOT_SUPPORTED"
	case ErrorUnknownHost:
		return "UNKNOWN_HOST"
	case ErrorResourceTemporarilyUnavailable:
		return "RESOURCE_TEMPORARILY_UNAVAILABLE"
	case ErrorGenericError:
		return "GENERIC_ERROR"
	case ErrorStorageSpace:
		return "STORAGE_SPACE"
	case ErrorImageRejected:
		return "IMAGE_REJECTED"
	case ErrorPublicationRevoked:
		return "PUBLICATION_REVOKED"
	}
	return fmt.Sprintf("UNKNOWN_CODE(%d)", code)
}

// DestinationMessage adds or removes a destination of a multi-destination
// publication (AddDestination, RemoveDestination; aeron_destination_command_t).
type DestinationMessage struct {
	Correlated
	RegistrationID int64
	Channel        string
}

// Append encodes m onto b.
func (m *DestinationMessage) Append(b []byte) []byte {
	b = appendI64(b, m.ClientID)
	b = appendI64(b, m.CorrelationID)
	b = appendI64(b, m.RegistrationID)
	return appendString(b, m.Channel, false)
}

// DecodeDestinationMessage decodes a destination command.
func DecodeDestinationMessage(b []byte) (DestinationMessage, error) {
	r := reader{b: b}
	m := DestinationMessage{Correlated: Correlated{r.i64(), r.i64()}, RegistrationID: r.i64(), Channel: r.str(false)}
	if r.bad {
		return DestinationMessage{}, malformed("destination command", len(b))
	}
	return m, nil
}

// RejectImageMessage asks the driver to reject an image (RejectImage;
// aeron_reject_image_command_t): its receiver stops taking the stream and
// sends the publication error frames with the reason.
type RejectImageMessage struct {
	Correlated
	ImageCorrelationID int64
	Position           int64
	Reason             string
}

// Append encodes m onto b.
func (m *RejectImageMessage) Append(b []byte) []byte {
	b = appendI64(b, m.ClientID)
	b = appendI64(b, m.CorrelationID)
	b = appendI64(b, m.ImageCorrelationID)
	b = appendI64(b, m.Position)
	return appendString(b, m.Reason, false)
}

// DecodeRejectImageMessage decodes a reject-image command.
func DecodeRejectImageMessage(b []byte) (RejectImageMessage, error) {
	r := reader{b: b}
	m := RejectImageMessage{Correlated: Correlated{r.i64(), r.i64()}, ImageCorrelationID: r.i64(), Position: r.i64(),
		Reason: r.str(false)}
	if r.bad {
		return RejectImageMessage{}, malformed("reject image command", len(b))
	}
	return m, nil
}

// Address types of PublicationError (AERON_RESPONSE_ADDRESS_TYPE_*).
const (
	AddressTypeIPv4 = 1
	AddressTypeIPv6 = 2
)

// PublicationError tells clients that a receiver sent a publication an
// error frame, e.g. on rejecting its image (OnPublicationError;
// aeron_publication_error_t).
type PublicationError struct {
	RegistrationID            int64
	DestinationRegistrationID int64
	SessionID                 int32
	StreamID                  int32
	ReceiverID                int64
	GroupTag                  int64
	AddressType               int16
	SourcePort                uint16
	SourceAddress             [16]byte // 4 bytes used for IPv4
	ErrorCode                 int32
	Message                   string
}

// Append encodes m onto b.
func (m *PublicationError) Append(b []byte) []byte {
	b = appendI64(b, m.RegistrationID)
	b = appendI64(b, m.DestinationRegistrationID)
	b = appendI32(b, m.SessionID)
	b = appendI32(b, m.StreamID)
	b = appendI64(b, m.ReceiverID)
	b = appendI64(b, m.GroupTag)
	b = le.AppendUint16(b, uint16(m.AddressType))
	b = le.AppendUint16(b, m.SourcePort)
	b = append(b, m.SourceAddress[:]...)
	b = appendI32(b, m.ErrorCode)
	return appendString(b, m.Message, false)
}

// DecodePublicationError decodes a publication error response.
func DecodePublicationError(b []byte) (PublicationError, error) {
	r := reader{b: b}
	m := PublicationError{RegistrationID: r.i64(), DestinationRegistrationID: r.i64(), SessionID: r.i32(),
		StreamID: r.i32(), ReceiverID: r.i64(), GroupTag: r.i64()}
	typeAndPort := r.i32()
	m.AddressType, m.SourcePort = int16(uint32(typeAndPort)), uint16(uint32(typeAndPort)>>16)
	if r.need(16) {
		copy(m.SourceAddress[:], r.b[r.off:r.off+16])
		r.off += 16
	}
	m.ErrorCode = r.i32()
	m.Message = r.str(false)
	if r.bad {
		return PublicationError{}, malformed("publication error", len(b))
	}
	return m, nil
}
