package driverclient

import (
	"sync/atomic"

	"github.com/tpool-go/tpool/runtime/pool"
)

// State is a lease's state in the attach state machine (section 4.12.1).
type State int32

// States.
const (
	Unattached State = iota
	Attaching
	Attached
	Detaching
	Backoff
	Closed // detached, closed, or failed for good: final
)

var stateNames = [...]string{"Unattached", "Attaching", "Attached", "Detaching", "Backoff", "Closed"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(?)"
}

// LeaseInfo is what the driver granted: the lease and the stream's layout.
// It is immutable; a new epoch or a reattach makes a new LeaseInfo.
type LeaseInfo struct {
	LeaseID         uint64
	StreamID        uint32
	ClientID        uint32
	Role            Role
	Epoch           uint64
	LayoutVersion   uint32
	HeaderNslots    uint32
	HeaderSlotBytes uint32
	// HeaderURI and the pools' URIs are validated shm:file URIs whose
	// paths lie inside Config.AllowedBaseDirs.
	HeaderURI string
	Pools     []LeasePool
	// NodeID is the node id the driver assigned, if HasNodeID.
	NodeID    uint32
	HasNodeID bool
	// ExpiryNs is leaseExpiryTimestampNs (0 if absent), in the driver's
	// clock (CLOCK_MONOTONIC for tpoold and tensor_pool_c).
	ExpiryNs uint64
	// ProducerID is the producer's client id from the announce that set
	// this epoch (0 if none; consumers only).
	ProducerID uint32
}

// LeasePool is one payload pool of a lease.
type LeasePool struct {
	ID          uint16
	NSlots      uint32
	StrideBytes uint32
	URI         string
}

// Announcement returns what runtime/pool needs to map the regions
// (pool.Attach for consumers, pool.OpenRegion writable for producers).
func (i *LeaseInfo) Announcement() pool.Announcement {
	a := pool.Announcement{StreamID: i.StreamID, Epoch: i.Epoch, LayoutVersion: i.LayoutVersion,
		NSlots: i.HeaderNslots, HeaderURI: i.HeaderURI, Pools: make([]pool.AnnouncedPool, len(i.Pools))}
	for k, p := range i.Pools {
		a.Pools[k] = pool.AnnouncedPool{ID: p.ID, NSlots: p.NSlots, StrideBytes: p.StrideBytes, URI: p.URI}
	}
	return a
}

// Lease is the handle of one attachment, from Attach to Detach. Across
// revocations and reattaches it stays the same handle; its LeaseInfo
// changes. Its methods are safe for concurrent use.
type Lease struct {
	c   *Client
	req AttachRequest

	info   atomic.Pointer[LeaseInfo]
	state  atomic.Int32
	usable atomic.Bool

	// outcome is closed at the first OK or final failure; err holds the
	// final failure (read after outcome is closed).
	outcome chan struct{}
	err     error
	// detached is closed when the lease reaches Closed.
	detached  chan struct{}
	detachErr error

	// Duty-cycle state (owned by the goroutine running DoWork).
	autoID        bool
	clientID      uint32
	corr          int64 // outstanding attach or detach
	prevCorr      int64 // the attempt before (its OK is still welcome)
	deadline      int64 // attach/detach timeout or end of backoff
	backoff       int64
	everAttached  bool
	outcomeSent   bool
	nextKeepalive int64
	kaPeriod      int64 // keepalive period of the current grant (keepalive.go)
	expiresAt     int64 // local hard deadline: no keepalive sent since
	lastAnnounce  int64
	awaitEpoch    int64 // consumer: deadline for the new epoch, 0 if not waiting
	detachReq     bool
	// Where the driver that granted the lease speaks from (source.go).
	driverSession int32 // Aeron session of the OK response
	annSession    int32 // a separate announce stream's session, learned
	annPinned     bool  // annSession is set
	driverAnn     bool  // the driver announces from driverSession
	nextConfirm   int64 // no confirming reattach before this time
	lastErrP      atomic.Pointer[error]
}

// Info returns the current lease, or nil before the first OK. Do not
// modify it.
func (l *Lease) Info() *LeaseInfo { return l.info.Load() }

// State returns the state machine's state.
func (l *Lease) State() State { return State(l.state.Load()) }

// Usable reports whether the lease's regions may be used now: attached,
// and (for consumers) not waiting for a new epoch. It allocates nothing.
func (l *Lease) Usable() bool { return l.usable.Load() }

// Epoch returns the current epoch (0 before the first OK).
func (l *Lease) Epoch() uint64 {
	if i := l.info.Load(); i != nil {
		return i.Epoch
	}
	return 0
}

// Request returns what the lease was asked for.
func (l *Lease) Request() AttachRequest { return l.req }

// Announcement returns pool's view of the current lease (empty before the
// first OK).
func (l *Lease) Announcement() pool.Announcement {
	if i := l.info.Load(); i != nil {
		return i.Announcement()
	}
	return pool.Announcement{}
}

// Done is closed once the lease is Closed (detached, or the Client closed).
func (l *Lease) Done() <-chan struct{} { return l.detached }

func (l *Lease) setState(s State) { l.state.Store(int32(s)) }
