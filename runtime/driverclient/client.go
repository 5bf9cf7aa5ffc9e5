package driverclient

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/agent"
	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/pool"
)

// pollLimit bounds the fragments read per stream per duty cycle.
const pollLimit = 64

// Client is a driver client: it attaches leases and runs their state
// machines. See the package documentation for how to run it.
type Client struct {
	cfg   Config
	log   *slog.Logger
	tr    transport
	aeron *aeron.Client // nil in unit tests

	// Commands from other goroutines, taken by the duty cycle.
	mu       sync.Mutex
	newOnes  []*Lease
	detaches []*Lease
	rebind   *rebind
	pending  atomic.Bool

	// Owned by the duty cycle.
	leases    []*Lease
	orphans   [8]orphan
	orphanAt  int
	now       int64
	joinTime  int64
	attachMsg control.AttachRequest
	detachMsg control.DetachRequest
	kaMsg     control.Keepalive
	dirs      []string
	canonDone bool

	allowMu sync.Mutex
	allow   *pool.AllowList

	runner    *agent.Runner
	started   atomic.Bool
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
	errMu     sync.Mutex
	err       error

	stats stats
}

// orphan is an attach attempt abandoned while in flight: if its OK still
// comes, the lease it grants is detached at once.
type orphan struct {
	corr     int64
	clientID uint32
	role     Role
}

// New makes a Client on an Aeron client: it adds the control publication
// and the control and announce subscriptions (closed again by Close; the
// Aeron client stays the caller's).
func New(ctx context.Context, a *aeron.Client, cfg Config, logger *slog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := newClient(cfg, logger)
	t, err := newAeronTransport(ctx, a, c.cfg, c)
	if err != nil {
		return nil, err
	}
	c.tr, c.aeron = t, a
	return c, nil
}

func newClient(cfg Config, logger *slog.Logger) *Client {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg.WithDefaults(), log: logger, done: make(chan struct{})}
	c.joinTime = Now()
	return c
}

// Config returns the configuration in use (defaults filled in).
func (c *Client) Config() Config { return c.cfg }

// Start runs the duty cycle on a goroutine of its own until Close.
func (c *Client) Start() error {
	if c.closed.Load() {
		return ErrClosed
	}
	if !c.started.CompareAndSwap(false, true) {
		return nil
	}
	c.runner = agent.NewRunner(&clientAgent{c}, c.cfg.Idle, nil)
	return c.runner.Start()
}

type clientAgent struct{ c *Client }

func (a *clientAgent) Name() string         { return "driverclient" }
func (a *clientAgent) OnStart() error       { return nil }
func (a *clientAgent) OnClose()             {}
func (a *clientAgent) DoWork() (int, error) { return a.c.DoWork(Now()), nil }

// Done is closed when the Client stops by itself (its Aeron client
// stopped) or is closed.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the Client stopped by itself, or nil.
func (c *Client) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// AttachAsync creates a lease and returns at once; the duty cycle sends
// the request. Follow it with Lease.State, Lease.Usable and the events.
func (c *Client) AttachAsync(req AttachRequest) (*Lease, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	if c.closed.Load() {
		return nil, ErrClosed
	}
	l := &Lease{c: c, req: req, outcome: make(chan struct{}), detached: make(chan struct{})}
	l.clientID, l.autoID = c.cfg.ClientID, c.cfg.ClientID == 0
	c.mu.Lock()
	c.newOnes = append(c.newOnes, l)
	c.pending.Store(true)
	c.mu.Unlock()
	return l, nil
}

// Attach attaches to a stream and waits for the driver's OK, a rejection
// (a *ResponseError, final), or the end of ctx. Timeouts and protocol
// errors are retried with backoff until ctx ends; the error then names the
// last one. On error no lease is left behind.
func (c *Client) Attach(ctx context.Context, req AttachRequest) (*Lease, error) {
	l, err := c.AttachAsync(req)
	if err != nil {
		return nil, err
	}
	if err := c.wait(ctx, l.outcome); err != nil {
		last := l.lastError()
		c.abandon(l)
		if last != nil {
			return nil, fmt.Errorf("attach stream %d as %v: %w (last attempt: %v)", req.StreamID, req.Role, err, last)
		}
		return nil, fmt.Errorf("attach stream %d as %v: %w", req.StreamID, req.Role, err)
	}
	if l.err != nil {
		return nil, fmt.Errorf("attach stream %d as %v: %w", req.StreamID, req.Role, l.err)
	}
	return l, nil
}

