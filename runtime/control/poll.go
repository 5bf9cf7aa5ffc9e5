package control

import (
	"encoding/binary"

	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
)

// Handler receives the messages a Poller accepted. Each decoder (and the
// slices it returns) is valid only during the call. Embed [NopHandler] to
// implement only some methods.
type Handler interface {
	OnAttachRequest(m *driver.ShmAttachRequestDecoder)
	OnAttachResponse(m *driver.ShmAttachResponseDecoder)
	OnDetachRequest(m *driver.ShmDetachRequestDecoder)
	OnDetachResponse(m *driver.ShmDetachResponseDecoder)
	OnKeepalive(m *driver.ShmLeaseKeepaliveDecoder)
	OnLeaseRevoked(m *driver.ShmLeaseRevokedDecoder)
	OnDriverShutdown(m *driver.ShmDriverShutdownDecoder)
	OnShutdownRequest(m *driver.ShmDriverShutdownRequestDecoder)
	OnPoolAnnounce(m *wire.ShmPoolAnnounceDecoder)
	// OnUnsupported gets a driver-schema message (or ShmPoolAnnounce) of a
	// schema version this side does not support (newer than the codecs,
	// or 0), with its raw bytes, header included: a driver answers an
	// attach request with UNSUPPORTED (Driver Model 4.4a).
	OnUnsupported(schemaID, templateID, version uint16, msg []byte)
	// OnOther gets a message with a well-formed header of another schema,
	// or another template of the wire schema (ConsumerHello, QoS, ...
	// share the control stream in simple deployments), undecoded.
	OnOther(schemaID, templateID uint16, msg []byte)
}

// NopHandler implements Handler by ignoring everything.
type NopHandler struct{}

func (NopHandler) OnAttachRequest(*driver.ShmAttachRequestDecoder)              {}
func (NopHandler) OnAttachResponse(*driver.ShmAttachResponseDecoder)            {}
func (NopHandler) OnDetachRequest(*driver.ShmDetachRequestDecoder)              {}
func (NopHandler) OnDetachResponse(*driver.ShmDetachResponseDecoder)            {}
func (NopHandler) OnKeepalive(*driver.ShmLeaseKeepaliveDecoder)                 {}
func (NopHandler) OnLeaseRevoked(*driver.ShmLeaseRevokedDecoder)                {}
func (NopHandler) OnDriverShutdown(*driver.ShmDriverShutdownDecoder)            {}
func (NopHandler) OnShutdownRequest(*driver.ShmDriverShutdownRequestDecoder)    {}
func (NopHandler) OnPoolAnnounce(*wire.ShmPoolAnnounceDecoder)                  {}
func (NopHandler) OnUnsupported(schemaID, templateID, version uint16, _ []byte) {}
func (NopHandler) OnOther(schemaID, templateID uint16, _ []byte)                {}

// PollerStats counts what a Poller saw. Every message lands in exactly one
// of Dispatched, Malformed, UnknownTemplate, Unsupported and Other.
type PollerStats struct {
	Messages        uint64 // whole messages seen (after reassembly)
	Dispatched      uint64 // handed to a typed Handler method
	Malformed       uint64 // too short, short block, bad group or var data framing
	UnknownTemplate uint64 // driver schema, template id it does not define
	Unsupported     uint64 // schema version not supported (OnUnsupported)
	Other           uint64 // another schema or wire template (OnOther)
}

// Subscription is what a Poller polls; *aeron.Subscription implements it.
type Subscription interface {
	Poll(h aeron.FragmentHandler, limit int) int
}

// Poller validates and dispatches control-plane messages. It is for one
// goroutine at a time.
type Poller struct {
	sub   Subscription
	h     Handler
	asm   *aeron.FragmentAssembler
	frag  aeron.FragmentHandler
	drv   driver.Dispatcher
	ann   wire.ShmPoolAnnounceDecoder
	stats PollerStats
	// session is the Aeron session id of the message being handled.
	session int32
}

// reassemblyCapacity is the initial per-session reassembly buffer.
const reassemblyCapacity = 4096

// NewPoller returns a Poller reading sub (which may be nil if only
// [Poller.Handle] is used) and calling h.
func NewPoller(sub Subscription, h Handler) *Poller {
	p := &Poller{sub: sub, h: h}
	p.asm = aeron.NewFragmentAssembler(func(buf []byte, h *aeron.Header) {
		p.session = h.SessionID()
		p.Handle(buf)
		p.session = 0
	}, reassemblyCapacity)
	p.frag = p.asm.Handler()
	return p
}

