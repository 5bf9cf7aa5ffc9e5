package aeron

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
	"github.com/tpool-go/tpool/runtime/shm"
)

// Status values returned instead of a position by Offer and TryClaim.
const (
	// NotConnected: no subscriber is connected to the publication.
	NotConnected int64 = -1
	// BackPressured: the slowest subscriber is a window behind; retry.
	BackPressured int64 = -2
	// AdminAction: the log rotated to a new term; retry at once.
	AdminAction int64 = -3
	// Closed: the publication or its client is closed.
	Closed int64 = -4
	// MaxPositionExceeded: the stream reached its maximum position.
	MaxPositionExceeded int64 = -5
)

// MessageTooLong is returned by Offer for a message longer than
// MaxMessageLength, and by TryClaim for a claim longer than MaxPayloadLength.
// It is not retryable.
const MessageTooLong int64 = -6

// StatusString names an Offer status.
func StatusString(v int64) string {
	switch v {
	case NotConnected:
		return "NOT_CONNECTED"
	case BackPressured:
		return "BACK_PRESSURED"
	case AdminAction:
		return "ADMIN_ACTION"
	case Closed:
		return "CLOSED"
	case MaxPositionExceeded:
		return "MAX_POSITION_EXCEEDED"
	case MessageTooLong:
		return "MESSAGE_TOO_LONG"
	}
	if v >= 0 {
		return fmt.Sprintf("position %d", v)
	}
	return fmt.Sprintf("UNKNOWN(%d)", v)
}

// Publication publishes messages to a stream. Offer and TryClaim are safe
// for concurrent use unless the publication is exclusive.
type Publication struct {
	client         *Client
	registrationID int64 // the driver's publication
	correlationID  int64 // this handle (used to remove it)
	channel        string
	streamID       int32
	sessionID      int32
	exclusive      bool

	mapping       *shm.Mapping
	log           *logbuffer.Log
	limit         *atomic.Int64
	initialTermID int32
	shift         int
	maxPayload    int
	maxMessage    int
	maxOneFrame   int // min(maxPayload, maxMessage): Offer's fast path
	maxPosition   int64

	closed atomic.Bool

	// An exclusive publication is the only writer of its log, so it keeps
	// the active term and tail offset here instead of reading the shared
	// tail and adding to it atomically (Aeron's ExclusivePublication).
	term exclusiveTerm
}

// exclusiveTerm is an exclusive publication's view of its active term.
type exclusiveTerm struct {
	index  int   // partition
	id     int32 // term id
	offset int   // tail offset in the term
	begin  int64 // stream position of the term's start
}

// AddPublication adds a concurrent publication on channel and stream. Several
// concurrent publications on the same channel and stream share one driver
// publication (and session id).
func (c *Client) AddPublication(ctx context.Context, channel string, streamID int32) (*Publication, error) {
	return c.addPublication(ctx, channel, streamID, false)
}

// AddExclusivePublication adds a publication with its own session that only
// one goroutine may offer to.
func (c *Client) AddExclusivePublication(ctx context.Context, channel string, streamID int32) (*Publication, error) {
	return c.addPublication(ctx, channel, streamID, true)
}

func (c *Client) addPublication(ctx context.Context, channel string, streamID int32, exclusive bool) (*Publication, error) {
	typeID := int32(command.AddPublication)
	if exclusive {
		typeID = command.AddExclusivePublication
	}
	id, msg, err := c.request(ctx, typeID, nil, func(id int64, b []byte) []byte {
		m := command.PublicationMessage{Correlated: command.Correlated{ClientID: c.clientID, CorrelationID: id},
			StreamID: streamID, Channel: channel}
		return m.Append(b)
	})
	if err != nil {
		return nil, fmt.Errorf("add publication %s stream %d: %w", channel, streamID, err)
	}
	ready, err := command.DecodePublicationReady(msg)
	if err != nil {
		return nil, err
	}
	p, err := c.newPublication(id, channel, ready, exclusive)
	if err != nil {
		_ = c.remove(command.RemovePublication, id) // best effort: the setup already failed
		return nil, fmt.Errorf("add publication %s stream %d: %w", channel, streamID, err)
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		_ = p.mapping.Close()
		return nil, c.err
	}
	c.pubs[id] = p
	c.mu.Unlock()
	return p, nil
}

