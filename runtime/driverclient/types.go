package driverclient

import (
	"errors"
	"fmt"

	"github.com/tpool-go/tpool/gen/driver"
)

// Protocol enums, as the driver schema defines them.
type (
	Role            = driver.Role
	PublishMode     = driver.PublishMode
	HugepagesPolicy = driver.HugepagesPolicy
	ResponseCode    = driver.ResponseCode
	RevokeReason    = driver.LeaseRevokeReason
	ShutdownReason  = driver.ShutdownReason
)

// Roles and publish modes, re-exported for callers.
const (
	RoleProducer = driver.RoleProducer
	RoleConsumer = driver.RoleConsumer

	RequireExisting  = driver.PublishModeRequireExisting
	ExistingOrCreate = driver.PublishModeExistingOrCreate
)

// AttachRequest is what a lease is asked for (ShmAttachRequest without the
// correlation and client ids, which the Client chooses).
type AttachRequest struct {
	StreamID uint32
	Role     Role
	// ExpectedLayoutVersion, when non-zero, must match the stream's.
	ExpectedLayoutVersion uint32
	// PublishMode 0 leaves the field absent (the driver's default).
	PublishMode PublishMode
	// RequireHugepages defaults to UNSPECIFIED (the driver's policy).
	RequireHugepages HugepagesPolicy
	// DesiredNodeID is sent when RequestNodeID is set.
	DesiredNodeID uint32
	RequestNodeID bool
}

func (r AttachRequest) validate() error {
	if !r.Role.IsValid() {
		return fmt.Errorf("role %v: %w", r.Role, ErrBadRequest)
	}
	if r.PublishMode != 0 && !r.PublishMode.IsValid() {
		return fmt.Errorf("publish mode %v: %w", r.PublishMode, ErrBadRequest)
	}
	if !r.RequireHugepages.IsValid() {
		return fmt.Errorf("hugepages policy %v: %w", r.RequireHugepages, ErrBadRequest)
	}
	if r.RequestNodeID && r.DesiredNodeID == nullU32 {
		return fmt.Errorf("desired node id %d is the null value: %w", r.DesiredNodeID, ErrBadRequest)
	}
	return nil
}

// Sentinel errors, returned wrapped.
var (
	// ErrClosed: the Client or the lease was closed (or detached).
	ErrClosed = errors.New("driverclient: closed")
	// ErrBadRequest: an AttachRequest with an invalid role or enum value.
	ErrBadRequest = errors.New("driverclient: invalid attach request")
	// ErrRejected is wrapped by every *ResponseError: the driver answered
	// with a code other than OK.
	ErrRejected = errors.New("driverclient: rejected by the driver")
	// ErrProtocol: a driver message broke a rule of Driver Model section
	// 4.2, 4.4a or 4.7a (null required fields, bad URIs, header slot bytes
	// other than 256, no pools, pool nslots unlike header nslots, a schema
	// version above ours, unknown enum values). The client failed closed.
	ErrProtocol = errors.New("driverclient: driver protocol error")
	// ErrTimeout: no response within Config.AttachTimeout.
	ErrTimeout = errors.New("driverclient: no response from the driver")
	// ErrDriverLost: the lease's stream was not announced for
	// Config.DriverTimeout, or the control stream lost its driver.
	ErrDriverLost = errors.New("driverclient: driver lost")
	// ErrDriverShutdown: the driver announced its shutdown.
	ErrDriverShutdown = errors.New("driverclient: driver shut down")
	// ErrRevoked: the driver revoked (or expired) the lease.
	ErrRevoked = errors.New("driverclient: lease revoked")
	// ErrExpired: the client could not send keepalives before its lease
	// ran out, or the new epoch after a producer revoke did not come.
	ErrExpired = errors.New("driverclient: lease expired")
	// ErrAeronClosed: the Aeron client under the Client stopped.
	ErrAeronClosed = errors.New("driverclient: aeron client closed")
	// ErrUnconfirmed: a consumer lease was given up to ask the driver
	// again, after a higher epoch was announced on the announce stream by
	// a source not yet known to be the driver (source.go).
	ErrUnconfirmed = errors.New("driverclient: epoch announced by an unconfirmed source")
	// ErrMediaDriverLost: the Aeron client under the Client stopped and
	// Config.AwaitRebind keeps the leases waiting for a new one (the Err
	// of EventMediaDriverLost).
	ErrMediaDriverLost = errors.New("driverclient: media driver lost")
)

