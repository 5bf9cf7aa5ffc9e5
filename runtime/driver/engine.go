package driver

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

	gdriver "github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/agent"
	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/pool"
)

// Error messages of attach and detach responses. "client_id already
// attached" is the exact text Appendix B.2 tells auto-assigning clients to
// look for.
const (
	msgClientAttached   = "client_id already attached"
	msgProducerAttached = "producer already attached"
	msgNotProvisioned   = "stream not provisioned"
	msgLayoutMismatch   = "layout version mismatch"
	msgShuttingDown     = "driver shutting down"
)

// lease is one active lease.
type lease struct {
	id       uint64
	stream   *stream
	clientID uint32
	role     gdriver.Role
	nodeID   uint32
	expiry   int64 // engine clock, ns
	corrID   int64 // of the attach request that created it
}

// stream is the state of one stream id.
type stream struct {
	id        uint32
	profile   Profile
	dynamic   bool
	hugepages bool
	cur       *epochSHM // nil until the first attach
	producer  *lease
	leases    int
}

// revokedKey remembers an invalidated lease, so a repeated detach is
// answered OK without a second ShmLeaseRevoked.
type revokedKey struct {
	streamID, clientID uint32
	role               gdriver.Role
}

const recentRevokedMax = 4096

type drainState int

const (
	running drainState = iota
	draining
	stopped
)

// engine is the driver's state machine: the control-plane handler, the
// lease table, the streams and their epochs. Everything runs on one
// goroutine (the agent's), except Stats (atomics) and commands (a channel).
type engine struct {
	control.NopHandler
	cfg     Config
	log     *slog.Logger
	ctl     *control.Sender
	ann     *control.Sender
	poller  *control.Poller
	clock   func() int64 // monotonic ns
	wall    func() time.Time
	tree    *shmTree
	m       *metrics
	streams map[uint32]*stream

	leases    map[uint64]*lease
	byClient  map[uint32]*lease
	nodeInUse map[uint32]bool
	cooldown  map[uint32]int64 // node id -> reusable at
	recent    map[uint64]revokedKey
	recentQ   []uint64

	nextLeaseID uint64
	nextNodeID  uint32
	lastEpoch   uint64
	dynamic     *RangeAllocator

	leaseTTL       int64
	nextAnnounce   int64
	nextExpiry     int64
	nextGC         int64
	expiryInterval int64

	state          drainState
	drainDeadline  int64
	shutdownReason gdriver.ShutdownReason
	shutdownMsg    string
	fatal          error
	cmds           chan func(*engine)

	resp    control.AttachResponse
	dropped uint64 // poller drops already counted
}

func newEngine(cfg Config, log *slog.Logger, ctl, ann control.Publication, sub control.Subscription, tree *shmTree, m *metrics, clock func() int64, wall func() time.Time) *engine {
	e := &engine{cfg: cfg, log: log, clock: clock, wall: wall, tree: tree, m: m,
		streams: map[uint32]*stream{}, leases: map[uint64]*lease{}, byClient: map[uint32]*lease{},
		nodeInUse: map[uint32]bool{}, cooldown: map[uint32]int64{}, recent: map[uint64]revokedKey{},
		cmds: make(chan func(*engine), 64), nextNodeID: 1}
	e.ctl = control.NewSender(ctl, 0)
	e.ann = e.ctl
	if ann != ctl {
		e.ann = control.NewSender(ann, 0)
	}
	e.poller = control.NewPoller(sub, e)
	e.leaseTTL = int64(cfg.Policies.LeaseKeepaliveInterval) * int64(cfg.Policies.LeaseExpiryGraceIntervals)
	e.expiryInterval = max(int64(cfg.Policies.LeaseKeepaliveInterval)/10, int64(time.Millisecond))
	if r := cfg.Driver.StreamIDRange; r.Len() > 0 {
		e.dynamic = NewRangeAllocator(r)
	}
	for _, sc := range cfg.Streams {
		p, _ := cfg.Profile(sc.Profile)
		e.streams[sc.StreamID] = &stream{id: sc.StreamID, profile: p}
	}
	// Epochs only grow: above CLOCK_MONOTONIC (which a restarted driver's
	// clock has passed too) and above every epoch directory left behind.
	e.lastEpoch = tree.maxEpoch()
	// Lease ids are unique for the process's life and never reused; seeding
	// them from the clock keeps a restarted driver's ids apart as well.
	e.nextLeaseID = uint64(pool.MonotonicNow())
	now := clock()
	e.nextAnnounce, e.nextExpiry, e.nextGC = now, now+e.expiryInterval, now+int64(cfg.Policies.AnnouncePeriod)
	return e
}

