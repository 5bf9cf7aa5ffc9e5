package mediadriver

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/broadcast"
	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/counters"
	"github.com/tpool-go/tpool/runtime/aeron/internal/errorlog"
	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
	"github.com/tpool-go/tpool/runtime/aeron/internal/ringbuffer"
	"github.com/tpool-go/tpool/runtime/aeron/internal/uri"
	"github.com/tpool-go/tpool/runtime/shm"
)

const ipcChannel = "aeron:ipc"

// Reserved session ids: left for explicit session-id parameters, as the C
// driver does.
const (
	reservedSessionLow  = -1
	reservedSessionHigh = 1000
)

// commandError is a failure to report to the client that sent a command.
type commandError struct {
	code int32
	msg  string
}

func (e *commandError) Error() string { return command.ErrorCodeString(e.code) + ": " + e.msg }

func cmdErr(code int32, format string, args ...any) error {
	return &commandError{code: code, msg: fmt.Sprintf(format, args...)}
}

type client struct {
	id              int64
	heartbeatID     int32
	heartbeat       *atomic.Int64
	closedByCommand bool
	pubs            []pubLink
	subs            []*subscription
	counters        []userCounter
	netSubs         []*netSubscription // aeron:udp (udp_conductor.go)
}

type pubLink struct {
	registrationID int64
	pub            *publication
	net            *networkPublication // instead of pub for aeron:udp
}

type userCounter struct {
	registrationID int64
	id             int32
}

type subscription struct {
	registrationID int64
	client         *client
	streamID       int32
	channel        string
	hasSession     bool
	sessionID      int32
	tether         bool
	pubs           map[*publication]bool
}

type pubState int

const (
	pubActive pubState = iota
	pubDraining
	pubLinger
	pubDone
)

type subscriberPos struct {
	sub       *subscription
	counterID int32
	pos       *atomic.Int64
	state     tetherState
	changedNs int64 // last time the position was seen keeping up
}

// tetherState is where an untethered subscriber is in Aeron's cycle: active,
// lingering after being cut loose, or resting before it rejoins. Tethered
// subscribers stay active.
type tetherState int

const (
	tetherActive tetherState = iota
	tetherLinger
	tetherResting
)

type publication struct {
	registrationID int64
	sessionID      int32
	streamID       int32
	channel        string
	exclusive      bool
	termLength     int
	mtu            int
	path           string
	mapping        *shm.Mapping
	log            *logbuffer.Log
	pubPosID       int32
	pubLmtID       int32
	pubPos         *atomic.Int64
	pubLmt         *atomic.Int64
	termWindow     int64
	tripGain       int64
	tripLimit      int64
	consumerPos    int64
	cleanPos       int64
	refs           int
	state          pubState
	stateChangeNs  int64
	subscribers    []subscriberPos
	// Untethered subscriber timeouts (ns), from the channel or the config.
	untetheredWindow, untetheredResting int64
	lastConsumer                        int64
	consumerMoved                       int64 // ns
	drainBlocked                        int64 // draining: the slowest position at the previous tick, -1 at first
	start                               struct{ initialTermID, termID, termOffset int32 }
}

type conductor struct {
	sys      *systemCounters
	cfg      Config
	dir      string
	log      *slog.Logger
	toDriver *ringbuffer.RingBuffer
	toClient *broadcast.Transmitter
	counters *counters.Manager
	errors   *errorlog.Log
	udp      *udpState

	clients map[int64]*client
	pubs    []*publication
	subs    []*subscription

	nextSessionID int32
	nowNs         int64
	nowMs         int64
	nextTimerNs   int64
	lastHeartbeat int64
	lastHead      int64
	headStuckNs   int64
	scratch       []byte
}

func (c *conductor) Name() string { return "aeron-driver-conductor" }

func (c *conductor) OnStart() error {
	c.nextSessionID = rand.Int32()
	c.updateClock()
	c.nextTimerNs = c.nowNs + c.cfg.TimerInterval.Nanoseconds()
	return nil
}

func (c *conductor) OnClose() {
	// Tell clients the driver is gone, as the C driver does.
	c.toDriver.SetConsumerHeartbeat(-1)
}

func (c *conductor) updateClock() {
	now := time.Now()
	c.nowNs = now.UnixNano()
	c.nowMs = now.UnixMilli()
}

// DoWork is one duty cycle: commands, publisher limits, and timers.
func (c *conductor) DoWork() (int, error) {
	start := c.nowNs
	c.updateClock()
	if start != 0 && c.nowNs-start > c.sys[sysConductorMaxCycleTime].Load() && c.nowNs-start < int64(time.Second) {
		// The previous cycle's length (including idling) bounds its work.
		c.sys[sysConductorMaxCycleTime].Store(c.nowNs - start)
	}
	work := 0
	if c.nowMs != c.lastHeartbeat {
		c.toDriver.SetConsumerHeartbeat(c.nowMs)
		c.lastHeartbeat = c.nowMs
	}
	n, err := c.toDriver.Read(c.onCommand, 10)
	work += n
	if err != nil {
		c.recordError(fmt.Errorf("to-driver buffer: %w; discarding pending commands", err))
		c.toDriver.Discard()
	}
	for _, p := range c.pubs {
		work += c.updatePublisherLimit(p)
	}
	work += c.udpDoWork()
	if c.nowNs >= c.nextTimerNs {
		c.nextTimerNs = c.nowNs + c.cfg.TimerInterval.Nanoseconds()
		work += c.onTimer()
	}
	return work, nil
}