// Detach ends a lease: it sends ShmDetachRequest and waits for the
// response (or Config.AttachTimeout). The lease is released locally
// whatever the driver answers; a non-OK answer is returned as a
// *ResponseError. If ctx ends first the detach goes on in the background.
func (c *Client) Detach(ctx context.Context, l *Lease) error {
	if l == nil || l.c != c {
		return fmt.Errorf("detach: lease of another client: %w", ErrBadRequest)
	}
	c.abandon(l)
	if err := c.wait(ctx, l.detached); err != nil {
		return fmt.Errorf("detach stream %d: %w", l.req.StreamID, err)
	}
	return l.detachErr
}

func (c *Client) abandon(l *Lease) {
	c.mu.Lock()
	c.detaches = append(c.detaches, l)
	c.pending.Store(true)
	c.mu.Unlock()
}

// wait blocks until ch is closed. Without Start it runs duty cycles itself
// (invoker mode).
func (c *Client) wait(ctx context.Context, ch <-chan struct{}) error {
	if c.started.Load() {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			select {
			case <-ch:
				return nil
			default:
			}
			return c.stoppedErr()
		}
	}
	idle := agent.NewBackoff()
	for {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return c.stoppedErr()
		default:
		}
		idle.Idle(c.DoWork(Now()))
	}
}

