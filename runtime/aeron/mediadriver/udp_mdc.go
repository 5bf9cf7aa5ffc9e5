package mediadriver

import (
	"net/netip"
	"slices"

	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/uri"
)

// Manual multi-destination-cast (control-mode=manual): the publication's
// send endpoint sends every datagram to each destination a client added
// with AddDestination ("aeron:udp?endpoint=host:port"); the receivers are
// plain unicast subscriptions answering to the endpoint's socket. Dynamic
// MDC (destinations learned from status messages sent to control=) is not
// implemented.

// onDestination adds or removes a destination of a manual MDC publication.
func (c *conductor) onDestination(m command.DestinationMessage, add bool) error {
	var pub *networkPublication
	if cl := c.clients[m.ClientID]; cl != nil {
		for _, l := range cl.pubs {
			if l.registrationID == m.RegistrationID && l.net != nil {
				pub = l.net
			}
		}
	}
	if pub == nil {
		return cmdErr(command.ErrorUnknownPublication, "unknown publication registration id %d", m.RegistrationID)
	}
	if !pub.ep.mdc {
		return cmdErr(command.ErrorGenericError, "%s: destinations need control-mode=manual", pub.channel)
	}
	u, err := uri.Parse(m.Channel)
	if err != nil || u.Media != uri.MediaUDP {
		return cmdErr(command.ErrorInvalidChannel, "destination %q: want aeron:udp?endpoint=host:port", m.Channel)
	}
	ep, ok := u.Params["endpoint"]
	if !ok {
		return cmdErr(command.ErrorInvalidChannel, "destination %q has no endpoint", m.Channel)
	}
	to, err := resolveLocal(ep, c.udp.shared.cfg.LoopbackOnly, false)
	if err != nil {
		return cmdErr(command.ErrorGenericError, "destination %q: %v", m.Channel, err)
	}
	old := *pub.ep.dests.Load()
	i := slices.Index(old, to)
	var dests []netip.AddrPort
	switch {
	case add && i >= 0:
	case add:
		dests = append(slices.Clone(old), to)
	case i < 0:
		return cmdErr(command.ErrorGenericError, "destination %q is not one of %s", m.Channel, pub.channel)
	default:
		dests = slices.Delete(slices.Clone(old), i, i+1)
	}
	if dests != nil || !add {
		pub.ep.dests.Store(&dests)
	}
	c.sendSuccess(m.CorrelationID)
	return nil
}