// ---- the duty cycle ----

// doWork polls the control stream and runs the timers.
func (e *engine) doWork() int {
	work := 0
	for {
		select {
		case f := <-e.cmds:
			f(e)
			work++
			continue
		default:
		}
		break
	}
	if n := e.poller.Poll(16); n > 0 {
		work += n
		e.countDropped()
	}
	work += e.onTimers(e.clock())
	return work
}

// countDropped adds the messages the poller dropped as malformed or of an
// unknown driver template since the last call to the protocol errors.
func (e *engine) countDropped() {
	st := e.poller.Stats()
	if n := st.Malformed + st.UnknownTemplate; n != e.dropped {
		e.m.protocolErrors.add(int64(n - e.dropped))
		e.dropped = n
	}
}

// onTimers expires leases, announces, collects garbage and ends a drain.
func (e *engine) onTimers(now int64) int {
	work := 0
	if now >= e.nextExpiry {
		work += e.expireLeases(now)
		for id, t := range e.cooldown {
			if now >= t {
				delete(e.cooldown, id)
			}
		}
		e.nextExpiry = now + e.expiryInterval
	}
	if now >= e.nextAnnounce {
		for _, st := range e.streams {
			e.announce(st)
		}
		e.refreshActivity()
		e.nextAnnounce = now + int64(e.cfg.Policies.AnnouncePeriod)
		work++
	}
	if e.cfg.Policies.EpochGCEnabled && now >= e.nextGC {
		e.gc()
		e.nextGC = now + int64(e.cfg.Policies.AnnouncePeriod)
	}
	if e.state == draining && (len(e.leases) == 0 || now >= e.drainDeadline) {
		e.finish()
		work++
	}
	return work
}

// refreshActivity stamps activity_timestamp_ns of every current region at
// the announce cadence (wire spec 7.1; Driver Model 3 lets the driver do
// it).
func (e *engine) refreshActivity() {
	ts := pool.MonotonicNow()
	for _, st := range e.streams {
		if st.cur != nil {
			for _, r := range st.cur.regions {
				r.SetActivity(ts)
			}
		}
	}
}

func (e *engine) expireLeases(now int64) int {
	n := 0
	for _, l := range e.leases {
		if now > l.expiry {
			e.log.Info("lease expired", "lease", l.id, "stream", l.stream.id, "client", l.clientID, "role", l.role.String())
			e.invalidate(l, gdriver.LeaseRevokeReasonExpired, "lease expired")
			n++
		}
	}
	return n
}

func (e *engine) gc() {
	keep := int(e.cfg.Policies.EpochGCKeep)
	now := e.wall()
	if n := e.tree.cleanupDead(e.cfg.Policies.EpochGCMinAge); n > 0 {
		e.m.gcRemoved.add(int64(n))
		e.log.Info("removed epoch directories of dead processes", "count", n)
	}
	for _, st := range e.streams {
		var cur uint64
		if st.cur != nil {
			cur = st.cur.epoch
		}
		if n := e.tree.gcStream(st.id, cur, keep, e.cfg.Policies.EpochGCMinAge, now); n > 0 {
			e.m.gcRemoved.add(int64(n))
			e.log.Debug("epoch gc", "stream", st.id, "removed", n)
		}
	}
}

// ---- outgoing messages ----