func (c *Client) stoppedErr() error {
	if err := c.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// DoWork runs one duty cycle at now (Now's clock, CLOCK_MONOTONIC ns):
// it takes new requests, polls the control and announce streams and
// advances every lease's timers. It returns the amount of work done. In
// steady state (keepalives, announces of an unchanged epoch) it allocates
// nothing.
func (c *Client) DoWork(now int64) int {
	if c.closed.Load() {
		return 0
	}
	c.now = now
	work := 0
	if c.pending.Load() {
		work += c.takeCommands(now)
	}
	if c.aeron != nil {
		select {
		case <-c.aeron.Done():
			if c.cfg.AwaitRebind {
				c.mediaDriverLost(now, c.aeron.Err())
			} else {
				c.fail(fmt.Errorf("%w: %v", ErrAeronClosed, c.aeron.Err()))
			}
			return work + 1
		default:
		}
	}
	work += c.tr.poll(pollLimit)
	for _, l := range c.leases {
		work += c.step(l, now)
	}
	if work > 0 {
		c.compact()
	}
	return work
}

func (c *Client) takeCommands(now int64) int {
	c.mu.Lock()
	newOnes, detaches, rb := c.newOnes, c.detaches, c.rebind
	c.newOnes, c.detaches, c.rebind = nil, nil, nil
	c.pending.Store(false)
	c.mu.Unlock()
	c.leases = append(c.leases, newOnes...)
	for _, l := range detaches {
		l.detachReq = true
	}
	n := len(newOnes) + len(detaches)
	if rb != nil {
		c.takeRebind(rb, now)
		n++
	}
	return n
}

func (c *Client) compact() {
	k := 0
	for _, l := range c.leases {
		if l.State() != Closed {
			c.leases[k] = l
			k++
		}
	}
	clear(c.leases[k:])
	c.leases = c.leases[:k]
}

// step advances one lease's timers.
func (c *Client) step(l *Lease, now int64) int {
	if l.detachReq {
		switch l.State() {
		case Attached:
			c.startDetach(l, now)
			return 1
		case Detaching, Closed:
		default:
			// Attempts still in flight may be granted: detach them then.
			for _, corr := range [2]int64{l.corr, l.prevCorr} {
				if corr != 0 {
					c.addOrphan(corr, l.clientID, l.req.Role)
				}
			}
			c.finish(l, ErrClosed, nil)
			return 1
		}
	}
	switch l.State() {
	case Unattached:
		c.startAttempt(l, now)
		return 1
	case Attaching:
		if l.corr == 0 { // not sent yet: no driver on the control stream
			c.sendAttempt(l)
		}
		if now-l.deadline >= 0 {
			c.attemptFailed(l, now, fmt.Errorf("no attach response within %v: %w", c.cfg.AttachTimeout, ErrTimeout))
			return 1
		}
	case Backoff:
		if now-l.deadline >= 0 {
			c.startAttempt(l, now)
			return 1
		}
	case Attached:
		return c.stepAttached(l, now)
	case Detaching:
		if now-l.deadline >= 0 {
			c.finish(l, nil, fmt.Errorf("no detach response within %v: %w", c.cfg.AttachTimeout, ErrTimeout))
			return 1
		}
	}
	return 0
}

func (c *Client) stepAttached(l *Lease, now int64) int {
	switch {
	case l.awaitEpoch != 0 && now-l.awaitEpoch >= 0:
		c.loseLease(l, now, Event{Kind: EventLeaseLost,
			Err: fmt.Errorf("no new epoch within %v of the producer's revocation: %w", c.cfg.DriverTimeout, ErrExpired)}, true)
		return 1
	case now-l.lastAnnounce > int64(c.cfg.DriverTimeout):
		c.loseLease(l, now, Event{Kind: EventDriverLost,
			Err: fmt.Errorf("stream %d not announced for %v: %w", l.req.StreamID, time.Duration(now-l.lastAnnounce), ErrDriverLost)}, true)
		return 1
	}
	if now-l.nextKeepalive < 0 {
		return 0
	}
	info := l.info.Load()
	c.kaMsg = control.Keepalive{LeaseID: info.LeaseID, StreamID: info.StreamID, ClientID: info.ClientID, Role: info.Role, ClientTimestampNs: uint64(now)}
	r := c.tr.sendKeepalive(&c.kaMsg)
	switch {
	case control.Sent(r):
		c.stats.keepalives.Add(1)
		l.nextKeepalive = now + l.kaPeriod
		l.expiresAt = now + int64(c.cfg.ExpiryGraceIntervals)*int64(c.cfg.KeepaliveInterval)
		return 1
	case r == aeron.NotConnected || r == aeron.Closed || r == aeron.MaxPositionExceeded:
		c.stats.keepaliveFailures.Add(1)
		c.loseLease(l, now, Event{Kind: EventDriverLost,
			Err: fmt.Errorf("keepalive: control stream %s: %w", aeron.StatusString(r), ErrDriverLost)}, false)
		return 1
	default: // back pressure: try again next cycle, until the lease runs out
		c.stats.keepaliveFailures.Add(1)
		if now-l.expiresAt >= 0 {
			c.loseLease(l, now, Event{Kind: EventLeaseLost,
				Err: fmt.Errorf("no keepalive sent for %d intervals (%s): %w", c.cfg.ExpiryGraceIntervals,
					aeron.StatusString(r), ErrExpired)}, false)
		}
		return 1
	}
}

func (c *Client) startAttempt(l *Lease, now int64) {
	if l.autoID && l.clientID == 0 {
		l.clientID = nextClientID()
	}
	if l.corr != 0 {
		l.prevCorr = l.corr
	}
	l.corr = 0
	l.setState(Attaching)
	l.deadline = now + int64(c.cfg.AttachTimeout)
	c.sendAttempt(l)
}

// sendAttempt offers the attach request; a request that could not be
// offered is offered again on later cycles until the attach timeout.
func (c *Client) sendAttempt(l *Lease) {
	corr := nextCorrelationID()
	q := &l.req
	c.attachMsg = control.AttachRequest{CorrelationID: corr, StreamID: q.StreamID, ClientID: l.clientID, Role: q.Role,
		ExpectedLayoutVersion: q.ExpectedLayoutVersion, PublishMode: driver.PublishModeNullValue,
		RequireHugepages: q.RequireHugepages, DesiredNodeID: control.NullU32}
	if q.PublishMode != 0 {
		c.attachMsg.PublishMode = q.PublishMode
	}
	if q.RequestNodeID {
		c.attachMsg.DesiredNodeID = q.DesiredNodeID
	}
	if r := c.tr.sendAttach(&c.attachMsg); control.Sent(r) {
		l.corr = corr
		c.stats.attachesSent.Add(1)
	}
}

func (c *Client) attemptFailed(l *Lease, now int64, err error) {
	l.setLastError(err)
	if l.corr != 0 {
		l.prevCorr = l.corr
	}
	l.corr = 0
	if l.backoff == 0 {
		l.backoff = int64(c.cfg.RetryBackoff)
	}
	l.deadline = now + l.backoff
	l.backoff = min(2*l.backoff, int64(c.cfg.MaxBackoff))
	l.setState(Backoff)
	c.log.Debug("attach attempt failed", "stream", l.req.StreamID, "role", l.req.Role, "err", err)
	c.emit(Event{Kind: EventAttachFailed, Lease: l, Info: l.info.Load(), Err: err})
}

// loseLease fails a lease closed: unusable at once, an event, and a new
// attach after the backoff. detach sends a best-effort ShmDetachRequest
// for a lease the driver may still hold.
func (c *Client) loseLease(l *Lease, now int64, ev Event, detach bool) {
	l.usable.Store(false)
	info := l.info.Load()
	if detach && info != nil {
		c.sendDetach(nextCorrelationID(), info.LeaseID, info.StreamID, info.ClientID, info.Role)
	}
	l.awaitEpoch = 0
	l.corr, l.prevCorr = 0, 0
	if l.backoff == 0 {
		l.backoff = int64(c.cfg.RetryBackoff)
	}
	l.deadline = now + l.backoff
	l.setState(Backoff)
	if ev.Err != nil {
		l.setLastError(ev.Err)
	}
	ev.Lease, ev.Info = l, info
	c.stats.leasesLost.Add(1)
	if ev.Kind == EventRevoked {
		c.log.Warn("lease revoked", "stream", l.req.StreamID, "role", l.req.Role, "reason", ev.Reason, "message", ev.Message)
	} else {
		c.log.Warn("lease lost", "event", ev.Kind, "stream", l.req.StreamID, "role", l.req.Role, "err", ev.Err)
	}
	c.emit(ev)
}

func (c *Client) startDetach(l *Lease, now int64) {
	l.usable.Store(false)
	info := l.info.Load()
	corr := nextCorrelationID()
	if r := c.sendDetach(corr, info.LeaseID, info.StreamID, info.ClientID, info.Role); !control.Sent(r) {
		c.finish(l, nil, fmt.Errorf("detach request not sent (%s): %w", aeron.StatusString(r), ErrDriverLost))
		return
	}
	l.corr = corr
	l.deadline = now + int64(c.cfg.AttachTimeout)
	l.setState(Detaching)
}

// finish closes a lease for good: outcomeErr for an Attach still waiting,
// detachErr for Detach.
func (c *Client) finish(l *Lease, outcomeErr, detachErr error) {
	l.usable.Store(false)
	l.detachErr = detachErr
	if !l.outcomeSent {
		l.outcomeSent = true
		l.err = outcomeErr
		if l.err == nil {
			l.err = ErrClosed
		}
		close(l.outcome)
	}
	l.setState(Closed)
	close(l.detached)
	c.emit(Event{Kind: EventDetached, Lease: l, Info: l.info.Load(), Err: detachErr})
}

func (c *Client) addOrphan(corr int64, clientID uint32, role Role) {
	c.orphans[c.orphanAt%len(c.orphans)] = orphan{corr, clientID, role}
	c.orphanAt++
}

func (c *Client) emit(ev Event) {
	if c.cfg.OnEvent != nil {
		c.cfg.OnEvent(ev)
	}
}

// fail stops the Client after its Aeron client stopped: every lease fails
// closed for good.
func (c *Client) fail(err error) {
	c.errMu.Lock()
	c.err = err
	c.errMu.Unlock()
	for _, l := range c.leases {
		if l.State() == Attached {
			l.usable.Store(false)
			c.emit(Event{Kind: EventDriverLost, Lease: l, Info: l.info.Load(), Err: err})
		}
		c.finish(l, err, err)
	}
	c.leases = c.leases[:0]
	c.closed.Store(true)
	close(c.done)
}

func (c *Client) sendDetach(corr int64, leaseID uint64, streamID, clientID uint32, role Role) int64 {
	c.detachMsg = control.DetachRequest{CorrelationID: corr, LeaseID: leaseID, StreamID: streamID, ClientID: clientID, Role: role}
	return c.tr.sendDetach(&c.detachMsg)
}

func (c *Client) onAttachResponse(d *driver.ShmAttachResponseDecoder, tooNew bool) {
	corr := d.CorrelationId()
	var l *Lease
	for _, x := range c.leases {
		if s := x.State(); (s == Attaching || s == Backoff) && corr != 0 && (corr == x.corr || corr == x.prevCorr) {
			l = x
			break
		}
	}
	if l == nil {
		c.onOrphanResponse(d, corr)
		return // not ours, or a duplicate of an accepted OK
	}
	now := c.now
	if tooNew {
		c.stats.protocolErrors.Add(1)
		c.attemptFailed(l, now, protoErr("attach response schema version %d above %d", d.ActingVersion(), driver.SchemaVersion))
		return
	}
	code := d.Code()
	if !code.IsValid() {
		c.stats.protocolErrors.Add(1)
		c.attemptFailed(l, now, protoErr("attach response code %d", int32(code)))
		return
	}
	if code != driver.ResponseCodeOk {
		c.stats.rejections.Add(1)
		rerr := &ResponseError{Code: code, Message: errorMessage(d.ErrorMessage())}
		switch {
		case l.autoID && strings.Contains(rerr.Message, clientIDInUse):
			l.clientID = nextClientID()
			c.attemptFailed(l, now, rerr)
		case !l.everAttached:
			c.emit(Event{Kind: EventAttachFailed, Lease: l, Err: rerr, Message: rerr.Message})
			c.finish(l, rerr, nil)
		default:
			c.attemptFailed(l, now, rerr)
		}
		return
	}
	info, err := c.parseOK(d, &l.req, l.clientID)
	if err != nil {
		c.stats.protocolErrors.Add(1)
		if !d.LeaseIdIsNull() && !d.StreamIdIsNull() {
			c.sendDetach(nextCorrelationID(), d.LeaseId(), d.StreamId(), l.clientID, l.req.Role)
		}
		c.attemptFailed(l, now, err)
		return
	}
	// The other attempt in flight may be granted too: detach it if so.
	if other := l.corr; other != 0 && other != corr {
		c.addOrphan(other, l.clientID, l.req.Role)
	} else if other := l.prevCorr; other != 0 && other != corr {
		c.addOrphan(other, l.clientID, l.req.Role)
	}
	session, _ := c.tr.source()
	l.resetSource(session)
	c.accept(l, info, now)
}

// onOrphanResponse detaches a lease granted to an attempt given up on.
func (c *Client) onOrphanResponse(d *driver.ShmAttachResponseDecoder, corr int64) {
	for i := range c.orphans {
		o := &c.orphans[i]
		if o.corr == 0 || o.corr != corr {
			continue
		}
		if d.Code() == driver.ResponseCodeOk && !d.LeaseIdIsNull() {
			c.sendDetach(nextCorrelationID(), d.LeaseId(), d.StreamId(), o.clientID, o.role)
		}
		*o = orphan{}
		return
	}
	c.stats.ignoredResponses.Add(1)
}

func (c *Client) accept(l *Lease, info *LeaseInfo, now int64) {
	l.info.Store(info)
	l.corr, l.prevCorr = 0, 0
	l.backoff = 0
	l.awaitEpoch = 0
	l.lastAnnounce = now
	l.kaPeriod = c.keepalivePeriod(info, now) // keepalive.go
	l.nextKeepalive = now + l.kaPeriod
	l.expiresAt = now + int64(c.cfg.ExpiryGraceIntervals)*int64(c.cfg.KeepaliveInterval)
	l.setState(Attached)
	l.usable.Store(true)
	kind := EventAttached
	if l.everAttached {
		kind = EventReattached
		c.stats.reattaches.Add(1)
	}
	l.everAttached = true
	c.stats.attached.Add(1)
	if !l.outcomeSent {
		l.outcomeSent = true
		close(l.outcome)
	}
	c.log.Info("lease attached", "event", kind, "stream", info.StreamID, "role", info.Role, "lease", info.LeaseID,
		"client", info.ClientID, "epoch", info.Epoch)
	c.emit(Event{Kind: kind, Lease: l, Info: info})
}

func (c *Client) onDetachResponse(d *driver.ShmDetachResponseDecoder, tooNew bool) {
	corr := d.CorrelationId()
	for _, l := range c.leases {
		if l.State() != Detaching || corr == 0 || l.corr != corr {
			continue
		}
		var err error
		switch code := d.Code(); {
		case tooNew:
			err = protoErr("detach response schema version %d above %d", d.ActingVersion(), driver.SchemaVersion)
		case !code.IsValid():
			err = protoErr("detach response code %d", int32(code))
		case code != driver.ResponseCodeOk:
			err = &ResponseError{Code: code, Message: errorMessage(d.ErrorMessage())}
		}
		c.finish(l, nil, err)
		return
	}
}

func (c *Client) onRevoked(d *driver.ShmLeaseRevokedDecoder, tooNew bool) {
	malformed := tooNew || !d.Role().IsValid() || !d.Reason().IsValid()
	if malformed {
		c.stats.protocolErrors.Add(1)
	}
	session, annStream := c.tr.source()
	for _, l := range c.leases {
		if l.State() != Attached {
			continue
		}
		info := l.info.Load()
		if d.StreamId() == info.StreamID && !l.fromDriver(session, annStream) {
			c.stats.foreign.Add(1)
			continue
		}
		if d.LeaseId() == info.LeaseID && d.StreamId() == info.StreamID && d.ClientId() == info.ClientID && d.Role() == info.Role {
			if malformed {
				c.loseLease(l, c.now, Event{Kind: EventLeaseLost,
					Err: protoErr("ShmLeaseRevoked for this lease with version %d, role %d, reason %d", d.ActingVersion(), d.Role(), d.Reason())}, true)
				continue
			}
			c.stats.revoked.Add(1)
			c.loseLease(l, c.now, Event{Kind: EventRevoked, Reason: d.Reason(), Message: errorMessage(d.ErrorMessage()),
				Err: fmt.Errorf("%v: %w", d.Reason(), ErrRevoked)}, false)
			continue
		}
		if !malformed && info.Role == RoleConsumer && d.Role() == RoleProducer && d.StreamId() == info.StreamID && l.awaitEpoch == 0 {
			l.usable.Store(false)
			l.awaitEpoch = c.now + int64(c.cfg.DriverTimeout)
			c.emit(Event{Kind: EventProducerRevoked, Lease: l, Info: info, Reason: d.Reason(), Message: errorMessage(d.ErrorMessage())})
		}
	}
}

func (c *Client) onShutdown(d *driver.ShmDriverShutdownDecoder, tooNew bool) {
	if tooNew || !d.Reason().IsValid() {
		c.stats.protocolErrors.Add(1)
	}
	c.shutdownAll(d.Reason(), errorMessage(d.ErrorMessage()))
}

// shutdownAll invalidates every lease of the driver that sent
// ShmDriverShutdown (attached leases of another driver keep going); they
// attach again once a driver answers.
func (c *Client) shutdownAll(reason ShutdownReason, msg string) {
	c.stats.shutdowns.Add(1)
	session, annStream := c.tr.source()
	for _, l := range c.leases {
		if l.State() == Attached && !l.fromDriver(session, annStream) {
			c.stats.foreign.Add(1)
			continue
		}
		switch l.State() {
		case Attached:
			c.loseLease(l, c.now, Event{Kind: EventDriverShutdown, Shutdown: reason, Message: msg,
				Err: fmt.Errorf("%v: %w", reason, ErrDriverShutdown)}, false)
		case Attaching:
			c.attemptFailed(l, c.now, fmt.Errorf("%v: %w", reason, ErrDriverShutdown))
		case Backoff: // already failed closed (the driver revokes before it goes): say why
			c.emit(Event{Kind: EventDriverShutdown, Lease: l, Info: l.info.Load(), Shutdown: reason, Message: msg,
				Err: fmt.Errorf("%v: %w", reason, ErrDriverShutdown)})
		}
	}
}

func (c *Client) onAnnounce(d *wire.ShmPoolAnnounceDecoder) {
	now := c.now
	ts := int64(d.AnnounceTimestampNs())
	switch d.AnnounceClockDomain() {
	case wire.ClockDomainMonotonic:
		// Drop announces from before we joined (log replay) and stale ones.
		if ts < c.joinTime || now-ts > int64(c.cfg.DriverTimeout) {
			c.stats.staleAnnounces.Add(1)
			return
		}
	case wire.ClockDomainRealtimeSynced:
		if time.Now().UnixNano()-ts > int64(c.cfg.DriverTimeout) {
			c.stats.staleAnnounces.Add(1)
			return
		}
	default:
		c.stats.dropped.Add(1)
		return
	}
	c.stats.announces.Add(1)
	stream, epoch := d.StreamId(), d.Epoch()
	session, annStream := c.tr.source()
	for _, l := range c.leases {
		if l.State() != Attached {
			continue
		}
		info := l.info.Load()
		if info.StreamID != stream {
			continue
		}
		if !l.fromDriver(session, annStream) && !(annStream && c.learnAnnouncer(l, info, session, d)) {
			c.stats.foreign.Add(1)
			c.maybeConfirm(l, info, epoch, session, annStream, now)
			continue
		}
		l.lastAnnounce = now
		if epoch <= info.Epoch {
			continue
		}
		if info.Role == RoleProducer {
			c.loseLease(l, now, Event{Kind: EventLeaseLost,
				Err: fmt.Errorf("stream %d announced at epoch %d above the lease's %d: %w", stream, epoch, info.Epoch, ErrRevoked)}, true)
			continue
		}
		ni, err := c.parseAnnounce(d, info)
		if err != nil {
			c.stats.protocolErrors.Add(1)
			c.log.Warn("invalid announce ignored", "stream", stream, "epoch", epoch, "err", err)
			continue
		}
		l.info.Store(ni)
		l.awaitEpoch = 0
		l.usable.Store(true)
		c.stats.epochChanges.Add(1)
		c.emit(Event{Kind: EventEpochChanged, Lease: l, Info: ni})
	}
}

// Close detaches every lease (best effort: requests are sent, responses
// not awaited), stops the duty cycle if Start ran it, and closes the
// Client's publication and subscriptions. It is idempotent. Without Start,
// do not call it concurrently with DoWork.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		if c.runner != nil {
			_ = c.runner.Close()
		}
		wasClosed := c.closed.Swap(true)
		if !wasClosed {
			c.takeCommands(Now())
			for _, l := range c.leases {
				if l.State() == Attached || l.State() == Detaching {
					info := l.info.Load()
					c.sendDetach(nextCorrelationID(), info.LeaseID, info.StreamID, info.ClientID, info.Role)
				}
				if l.State() != Closed {
					c.finish(l, ErrClosed, nil)
				}
			}
			c.leases = nil
			close(c.done)
		}
		if c.tr != nil {
			c.closeErr = c.tr.close()
		}
	})
	return c.closeErr
}

func (l *Lease) setLastError(err error) { l.lastErrP.Store(&err) }

func (l *Lease) lastError() error {
	if p := l.lastErrP.Load(); p != nil {
		return *p
	}
	return nil
}