// recordError counts an error and records it in the distinct error log.
// Its text must name the kind of error without per-request data (such as
// correlation ids), so that repeats merge into one record as in Aeron; a
// full log counts what it cannot record in its overflow record.
func (c *conductor) recordError(err error, attrs ...any) {
	c.sys[sysErrors].Add(1)
	if !c.errors.Record(err.Error()) {
		attrs = append(attrs, "error_log_full", true, "errors_not_recorded", c.errors.Lost())
	}
	c.log.Warn("aeron driver error", append([]any{"err", err}, attrs...)...)
}

func (c *conductor) transmit(typeID int32, msg []byte) {
	if err := c.toClient.Transmit(typeID, msg); err != nil {
		c.recordError(fmt.Errorf("broadcast response %#x: %w", typeID, err))
	}
}

func (c *conductor) sendError(correlationID int64, code int32, msg string) {
	r := command.ErrorResponse{OffendingCorrelationID: correlationID, ErrorCode: code, Message: msg}
	if max := c.toClient.MaxMessageLength() - 16; len(r.Message) > max {
		r.Message = r.Message[:max]
	}
	c.scratch = r.Append(c.scratch[:0])
	c.transmit(command.OnError, c.scratch)
}

func (c *conductor) onCommand(typeID int32, msg []byte) {
	var correlationID int64
	if h, err := command.DecodeCorrelated(msg); err == nil {
		correlationID = h.CorrelationID
	}
	if err := c.dispatch(typeID, msg); err != nil {
		var ce *commandError
		if !errors.As(err, &ce) {
			code := int32(command.ErrorGenericError)
			if errors.Is(err, command.ErrMalformed) {
				code = command.ErrorMalformedCommand
			}
			ce = &commandError{code: code, msg: err.Error()}
		}
		c.recordError(fmt.Errorf("command %#x: %w", typeID, err), "correlation_id", correlationID)
		c.sendError(correlationID, ce.code, ce.msg)
	}
}

func (c *conductor) dispatch(typeID int32, msg []byte) error {
	switch typeID {
	case command.AddPublication, command.AddExclusivePublication:
		m, err := command.DecodePublicationMessage(msg)
		if err != nil {
			return err
		}
		return c.onAddPublication(m, typeID == command.AddExclusivePublication)
	case command.RemovePublication:
		m, err := command.DecodeRemoveMessage(msg)
		if err != nil {
			return err
		}
		return c.onRemovePublication(m)
	case command.AddSubscription:
		m, err := command.DecodeSubscriptionMessage(msg)
		if err != nil {
			return err
		}
		return c.onAddSubscription(m)
	case command.RemoveSubscription:
		m, err := command.DecodeRemoveMessage(msg)
		if err != nil {
			return err
		}
		return c.onRemoveSubscription(m)
	case command.ClientKeepalive:
		m, err := command.DecodeCorrelated(msg)
		if err != nil {
			return err
		}
		// Only a known client is kept alive: as in Aeron, a client is
		// created by its first add command, not by a keepalive.
		if cl := c.clients[m.ClientID]; cl != nil {
			cl.heartbeat.Store(c.nowMs)
		}
		return nil
	case command.ClientClose:
		m, err := command.DecodeCorrelated(msg)
		if err != nil {
			return err
		}
		if cl := c.clients[m.ClientID]; cl != nil {
			cl.closedByCommand = true
			cl.heartbeat.Store(0)
		}
		return nil
	case command.AddCounter:
		m, err := command.DecodeCounterMessage(msg)
		if err != nil {
			return err
		}
		return c.onAddCounter(m)
	case command.RemoveCounter:
		m, err := command.DecodeRemoveMessage(msg)
		if err != nil {
			return err
		}
		return c.onRemoveCounter(m)
	case command.TerminateDriver:
		// Termination by token is not enabled in the embedded driver.
		return nil
	case command.AddDestination, command.RemoveDestination:
		m, err := command.DecodeDestinationMessage(msg)
		if err != nil {
			return err
		}
		return c.onDestination(m, typeID == command.AddDestination) // udp_mdc.go
	case command.RejectImage:
		m, err := command.DecodeRejectImageMessage(msg)
		if err != nil {
			return err
		}
		return c.onRejectImage(m) // udp_conductor.go
	case command.AddRcvDestination,
		command.RemoveRcvDestination, command.RemoveDestinationByID, command.AddStaticCounter:
		return cmdErr(command.ErrorNotSupported, "command %#x is not supported by the embedded driver", typeID)
	}
	return cmdErr(command.ErrorUnknownCommandTypeID, "unknown command type id %#x", typeID)
}

// clientFor returns the client, creating it and its heartbeat counter on
// first contact.
func (c *conductor) clientFor(id int64) (*client, error) {
	if cl := c.clients[id]; cl != nil {
		return cl, nil
	}
	cid, err := c.counters.Allocate(counters.TypeClientHeartbeat, counters.HeartbeatKey(id),
		fmt.Sprintf("client-heartbeat: id=%d", id))
	if err != nil {
		return nil, cmdErr(command.ErrorGenericError, "allocate client heartbeat: %v", err)
	}
	c.counters.SetRegistrationID(cid, id)
	c.counters.SetOwnerID(cid, id)
	hb, _ := c.counters.Addr(cid)
	hb.Store(c.nowMs)
	cl := &client{id: id, heartbeatID: cid, heartbeat: hb}
	c.clients[id] = cl
	c.sendCounterUpdate(command.OnCounterReady, id, cid)
	c.log.Debug("client connected", "client_id", id)
	return cl, nil
}