func (e *engine) sent(status int64, what string) {
	if !control.Sent(status) {
		e.m.sendFailures.add(1)
		e.log.Debug("control message not sent", "message", what, "status", control.StatusString(status))
	}
}

func (e *engine) announce(st *stream) {
	if st.cur == nil {
		return
	}
	a := &st.cur.ann
	a.ProducerID = 0
	if st.producer != nil {
		a.ProducerID = st.producer.clientID
	}
	a.TimestampNs = pool.MonotonicNow()
	a.ClockDomain = wire.ClockDomainMonotonic
	s := e.ann.SendPoolAnnounce(a)
	if control.Sent(s) {
		e.m.announcesSent.add(1)
	}
	e.sent(s, "ShmPoolAnnounce")
}

func (e *engine) reject(corrID int64, code gdriver.ResponseCode, msg string) {
	switch code {
	case gdriver.ResponseCodeUnsupported:
		e.m.rejUnsupported.add(1)
	case gdriver.ResponseCodeInvalidParams:
		e.m.rejInvalid.add(1)
	case gdriver.ResponseCodeRejected:
		e.m.rejRejected.add(1)
	default:
		e.m.rejInternal.add(1)
	}
	e.log.Debug("attach rejected", "correlation_id", corrID, "code", code.String(), "reason", msg)
	e.resp = control.AttachResponse{CorrelationID: corrID, Code: code, ErrorMessage: msg}
	e.sent(e.ctl.SendAttachResponse(&e.resp), "ShmAttachResponse")
}

func (e *engine) respondOK(corrID int64, l *lease) {
	st := l.stream
	e.resp = control.AttachResponse{CorrelationID: corrID, Code: gdriver.ResponseCodeOk, LeaseID: l.id,
		LeaseExpiryNs: uint64(pool.MonotonicNow()) + uint64(e.leaseTTL), StreamID: st.id, Epoch: st.cur.epoch,
		LayoutVersion: pool.LayoutVersion, HeaderNslots: st.cur.ann.HeaderNslots, HeaderSlotBytes: control.HeaderSlotBytes,
		NodeID: l.nodeID, Pools: st.cur.ann.Pools, HeaderURI: st.cur.ann.HeaderURI}
	e.sent(e.ctl.SendAttachResponse(&e.resp), "ShmAttachResponse")
}

// ---- attach ----

