// Package client is what producer and consumer programs use: one Client per
// process connects to Aeron and to the SHM driver (tpoold), and makes
// Producers and Consumers of tensor streams in driver mode (Driver Model
// spec v1.0, section 4.12; wire spec v1.2).
//
// A Producer attaches a producer lease, maps the stream's regions and
// writes frames into them: OfferFrame copies a payload, TryClaim hands out a
// slot to fill in place (then Commit or Abort). Each frame is published with
// the seqlock of runtime/pool and announced with a FrameDescriptor on the
// descriptor stream; the regions' activity timestamps are refreshed twice
// per announce period. When the driver revokes the lease, expires it, shuts
// down or is lost, the producer pauses (offers return ErrPaused and write
// nothing) until the driver client has reattached; the next offer then
// maps the new epoch's regions and goes on.
//
// A Consumer attaches a consumer lease, maps the regions read-only (only
// inside the allowed base directories) and reads the frames its descriptors
// name, applying every validation of runtime/pool. It remaps whenever the
// driver client reports a new epoch or a reattached lease, and reads nothing
// while its lease is not usable. Frames are delivered to a handler (Poll,
// Run) or pulled one at a time (Next). Every descriptor ends up counted in
// ConsumerStats: accepted, dropped by reason, or (frames overwritten before
// the consumer joined) before-join, which is not loss.
//
// # How long views stay valid
//
// A FrameView and the slices it hands out alias shared memory. They are
// valid until the handler returns (or until the next Next, Poll or Close).
// The producer may overwrite the slot at any time: read what you need, then
// call FrameView.Verify, and discard what you computed if it reports false.
// Copy anything that must outlive the view.
//
// # Running it
//
// By default the Client runs the driver client's duty cycle and the
// producers' heartbeats on goroutines of its own. With Config.Invoker the
// application runs them by calling Client.DoWork from its loop (Consumer.Next
// and Consumer.Run do it while they wait). Steady-state offers, claims,
// commits and polls allocate nothing.
//
// # Driver loss
//
// When the Aeron media driver goes (tpoold embeds one by default, so
// stopping or killing tpoold takes it too), the Client fails every lease
// closed, waits for a live media driver in the same directory, connects a
// new Aeron client, moves the Producers' and Consumers' descriptor streams
// onto it and lets the driver client reattach: producers resume after
// ErrPaused and consumers remap to the new epoch, by themselves. The driver
// client's events say so (EventMediaDriverLost,
// EventMediaDriverReconnected, then EventReattached); ReconnectStats counts
// it. Config.NoReconnect turns it off.
//
// # Per-consumer streams, RATE_LIMITED mode and QoS
//
// Consumers send ConsumerHello (their mode, max_rate_hz and whether they
// want per-consumer streams) after attaching and every
// Config.QoSInterval; the producer of the stream answers with
// ConsumerConfig, granting per-consumer descriptor and control streams
// from Config.PerConsumerDescriptorStreams and PerConsumerControlStreams
// or declining. A ModeRateLimited consumer on its own stream is paced by
// the producer at ConsumerConfig.MaxRateHz (ConsumerStats.Paced); one on
// the shared stream drops the surplus itself (ConsumerStats.RateLimited);
// neither is loss. Producers forget consumers silent for 5 QoS intervals.
// QosProducer and QosConsumer go out every interval on the QoS stream.
// See Consumer.PeerStatus and Producer.PeerStats, and docs/CLIENT.md.
//
// # No-driver mode
//
// With Config.NoDriver there is no SHM driver and no lease: a Producer
// creates its stream's regions itself and publishes ShmPoolAnnounce on the
// announce stream (1001) at once, every announce period and when a first
// consumer subscribes, and removes the regions on Close; a Consumer maps
// what the freshest valid announce of the highest epoch names (only inside
// its allowed directories, with every check of runtime/pool), remaps on a
// newer epoch and unmaps a producer that stopped announcing. The same
// OfferFrame, TryClaim, Poll, Next and Run apply; Consumer.Status reports
// the announces seen and the payload fallback URI's status. An Aeron media
// driver is still needed. See nodriver.go and docs/CLIENT.md.
//
// # Metadata
//
// A Producer describes its stream with SetSource (DataSourceAnnounce),
// PublishMeta (DataSourceMeta attributes) and PublishBlob (large items as
// MetaBlob messages with a CRC32C), on the metadata stream; each change is
// a new meta_version that the frames published afterwards carry, and
// everything is repeated every ProducerConfig.MetaPeriod for consumers that
// join late. In a handler, FrameView.Meta returns the metadata of the
// frame's meta_version (nil until it arrived); like the view, it is valid
// until the handler returns.
//
// # Claim queues and FrameProgress
//
// With ProducerConfig.MaxClaims several claims may be open at once, for
// devices that fill slots in parallel; descriptors still go out in
// sequence order. With ProducerConfig.Progress claims send FrameProgress
// hints (STARTED, throttled PROGRESS via Producer.Progress, COMPLETE) on
// the shared control stream and on the own control stream of each
// consumer that has one and supports progress; ConsumerConfig.OnProgress
// receives them, each once.
//
// # Not yet implemented
//
// Payload fallback (fallback URIs are checked and reported only), reading
// the filled prefix of an unfinished frame.
package client