func (c *conductor) sendCounterUpdate(typeID int32, correlationID int64, counterID int32) {
	m := command.CounterUpdate{CorrelationID: correlationID, CounterID: counterID}
	c.scratch = m.Append(c.scratch[:0])
	c.transmit(typeID, c.scratch)
}

// pubParams are the IPC publication parameters of a channel.
type pubParams struct {
	termLength    int
	mtu           int
	hasTermLength bool
	hasMTU        bool
	hasSession    bool
	sessionID     int32
	sparse        bool
	eos           bool
	linger        int64
	window        int // publication window (pub-wnd), 0 = term/2
	// untethered-window-limit-timeout and untethered-resting-timeout (ns).
	untetheredWindow, untetheredResting int64
	// init-term-id, term-id and term-offset: start the stream at a
	// position instead of 0.
	hasPosition   bool
	initialTermID int32
	termID        int32
	termOffset    int32
}

func parseChannel(channel string) (uri.URI, error) {
	u, err := uri.Parse(channel) // refuses channels longer than uri.MaxLength
	if err != nil {
		return uri.URI{}, cmdErr(command.ErrorInvalidChannel, "%v", err)
	}
	switch {
	case u.Media != uri.MediaIPC && u.Media != uri.MediaUDP:
		return uri.URI{}, cmdErr(command.ErrorInvalidChannel, "unknown media %q in %s", u.Media, channel)
	case u.Prefix != "":
		return uri.URI{}, cmdErr(command.ErrorNotSupported, "%s: spies are not supported by the embedded driver", channel)
	}
	return u, nil
}

func (c *conductor) publicationParams(u uri.URI) (pubParams, error) {
	p := pubParams{termLength: c.cfg.IPCTermLength, mtu: c.cfg.IPCMTU, linger: c.cfg.PublicationLinger.Nanoseconds(), eos: true,
		untetheredWindow: c.cfg.UntetheredWindowLimitTimeout.Nanoseconds(), untetheredResting: c.cfg.UntetheredRestingTimeout.Nanoseconds()}
	// A bad parameter value is a GENERIC_ERROR, as in Aeron's C driver
	// (aeron_driver_uri.c fails with EINVAL); INVALID_CHANNEL is for a
	// channel that does not parse.
	bad := func(err error) error { return cmdErr(command.ErrorGenericError, "%v", err) }
	if _, ok := u.Params[uri.TermLengthKey]; ok {
		n, err := u.Size(uri.TermLengthKey, 0)
		if err != nil {
			return p, bad(err)
		}
		if err := logbuffer.CheckTermLength(int(n)); err != nil {
			return p, bad(err)
		}
		p.termLength, p.hasTermLength = int(n), true
	}
	if _, ok := u.Params[uri.MTUKey]; ok {
		n, err := u.Size(uri.MTUKey, 0)
		if err != nil {
			return p, bad(err)
		}
		if err := checkMTU(int(n)); err != nil {
			return p, bad(err)
		}
		p.mtu, p.hasMTU = int(n), true
	}
	if p.mtu > p.termLength/8 {
		return p, cmdErr(command.ErrorGenericError, "mtu %d larger than term-length/8 (%d)", p.mtu, p.termLength/8)
	}
	var err error
	if p.sessionID, p.hasSession, err = u.Int32(uri.SessionIDKey); err != nil {
		return p, bad(err)
	}
	if p.sparse, err = u.Bool(uri.SparseKey, false); err != nil {
		return p, bad(err)
	}
	if p.eos, err = u.Bool(uri.EOSKey, true); err != nil {
		return p, bad(err)
	}
	if p.linger, err = u.Duration(uri.LingerKey, p.linger); err != nil {
		return p, bad(err)
	}
	if p.untetheredWindow, err = u.Duration(uri.UntetheredWindowLimitTimeoutKey, p.untetheredWindow); err != nil {
		return p, bad(err)
	}
	if p.untetheredResting, err = u.Duration(uri.UntetheredRestingTimeoutKey, p.untetheredResting); err != nil {
		return p, bad(err)
	}
	if _, ok := u.Params[uri.PubWindowKey]; ok {
		n, err := u.Size(uri.PubWindowKey, 0)
		if err != nil {
			return p, bad(err)
		}
		if n <= 0 || n > int64(p.termLength/2) {
			return p, cmdErr(command.ErrorGenericError, "pub-wnd %d must be in (0, term-length/2]", n)
		}
		p.window = int(n)
	}
	return p, c.positionParams(u, &p)
}

// positionParams reads init-term-id, term-id and term-offset, which come
// together or not at all.
func (c *conductor) positionParams(u uri.URI, p *pubParams) error {
	var present int
	vals := [3]int32{}
	for i, k := range []string{uri.InitialTermIDKey, uri.TermIDKey, uri.TermOffsetKey} {
		v, ok, err := u.Int32(k)
		if err != nil {
			return cmdErr(command.ErrorGenericError, "%v", err)
		}
		if ok {
			present++
			vals[i] = v
		}
	}
	switch present {
	case 0:
		return nil
	case 3:
	default:
		return cmdErr(command.ErrorGenericError, "init-term-id, term-id and term-offset must be given together")
	}
	p.hasPosition, p.initialTermID, p.termID, p.termOffset = true, vals[0], vals[1], vals[2]
	if p.termID-p.initialTermID < 0 {
		return cmdErr(command.ErrorGenericError, "term-id %d is before init-term-id %d", p.termID, p.initialTermID)
	}
	if p.termOffset < 0 || int(p.termOffset) > p.termLength || p.termOffset%logbuffer.FrameAlignment != 0 {
		return cmdErr(command.ErrorGenericError, "term-offset %d must be a multiple of %d within the term length %d",
			p.termOffset, logbuffer.FrameAlignment, p.termLength)
	}
	return nil
}