// OnAttachRequest implements control.Handler.
func (e *engine) OnAttachRequest(m *gdriver.ShmAttachRequestDecoder) {
	corr := m.CorrelationId()
	if e.state != running {
		e.reject(corr, gdriver.ResponseCodeRejected, msgShuttingDown)
		return
	}
	role := m.Role()
	if !role.IsValid() {
		e.m.protocolErrors.add(1)
		e.reject(corr, gdriver.ResponseCodeInvalidParams, "invalid role")
		return
	}
	clientID := m.ClientId()
	if clientID == 0 {
		e.reject(corr, gdriver.ResponseCodeInvalidParams, "client_id must be non-zero")
		return
	}
	mode := m.PublishMode()
	switch {
	case m.PublishModeIsNull():
		mode = gdriver.PublishModeExistingOrCreate
	case !mode.IsValid():
		e.reject(corr, gdriver.ResponseCodeUnsupported, "unsupported publish mode")
		return
	}
	hp := m.RequireHugepages()
	if !hp.IsValid() {
		e.reject(corr, gdriver.ResponseCodeInvalidParams, "invalid hugepages policy")
		return
	}
	if l := e.byClient[clientID]; l != nil {
		// A retry of the request that created the lease (same correlation
		// id) gets the same answer; anything else is a second lease.
		if l.corrID == corr && l.role == role && (m.StreamId() == l.stream.id || (m.StreamId() == 0 && l.stream.dynamic)) {
			e.respondOK(corr, l)
			return
		}
		e.reject(corr, gdriver.ResponseCodeRejected, msgClientAttached)
		return
	}
	if v := m.ExpectedLayoutVersion(); v != 0 && v != pool.LayoutVersion {
		e.reject(corr, gdriver.ResponseCodeRejected, msgLayoutMismatch)
		return
	}
	huge := e.cfg.SHM.RequireHugepages
	switch hp {
	case gdriver.HugepagesPolicyHugepages:
		huge = true
	case gdriver.HugepagesPolicyStandard:
		huge = false
	}
	if huge && !e.tree.hugepages {
		e.reject(corr, gdriver.ResponseCodeRejected, "hugepages not available: shm.base_dir is not on hugetlbfs")
		return
	}
	if !huge && hp == gdriver.HugepagesPolicyStandard && e.tree.hugepages {
		e.reject(corr, gdriver.ResponseCodeRejected, "standard pages requested: shm.base_dir is on hugetlbfs")
		return
	}
	desired := m.DesiredNodeId()
	hasDesired := !m.DesiredNodeIdIsNull()
	if hasDesired && (desired == 0 || e.nodeInUse[desired] || e.inCooldown(desired)) {
		e.reject(corr, gdriver.ResponseCodeRejected, "desired node_id unavailable")
		return
	}
	st, code, msg := e.resolveStream(m.StreamId(), mode)
	if st == nil {
		e.reject(corr, code, msg)
		return
	}
	if len(st.profile.PayloadPools) == 0 {
		e.releaseIfUnused(st)
		e.reject(corr, gdriver.ResponseCodeInvalidParams, "stream has no payload pools")
		return
	}
	if role == gdriver.RoleProducer && st.producer != nil {
		e.reject(corr, gdriver.ResponseCodeRejected, msgProducerAttached)
		return
	}
	if st.cur != nil && st.hugepages != huge && hp != gdriver.HugepagesPolicyUnspecified {
		e.reject(corr, gdriver.ResponseCodeRejected, "stream exists with another hugepages policy")
		return
	}
	// A producer attach always starts a new epoch (sections 6 and 7); the
	// first attach of any role provisions the stream's regions.
	if role == gdriver.RoleProducer || st.cur == nil {
		if st.cur == nil {
			st.hugepages = huge
		}
		if err := e.newEpoch(st); err != nil {
			e.releaseIfUnused(st)
			e.reject(corr, gdriver.ResponseCodeInternalError, "shm creation failed")
			return
		}
	}
	l := &lease{id: e.nextLeaseID, stream: st, clientID: clientID, role: role, corrID: corr,
		expiry: e.clock() + e.leaseTTL}
	e.nextLeaseID++
	if hasDesired {
		l.nodeID = desired
	} else {
		l.nodeID = e.allocNodeID()
	}
	if l.nodeID != control.NullU32 {
		e.nodeInUse[l.nodeID] = true
	}
	e.leases[l.id] = l
	e.byClient[clientID] = l
	st.leases++
	if role == gdriver.RoleProducer {
		st.producer = l
		e.m.activeProducers.add(1)
	} else {
		e.m.activeConsumers.add(1)
	}
	e.m.activeLeases.add(1)
	e.m.attaches.add(1)
	e.log.Info("lease attached", "lease", l.id, "stream", st.id, "client", clientID, "role", role.String(),
		"epoch", st.cur.epoch, "node_id", l.nodeID)
	e.respondOK(corr, l)
	if role == gdriver.RoleProducer || st.leases == 1 {
		e.announce(st)
	}
}

// resolveStream finds or creates the stream an attach names (section 11).
func (e *engine) resolveStream(id uint32, mode gdriver.PublishMode) (*stream, gdriver.ResponseCode, string) {
	if st := e.streams[id]; st != nil && id != 0 {
		return st, 0, ""
	}
	if mode == gdriver.PublishModeRequireExisting || !e.cfg.Policies.AllowDynamicStreams {
		return nil, gdriver.ResponseCodeRejected, msgNotProvisioned
	}
	if e.dynamic == nil {
		return nil, gdriver.ResponseCodeInvalidParams, "dynamic streams need driver.stream_id_range"
	}
	if id == 0 {
		var ok bool
		if id, ok = e.dynamic.Allocate(); !ok {
			return nil, gdriver.ResponseCodeRejected, "no stream ids available in driver.stream_id_range"
		}
	} else if !e.dynamic.Reserve(id) {
		if !e.dynamic.Contains(id) {
			return nil, gdriver.ResponseCodeInvalidParams, fmt.Sprintf("stream id %d outside driver.stream_id_range %s", id, e.dynamic.r.String())
		}
		return nil, gdriver.ResponseCodeRejected, "stream id in use"
	}
	p, ok := e.cfg.Profile(e.cfg.Policies.DefaultProfile)
	if !ok {
		e.dynamic.Release(id)
		return nil, gdriver.ResponseCodeInvalidParams, "default profile missing"
	}
	st := &stream{id: id, profile: p, dynamic: true}
	e.streams[id] = st
	return st, 0, ""
}