func (c *Client) newPublication(id int64, channel string, r command.PublicationReady, exclusive bool) (*Publication, error) {
	m, lg, limit, err := c.mapLog(r.LogFileName, shm.ReadWrite, r.PositionLimitCounterID, "publication limit")
	if err != nil {
		return nil, err
	}
	p := &Publication{
		client: c, registrationID: r.RegistrationID, correlationID: id, channel: channel,
		streamID: r.StreamID, sessionID: r.SessionID, exclusive: exclusive,
		mapping: m, log: lg, limit: limit,
		initialTermID: lg.InitialTermID(),
		shift:         logbuffer.PositionBitsToShift(lg.TermLength()),
		maxPayload:    lg.MTU() - logbuffer.HeaderLength,
		maxMessage:    min(lg.TermLength()/8, 16<<20),
		maxPosition:   logbuffer.MaxPossiblePosition(lg.TermLength()),
	}
	p.maxOneFrame = min(p.maxPayload, p.maxMessage)
	termCount := lg.ActiveTermCount()
	p.term.index = logbuffer.IndexByTermCount(termCount)
	raw := lg.Tail(p.term.index).Load()
	p.term.id = logbuffer.TermID(raw)
	p.term.offset = int(logbuffer.TermOffset(raw, lg.TermLength()))
	p.term.begin = logbuffer.ComputePosition(p.term.id, 0, p.shift, p.initialTermID)
	return p, nil
}

// mapLog maps a log buffer file with the given access and looks up the
// position counter that goes with it (publication limit or subscriber
// position). On error nothing stays mapped.
func (c *Client) mapLog(fileName string, access shm.Access, counterID int32, counterName string) (*shm.Mapping, *logbuffer.Log, *atomic.Int64, error) {
	m, err := shm.Open(fileName, access)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("map log buffer: %w", err)
	}
	lg, err := logbuffer.Map(m.Bytes())
	if err != nil {
		_ = m.Close()
		return nil, nil, nil, fmt.Errorf("log buffer %s: %w", fileName, err)
	}
	pos, err := c.counters.Addr(counterID)
	if err != nil {
		_ = m.Close()
		return nil, nil, nil, fmt.Errorf("%s counter: %w", counterName, err)
	}
	return m, lg, pos, nil
}