func (c *conductor) onAddPublication(m command.PublicationMessage, exclusive bool) error {
	u, err := parseChannel(m.Channel)
	if err != nil {
		return err
	}
	if u.Media == uri.MediaUDP {
		cl, err := c.clientFor(m.ClientID)
		if err != nil {
			return err
		}
		return c.onAddNetworkPublication(cl, m, u, exclusive)
	}
	params, err := c.publicationParams(u)
	if err != nil {
		return err
	}
	cl, err := c.clientFor(m.ClientID)
	if err != nil {
		return err
	}
	var pub *publication
	for _, p := range c.pubs {
		if p.streamID != m.StreamID || p.state != pubActive {
			continue
		}
		share, err := sharesSession(params, exclusive, m, p.sessionID, p.exclusive)
		if err != nil {
			return err
		}
		if share && pub == nil {
			pub = p
		}
	}
	if pub != nil {
		if err := params.matches(pub.termLength, pub.mtu); err != nil {
			return err
		}
		if params.hasPosition && (params.initialTermID != pub.start.initialTermID || params.termID != pub.start.termID ||
			params.termOffset != pub.start.termOffset) {
			return cmdErr(command.ErrorGenericError, "existing publication has a different starting position")
		}
		pub.refs++
	} else {
		pub, err = c.newPublication(cl, m, params, exclusive)
		if err != nil {
			return err
		}
	}
	cl.pubs = append(cl.pubs, pubLink{registrationID: m.CorrelationID, pub: pub})
	c.sendPublicationReady(exclusive, command.PublicationReady{
		CorrelationID: m.CorrelationID, RegistrationID: pub.registrationID, SessionID: pub.sessionID,
		StreamID: pub.streamID, PositionLimitCounterID: pub.pubLmtID, ChannelStatusIndicatorID: counters.NullCounterID,
		LogFileName: pub.path,
	})
	for _, s := range c.subs {
		if s.matches(pub) && !s.pubs[pub] {
			c.link(s, pub)
		}
	}
	return nil
}

// sharesSession applies Aeron's rules for an add-publication meeting an
// active publication of the same stream (and, for UDP, endpoint) with
// session sessionID: a requested session in exclusive use on either side
// is an error; otherwise a concurrent add shares it when neither is
// exclusive and the session, if one was asked for, matches.
func sharesSession(params pubParams, exclusive bool, m command.PublicationMessage, sessionID int32, pExclusive bool) (bool, error) {
	if params.hasSession && sessionID == params.sessionID && (exclusive || pExclusive) {
		return false, cmdErr(command.ErrorGenericError, "session-id %d already in exclusive use for channel=%s stream-id=%d",
			params.sessionID, m.Channel, m.StreamID)
	}
	return !exclusive && !pExclusive && (!params.hasSession || sessionID == params.sessionID), nil
}

// matches refuses a term length or mtu the channel asks for that differs
// from the existing publication's, which the add would share.
func (params pubParams) matches(termLength, mtu int) error {
	if params.hasTermLength && params.termLength != termLength {
		return cmdErr(command.ErrorGenericError, "existing publication has different term-length: existing=%d requested=%d",
			termLength, params.termLength)
	}
	if params.hasMTU && params.mtu != mtu {
		return cmdErr(command.ErrorGenericError, "existing publication has different mtu: existing=%d requested=%d",
			mtu, params.mtu)
	}
	return nil
}

// sendPublicationReady answers an add-publication (exclusive or not).
func (c *conductor) sendPublicationReady(exclusive bool, ready command.PublicationReady) {
	c.scratch = ready.Append(c.scratch[:0])
	typeID := int32(command.OnPublicationReady)
	if exclusive {
		typeID = command.OnExclusivePublicationReady
	}
	c.transmit(typeID, c.scratch)
}

func (s *subscription) matches(p *publication) bool {
	return s.streamID == p.streamID && (!s.hasSession || s.sessionID == p.sessionID)
}

func (c *conductor) allocateSessionID(params pubParams) int32 {
	if params.hasSession {
		return params.sessionID
	}
	for {
		id := c.nextSessionID
		c.nextSessionID++
		if id >= reservedSessionLow && id <= reservedSessionHigh {
			continue
		}
		used := false
		for _, p := range c.pubs {
			if p.sessionID == id {
				used = true
				break
			}
		}
		if !used {
			return id
		}
	}
}

