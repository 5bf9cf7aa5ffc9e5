// Package driverclient is the client side of the SHM driver control plane
// (Driver Model spec v1.0, section 4): it attaches producers and consumers
// to streams through a driver such as tpoold, keeps their leases alive, and
// follows what the driver says about them.
//
// A [Client] owns a control publication and the control (and announce)
// subscriptions on an [aeron.Client]. Each [Client.Attach] creates a
// [Lease], a handle that runs the attach state machine of section 4.12.1
// (Unattached, Attaching, Attached, Detaching, Backoff) until
// [Client.Detach]: attach timeout and retry with backoff, keepalives every
// Config.KeepaliveInterval, ShmLeaseRevoked, ShmDriverShutdown, and driver
// loss detected from stale ShmPoolAnnounce messages. Whenever the lease
// cannot be trusted it fails closed ([Lease.Usable] turns false at once and
// an [Event] says why) and attaches again by itself; a lease that comes back
// carries a new epoch and new region URIs ([EventReattached]). A consumer's
// lease also follows the stream's announces: a higher epoch is an
// [EventEpochChanged] with the new layout.
//
// # Running it
//
// The state machine runs in [Client.DoWork], one bounded duty cycle. Call
// it from your own loop (invoker mode; then use the Client from that one
// goroutine: Attach and Detach run duty cycles themselves while they wait),
// or call [Client.Start] to run it on a goroutine of its own. Events are
// delivered to Config.OnEvent on the goroutine running DoWork; the callback
// must not block and must not call the Client's blocking methods.
//
// # Fail closed
//
// The regions of a lease may be used only while [Lease.Usable] reports
// true. Producers check it before claiming a slot (pause on revoke, remap
// and resume after EventReattached); consumers check it before reading a
// slot (remap on EventEpochChanged and EventReattached). Usable is an
// atomic load and allocates nothing.
//
// # Media driver loss
//
// When the Aeron client under a Client stops (its media driver died, shut
// down or timed it out), the Client stops for good with ErrAeronClosed,
// unless Config.AwaitRebind is set: then every lease fails closed with
// EventMediaDriverLost and waits until [Client.Rebind] hands over a new
// Aeron client, and attaches again from there (runtime/client does this).
//
// # Which driver
//
// The control and announce streams are open to every process on the media
// driver. A lease follows only the driver that granted it: announces,
// ShmLeaseRevoked and ShmDriverShutdown count for it only when they carry
// the Aeron session id of its OK attach response (or, on a separate
// announce stream, a session learned from an announce that states exactly
// the lease); the rest is dropped and counted in Stats.Foreign. tpoold
// publishes everything from one exclusive session. See source.go and
// docs/DECISIONS.md (decision 43).
//
// # Identity
//
// Correlation ids come from a per-process counter seeded at random (Appendix
// B.1); responses are matched by correlation id, and once an OK response is
// accepted duplicates are ignored. A driver accepts one active lease per
// client id, so with Config.ClientID 0 every lease gets its own id from a
// random per-process sequence, and an attach rejected with "client_id
// already attached" is retried with a new id (B.2). A fixed Config.ClientID
// allows one lease at a time.
package driverclient
