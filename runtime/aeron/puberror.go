package aeron

import (
	"net/netip"

	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
)

// PublicationErrorFrame is an error frame a receiver sent one of the
// driver's network publications, as the driver reports it (Aeron's
// PublicationErrorFrame).
type PublicationErrorFrame struct {
	// RegistrationID is the publication's registration id.
	RegistrationID int64
	// DestinationRegistrationID names the destination of a
	// multi-destination publication (-1 if none).
	DestinationRegistrationID int64
	SessionID, StreamID       int32
	// ReceiverID identifies the receiving driver's endpoint.
	ReceiverID int64
	// GroupTag is the receiver's group tag (-1, Aeron's null value, if it
	// sent none).
	GroupTag int64
	// Source is the address the frame came from (invalid if unknown).
	Source netip.AddrPort
	// ErrorCode is one of Aeron's error codes (13, IMAGE_REJECTED, for a
	// rejected image) and Message the receiver's reason.
	ErrorCode int32
	Message   string
}

func newPublicationErrorFrame(m command.PublicationError) PublicationErrorFrame {
	f := PublicationErrorFrame{RegistrationID: m.RegistrationID, DestinationRegistrationID: m.DestinationRegistrationID,
		SessionID: m.SessionID, StreamID: m.StreamID, ReceiverID: m.ReceiverID, GroupTag: m.GroupTag,
		ErrorCode: m.ErrorCode, Message: m.Message}
	switch m.AddressType {
	case command.AddressTypeIPv4:
		f.Source = netip.AddrPortFrom(netip.AddrFrom4([4]byte(m.SourceAddress[:4])), m.SourcePort)
	case command.AddressTypeIPv6:
		f.Source = netip.AddrPortFrom(netip.AddrFrom16(m.SourceAddress), m.SourcePort)
	}
	return f
}
