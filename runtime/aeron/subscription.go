package aeron

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
	"github.com/tpool-go/tpool/runtime/shm"
)

// Header describes the frame a fragment arrived in: session, stream, term
// id and offset, flags, reserved value and the position after it. It is
// reused between fragments; copy what you keep.
type Header = logbuffer.Header

// FragmentHandler receives one fragment. buffer aliases the log and is only
// valid during the call.
type FragmentHandler func(buffer []byte, header *Header)

// ControlledAction steers a controlled poll.
type ControlledAction = logbuffer.Action

// Controlled poll actions.
const (
	// ActionAbort leaves the fragment unconsumed and stops the poll.
	ActionAbort = logbuffer.ActionAbort
	// ActionBreak consumes the fragment and stops the poll.
	ActionBreak = logbuffer.ActionBreak
	// ActionCommit consumes the fragment and commits the position.
	ActionCommit = logbuffer.ActionCommit
	// ActionContinue consumes the fragment and goes on.
	ActionContinue = logbuffer.ActionContinue
)

// ControlledFragmentHandler receives one fragment and decides what happens
// next.
type ControlledFragmentHandler func(buffer []byte, header *Header) ControlledAction

// Fragment flags.
const (
	FlagBegin        = logbuffer.FlagBegin
	FlagEnd          = logbuffer.FlagEnd
	FlagEOS          = logbuffer.FlagEOS
	FlagUnfragmented = logbuffer.FlagUnfragmented
)

// ErrCorruptLog is reported (through Config.ErrorHandler) when an image's
// log buffer holds an impossible frame; the image stops being polled.
var ErrCorruptLog = errors.New("aeron: corrupt log buffer")

// Image is one publisher's stream as seen by a subscription.
type Image struct {
	client         *Client
	correlationID  int64
	sessionID      int32
	streamID       int32
	sourceIdentity string
	mapping        *shm.Mapping
	log            *logbuffer.Log
	position       *atomic.Int64
	termMask       int64
	shift          int
	header         logbuffer.Header
	closed         atomic.Bool
	corrupt        atomic.Bool
	unmapped       atomic.Bool
}

func newImage(c *Client, m command.ImageReady) (*Image, error) {
	mp, lg, pos, err := c.mapLog(m.LogFileName, shm.ReadOnly, m.SubscriberPositionID, "subscriber position")
	if err != nil {
		return nil, err
	}
	shift := logbuffer.PositionBitsToShift(lg.TermLength())
	im := &Image{
		client: c, correlationID: m.CorrelationID, sessionID: m.SessionID, streamID: m.StreamID,
		sourceIdentity: m.SourceIdentity,
		mapping:        mp, log: lg, position: pos, termMask: int64(lg.TermLength() - 1), shift: shift,
		header: logbuffer.Header{InitialTermID: lg.InitialTermID(), Shift: shift},
	}
	return im, nil
}

func (im *Image) unmap() {
	if im.unmapped.CompareAndSwap(false, true) {
		im.closed.Store(true)
		_ = im.mapping.Close()
	}
}

// SessionID of the publisher.
func (im *Image) SessionID() int32 { return im.sessionID }

// StreamID of the image.
func (im *Image) StreamID() int32 { return im.streamID }

// CorrelationID identifies the image (for IPC: the publication's
// registration id).
func (im *Image) CorrelationID() int64 { return im.correlationID }

// SourceIdentity says where the stream comes from ("aeron:ipc" for IPC).
func (im *Image) SourceIdentity() string { return im.sourceIdentity }

// TermLength of the image's log.
func (im *Image) TermLength() int { return im.log.TermLength() }

// InitialTermID of the stream.
func (im *Image) InitialTermID() int32 { return im.log.InitialTermID() }

// IsClosed reports whether the image went unavailable.
func (im *Image) IsClosed() bool { return im.closed.Load() }

// Position is the subscriber's position in the stream.
func (im *Image) Position() int64 {
	if im.unmapped.Load() {
		return 0
	}
	return im.position.Load()
}

// IsEndOfStream reports whether the publisher closed and everything up to
// its end was consumed.
func (im *Image) IsEndOfStream() bool {
	if im.unmapped.Load() {
		return true
	}
	return im.position.Load() >= im.log.EndOfStreamPosition()
}

// Reject asks the driver to reject the image with reason (at most 1023
// bytes), as Aeron's Image.reject: its receiver stops taking the stream
// and sends the publication error frames carrying the reason, so the
// publisher learns why (PublicationErrorFrameHandler on its client). The
// image then goes unavailable once its liveness timeout passes. Only
// images of network (UDP) streams can be rejected.
func (im *Image) Reject(ctx context.Context, reason string) error {
	c := im.client
	_, _, err := c.request(ctx, command.RejectImage, nil, func(id int64, b []byte) []byte {
		m := command.RejectImageMessage{Correlated: command.Correlated{ClientID: c.clientID, CorrelationID: id},
			ImageCorrelationID: im.correlationID, Position: im.Position(), Reason: reason}
		return m.Append(b)
	})
	return err
}

