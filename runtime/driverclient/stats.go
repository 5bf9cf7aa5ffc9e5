package driverclient

import "sync/atomic"

type stats struct {
	attachesSent, attached, reattaches, rejections atomic.Uint64
	keepalives, keepaliveFailures                  atomic.Uint64
	revoked, leasesLost, shutdowns, epochChanges   atomic.Uint64
	announces, staleAnnounces, foreign             atomic.Uint64
	protocolErrors, dropped, ignoredResponses      atomic.Uint64
	mediaDriverLost, rebinds                       atomic.Uint64
}

// Stats counts what a Client did and saw.
type Stats struct {
	AttachesSent, Attached, Reattaches, Rejections uint64
	Keepalives, KeepaliveFailures                  uint64
	Revoked, LeasesLost, Shutdowns, EpochChanges   uint64
	Announces, StaleAnnounces                      uint64
	// Foreign counts announces and lease events for a held lease's stream
	// that did not come from the driver that granted the lease (another
	// Aeron session): dropped.
	Foreign uint64
	// ProtocolErrors counts driver messages that broke a rule; Dropped,
	// messages that were not decodable; IgnoredResponses, attach responses
	// for no attempt of this client (other clients', duplicates).
	ProtocolErrors, Dropped, IgnoredResponses uint64
	// MediaDriverLost counts Aeron clients lost with Config.AwaitRebind;
	// Rebinds, the new ones taken over.
	MediaDriverLost, Rebinds uint64
}

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{
		AttachesSent: s.attachesSent.Load(), Attached: s.attached.Load(), Reattaches: s.reattaches.Load(),
		Rejections: s.rejections.Load(), Keepalives: s.keepalives.Load(), KeepaliveFailures: s.keepaliveFailures.Load(),
		Revoked: s.revoked.Load(), LeasesLost: s.leasesLost.Load(), Shutdowns: s.shutdowns.Load(),
		EpochChanges: s.epochChanges.Load(), Announces: s.announces.Load(), StaleAnnounces: s.staleAnnounces.Load(), Foreign: s.foreign.Load(),
		ProtocolErrors: s.protocolErrors.Load(), Dropped: s.dropped.Load(), IgnoredResponses: s.ignoredResponses.Load(),
		MediaDriverLost: s.mediaDriverLost.Load(), Rebinds: s.rebinds.Load(),
	}
}
