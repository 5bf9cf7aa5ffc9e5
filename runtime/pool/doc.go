// Package pool moves tensors between processes through shared memory: a
// producer writes each frame in place into a payload pool and publishes it
// in a header ring; consumers map the same files read-only and read the
// frame in place, checking it was not overwritten meanwhile.
//
// # Getting started
//
// A producer creates a stream (no driver needed), claims a slot, fills it
// through a typed view and commits it:
//
//	s, err := pool.CreateStream(pool.StreamConfig{
//		BaseDir: pool.DefaultBaseDir, StreamID: 10000, NSlots: 256,
//		Pools: []pool.PoolConfig{{ID: 1, StrideBytes: 4096}},
//	})
//	// handle err; defer s.Remove(); defer s.Close()
//	h, _ := pool.NewTensorHeader(pool.Float32, pool.RowMajor, 2, 3)
//	c, _ := s.Producer().Claim(int(h.Len()) * 4)
//	w, _ := pool.NewView[float32](c.Payload, &h)
//	w.Set(42, 1, 2)
//	err = s.Producer().Commit(&c, &pool.FrameMeta{Tensor: h})
//
// It hands s.Announcement() to consumers (a driver, or runtime/client in
// no-driver mode, sends it as a ShmPoolAnnounce over Aeron). A consumer
// maps it, checked against the directories it allows, and reads frames by
// sequence number:
//
//	allow, _ := pool.NewAllowList(pool.DefaultBaseDir)
//	at, err := pool.Attach(a, allow, 0)
//	// handle err; defer at.Close()
//	f, r := at.Consumer.Read(a.Epoch, seq)  // r != pool.DropNone: dropped, with the reason
//	v, _ := pool.NewView[float32](f.Payload, &f.Tensor)
//	x := v.At(1, 2)
//	if at.Consumer.Verify(&f) != pool.DropNone { /* overwritten while read: discard x */ }
//
// The package Example runs exactly this in one process;
// examples/nodriver has it as two programs (through runtime/client's
// no-driver mode, which adds the announces and descriptors over Aeron). A producer that commits
// regularly keeps its regions fresh by itself (see [Producer.Commit]); one
// that idles calls [Producer.Heartbeat] at least once a second. An
// allowed base directory need not exist yet (see [AllowList]). A producer
// that crashes leaves its epoch directory behind; [RemoveStale] removes
// such directories. docs/SHM.md is the design note, including the setup
// for several users on one machine.
//
// # Protocol
//
// The package implements the shared-memory data plane of the SHM Tensor
// Pool wire spec v1.2 (sections 6 to 9 and 15.1 to 15.22; docs/SPECS.md
// links it): the region superblock, the header ring of 256-byte slots, the
// payload pools, the seqlock commit protocol on seq_commit, the consumer's
// validation and drop accounting, shm:file URIs, the canonical file layout
// with its path containment rules, and typed zero-copy tensor views. Where
// the spec leaves a choice, docs/DECISIONS.md says what tpool does.
//
// A [Producer] owns a header ring and its payload pools: [Producer.Claim]
// picks the smallest pool that fits a frame and marks its slot in progress,
// the caller fills [Claim.Payload] in place, and [Producer.Commit] writes the
// slot header and publishes the frame. It never waits for consumers.
//
// A [Consumer] maps the same regions read-only (after [AllowList.Open] has
// checked where they are) and, given the sequence number of a frame, reads
// its slot with [Consumer.Read]. Every rule a slot can break is a
// [DropReason]; drops are counted ([ConsumerStats]), never returned as
// errors.
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