// ResponseError is a non-OK ShmAttachResponse or ShmDetachResponse.
type ResponseError struct {
	Code    ResponseCode
	Message string // the driver's errorMessage, possibly empty
}

func (e *ResponseError) Error() string {
	if e.Message == "" {
		return "driver answered " + e.Code.String()
	}
	return "driver answered " + e.Code.String() + ": " + e.Message
}

// Unwrap makes errors.Is(err, ErrRejected) hold.
func (e *ResponseError) Unwrap() error { return ErrRejected }

// clientIDInUse is the errorMessage of Appendix B.2.
const clientIDInUse = "client_id already attached"

// EventKind says what happened to a lease.
type EventKind uint8

// Event kinds. After Revoked, LeaseLost, ProducerRevoked, DriverLost and
// DriverShutdown the lease is not usable; Attached, Reattached and
// EpochChanged make it usable again with the Info they carry.
const (
	// EventAttached: the first OK response; Info is the lease.
	EventAttached EventKind = iota + 1
	// EventReattached: an OK after the lease was lost; Info carries the new
	// lease id, epoch and URIs: remap.
	EventReattached
	// EventAttachFailed: an attempt failed (Err says how); the lease backs
	// off and tries again unless the failure was final.
	EventAttachFailed
	// EventRevoked: ShmLeaseRevoked for this lease; Reason and Message are
	// the driver's. The lease reattaches.
	EventRevoked
	// EventLeaseLost: the client gave up the lease itself (Err: a protocol
	// error, keepalives that could not be sent, an epoch that did not
	// come, an announce showing the lease superseded). It reattaches.
	EventLeaseLost
	// EventProducerRevoked: a consumer's producer lost its lease; the
	// consumer's regions are stale until EventEpochChanged.
	EventProducerRevoked
	// EventEpochChanged: a consumer's stream has a new epoch (Info): remap.
	EventEpochChanged
	// EventDriverLost: no fresh announce of the stream for DriverTimeout,
	// or the driver is gone from the control stream. The lease reattaches
	// once a driver answers.
	EventDriverLost
	// EventDriverShutdown: ShmDriverShutdown (Shutdown, Message). The lease
	// reattaches once a driver answers.
	EventDriverShutdown
	// EventDetached: the lease ended for good (Detach finished, the first
	// attach was rejected, or the Client closed); final.
	EventDetached
	// EventMediaDriverLost: the Aeron client stopped (its media driver
	// died, shut down or timed the client out) and Config.AwaitRebind is
	// set: the lease is not usable and waits for Rebind. Err wraps
	// ErrMediaDriverLost and says why.
	EventMediaDriverLost
	// EventMediaDriverReconnected: Rebind moved the Client onto a new
	// Aeron client; the lease attaches again at once (EventReattached
	// follows when the driver answers).
	EventMediaDriverReconnected
)

var eventNames = [...]string{"", "Attached", "Reattached", "AttachFailed", "Revoked", "LeaseLost",
	"ProducerRevoked", "EpochChanged", "DriverLost", "DriverShutdown", "Detached", "MediaDriverLost",
	"MediaDriverReconnected"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && k != 0 {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", k)
}

// Event is something that happened to a lease.
type Event struct {
	Kind  EventKind
	Lease *Lease
	// Info is the lease's state after the event (nil before the first OK).
	Info     *LeaseInfo
	Reason   RevokeReason   // EventRevoked, EventProducerRevoked
	Shutdown ShutdownReason // EventDriverShutdown
	Message  string         // the driver's errorMessage, if any
	Err      error          // EventAttachFailed, EventLeaseLost, EventDriverLost
}