func (c *conductor) newPublication(cl *client, m command.PublicationMessage, params pubParams, exclusive bool) (*publication, error) {
	regID := m.CorrelationID
	sessionID := c.allocateSessionID(params)
	initialTermID := rand.Int32()
	if params.hasPosition {
		initialTermID = params.initialTermID
	}
	path := filepath.Join(c.dir, PublicationsDir, strconv.FormatInt(regID, 10)+".logbuffer")
	length := logbuffer.ComputeLogLength(params.termLength, DefaultPageSize)
	create := shm.CreateAllocated // as Aeron: log buffers are allocated unless the channel says sparse=true
	if params.sparse {
		create = shm.Create
	}
	mp, err := create(path, length, fileMode)
	if err != nil {
		return nil, cmdErr(command.ErrorStorageSpace, "create log buffer: %v", err)
	}
	fail := func(err error) (*publication, error) {
		_ = mp.Close()
		_ = os.Remove(path)
		return nil, err
	}
	window := params.termLength / 2
	if params.window > 0 {
		window = params.window
	}
	lg, err := logbuffer.Init(mp.Bytes(), logbuffer.Params{
		HasPosition: params.hasPosition, TermID: params.termID, TermOffset: params.termOffset,
		CorrelationID: regID, InitialTermID: initialTermID, MTU: int32(params.mtu), TermLength: int32(params.termLength),
		PageSize: DefaultPageSize, PublicationWindow: int32(window), SessionID: sessionID, StreamID: m.StreamID,
		LingerTimeoutNs: params.linger, UntetheredWindowLimitTimeoutNs: params.untetheredWindow,
		UntetheredRestingTimeoutNs: params.untetheredResting, Sparse: params.sparse, SignalEOS: params.eos, Tether: true, Rejoin: true, Reliable: true,
	})
	if err != nil {
		return fail(cmdErr(command.ErrorGenericError, "init log buffer: %v", err))
	}
	posID, err := c.counters.Allocate(counters.TypePublisherPosition, counters.StreamKey(regID, sessionID, m.StreamID, m.Channel),
		counters.StreamLabel("pub-pos (sampled)", regID, sessionID, m.StreamID, m.Channel, ""))
	if err != nil {
		return fail(cmdErr(command.ErrorGenericError, "allocate pub-pos: %v", err))
	}
	lmtID, err := c.counters.Allocate(counters.TypePublisherLimit, counters.StreamKey(regID, sessionID, m.StreamID, m.Channel),
		counters.StreamLabel("pub-lmt", regID, sessionID, m.StreamID, m.Channel, ""))
	if err != nil {
		_ = c.counters.Free(posID)
		return fail(cmdErr(command.ErrorGenericError, "allocate pub-lmt: %v", err))
	}
	c.counters.SetRegistrationID(posID, regID)
	c.counters.SetRegistrationID(lmtID, regID)
	c.counters.SetOwnerID(lmtID, cl.id)
	pos, _ := c.counters.Addr(posID)
	lmt, _ := c.counters.Addr(lmtID)
	p := &publication{
		registrationID: regID, sessionID: sessionID, streamID: m.StreamID, channel: m.Channel, exclusive: exclusive,
		termLength: params.termLength, mtu: params.mtu, path: path, mapping: mp, log: lg,
		pubPosID: posID, pubLmtID: lmtID, pubPos: pos, pubLmt: lmt,
		termWindow: int64(window), tripGain: int64(window / 8), refs: 1, state: pubActive, stateChangeNs: c.nowNs,
		untetheredWindow: params.untetheredWindow, untetheredResting: params.untetheredResting,
	}
	p.start.initialTermID = initialTermID
	p.start.termID, p.start.termOffset = initialTermID, 0
	if params.hasPosition {
		p.start.termID, p.start.termOffset = params.termID, params.termOffset
	}
	// Everything starts at the producer position (0 unless the channel
	// gave one).
	startPos := lg.ProducerPosition()
	p.consumerPos, p.cleanPos, p.lastConsumer, p.tripLimit = startPos, startPos, startPos, startPos
	pos.Store(startPos)
	lmt.Store(startPos)
	c.pubs = append(c.pubs, p)
	c.sys[sysBytesCurrentlyMapped].Add(int64(length))
	c.log.Debug("publication added", "registration_id", regID, "session_id", sessionID, "stream_id", m.StreamID,
		"term_length", params.termLength, "exclusive", exclusive)
	return p, nil
}

// joinPosition is where a new subscriber starts: the slowest current
// subscriber, or the consumer position.
func (p *publication) joinPosition() int64 {
	pos := p.consumerPos
	for _, s := range p.subscribers {
		if v := s.pos.Load(); s.state != tetherResting && v < pos {
			pos = v
		}
	}
	return pos
}

func (c *conductor) link(s *subscription, p *publication) {
	join := p.joinPosition()
	id, err := c.counters.Allocate(counters.TypeSubscriberPosition,
		counters.StreamKey(s.registrationID, p.sessionID, p.streamID, s.channel),
		counters.StreamLabel("sub-pos", s.registrationID, p.sessionID, p.streamID, s.channel, "@"+strconv.FormatInt(join, 10)))
	if err != nil {
		c.recordError(fmt.Errorf("allocate sub-pos: %w", err), "subscription_registration_id", s.registrationID)
		return
	}
	c.counters.SetRegistrationID(id, s.registrationID)
	c.counters.SetOwnerID(id, s.client.id)
	pos, _ := c.counters.Addr(id)
	pos.Store(join)
	p.subscribers = append(p.subscribers, subscriberPos{sub: s, counterID: id, pos: pos, changedNs: c.nowNs})
	s.pubs[p] = true
	p.log.SetConnected(true)
	c.sendAvailableImage(p, s, id)
}

// unlink drops a subscriber from a publication and frees its position.
func (c *conductor) unlink(s *subscription, p *publication) {
	for i, sp := range p.subscribers {
		if sp.sub == s {
			_ = c.counters.Free(sp.counterID)
			p.subscribers = append(p.subscribers[:i], p.subscribers[i+1:]...)
			break
		}
	}
	delete(s.pubs, p)
	if len(p.subscribers) == 0 {
		p.log.SetConnected(false)
	}
	c.updatePublisherLimit(p)
}

