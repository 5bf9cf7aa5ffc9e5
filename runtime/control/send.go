package control

import (
	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
)

// Null values of the optional fields, as the schemas define them.
const (
	NullU16 uint16 = 0xFFFF
	NullU32 uint32 = 0xFFFFFFFF
	NullU64 uint64 = 0xFFFFFFFFFFFFFFFF
)

// MaxErrorMessage is the longest errorMessage sent (Driver Model 4.2); a
// longer one is truncated.
const MaxErrorMessage = 1024

// HeaderSlotBytes is the fixed header slot size every OK response and
// announce carries (wire spec 8.1).
const HeaderSlotBytes = 256

// DefaultBufferLength is the Sender's buffer size: room for an attach
// response or announce with hundreds of pools.
const DefaultBufferLength = 64 << 10

// DefaultMaxRetries bounds the retries of one Send on back pressure or an
// admin action.
const DefaultMaxRetries = 16

// StatusEncodeFailed is returned by a Send method when the message does not
// fit the buffer (more pools or longer URIs than it can hold); nothing was
// offered.
const StatusEncodeFailed int64 = -64

// Sent reports whether a Send result is a position, i.e. the message was
// offered.
func Sent(status int64) bool { return status >= 0 }

// StatusString names a Send result.
func StatusString(status int64) string {
	if status == StatusEncodeFailed {
		return "ENCODE_FAILED"
	}
	return aeron.StatusString(status)
}

// Publication is what a Sender offers on; *aeron.Publication implements it.
type Publication interface {
	Offer(msg []byte) int64
}

// AttachRequest is ShmAttachRequest. Optional fields: PublishMode
// (driver.PublishModeNullValue when absent) and DesiredNodeID (NullU32).
type AttachRequest struct {
	CorrelationID         int64
	StreamID              uint32
	ClientID              uint32
	Role                  driver.Role
	ExpectedLayoutVersion uint32
	PublishMode           driver.PublishMode
	RequireHugepages      driver.HugepagesPolicy
	DesiredNodeID         uint32
}

// Pool is one payload pool of an attach response or announce.
type Pool struct {
	PoolID      uint16
	Nslots      uint32
	StrideBytes uint32
	RegionURI   string
}

// AttachResponse is ShmAttachResponse. With Code other than OK only
// CorrelationID, Code and ErrorMessage are sent; every optional field is
// written as null. NodeID is optional (NullU32 when not assigned);
// LeaseExpiryNs is optional (NullU64).
type AttachResponse struct {
	CorrelationID   int64
	Code            driver.ResponseCode
	LeaseID         uint64
	LeaseExpiryNs   uint64
	StreamID        uint32
	Epoch           uint64
	LayoutVersion   uint32
	HeaderNslots    uint32
	HeaderSlotBytes uint16
	NodeID          uint32
	Pools           []Pool
	HeaderURI       string
	ErrorMessage    string
}

// DetachRequest is ShmDetachRequest.
type DetachRequest struct {
	CorrelationID int64
	LeaseID       uint64
	StreamID      uint32
	ClientID      uint32
	Role          driver.Role
}

// Keepalive is ShmLeaseKeepalive.
type Keepalive struct {
	LeaseID           uint64
	StreamID          uint32
	ClientID          uint32
	Role              driver.Role
	ClientTimestampNs uint64
}

// LeaseRevoked is ShmLeaseRevoked.
type LeaseRevoked struct {
	TimestampNs  uint64
	LeaseID      uint64
	StreamID     uint32
	ClientID     uint32
	Role         driver.Role
	Reason       driver.LeaseRevokeReason
	ErrorMessage string
}

// ShutdownRequest is ShmDriverShutdownRequest.
type ShutdownRequest struct {
	CorrelationID int64
	Reason        driver.ShutdownReason
	Token         string
	ErrorMessage  string
}

// PoolAnnounce is the wire schema's ShmPoolAnnounce.
type PoolAnnounce struct {
	StreamID        uint32
	ProducerID      uint32
	Epoch           uint64
	TimestampNs     uint64
	ClockDomain     wire.ClockDomain
	LayoutVersion   uint32
	HeaderNslots    uint32
	HeaderSlotBytes uint16
	Pools           []Pool
	HeaderURI       string
}

// Sender encodes control-plane messages into one reusable buffer and
// offers them on a publication. It is for one goroutine at a time.
type Sender struct {
	pub        Publication
	buf        []byte
	maxRetries int

	attachReq   driver.ShmAttachRequestEncoder
	attachResp  driver.ShmAttachResponseEncoder
	detachReq   driver.ShmDetachRequestEncoder
	detachResp  driver.ShmDetachResponseEncoder
	keepalive   driver.ShmLeaseKeepaliveEncoder
	revoked     driver.ShmLeaseRevokedEncoder
	shutdown    driver.ShmDriverShutdownEncoder
	shutdownReq driver.ShmDriverShutdownRequestEncoder
	announce    wire.ShmPoolAnnounceEncoder
}

