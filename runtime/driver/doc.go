// Package driver is the SHM driver of the SHM Tensor Pool protocol (Driver
// Model spec v1.0), the engine of cmd/tpoold: it owns every SHM region,
// hands out leases to producers and consumers over the Aeron control
// plane, enforces the exclusive producer rule, manages epochs and emits
// ShmPoolAnnounce.
//
// # Usage
//
//	cfg := driver.DefaultConfig()                 // section 17 defaults
//	d, err := driver.Start(ctx, cfg, logger)      // ctx bounds the start only
//	...
//	<-d.Done()  // an accepted ShmDriverShutdownRequest or a fatal error
//	err = d.Close()
//
// With Config.Driver.AeronDir empty the driver starts tpool's embedded
// media driver (runtime/aeron/mediadriver) in this process at the Aeron
// default directory ($AERON_DIR, else /dev/shm/aeron-<user>) and refuses
// to start if a live media driver is already there ([ErrMediaDriverActive]:
// set driver.aeron_dir to use it). With AeronDir set it needs a live
// external media driver there ([ErrNoMediaDriver]). A second driver on the
// same base directory and control stream id refuses to start
// ([ErrAlreadyRunning]); the lock is the flock'd file
// <base_dir>/.tpoold-<control_stream_id>.lock, removed on a clean stop.
//
// # Behaviour (Driver Model sections in brackets)
//
//   - Attach [4.2, 4.3, 4.6]: every field of ShmAttachRequest is honoured;
//     every non-OK response carries correlationId, code and errorMessage and
//     writes every optional field as null. Codes: INVALID_PARAMS (unknown
//     role or hugepages policy, clientId 0, dynamic stream without a range
//     or outside it, profile without pools), UNSUPPORTED (unknown publish
//     mode, schema version other than 1), REJECTED (second producer,
//     clientId with an active lease: "client_id already attached",
//     layout version mismatch, stream not provisioned, hugepages not
//     available or standard pages not available, desired node id in use or
//     cooling down, dynamic range exhausted, draining), INTERNAL_ERROR (the
//     regions could not be created). A repeated request (same clientId and
//     correlationId) is answered again with the same lease.
//   - Leases [4.4, 4.7, 4.8, 4.9]: lease ids are unique and never reused;
//     a valid keepalive extends the lease to keepalive interval x grace
//     intervals; an expired, detached or revoked lease gets exactly one
//     ShmLeaseRevoked (EXPIRED, DETACHED, REVOKED). Detach is idempotent: a
//     repeated detach of an invalidated lease is answered OK with no second
//     notice. Every lease gets a node id (or the one it asked for), which
//     rests for policies.node_id_reuse_cooldown after release.
//   - Epochs [6, 7, 10]: a new epoch (its own directory and regions) on
//     every producer attach and after every producer detach, expiry or
//     revoke, announced at once (the revoke goes first). Epochs are
//     CLOCK_MONOTONIC nanoseconds, at least the previous epoch + 1 and above
//     any epoch directory found at start, so they grow across restarts of
//     the driver (the monotonic clock does not restart with the process).
//   - ShmPoolAnnounce [8]: every announce period and on every change, for
//     every stream with regions, producerId the producer's clientId or 0,
//     clock domain MONOTONIC; the driver also refreshes
//     activity_timestamp_ns of the current regions at that cadence.
//   - SHM [9, wire 15.21a]: regions are created through runtime/pool in the
//     canonical layout with shm.permissions_mode (never world-accessible;
//     directories get the matching search bits and setgid when
//     group-shared), inside shm.allowed_base_dirs (checked after resolving
//     links, [ErrNotAllowed]), prefaulted (policies.prefault_shm) and
//     mlocked (policies.mlock_shm; failure stops the driver with an error
//     wrapping [ErrMlock]). requireHugepages=HUGEPAGES on a base directory
//     that is not hugetlbfs is a REJECTED attach.
//   - Garbage collection: every announce period (and at start with
//     policies.epoch_gc_on_startup) old epoch directories beyond
//     policies.epoch_gc_keep (current included) and older than
//     policies.epoch_gc_min_age are removed. At start and on the same
//     ticks, epoch directories under the namespace whose header ring names
//     a process that no longer exists and whose activity_timestamp_ns is
//     older than the minimum age (a crashed driver or no-driver producer,
//     wire spec 15.21a.7) are removed too.
//   - Streams [11]: configured streams are provisioned on their first
//     attach; with policies.allow_dynamic_streams an attach for an unknown
//     stream (id 0: any free id) gets one from driver.stream_id_range with
//     the default profile, released with its regions when its last lease
//     ends. Per-consumer descriptor and control stream ids are allocated
//     with [Driver.DescriptorStreamIDs] and [Driver.ControlStreamIDs].
//   - Shutdown [4.13]: a ShmDriverShutdownRequest whose token equals
//     policies.shutdown_token (an empty token disables it) starts a drain,
//     as Close does: attaches are refused, and once no lease is left or
//     policies.shutdown_timeout passed, the remaining leases are revoked
//     (REVOKED), a final ShmPoolAnnounce and the ShmDriverShutdown notice go
//     out, and every region file and directory the driver created is
//     removed (with the directories it created, so nothing is left in
//     /dev/shm after a clean stop).
//
// # Observability
//
// [Driver.Stats] is a snapshot of the figures; the same figures are Aeron
// counters (type [CounterTypeID], labelled "tpoold <figure>: <instance id>")
// in the media driver's CnC file, so Aeron's AeronStat lists them. Logs
// are structured (log/slog) with the instance id on every record.
//
// # Concurrency
//
// The driver runs as one agent (runtime/agent) on its own goroutine with a
// backoff idle strategy that parks up to 1 ms when idle. Stats, Close,
// Done, Err, RevokeLease and the range allocators are safe for concurrent
// use. A keepalive is handled without allocating.
package driver