func (c *conductor) onRemovePublication(m command.RemoveMessage) error {
	cl := c.clients[m.ClientID]
	if cl != nil {
		for i, l := range cl.pubs {
			if l.registrationID == m.RegistrationID {
				cl.pubs = append(cl.pubs[:i], cl.pubs[i+1:]...)
				c.releaseLink(l)
				c.sendSuccess(m.CorrelationID)
				return nil
			}
		}
	}
	return cmdErr(command.ErrorUnknownPublication, "unknown publication registration id %d", m.RegistrationID)
}

func (c *conductor) sendSuccess(correlationID int64) {
	s := command.OperationSucceeded{CorrelationID: correlationID}
	c.scratch = s.Append(c.scratch[:0])
	c.transmit(command.OnOperationSuccess, c.scratch)
}

// release drops one reference; the last one ends the stream.
func (c *conductor) release(p *publication) {
	p.refs--
	if p.refs > 0 || p.state != pubActive {
		return
	}
	producer := p.log.ProducerPosition()
	if p.pubLmt.Load() > producer {
		p.pubLmt.Store(producer)
	}
	p.log.SetEndOfStreamPosition(producer)
	p.state = pubDraining
	p.drainBlocked = -1
	p.stateChangeNs = c.nowNs
}

func (c *conductor) onAddSubscription(m command.SubscriptionMessage) error {
	u, err := parseChannel(m.Channel)
	if err != nil {
		return err
	}
	if u.Media == uri.MediaUDP {
		cl, err := c.clientFor(m.ClientID)
		if err != nil {
			return err
		}
		return c.onAddNetworkSubscription(cl, m, u)
	}
	sessionID, hasSession, err := u.Int32(uri.SessionIDKey)
	if err != nil {
		return cmdErr(command.ErrorGenericError, "%v", err)
	}
	cl, err := c.clientFor(m.ClientID)
	if err != nil {
		return err
	}
	tether, err := u.Bool(uri.TetherKey, true)
	if err != nil {
		return cmdErr(command.ErrorGenericError, "%v", err)
	}
	s := &subscription{registrationID: m.CorrelationID, client: cl, streamID: m.StreamID, channel: m.Channel,
		hasSession: hasSession, sessionID: sessionID, tether: tether, pubs: map[*publication]bool{}}
	c.subs = append(c.subs, s)
	cl.subs = append(cl.subs, s)
	r := command.SubscriptionReady{CorrelationID: m.CorrelationID, ChannelStatusIndicatorID: counters.NullCounterID}
	c.scratch = r.Append(c.scratch[:0])
	c.transmit(command.OnSubscriptionReady, c.scratch)
	for _, p := range c.pubs {
		if s.matches(p) && p.acceptsSubscribers() {
			c.link(s, p)
		}
	}
	return nil
}

func (p *publication) acceptsSubscribers() bool {
	return p.state == pubActive || (p.state == pubDraining && !p.drained())
}

func (p *publication) drained() bool {
	producer := p.log.ProducerPosition()
	for _, s := range p.subscribers {
		if s.state != tetherResting && s.pos.Load() < producer {
			return false
		}
	}
	return true
}

func (c *conductor) onRemoveSubscription(m command.RemoveMessage) error {
	cl := c.clients[m.ClientID]
	if cl != nil {
		for i, s := range cl.subs {
			if s.registrationID == m.RegistrationID {
				cl.subs = append(cl.subs[:i], cl.subs[i+1:]...)
				c.removeSubscription(s)
				c.sendSuccess(m.CorrelationID)
				return nil
			}
		}
		for i, s := range cl.netSubs {
			if s.registrationID == m.RegistrationID {
				cl.netSubs = append(cl.netSubs[:i], cl.netSubs[i+1:]...)
				c.removeNetworkSubscription(s)
				c.sendSuccess(m.CorrelationID)
				return nil
			}
		}
	}
	return cmdErr(command.ErrorUnknownSubscription, "unknown subscription registration id %d", m.RegistrationID)
}

func (c *conductor) removeSubscription(s *subscription) {
	for p := range s.pubs {
		c.unlink(s, p)
	}
	for i, x := range c.subs {
		if x == s {
			c.subs = append(c.subs[:i], c.subs[i+1:]...)
			break
		}
	}
}

func (c *conductor) onAddCounter(m command.CounterMessage) error {
	cl, err := c.clientFor(m.ClientID)
	if err != nil {
		return err
	}
	id, err := c.counters.Allocate(m.TypeID, m.Key, m.Label)
	if err != nil {
		return cmdErr(command.ErrorGenericError, "allocate counter: %v", err)
	}
	c.counters.SetRegistrationID(id, m.CorrelationID)
	c.counters.SetOwnerID(id, cl.id)
	cl.counters = append(cl.counters, userCounter{registrationID: m.CorrelationID, id: id})
	c.sendCounterUpdate(command.OnCounterReady, m.CorrelationID, id)
	return nil
}

func (c *conductor) onRemoveCounter(m command.RemoveMessage) error {
	cl := c.clients[m.ClientID]
	if cl != nil {
		for i, uc := range cl.counters {
			if uc.registrationID == m.RegistrationID {
				cl.counters = append(cl.counters[:i], cl.counters[i+1:]...)
				c.sendSuccess(m.CorrelationID)
				c.sendCounterUpdate(command.OnUnavailableCounter, uc.registrationID, uc.id)
				_ = c.counters.Free(uc.id)
				return nil
			}
		}
	}
	return cmdErr(command.ErrorUnknownCounter, "unknown counter registration id %d", m.RegistrationID)
}