// NewSender returns a Sender offering on pub with a buffer of bufLen bytes
// (DefaultBufferLength when <= 0) and DefaultMaxRetries.
func NewSender(pub Publication, bufLen int) *Sender {
	if bufLen <= 0 {
		bufLen = DefaultBufferLength
	}
	return &Sender{pub: pub, buf: make([]byte, bufLen), maxRetries: DefaultMaxRetries}
}

// SetMaxRetries sets how many times one Send retries a back-pressured or
// admin-action offer (0: offer once).
func (s *Sender) SetMaxRetries(n int) { s.maxRetries = max(n, 0) }

// Publication returns the publication the sender offers on.
func (s *Sender) Publication() Publication { return s.pub }

// offer offers s.buf[:n], retrying on back pressure and admin actions.
func (s *Sender) offer(n int) int64 {
	msg := s.buf[:n]
	r := s.pub.Offer(msg)
	for i := 0; i < s.maxRetries && (r == aeron.BackPressured || r == aeron.AdminAction); i++ {
		r = s.pub.Offer(msg)
	}
	return r
}

// offerEncoded offers the n bytes an encoder's Finish reported, or returns
// StatusEncodeFailed when Finish failed: the tail every Send method shares.
func (s *Sender) offerEncoded(n int, err error) int64 {
	if err != nil {
		return StatusEncodeFailed
	}
	return s.offer(n)
}

// poolsEncoder is the payloadPools group encoder, generated once for
// ShmAttachResponse (driver schema) and once for ShmPoolAnnounce (wire).
type poolsEncoder interface {
	Next() error
	SetPoolId(uint16)
	SetPoolNslots(uint32)
	SetStrideBytes(uint32)
	SetRegionUriString(string) error
}