// releaseIfUnused forgets a dynamic stream without leases, removing its
// regions and freeing its id.
func (e *engine) releaseIfUnused(st *stream) {
	if !st.dynamic || st.leases > 0 {
		return
	}
	if st.cur != nil {
		st.cur.close()
		e.m.streams.add(-1)
		st.cur = nil
	}
	e.tree.removeStream(st.id)
	delete(e.streams, st.id)
	e.dynamic.Release(st.id)
}

// newEpoch creates the stream's next epoch and retires the current one
// (unmapped; its directory stays for the GC).
func (e *engine) newEpoch(st *stream) error {
	epoch := max(uint64(pool.MonotonicNow()), e.lastEpoch+1)
	if st.cur != nil && epoch <= st.cur.epoch {
		epoch = st.cur.epoch + 1
	}
	es, err := e.tree.create(st.id, epoch, &st.profile, st.hugepages)
	if err != nil {
		e.log.Error("shm creation failed", "stream", st.id, "epoch", epoch, "err", err)
		if errors.Is(err, ErrMlock) {
			e.fail(err)
		}
		return err
	}
	e.lastEpoch = epoch
	if st.cur != nil {
		st.cur.close()
	} else {
		e.m.streams.add(1)
	}
	st.cur = es
	e.m.epochChanges.add(1)
	e.log.Info("epoch created", "stream", st.id, "epoch", epoch, "dir", es.dir)
	return nil
}

func (e *engine) inCooldown(id uint32) bool {
	t, ok := e.cooldown[id]
	if !ok {
		return false
	}
	if e.clock() >= t {
		delete(e.cooldown, id)
		return false
	}
	return true
}

// allocNodeID returns the next node id neither in use nor cooling down, or
// NullU32 if there is none.
func (e *engine) allocNodeID() uint32 {
	for range 1 << 16 {
		id := e.nextNodeID
		e.nextNodeID++
		if e.nextNodeID == 0 || e.nextNodeID == control.NullU32 {
			e.nextNodeID = 1
		}
		if id != 0 && id != control.NullU32 && !e.nodeInUse[id] && !e.inCooldown(id) {
			return id
		}
	}
	return control.NullU32
}

// ---- invalidation ----

// invalidate ends a lease: ShmLeaseRevoked first, then (for a producer)
// a new epoch and its announce (Driver Model 4.7a, 4.9, 6).
func (e *engine) invalidate(l *lease, reason gdriver.LeaseRevokeReason, msg string) {
	rev := control.LeaseRevoked{TimestampNs: pool.MonotonicNow(), LeaseID: l.id, StreamID: l.stream.id, ClientID: l.clientID,
		Role: l.role, Reason: reason, ErrorMessage: msg}
	e.sent(e.ctl.SendLeaseRevoked(&rev), "ShmLeaseRevoked")
	switch reason {
	case gdriver.LeaseRevokeReasonDetached:
		e.m.revDetached.add(1)
	case gdriver.LeaseRevokeReasonExpired:
		e.m.revExpired.add(1)
	default:
		e.m.revRevoked.add(1)
	}
	delete(e.leases, l.id)
	delete(e.byClient, l.clientID)
	if l.nodeID != control.NullU32 {
		delete(e.nodeInUse, l.nodeID)
		if cd := e.cfg.Policies.NodeIDReuseCooldown; cd > 0 {
			e.cooldown[l.nodeID] = e.clock() + int64(cd)
		}
	}
	e.remember(l)
	st := l.stream
	st.leases--
	e.m.activeLeases.add(-1)
	if l.role == gdriver.RoleProducer {
		e.m.activeProducers.add(-1)
	} else {
		e.m.activeConsumers.add(-1)
	}
	if st.producer == l {
		st.producer = nil
		if st.dynamic && st.leases == 0 {
			e.releaseIfUnused(st)
			return
		}
		if e.state == running {
			if err := e.newEpoch(st); err == nil {
				e.announce(st)
			}
		}
		return
	}
	e.releaseIfUnused(st)
}