// updatePublisherLimit moves a publication's limit behind its slowest
// subscriber and cleans the log behind it (aeron_ipc_publication.c).
func (c *conductor) updatePublisherLimit(p *publication) int {
	if p.state != pubActive {
		return 0
	}
	minPos, maxPos, working := int64(math.MaxInt64), p.consumerPos, false
	for _, s := range p.subscribers {
		if s.state == tetherResting {
			continue
		}
		v := s.pos.Load()
		minPos = min(minPos, v)
		maxPos = max(maxPos, v)
		working = true
	}
	if working {
		work := 0
		proposed := minPos + p.termWindow
		if proposed > p.tripLimit {
			p.clean(minPos)
			p.pubLmt.Store(proposed)
			p.tripLimit = proposed + p.tripGain
			work = 1
		}
		p.consumerPos = maxPos
		return work
	}
	if p.pubLmt.Load() > p.consumerPos {
		p.pubLmt.Store(p.consumerPos)
		p.tripLimit = p.consumerPos
		p.clean(p.consumerPos)
	}
	return 0
}

func (p *publication) clean(position int64) {
	// Never clean into the term the producer may still be writing: Aeron
	// cleans behind the slowest subscriber, which is at most a window
	// (half a term) behind, so the dirty term is always a past one.
	for p.cleanPos < position {
		next := p.log.Clean(p.cleanPos, position)
		if next == p.cleanPos {
			break
		}
		p.cleanPos = next
	}
}

// onTimer runs liveness checks and publication state changes.
func (c *conductor) onTimer() int {
	work := 0
	livenessMs := c.cfg.ClientLivenessTimeout.Milliseconds() // at least 1 (Validate)
	for id, cl := range c.clients {
		if c.nowMs > cl.heartbeat.Load()+livenessMs {
			c.removeClient(cl)
			delete(c.clients, id)
			work++
		}
	}
	kept := c.pubs[:0]
	for _, p := range c.pubs {
		c.publicationTimer(p)
		if p.state == pubDone {
			c.closePublication(p)
			work++
			continue
		}
		kept = append(kept, p)
	}
	clear(c.pubs[len(kept):])
	c.pubs = kept
	c.udpTimer()
	c.checkStuckRingBuffer()
	return work
}

func (c *conductor) publicationTimer(p *publication) {
	producer := p.log.ProducerPosition()
	p.pubPos.Store(producer)
	switch p.state {
	case pubActive:
		if !p.exclusive {
			c.checkBlocked(p, producer)
		}
		c.checkUntethered(p)
	case pubDraining:
		// As in Aeron's IpcPublication: once the subscribers have read
		// everything the images go unavailable; until then a frame left
		// claimed but uncommitted by a publisher that died mid-offer is
		// unblocked (no publisher is left to commit it). The timeout is
		// tpool's own backstop for a subscriber that stopped reading.
		if p.drained() || c.nowNs-p.stateChangeNs > p.log.LingerTimeoutNs()+c.cfg.ClientLivenessTimeout.Nanoseconds() {
			p.state = pubLinger
			p.stateChangeNs = c.nowNs
			p.log.SetConnected(false)
			for _, s := range p.subscribers {
				c.sendUnavailableImage(p, s.sub)
			}
		} else if pos, ok := p.slowestSubscriber(); ok {
			// Space claimed but never given a header is padded too once it
			// stayed blocked for a tick: Aeron's driver leaves that case
			// blocked for good (aeron_term_unblocker.c scans for a later
			// frame), which issue 12's side-by-side runs hit.
			if p.log.Unblock(pos) || (pos == p.drainBlocked && p.log.UnblockAbandoned(pos)) {
				c.sys[sysUnblockedPublications].Add(1)
				c.recordError(errors.New("unblocked a draining publication left mid-offer by a dead publisher"),
					"registration_id", p.registrationID, "position", pos)
			}
			p.drainBlocked = pos
		}
	case pubLinger:
		// The images went unavailable a timer interval ago: end of life,
		// as in Aeron, whose IPC publications linger one timer tick.
		// Clients linger their own mappings of the log.
		p.state = pubDone
	}
}

// slowestSubscriber is the lowest position of the working subscribers: a
// draining log is stuck there if anywhere. Aeron unblocks at the consumer
// position frozen when draining began; the slowest live position also
// covers subscribers that were still catching up then.
func (p *publication) slowestSubscriber() (int64, bool) {
	pos, ok := int64(math.MaxInt64), false
	for _, s := range p.subscribers {
		if s.state != tetherResting {
			pos, ok = min(pos, s.pos.Load()), true
		}
	}
	return pos, ok
}

// checkBlocked unblocks a log left with an uncommitted frame by a
// publisher that died mid-offer (aeron_ipc_publication.c).
func (c *conductor) checkBlocked(p *publication, producer int64) {
	consumer := p.consumerPos
	if consumer == p.lastConsumer && p.possiblyBlocked(producer, consumer) {
		if c.nowNs > p.consumerMoved+c.cfg.PublicationUnblockTimeout.Nanoseconds() {
			if p.log.Unblock(consumer) {
				c.sys[sysUnblockedPublications].Add(1)
				c.recordError(errors.New("unblocked a publication left mid-offer by a dead publisher"),
					"registration_id", p.registrationID, "position", consumer)
			}
			p.consumerMoved = c.nowNs
		}
		return
	}
	p.consumerMoved = c.nowNs
	p.lastConsumer = consumer
}