// Poll reads up to limit fragments and returns how many it read.
func (p *Poller) Poll(limit int) int {
	if p.sub == nil {
		return 0
	}
	return p.sub.Poll(p.frag, limit)
}

// Stats returns the counts so far.
func (p *Poller) Stats() PollerStats { return p.stats }

// SessionID returns the Aeron session id of the message being handled: the
// publication it came from (an exclusive publication's session is its
// own; a concurrent publication's is shared by every publisher of that
// channel and stream on the media driver). Valid during a Handler call made
// by Poll; 0 for messages given to Handle directly.
func (p *Poller) SessionID() int32 { return p.session }

// Block lengths of the driver schema's messages at version 1: a message
// whose block is shorter is malformed (its fields would read as nulls).
func driverBlockLength(templateID uint16) int {
	switch templateID {
	case driver.ShmAttachRequestTemplateID:
		return driver.ShmAttachRequestBlockLength
	case driver.ShmAttachResponseTemplateID:
		return driver.ShmAttachResponseBlockLength
	case driver.ShmDetachRequestTemplateID:
		return driver.ShmDetachRequestBlockLength
	case driver.ShmDetachResponseTemplateID:
		return driver.ShmDetachResponseBlockLength
	case driver.ShmLeaseKeepaliveTemplateID:
		return driver.ShmLeaseKeepaliveBlockLength
	case driver.ShmDriverShutdownTemplateID:
		return driver.ShmDriverShutdownBlockLength
	case driver.ShmLeaseRevokedTemplateID:
		return driver.ShmLeaseRevokedBlockLength
	case driver.ShmDriverShutdownRequestTemplateID:
		return driver.ShmDriverShutdownRequestBlockLength
	}
	return -1
}

// Handle validates one whole message (header included) and dispatches it.
// Poll calls it for every reassembled message; tests and fuzzers call it
// directly. It never panics.
func (p *Poller) Handle(buf []byte) {
	p.stats.Messages++
	if len(buf) < driver.MessageHeaderEncodedLength {
		p.stats.Malformed++
		return
	}
	blockLength := int(binary.LittleEndian.Uint16(buf[0:]))
	templateID := binary.LittleEndian.Uint16(buf[2:])
	schemaID := binary.LittleEndian.Uint16(buf[4:])
	version := binary.LittleEndian.Uint16(buf[6:])
	switch schemaID {
	case driver.SchemaID:
		want := driverBlockLength(templateID)
		switch {
		case want < 0:
			p.stats.UnknownTemplate++
			return
		case version == 0 || version > driver.SchemaVersion:
			p.stats.Unsupported++
			p.h.OnUnsupported(schemaID, templateID, version, buf)
			return
		case blockLength < want:
			p.stats.Malformed++
			return
		}
		m, err := p.drv.Decode(buf)
		if err != nil {
			p.stats.Malformed++
			return
		}
		p.stats.Dispatched++
		switch d := m.(type) {
		case *driver.ShmAttachRequestDecoder:
			p.h.OnAttachRequest(d)
		case *driver.ShmAttachResponseDecoder:
			p.h.OnAttachResponse(d)
		case *driver.ShmDetachRequestDecoder:
			p.h.OnDetachRequest(d)
		case *driver.ShmDetachResponseDecoder:
			p.h.OnDetachResponse(d)
		case *driver.ShmLeaseKeepaliveDecoder:
			p.h.OnKeepalive(d)
		case *driver.ShmLeaseRevokedDecoder:
			p.h.OnLeaseRevoked(d)
		case *driver.ShmDriverShutdownDecoder:
			p.h.OnDriverShutdown(d)
		case *driver.ShmDriverShutdownRequestDecoder:
			p.h.OnShutdownRequest(d)
		}
	case wire.SchemaID:
		if templateID != wire.ShmPoolAnnounceTemplateID {
			p.stats.Other++
			p.h.OnOther(schemaID, templateID, buf)
			return
		}
		switch {
		case version == 0 || version > wire.SchemaVersion:
			p.stats.Unsupported++
			p.h.OnUnsupported(schemaID, templateID, version, buf)
			return
		case blockLength < wire.ShmPoolAnnounceBlockLength:
			p.stats.Malformed++
			return
		}
		if p.ann.WrapWithHeader(buf) != nil {
			p.stats.Malformed++
			return
		}
		p.stats.Dispatched++
		p.h.OnPoolAnnounce(&p.ann)
	default:
		p.stats.Other++
		p.h.OnOther(schemaID, templateID, buf)
	}
}