func (im *Image) reportCorrupt(position int64) {
	if im.corrupt.CompareAndSwap(false, true) {
		im.client.cfg.ErrorHandler(fmt.Errorf("image session %d stream %d at position %d: %w",
			im.sessionID, im.streamID, position, ErrCorruptLog))
	}
}

// Poll delivers up to limit fragments to h and returns how many it
// delivered. It does not allocate.
func (im *Image) Poll(h FragmentHandler, limit int) int {
	if im.closed.Load() || im.corrupt.Load() {
		return 0
	}
	position := im.position.Load()
	if position < 0 {
		im.reportCorrupt(position)
		return 0
	}
	termOffset := int(position & im.termMask)
	term := im.log.Term(logbuffer.IndexByPosition(position, im.shift))
	n, next, corrupt := logbuffer.Read(term, termOffset, logbuffer.FragmentHandler(h), limit, &im.header)
	if newPos := position + int64(next-termOffset); newPos > position {
		shm.StoreRelease64(im.position, newPos) // as Aeron: the driver reads it
	}
	if corrupt {
		im.reportCorrupt(position + int64(next-termOffset))
	}
	return n
}

// ControlledPoll is Poll with per-fragment flow control.
func (im *Image) ControlledPoll(h ControlledFragmentHandler, limit int) int {
	if im.closed.Load() || im.corrupt.Load() {
		return 0
	}
	position := im.position.Load()
	if position < 0 {
		im.reportCorrupt(position)
		return 0
	}
	termOffset := int(position & im.termMask)
	term := im.log.Term(logbuffer.IndexByPosition(position, im.shift))
	n, corrupt := logbuffer.ControlledRead(term, termOffset, logbuffer.ControlledFragmentHandler(h), limit,
		&im.header, im.position, position)
	if corrupt {
		im.reportCorrupt(im.position.Load())
	}
	return n
}

// Subscription receives a stream from every publisher (image) on a channel
// and stream id. Poll it from one goroutine.
type Subscription struct {
	client         *Client
	registrationID int64
	channel        string
	streamID       int32
	images         atomic.Pointer[[]*Image]
	roundRobin     int
	onAvailable    func(*Image)
	onUnavailable  func(*Image)
	closed         atomic.Bool
}

// SubscriptionOption configures a subscription.
type SubscriptionOption func(*Subscription)

// WithAvailableImage registers a callback for new images. It runs on the
// client conductor goroutine, which reads the driver's responses: it must
// be quick and must not call the client's blocking methods (Add..., Close),
// which would wait for a response only that goroutine can read; hand such
// work to another goroutine.
func WithAvailableImage(f func(*Image)) SubscriptionOption {
	return func(s *Subscription) { s.onAvailable = f }
}

// WithUnavailableImage registers a callback for images that went away
// (publisher closed or timed out), with the same restrictions. It also runs
// in Subscription.Close for the images the subscription drops.
func WithUnavailableImage(f func(*Image)) SubscriptionOption {
	return func(s *Subscription) { s.onUnavailable = f }
}