func (p *publication) possiblyBlocked(producer, consumer int64) bool {
	if p.log.ActiveTermCount() != int32(consumer>>logbuffer.PositionBitsToShift(p.termLength)) {
		return true
	}
	return producer > consumer
}

// checkUntethered cuts loose untethered subscribers that fell a window
// behind for the publication's untethered window limit timeout, and lets
// them rejoin after its resting timeout (aeron_ipc_publication.c; the
// timeouts are the publication's, from its channel or the config).
func (c *conductor) checkUntethered(p *publication) {
	limit := p.consumerPos - p.termWindow + p.termWindow/4
	windowTimeout := p.untetheredWindow
	for i := range p.subscribers {
		s := &p.subscribers[i]
		if s.sub.tether {
			s.changedNs = c.nowNs
			continue
		}
		switch s.state {
		case tetherActive:
			if s.pos.Load() > limit {
				s.changedNs = c.nowNs
			} else if c.nowNs > s.changedNs+windowTimeout {
				c.sendUnavailableImage(p, s.sub)
				s.state, s.changedNs = tetherLinger, c.nowNs
			}
		case tetherLinger:
			if c.nowNs > s.changedNs+windowTimeout {
				s.state, s.changedNs = tetherResting, c.nowNs
			}
		case tetherResting:
			if c.nowNs > s.changedNs+p.untetheredResting {
				s.pos.Store(p.joinPosition())
				c.sendAvailableImage(p, s.sub, s.counterID)
				s.state, s.changedNs = tetherActive, c.nowNs
			}
		}
	}
}

func (c *conductor) sendUnavailableImage(p *publication, s *subscription) {
	m := command.ImageMessage{CorrelationID: p.registrationID, SubscriptionRegistration: s.registrationID,
		StreamID: p.streamID, Channel: ipcChannel}
	c.scratch = m.Append(c.scratch[:0])
	c.transmit(command.OnUnavailableImage, c.scratch)
}

func (c *conductor) sendAvailableImage(p *publication, s *subscription, counterID int32) {
	img := command.ImageReady{
		CorrelationID: p.registrationID, SessionID: p.sessionID, StreamID: p.streamID,
		SubscriptionRegistration: s.registrationID, SubscriberPositionID: counterID,
		LogFileName: p.path, SourceIdentity: ipcChannel,
	}
	c.scratch = img.Append(c.scratch[:0])
	c.transmit(command.OnAvailableImage, c.scratch)
}

func (c *conductor) closePublication(p *publication) {
	for _, s := range p.subscribers {
		_ = c.counters.Free(s.counterID)
		delete(s.sub.pubs, p)
	}
	p.subscribers = nil
	_ = c.counters.Free(p.pubLmtID)
	_ = c.counters.Free(p.pubPosID)
	c.sys[sysBytesCurrentlyMapped].Add(-int64(p.mapping.Len()))
	_ = p.mapping.Close()
	if err := os.Remove(p.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.recordError(fmt.Errorf("remove log buffer: %w", err))
	}
	c.log.Debug("publication closed", "registration_id", p.registrationID)
}

// removeClient cleans up everything a dead or closed client owned.
func (c *conductor) removeClient(cl *client) {
	if !cl.closedByCommand {
		m := command.ClientTimeout{ClientID: cl.id}
		c.scratch = m.Append(c.scratch[:0])
		c.transmit(command.OnClientTimeout, c.scratch)
		c.sys[sysClientTimeouts].Add(1)
		c.log.Info("client timed out", "client_id", cl.id)
	}
	for _, l := range cl.pubs {
		c.releaseLink(l)
	}
	cl.pubs = nil
	for _, s := range cl.subs {
		c.removeSubscription(s)
	}
	cl.subs = nil
	for _, s := range cl.netSubs {
		c.removeNetworkSubscription(s)
	}
	cl.netSubs = nil
	for _, uc := range cl.counters {
		c.sendCounterUpdate(command.OnUnavailableCounter, uc.registrationID, uc.id)
		_ = c.counters.Free(uc.id)
	}
	cl.counters = nil
	c.sendCounterUpdate(command.OnUnavailableCounter, cl.id, cl.heartbeatID)
	_ = c.counters.Free(cl.heartbeatID)
}

// checkStuckRingBuffer unblocks the to-driver buffer when a client died in
// the middle of writing a command and the head has not moved for a client
// liveness timeout.
func (c *conductor) checkStuckRingBuffer() {
	head := c.toDriver.Head()
	if head != c.lastHead || head == c.toDriver.Tail() {
		c.lastHead = head
		c.headStuckNs = c.nowNs
		return
	}
	if c.nowNs-c.headStuckNs > c.cfg.ClientLivenessTimeout.Nanoseconds() {
		if c.toDriver.Unblock() {
			c.sys[sysUnblockedCommands].Add(1)
			c.recordError(errors.New("unblocked to-driver buffer left half-written by a dead client"))
		}
		c.headStuckNs = c.nowNs
	}
}

// shutdown releases every log buffer; called after the conductor stopped.
func (c *conductor) shutdown() {
	for _, p := range c.pubs {
		_ = p.mapping.Close()
	}
	c.pubs = nil
	c.udpShutdown()
}

// releaseLink releases the publication a client's link holds.
func (c *conductor) releaseLink(l pubLink) {
	if l.net != nil {
		c.releaseNetworkPublication(l.net)
		return
	}
	c.release(l.pub)
}