// encodePools writes pools into the group g (opened with len(pools)
// entries); false means the buffer is too short.
func encodePools[G poolsEncoder](g G, pools []Pool) bool {
	for i := range pools {
		p := &pools[i]
		if g.Next() != nil {
			return false
		}
		g.SetPoolId(p.PoolID)
		g.SetPoolNslots(p.Nslots)
		g.SetStrideBytes(p.StrideBytes)
		if g.SetRegionUriString(p.RegionURI) != nil {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > MaxErrorMessage {
		return s[:MaxErrorMessage]
	}
	return s
}

// SendAttachRequest encodes and offers a ShmAttachRequest.
func (s *Sender) SendAttachRequest(m *AttachRequest) int64 {
	e := &s.attachReq
	if e.WrapWithHeader(s.buf) != nil {
		return StatusEncodeFailed
	}
	e.SetCorrelationId(m.CorrelationID)
	e.SetStreamId(m.StreamID)
	e.SetClientId(m.ClientID)
	e.SetRole(m.Role)
	e.SetExpectedLayoutVersion(m.ExpectedLayoutVersion)
	e.SetPublishMode(m.PublishMode)
	e.SetRequireHugepages(m.RequireHugepages)
	e.SetDesiredNodeId(m.DesiredNodeID)
	return s.offerEncoded(e.Finish())
}

// SendAttachResponse encodes and offers a ShmAttachResponse.
func (s *Sender) SendAttachResponse(m *AttachResponse) int64 {
	e := &s.attachResp
	if e.WrapWithHeader(s.buf) != nil {
		return StatusEncodeFailed
	}
	e.SetCorrelationId(m.CorrelationID)
	e.SetCode(m.Code)
	ok := m.Code == driver.ResponseCodeOk
	if ok {
		// Wrap wrote null into every optional field; an error response
		// keeps them so.
		e.SetLeaseId(m.LeaseID)
		e.SetLeaseExpiryTimestampNs(m.LeaseExpiryNs)
		e.SetStreamId(m.StreamID)
		e.SetEpoch(m.Epoch)
		e.SetLayoutVersion(m.LayoutVersion)
		e.SetHeaderNslots(m.HeaderNslots)
		e.SetHeaderSlotBytes(m.HeaderSlotBytes)
		e.SetNodeId(m.NodeID)
		g, err := e.PayloadPools(len(m.Pools))
		if err != nil || !encodePools(g, m.Pools) {
			return StatusEncodeFailed
		}
		if e.SetHeaderRegionUriString(m.HeaderURI) != nil {
			return StatusEncodeFailed
		}
	}
	if e.SetErrorMessageString(truncate(m.ErrorMessage)) != nil {
		return StatusEncodeFailed
	}
	return s.offerEncoded(e.Finish())
}

// SendDetachRequest encodes and offers a ShmDetachRequest.
func (s *Sender) SendDetachRequest(m *DetachRequest) int64 {
	e := &s.detachReq
	if e.WrapWithHeader(s.buf) != nil {
		return StatusEncodeFailed
	}
	e.SetCorrelationId(m.CorrelationID)
	e.SetLeaseId(m.LeaseID)
	e.SetStreamId(m.StreamID)
	e.SetClientId(m.ClientID)
	e.SetRole(m.Role)
	return s.offerEncoded(e.Finish())
}

// SendDetachResponse encodes and offers a ShmDetachResponse.
func (s *Sender) SendDetachResponse(correlationID int64, code driver.ResponseCode, errorMessage string) int64 {
	e := &s.detachResp
	if e.WrapWithHeader(s.buf) != nil {
		return StatusEncodeFailed
	}
	e.SetCorrelationId(correlationID)
	e.SetCode(code)
	if e.SetErrorMessageString(truncate(errorMessage)) != nil {
		return StatusEncodeFailed
	}
	return s.offerEncoded(e.Finish())
}

// SendKeepalive encodes and offers a ShmLeaseKeepalive.
func (s *Sender) SendKeepalive(m *Keepalive) int64 {
	e := &s.keepalive
	if e.WrapWithHeader(s.buf) != nil {
		return StatusEncodeFailed
	}
	e.SetLeaseId(m.LeaseID)
	e.SetStreamId(m.StreamID)
	e.SetClientId(m.ClientID)
	e.SetRole(m.Role)
	e.SetClientTimestampNs(m.ClientTimestampNs)
	return s.offerEncoded(e.Finish())
}

// SendLeaseRevoked encodes and offers a ShmLeaseRevoked.
func (s *Sender) SendLeaseRevoked(m *LeaseRevoked) int64 {
	e := &s.revoked
	if e.WrapWithHeader(s.buf) != nil {
		return StatusEncodeFailed
	}
	e.SetTimestampNs(m.TimestampNs)
	e.SetLeaseId(m.LeaseID)
	e.SetStreamId(m.StreamID)
	e.SetClientId(m.ClientID)
	e.SetRole(m.Role)
	e.SetReason(m.Reason)
	if e.SetErrorMessageString(truncate(m.ErrorMessage)) != nil {
		return StatusEncodeFailed
	}
	return s.offerEncoded(e.Finish())
}

// SendDriverShutdown encodes and offers a ShmDriverShutdown notice.
func (s *Sender) SendDriverShutdown(timestampNs uint64, reason driver.ShutdownReason, errorMessage string) int64 {
	e := &s.shutdown
	if e.WrapWithHeader(s.buf) != nil {
		return StatusEncodeFailed
	}
	e.SetTimestampNs(timestampNs)
	e.SetReason(reason)
	if e.SetErrorMessageString(truncate(errorMessage)) != nil {
		return StatusEncodeFailed
	}
	return s.offerEncoded(e.Finish())
}

// SendShutdownRequest encodes and offers a ShmDriverShutdownRequest.
func (s *Sender) SendShutdownRequest(m *ShutdownRequest) int64 {
	e := &s.shutdownReq
	if e.WrapWithHeader(s.buf) != nil {
		return StatusEncodeFailed
	}
	e.SetCorrelationId(m.CorrelationID)
	e.SetReason(m.Reason)
	if e.SetTokenString(m.Token) != nil || e.SetErrorMessageString(truncate(m.ErrorMessage)) != nil {
		return StatusEncodeFailed
	}
	return s.offerEncoded(e.Finish())
}

// SendPoolAnnounce encodes and offers a ShmPoolAnnounce.
func (s *Sender) SendPoolAnnounce(m *PoolAnnounce) int64 {
	e := &s.announce
	if e.WrapWithHeader(s.buf) != nil {
		return StatusEncodeFailed
	}
	e.SetStreamId(m.StreamID)
	e.SetProducerId(m.ProducerID)
	e.SetEpoch(m.Epoch)
	e.SetAnnounceTimestampNs(m.TimestampNs)
	e.SetAnnounceClockDomain(m.ClockDomain)
	e.SetLayoutVersion(m.LayoutVersion)
	e.SetHeaderNslots(m.HeaderNslots)
	e.SetHeaderSlotBytes(m.HeaderSlotBytes)
	g, err := e.PayloadPools(len(m.Pools))
	if err != nil || !encodePools(g, m.Pools) {
		return StatusEncodeFailed
	}
	if e.SetHeaderRegionUriString(m.HeaderURI) != nil {
		return StatusEncodeFailed
	}
	return s.offerEncoded(e.Finish())
}