// revoke invalidates an active lease with reason REVOKED.
func (e *engine) revoke(leaseID uint64, reason string) error {
	l := e.leases[leaseID]
	if l == nil {
		return ErrUnknownLease
	}
	e.log.Info("lease revoked", "lease", l.id, "stream", l.stream.id, "client", l.clientID, "reason", reason)
	e.invalidate(l, gdriver.LeaseRevokeReasonRevoked, reason)
	return nil
}

func (e *engine) remember(l *lease) {
	if len(e.recentQ) >= recentRevokedMax {
		delete(e.recent, e.recentQ[0])
		e.recentQ = e.recentQ[1:]
	}
	e.recent[l.id] = revokedKey{streamID: l.stream.id, clientID: l.clientID, role: l.role}
	e.recentQ = append(e.recentQ, l.id)
}

// OnDetachRequest implements control.Handler (Driver Model 4.9).
func (e *engine) OnDetachRequest(m *gdriver.ShmDetachRequestDecoder) {
	corr := m.CorrelationId()
	role := m.Role()
	if !role.IsValid() {
		e.m.protocolErrors.add(1)
		e.sent(e.ctl.SendDetachResponse(corr, gdriver.ResponseCodeInvalidParams, "invalid role"), "ShmDetachResponse")
		return
	}
	key := revokedKey{streamID: m.StreamId(), clientID: m.ClientId(), role: role}
	l := e.leases[m.LeaseId()]
	if l == nil {
		if k, ok := e.recent[m.LeaseId()]; ok && k == key {
			// Already invalidated: detach is idempotent, and no second
			// ShmLeaseRevoked goes out.
			e.sent(e.ctl.SendDetachResponse(corr, gdriver.ResponseCodeOk, "lease already invalidated"), "ShmDetachResponse")
			return
		}
		e.sent(e.ctl.SendDetachResponse(corr, gdriver.ResponseCodeRejected, "lease not found"), "ShmDetachResponse")
		return
	}
	if (revokedKey{streamID: l.stream.id, clientID: l.clientID, role: l.role}) != key {
		e.sent(e.ctl.SendDetachResponse(corr, gdriver.ResponseCodeRejected, "lease does not match stream, client or role"), "ShmDetachResponse")
		return
	}
	e.log.Info("lease detached", "lease", l.id, "stream", l.stream.id, "client", l.clientID, "role", l.role.String())
	e.m.detaches.add(1)
	e.invalidate(l, gdriver.LeaseRevokeReasonDetached, "lease detached")
	e.sent(e.ctl.SendDetachResponse(corr, gdriver.ResponseCodeOk, ""), "ShmDetachResponse")
}

// OnKeepalive implements control.Handler: a valid keepalive extends its
// lease; anything else is counted and dropped. It allocates nothing.
func (e *engine) OnKeepalive(m *gdriver.ShmLeaseKeepaliveDecoder) {
	l := e.leases[m.LeaseId()]
	if l == nil || l.stream.id != m.StreamId() || l.clientID != m.ClientId() || l.role != m.Role() {
		e.m.protocolErrors.add(1)
		return
	}
	l.expiry = e.clock() + e.leaseTTL
	e.m.keepalives.add(1)
}

