// Package aeron is tpool's pure-Go Aeron client. It speaks the Aeron client
// protocol (CnC version 0.2.0) to a media driver, either a real Aeron driver
// (C aeronmd or Java) or tpool's embedded driver in runtime/aeron/mediadriver,
// and offers publications, subscriptions, images and counters.
//
// # Usage
//
//	c, err := aeron.Connect(ctx, aeron.Config{})       // $AERON_DIR or /dev/shm/aeron-<user>
//	pub, err := c.AddPublication(ctx, "aeron:ipc?term-length=4m", 1000)
//	sub, err := c.AddSubscription(ctx, "aeron:ipc", 1000)
//	pos := pub.Offer(msg)                               // >0 new position, <0 a status
//	n := sub.Poll(handler, 10)
//
// Offer, TryClaim and Poll never block and never allocate; they return
// Aeron-style status values (NotConnected, BackPressured, AdminAction,
// Closed, MaxPositionExceeded) so a caller can retry in its own loop. The
// calls that talk to the driver (Connect, Add..., Close) block and take a
// context.
//
// # Concurrency
//
// Publication.Offer and TryClaim may be called from several goroutines
// (ExclusivePublication from one). A Subscription is polled by one goroutine.
// The client runs one goroutine of its own (the client conductor) which
// reads driver responses, keeps the client alive and watches the driver's
// heartbeat; Client.Close stops it.
//
// # Caveats
//
// Buffers handed to fragment handlers and BufferClaim.Buffer alias shared
// memory and are valid only during the call (or until Commit/Abort). Log
// buffers of closed publications and unavailable images stay mapped for a
// linger period (Config.ResourceLinger) so a concurrent Offer or Poll never
// touches unmapped memory; calling Offer or Poll concurrently with
// Client.Close is not supported.
package aeron
