// Package pool implements the shared-memory data plane of the SHM Tensor
// Pool protocol (wire spec v1.2, sections 6 to 9 and 15.1 to 15.22): the
// region superblock, the header ring of 256-byte slots, the payload pools,
// the seqlock commit protocol on seq_commit, the consumer's validation and
// drop accounting, shm:file URIs, the canonical file layout with its path
// containment rules, and typed zero-copy tensor views.
//
// A [Producer] owns a header ring and its payload pools: [Producer.Claim]
// picks the smallest pool that fits a frame and marks its slot in progress,
// the caller fills [Claim.Payload] in place, and [Producer.Commit] writes the
// slot header and publishes the frame. It never waits for consumers.
//
// A [Consumer] maps the same regions read-only (after [AllowList.Open] has
// checked where they are) and, given the sequence number of a frame, reads
// its slot with [Consumer.Read]. Every rule a slot can break is a
// [DropReason]; drops are counted, never returned as errors.
//
// # How long views stay valid
//
// [Frame.Payload], [View] values and the slices they hand out alias the
// mapped payload pool. They stay addressable until the region is closed;
// after that, touching them faults. Their contents are only trustworthy
// until the producer reuses the slot, which it may do at any time: read the
// payload, then call [Consumer.Verify]; if it reports a drop, discard
// whatever was computed from the payload. Copy what must outlive that.
//
// # Caveats
//
// Everything a consumer derives from a slot is checked against the
// layout it validated when mapping (nslots, strides, sizes), which it never
// re-reads, so no slot content can make it index outside its mappings. A
// process that can write the region file can still truncate it; touching a
// page past the new end then raises SIGBUS, which Go reports as a fatal
// fault. Keep region files writable only by trusted producers (the default
// modes and the containment checks exist for that).
//
// Byte-level access to the three SBE structures stored in shared memory is
// confined to superblock.go, slotheader.go and tensorheader.go.
package pool