// AddSubscription subscribes to channel and stream.
func (c *Client) AddSubscription(ctx context.Context, channel string, streamID int32, opts ...SubscriptionOption) (*Subscription, error) {
	s := &Subscription{client: c, channel: channel, streamID: streamID}
	empty := []*Image{}
	s.images.Store(&empty)
	for _, o := range opts {
		o(s)
	}
	// The subscription is registered before the command is sent: images
	// can arrive right behind the ready response.
	id, _, err := c.request(ctx, command.AddSubscription, func(id int64) {
		s.registrationID = id
		c.subs[id] = s
	}, func(id int64, b []byte) []byte {
		m := command.SubscriptionMessage{Correlated: command.Correlated{ClientID: c.clientID, CorrelationID: id},
			RegistrationCorrelationID: -1, StreamID: streamID, Channel: channel}
		return m.Append(b)
	})
	if err != nil {
		c.mu.Lock()
		delete(c.subs, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("add subscription %s stream %d: %w", channel, streamID, err)
	}
	return s, nil
}

func (s *Subscription) imageList() []*Image { return *s.images.Load() }

func (s *Subscription) addImage(im *Image) {
	old := s.imageList()
	next := make([]*Image, len(old), len(old)+1)
	copy(next, old)
	next = append(next, im)
	s.images.Store(&next)
}

func (s *Subscription) removeImage(correlationID int64) *Image {
	old := s.imageList()
	for i, im := range old {
		if im.correlationID == correlationID {
			next := make([]*Image, 0, len(old)-1)
			next = append(next, old[:i]...)
			next = append(next, old[i+1:]...)
			s.images.Store(&next)
			return im
		}
	}
	return nil
}

func (s *Subscription) markClosed() { s.closed.Store(true) }

// Channel of the subscription.
func (s *Subscription) Channel() string { return s.channel }

// StreamID of the subscription.
func (s *Subscription) StreamID() int32 { return s.streamID }

// RegistrationID of the subscription.
func (s *Subscription) RegistrationID() int64 { return s.registrationID }

// Images returns the current images (a snapshot; do not modify).
func (s *Subscription) Images() []*Image { return s.imageList() }

// ImageCount is the number of current images.
func (s *Subscription) ImageCount() int { return len(s.imageList()) }

// IsConnected reports whether any image is present.
func (s *Subscription) IsConnected() bool { return len(s.imageList()) > 0 }

// IsClosed reports whether the subscription is closed.
func (s *Subscription) IsClosed() bool { return s.closed.Load() }

// ImageBySessionID returns the image of a publisher session, or nil.
func (s *Subscription) ImageBySessionID(sessionID int32) *Image {
	for _, im := range s.imageList() {
		if im.sessionID == sessionID {
			return im
		}
	}
	return nil
}

// Poll polls every image, starting with a different one each call so no
// publisher starves, until limit fragments were delivered. It does not
// allocate.
func (s *Subscription) Poll(h FragmentHandler, limit int) int {
	return pollImages(s, (*Image).Poll, h, limit)
}

// ControlledPoll is Poll with per-fragment flow control.
func (s *Subscription) ControlledPoll(h ControlledFragmentHandler, limit int) int {
	return pollImages(s, (*Image).ControlledPoll, h, limit)
}

// pollImages is the round-robin loop behind Poll and ControlledPoll; poll is
// a method expression, so the call does not allocate.
func pollImages[H any](s *Subscription, poll func(*Image, H, int) int, h H, limit int) int {
	if s.closed.Load() {
		return 0
	}
	images := s.imageList()
	n := len(images)
	if n == 0 {
		return 0
	}
	start := s.roundRobin % n
	s.roundRobin = start + 1
	fragments := 0
	for i := 0; i < n && fragments < limit; i++ {
		fragments += poll(images[(start+i)%n], h, limit-fragments)
	}
	return fragments
}

// Close removes the subscription from the driver. It is idempotent.
func (s *Subscription) Close() error {
	c := s.client
	c.mu.Lock()
	if _, open := c.subs[s.registrationID]; !open { // an earlier Close removed it
		c.mu.Unlock()
		return nil
	}
	s.closed.Store(true)
	delete(c.subs, s.registrationID)
	images := s.imageList()
	empty := []*Image{}
	s.images.Store(&empty)
	stopped := c.err != nil
	now := time.Now().UnixNano()
	for _, im := range images {
		im.closed.Store(true)
		if !stopped {
			c.lingerLocked(now, im.unmap)
		}
	}
	c.mu.Unlock()
	if s.onUnavailable != nil {
		for _, im := range images {
			s.onUnavailable(im)
		}
	}
	if stopped {
		for _, im := range images {
			im.unmap()
		}
		return nil
	}
	if err := c.remove(command.RemoveSubscription, s.registrationID); err != nil {
		return fmt.Errorf("remove subscription %d: %w", s.registrationID, err)
	}
	return nil
}

// FragmentAssembler reassembles fragmented messages per session before
// handing them to its delegate. Use its Handler as the poll handler; keep
// the Handler value to avoid allocating per poll.
type FragmentAssembler struct {
	delegate FragmentHandler
	initial  int
	buffers  map[int32][]byte
	handler  FragmentHandler
}

// NewFragmentAssembler wraps delegate; initialCapacity sizes each session's
// reassembly buffer.
func NewFragmentAssembler(delegate FragmentHandler, initialCapacity int) *FragmentAssembler {
	a := &FragmentAssembler{delegate: delegate, initial: initialCapacity, buffers: map[int32][]byte{}}
	a.handler = a.onFragment
	return a
}

// Handler is the FragmentHandler to poll with.
func (a *FragmentAssembler) Handler() FragmentHandler { return a.handler }

func (a *FragmentAssembler) onFragment(buffer []byte, h *Header) {
	flags := h.Flags()
	if flags&FlagUnfragmented == FlagUnfragmented {
		a.delegate(buffer, h)
		return
	}
	session := h.SessionID()
	if flags&FlagBegin != 0 {
		b, ok := a.buffers[session]
		if !ok {
			b = make([]byte, 0, a.initial)
		}
		a.buffers[session] = append(b[:0], buffer...)
		return
	}
	b, ok := a.buffers[session]
	if !ok || len(b) == 0 {
		return // a middle fragment without its beginning (joined mid-message)
	}
	b = append(b, buffer...)
	if flags&FlagEnd != 0 {
		a.delegate(b, h)
		b = b[:0]
	}
	a.buffers[session] = b
}