// remove asks the driver to remove the resource registered as
// registrationID (typeID says which kind) and waits for its answer, at most
// DriverTimeout (request's own bound). A client closed meanwhile is not an
// error: the driver frees everything the client held.
func (c *Client) remove(typeID int32, registrationID int64) error {
	_, _, err := c.request(context.Background(), typeID, nil, func(id int64, b []byte) []byte {
		m := command.RemoveMessage{Correlated: command.Correlated{ClientID: c.clientID, CorrelationID: id}, RegistrationID: registrationID}
		return m.Append(b)
	})
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// AddDestination adds a destination ("aeron:udp?endpoint=host:port") to a
// manual multi-destination-cast publication (control-mode=manual) and waits
// for the driver's answer.
func (p *Publication) AddDestination(ctx context.Context, channel string) error {
	return p.destination(ctx, command.AddDestination, channel)
}

// RemoveDestination removes a destination added with AddDestination.
func (p *Publication) RemoveDestination(ctx context.Context, channel string) error {
	return p.destination(ctx, command.RemoveDestination, channel)
}

func (p *Publication) destination(ctx context.Context, typeID int32, channel string) error {
	c := p.client
	_, _, err := c.request(ctx, typeID, nil, func(id int64, b []byte) []byte {
		m := command.DestinationMessage{Correlated: command.Correlated{ClientID: c.clientID, CorrelationID: id},
			RegistrationID: p.registrationID, Channel: channel}
		return m.Append(b)
	})
	return err
}

// Channel, StreamID, SessionID and RegistrationID identify the publication.
func (p *Publication) Channel() string { return p.channel }

// StreamID of the publication.
func (p *Publication) StreamID() int32 { return p.streamID }

// SessionID of the publication.
func (p *Publication) SessionID() int32 { return p.sessionID }

// RegistrationID of the driver's publication.
func (p *Publication) RegistrationID() int64 { return p.registrationID }

// MaxPayloadLength is the largest payload carried in one frame.
func (p *Publication) MaxPayloadLength() int { return p.maxPayload }

// MaxMessageLength is the largest message Offer fragments.
func (p *Publication) MaxMessageLength() int { return p.maxMessage }

// TermLength of the log buffer.
func (p *Publication) TermLength() int { return p.log.TermLength() }

// IsConnected reports whether a subscriber is connected.
func (p *Publication) IsConnected() bool { return !p.closed.Load() && p.log.IsConnected() }

// IsClosed reports whether the publication is closed.
func (p *Publication) IsClosed() bool { return p.closed.Load() }

// Position is the current publisher position.
func (p *Publication) Position() int64 {
	if p.closed.Load() {
		return Closed
	}
	return p.log.ProducerPosition()
}

// PositionLimit is how far the publisher may go before back pressure.
func (p *Publication) PositionLimit() int64 { return p.limit.Load() }

// Offer publishes a message (fragmenting it above the MTU) and returns the
// new stream position, or a negative status. It does not allocate.
func (p *Publication) Offer(msg []byte) int64 {
	if len(msg) > p.maxOneFrame || p.closed.Load() {
		parts := [1][]byte{msg}
		return p.offer(len(msg), parts[:])
	}
	// The fast path: one frame from one buffer, with as few calls as
	// possible (each call spills live registers to the stack, and a
	// publisher of small messages is bound by its stores).
	aligned := logbuffer.AlignedLength(len(msg))
	if p.exclusive {
		t := &p.term
		position := t.begin + int64(t.offset)
		if position >= p.limit.Load() {
			return p.backPressureStatus(position, len(msg))
		}
		app := p.log.Appender(t.index)
		result := app.PutMessage(app.ReserveExclusive(t.id, t.offset, aligned), msg)
		if result > 0 {
			t.offset = result
			return t.begin + int64(result)
		}
		return p.newExclusivePosition(result)
	}
	termCount, index, termID, termOffset, position, status := p.active(len(msg))
	if status != 0 {
		return status
	}
	app := p.log.Appender(index)
	result := app.PutMessage(app.Reserve(aligned), msg)
	return p.newPosition(termCount, termID, termOffset, position, result)
}

// Offer2 publishes the concatenation of two buffers as one message (a
// header and a body without copying them together).
func (p *Publication) Offer2(a, b []byte) int64 {
	parts := [2][]byte{a, b}
	return p.offer(len(a)+len(b), parts[:])
}

// OfferV publishes the concatenation of any number of buffers as one
// message. It does not allocate.
func (p *Publication) OfferV(parts [][]byte) int64 {
	n := 0
	for _, b := range parts {
		n += len(b)
	}
	return p.offer(n, parts)
}

// active reads a concurrent publication's active term from the log: the
// term count and partition, the term id, the tail offset and the stream
// position. A non-zero status (AdminAction while the log is between terms,
// else what backPressureStatus says at the limit) refuses an append of
// length bytes.
func (p *Publication) active(length int) (termCount int32, index int, termID int32, termOffset, position, status int64) {
	limit := p.limit.Load()
	termCount = p.log.ActiveTermCount()
	index = logbuffer.IndexByTermCount(termCount)
	raw := p.log.Tail(index).Load()
	termOffset = raw & 0xFFFFFFFF
	termID = logbuffer.TermID(raw)
	if termCount != termID-p.initialTermID {
		return termCount, index, termID, termOffset, 0, AdminAction
	}
	position = logbuffer.ComputePosition(termID, 0, p.shift, p.initialTermID) + termOffset
	if position >= limit {
		return termCount, index, termID, termOffset, position, p.backPressureStatus(position, length)
	}
	return termCount, index, termID, termOffset, position, 0
}

func (p *Publication) offer(length int, parts [][]byte) int64 {
	if p.closed.Load() {
		return Closed
	}
	if length > p.maxMessage {
		return MessageTooLong
	}
	if p.exclusive {
		return p.offerExclusive(length, parts)
	}
	termCount, index, termID, termOffset, position, status := p.active(length)
	if status != 0 {
		return status
	}
	app := p.log.Appender(index)
	var result int
	if length <= p.maxPayload {
		result = app.AppendUnfragmented(length, parts...)
	} else {
		result = app.AppendFragmented(length, p.maxPayload, parts...)
	}
	return p.newPosition(termCount, termID, termOffset, position, result)
}

func (p *Publication) offerExclusive(length int, parts [][]byte) int64 {
	t := &p.term
	position := t.begin + int64(t.offset)
	if position >= p.limit.Load() {
		return p.backPressureStatus(position, length)
	}
	app := p.log.Appender(t.index)
	var result int
	if length <= p.maxPayload {
		result = app.AppendUnfragmentedExclusive(t.id, t.offset, length, parts...)
	} else {
		result = app.AppendFragmentedExclusive(t.id, t.offset, length, p.maxPayload, parts...)
	}
	return p.newExclusivePosition(result)
}

// newExclusivePosition moves an exclusive publication's own tail after an
// append, or rotates to the next term when the append tripped.
func (p *Publication) newExclusivePosition(result int) int64 {
	t := &p.term
	if result > 0 {
		t.offset = result
		return t.begin + int64(result)
	}
	if result == logbuffer.AppendCorrupt {
		// Unreachable unless the tail offset itself was corrupted.
		return p.corrupt()
	}
	termLength := int64(p.log.TermLength())
	if t.begin+termLength >= p.maxPosition {
		return MaxPositionExceeded
	}
	p.log.RotateLog(t.id-p.initialTermID, t.id)
	t.index = (t.index + 1) % logbuffer.PartitionCount
	t.id++
	t.offset = 0
	t.begin += termLength
	return AdminAction
}

func (p *Publication) corrupt() int64 {
	p.closed.Store(true)
	p.client.cfg.ErrorHandler(fmt.Errorf("publication %d stream %d: misaligned term tail: %w",
		p.registrationID, p.streamID, ErrCorruptLog))
	return Closed
}

func (p *Publication) newPosition(termCount, termID int32, termOffset, position int64, result int) int64 {
	if result > 0 {
		return position - termOffset + int64(result)
	}
	if result == logbuffer.AppendCorrupt {
		return p.corrupt()
	}
	if position+termOffset > p.maxPosition {
		return MaxPositionExceeded
	}
	p.log.RotateLog(termCount, termID)
	return AdminAction
}

func (p *Publication) backPressureStatus(position int64, length int) int64 {
	if position+int64(length) >= p.maxPosition {
		return MaxPositionExceeded
	}
	if p.log.IsConnected() {
		return BackPressured
	}
	return NotConnected
}

// BufferClaim is a frame reserved by TryClaim, written in place.
type BufferClaim struct {
	term   []byte
	offset int
	length int
}

// Buffer is the claimed payload; valid until Commit or Abort.
func (b *BufferClaim) Buffer() []byte {
	start := b.offset + logbuffer.HeaderLength
	return b.term[start : start+b.length]
}

// SetReservedValue sets the frame's reserved value.
func (b *BufferClaim) SetReservedValue(v int64) {
	binary.LittleEndian.PutUint64(b.term[b.offset+logbuffer.ReservedValueOffset:], uint64(v))
}

// Commit publishes the claimed frame.
func (b *BufferClaim) Commit() {
	if b.term != nil {
		logbuffer.Commit(b.term, b.offset)
		b.term = nil
	}
}

// Abort discards the claimed frame (it becomes padding).
func (b *BufferClaim) Abort() {
	if b.term != nil {
		logbuffer.Abort(b.term, b.offset)
		b.term = nil
	}
}

// TryClaim reserves an unfragmented frame of length bytes (at most
// MaxPayloadLength) for the caller to fill, then Commit or Abort. It returns
// the position after the frame or a negative status. It does not allocate.
func (p *Publication) TryClaim(length int, claim *BufferClaim) int64 {
	if p.closed.Load() {
		return Closed
	}
	if length > p.maxPayload || length < 0 {
		return MessageTooLong
	}
	if p.exclusive {
		return p.tryClaimExclusive(length, claim)
	}
	termCount, index, termID, termOffset, position, status := p.active(length)
	if status != 0 {
		return status
	}
	frame, result := p.log.Appender(index).Claim(length)
	if result > 0 {
		claim.term = p.log.Term(index)
		claim.offset = frame
		claim.length = length
	}
	return p.newPosition(termCount, termID, termOffset, position, result)
}

func (p *Publication) tryClaimExclusive(length int, claim *BufferClaim) int64 {
	t := &p.term
	position := t.begin + int64(t.offset)
	if position >= p.limit.Load() {
		return p.backPressureStatus(position, length)
	}
	frame, result := p.log.Appender(t.index).ClaimExclusive(t.id, t.offset, length)
	if result > 0 {
		claim.term = p.log.Term(t.index)
		claim.offset = frame
		claim.length = length
	}
	return p.newExclusivePosition(result)
}

// Close removes the publication from the driver. Offers return Closed
// afterwards; the log stays mapped for the client's resource linger. It is
// idempotent.
func (p *Publication) Close() error {
	c := p.client
	c.mu.Lock()
	if _, open := c.pubs[p.correlationID]; !open { // an earlier Close removed it
		c.mu.Unlock()
		return nil
	}
	p.closed.Store(true)
	delete(c.pubs, p.correlationID)
	stopped := c.err != nil
	if !stopped {
		c.lingerLocked(time.Now().UnixNano(), func() { _ = p.mapping.Close() })
	}
	c.mu.Unlock()
	if stopped {
		_ = p.mapping.Close()
		return nil
	}
	if err := c.remove(command.RemovePublication, p.correlationID); err != nil {
		return fmt.Errorf("remove publication %d: %w", p.correlationID, err)
	}
	return nil
}
