package driverclient

import (
	"fmt"

	"github.com/tpool-go/tpool/gen/wire"
)

// Which messages come from the driver that granted a lease.
//
// The control and announce streams are open to every process on the media
// driver: anyone can publish a ShmPoolAnnounce with a higher epoch, or a
// ShmLeaseRevoked, for a stream. A lease therefore follows only the driver
// that granted it, recognised by the Aeron session id its messages carry
// (DECISIONS.md 43):
//
//   - The OK attach response names the driver's session (driverSession).
//     Announces and lease events (ShmLeaseRevoked, ShmDriverShutdown) for
//     an attached lease count only from that session.
//   - tpoold publishes control and announces from exclusive publications
//     that share one session id, so its announces carry driverSession on a
//     separate announce stream too, and no other process can publish on
//     that session (the media driver refuses a clashing session-id).
//   - A driver that announces on a separate stream from another session
//     (tensor_pool_c's tp_driver: one concurrent publication per stream) is
//     learned on first use: the first announce on the announce stream whose
//     epoch, layout and regions are exactly the lease's pins its session
//     until the next attach. An announce from driverSession on that stream
//     overrides the pin for good. Until a source is known, a higher epoch
//     announced there by anyone makes a consumer lease ask the driver
//     again (a reattach, at most once per DriverTimeout): the driver may
//     have moved on before the lease heard an announce to learn from.
//
// Everything else for the lease's stream is dropped and counted
// (Stats.Foreign): it neither changes the lease nor counts as a sign of
// the driver's life.

// fromDriver reports whether a message for l that arrived from session (on
// the separate announce stream if annStream) comes from l's driver.
func (l *Lease) fromDriver(session int32, annStream bool) bool {
	if session == l.driverSession {
		if annStream && !l.driverAnn {
			l.driverAnn, l.annPinned = true, false
		}
		return true
	}
	return annStream && l.annPinned && session == l.annSession
}

// learnAnnouncer pins session as l's announce source when d, which came on
// the separate announce stream, states exactly what l holds and no source
// is known yet.
func (c *Client) learnAnnouncer(l *Lease, info *LeaseInfo, session int32, d *wire.ShmPoolAnnounceDecoder) bool {
	if l.annPinned || l.driverAnn || d.Epoch() != info.Epoch || d.LayoutVersion() != info.LayoutVersion ||
		d.HeaderNslots() != info.HeaderNslots {
		return false
	}
	ni, err := c.parseAnnounce(d, info)
	if err != nil || ni.HeaderURI != info.HeaderURI || len(ni.Pools) != len(info.Pools) {
		return false
	}
	for i := range ni.Pools {
		if ni.Pools[i] != info.Pools[i] {
			return false
		}
	}
	l.annSession, l.annPinned = session, true
	c.log.Info("announce source learned", "stream", info.StreamID, "session", session, "driver_session", l.driverSession)
	return true
}

// maybeConfirm asks the driver again when a consumer lease hears a higher
// epoch on the separate announce stream from a source it cannot place yet
// (no announce from the driver's session and none learned): a driver such
// as tp_driver may have moved the stream on before its first announce the
// lease could learn from. The answer to a new attach is authoritative
// (Driver Model 8); at most one such reattach per DriverTimeout per lease,
// so a stream of hostile announces costs a short pause that often at most.
func (c *Client) maybeConfirm(l *Lease, info *LeaseInfo, epoch uint64, session int32, annStream bool, now int64) {
	if !annStream || info.Role != RoleConsumer || epoch <= info.Epoch || l.annPinned || l.driverAnn || now-l.nextConfirm < 0 {
		return
	}
	l.nextConfirm = now + int64(c.cfg.DriverTimeout)
	c.loseLease(l, now, Event{Kind: EventLeaseLost, Err: fmt.Errorf("stream %d announced at epoch %d above the lease's %d by session %d, not yet known as the driver's: %w",
		info.StreamID, epoch, info.Epoch, session, ErrUnconfirmed)}, true)
	l.deadline = now // attach again at once
}

// resetSource forgets what l knew of its driver's sessions (a new grant).
func (l *Lease) resetSource(session int32) {
	l.driverSession, l.annSession, l.annPinned, l.driverAnn = session, 0, false, false
}
