package driverclient

import (
	"encoding/binary"

	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/control"
)

// The Client is the control.Handler of its pollers: what the control and
// announce streams carry arrives here, validated and decoded, on the
// goroutine running DoWork.
var _ control.Handler = (*Client)(nil)

// OnAttachResponse implements control.Handler.
func (c *Client) OnAttachResponse(m *driver.ShmAttachResponseDecoder) { c.onAttachResponse(m, false) }

// OnDetachResponse implements control.Handler.
func (c *Client) OnDetachResponse(m *driver.ShmDetachResponseDecoder) { c.onDetachResponse(m, false) }

// OnLeaseRevoked implements control.Handler.
func (c *Client) OnLeaseRevoked(m *driver.ShmLeaseRevokedDecoder) { c.onRevoked(m, false) }

// OnDriverShutdown implements control.Handler.
func (c *Client) OnDriverShutdown(m *driver.ShmDriverShutdownDecoder) { c.onShutdown(m, false) }

// OnPoolAnnounce implements control.Handler.
func (c *Client) OnPoolAnnounce(m *wire.ShmPoolAnnounceDecoder) { c.onAnnounce(m) }

// Requests and keepalives (every client's travel on the same stream) are
// none of a client's business.

// OnAttachRequest implements control.Handler.
func (c *Client) OnAttachRequest(*driver.ShmAttachRequestDecoder) {}

// OnDetachRequest implements control.Handler.
func (c *Client) OnDetachRequest(*driver.ShmDetachRequestDecoder) {}

// OnKeepalive implements control.Handler.
func (c *Client) OnKeepalive(*driver.ShmLeaseKeepaliveDecoder) {}

// OnShutdownRequest implements control.Handler.
func (c *Client) OnShutdownRequest(*driver.ShmDriverShutdownRequestDecoder) {}

// OnOther implements control.Handler.
func (c *Client) OnOther(uint16, uint16, []byte) {}

// OnUnsupported implements control.Handler: a driver message with a schema
// version above ours (section 4.4a) is rejected; when it is the answer to
// one of our attaches or revokes one of our leases, that lease fails closed
// (section 4.7a). Only the leading fixed fields, whose offsets no version
// may move, are read.
func (c *Client) OnUnsupported(schemaID, templateID, version uint16, msg []byte) {
	c.stats.protocolErrors.Add(1)
	if schemaID != driver.SchemaID {
		return
	}
	body := msg[driver.MessageHeaderEncodedLength:]
	switch templateID {
	case driver.ShmAttachResponseTemplateID:
		if len(body) < 8 {
			return
		}
		corr := int64(binary.LittleEndian.Uint64(body))
		for _, l := range c.leases {
			if s := l.State(); (s == Attaching || s == Backoff) && corr != 0 && (corr == l.corr || corr == l.prevCorr) {
				c.attemptFailed(l, c.now, protoErr("attach response schema version %d above %d", version, driver.SchemaVersion))
				return
			}
		}
	case driver.ShmLeaseRevokedTemplateID:
		if len(body) < 16 {
			return
		}
		leaseID := binary.LittleEndian.Uint64(body[8:])
		session, annStream := c.tr.source()
		for _, l := range c.leases {
			if l.State() == Attached && l.info.Load().LeaseID == leaseID && l.fromDriver(session, annStream) {
				c.loseLease(l, c.now, Event{Kind: EventLeaseLost,
					Err: protoErr("ShmLeaseRevoked for this lease with schema version %d", version)}, true)
			}
		}
	case driver.ShmDriverShutdownTemplateID:
		c.shutdownAll(driver.ShutdownReasonNullValue, "")
	}
}