// OnShutdownRequest implements control.Handler (Driver Model 4.13).
func (e *engine) OnShutdownRequest(m *gdriver.ShmDriverShutdownRequestDecoder) {
	tok := e.cfg.Policies.ShutdownToken
	if tok == "" || subtle.ConstantTimeCompare(m.Token(), []byte(tok)) != 1 {
		e.m.shutdownDenied.add(1)
		e.log.Warn("shutdown request denied: missing or wrong token", "correlation_id", m.CorrelationId())
		return
	}
	reason := m.Reason()
	if !reason.IsValid() {
		reason = gdriver.ShutdownReasonAdmin
	}
	e.log.Info("shutdown requested", "reason", reason.String(), "message", m.ErrorMessageString())
	e.drain(reason, "shutdown requested: "+m.ErrorMessageString())
}

// OnUnsupported implements control.Handler: an attach or detach request of
// a schema version this driver does not speak gets UNSUPPORTED (Driver
// Model 4.4a); other messages are dropped.
func (e *engine) OnUnsupported(schemaID, templateID, version uint16, msg []byte) {
	e.m.protocolErrors.add(1)
	if schemaID != gdriver.SchemaID || len(msg) < 16 {
		return
	}
	// Both requests start with their correlation id.
	corr := int64(binary.LittleEndian.Uint64(msg[8:]))
	switch templateID {
	case gdriver.ShmAttachRequestTemplateID:
		e.reject(corr, gdriver.ResponseCodeUnsupported, "unsupported schema version")
	case gdriver.ShmDetachRequestTemplateID:
		e.sent(e.ctl.SendDetachResponse(corr, gdriver.ResponseCodeUnsupported, "unsupported schema version"), "ShmDetachResponse")
	}
}

// ---- shutdown ----

// drain stops accepting attaches; finish runs once no lease is left or
// the shutdown timeout passed.
func (e *engine) drain(reason gdriver.ShutdownReason, msg string) {
	if e.state != running {
		return
	}
	e.state = draining
	e.shutdownReason, e.shutdownMsg = reason, msg
	e.drainDeadline = e.clock() + int64(e.cfg.Policies.ShutdownTimeout)
	e.log.Info("draining", "leases", len(e.leases), "timeout", e.cfg.Policies.ShutdownTimeout)
}

// fail stops the driver at once with a fatal error.
func (e *engine) fail(err error) {
	if e.fatal == nil {
		e.fatal = err
	}
	if e.state == running {
		e.state = draining
		e.shutdownReason, e.shutdownMsg = gdriver.ShutdownReasonError, err.Error()
	}
	e.drainDeadline = e.clock()
}

// finish revokes what is left, sends the final announces and the shutdown
// notice, and removes every region the driver created.
func (e *engine) finish() {
	if e.state == stopped {
		return
	}
	for _, l := range e.leases {
		e.invalidate(l, gdriver.LeaseRevokeReasonRevoked, "driver shutdown")
	}
	for _, st := range e.streams {
		e.announce(st)
	}
	e.sent(e.ctl.SendDriverShutdown(pool.MonotonicNow(), e.shutdownReason, e.shutdownMsg), "ShmDriverShutdown")
	e.state = stopped
	e.removeAll()
	e.log.Info("driver stopped", "reason", e.shutdownReason.String())
}

// removeAll unmaps and deletes every epoch directory of the driver's
// streams and the directories it created.
func (e *engine) removeAll() {
	for _, st := range e.streams {
		if st.cur != nil {
			st.cur.close()
			st.cur = nil
			e.m.streams.add(-1)
		}
		e.tree.removeStream(st.id)
	}
	e.tree.removeCreated()
}

// engineAgent adapts the engine to runtime/agent.
type engineAgent struct{ e *engine }

func (a engineAgent) Name() string   { return "tpoold" }
func (a engineAgent) OnStart() error { return nil }
func (a engineAgent) OnClose()       {}
func (a engineAgent) DoWork() (int, error) {
	n := a.e.doWork()
	if a.e.state == stopped {
		return n, agent.ErrTerminate
	}
	return n, nil
}
