package mediadriver

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
	"github.com/tpool-go/tpool/runtime/aeron/internal/udpframe"
	"github.com/tpool-go/tpool/runtime/shm"
)

// receiveEndpoint is a socket bound to a channel's endpoint, shared by the
// subscriptions of channels with the same canonical form. Its reader
// goroutine dispatches data and setup frames to images (under mu); the
// receiver agent sends their status messages and NAKs (under mu too).
type receiveEndpoint struct {
	d          *udpShared
	canonical  string
	channel    string
	ch         *udpChannel
	conn       *net.UDPConn
	statusID   int32
	sockaddrID int32 // local socket address counter
	tag        int64 // channel tag (tags=), if hasTag
	hasTag     bool
	receiverID int64
	requests   chan<- imageRequest
	done       chan struct{}

	// conductor only
	refs int

	mu            sync.Mutex
	interest      map[int32]int // stream id -> subscriptions
	images        map[streamSession]*image
	list          []*image
	pending       map[streamSession]int64 // setup asked for or image requested, at ns
	lastControlSM int64                   // dynamic MDC: last setup request to the control address
	buf           [udpframe.ErrorMaxFrameLength]byte
}

// imageRequest asks the conductor to create an image for a setup.
type imageRequest struct {
	ep     *receiveEndpoint
	setup  udpframe.Setup
	source netip.AddrPort
}

func newReceiveEndpoint(s *udpShared, ch *udpChannel, requests chan<- imageRequest) (*receiveEndpoint, error) {
	var conn *net.UDPConn
	var err error
	if ch.multicast {
		conn, err = listenMulticast(ch.dataSocket(), ch.rcvbuf, ch.sndbuf)
	} else {
		conn, err = listenUDP(ch.endpoint, ch.rcvbuf, ch.sndbuf)
	}
	if err != nil {
		return nil, err
	}
	e := &receiveEndpoint{d: s, canonical: ch.canonical, channel: ch.original, ch: ch, conn: conn,
		receiverID: rand.Int64(), requests: requests, done: make(chan struct{}),
		interest: map[int32]int{}, images: map[streamSession]*image{}, pending: map[streamSession]int64{}}
	go e.readLoop()
	return e, nil
}

func (e *receiveEndpoint) close() {
	_ = e.conn.Close()
	<-e.done
}

func (e *receiveEndpoint) sendTo(b []byte, to netip.AddrPort) {
	if l := e.d.cfg.SendLoss; l != nil && l.ShouldDrop(b) {
		return
	}
	n, err := e.conn.WriteToUDPAddrPort(b, to)
	if err != nil || n < len(b) {
		e.d.sys[sysShortSends].Add(1)
		return
	}
	e.d.sys[sysBytesSent].Add(int64(n))
}

func (e *receiveEndpoint) readLoop() {
	defer close(e.done)
	buf := make([]byte, logbuffer.MaxUDPPayload+64)
	for {
		n, from, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				e.d.recordError(fmt.Errorf("%s: read: %w", e.channel, err))
			}
			continue
		}
		e.onDatagram(buf[:n], from, time.Now().UnixNano())
	}
}

// onDatagram handles one datagram; anything malformed is dropped and
// counted as an invalid packet.
func (e *receiveEndpoint) onDatagram(b []byte, from netip.AddrPort, nowNs int64) {
	sys := e.d.sys
	sys[sysBytesReceived].Add(int64(len(b)))
	if l := e.d.cfg.ReceiveLoss; l != nil && l.ShouldDrop(b) {
		return
	}
	h, err := udpframe.DecodeHeader(b)
	if err != nil {
		sys[sysInvalidPackets].Add(1)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch h.Type {
	case udpframe.TypeData, udpframe.TypePad:
		d, err := udpframe.DecodeData(b)
		if err != nil {
			sys[sysInvalidPackets].Add(1)
			return
		}
		key := streamSession{d.StreamID, d.SessionID}
		if img := e.images[key]; img != nil {
			if !img.insert(b, d, from, nowNs) {
				sys[sysInvalidPackets].Add(1)
			}
			return
		}
		if e.interest[d.StreamID] > 0 && d.Flags&udpframe.FlagEOS == 0 {
			if at, ok := e.pending[key]; !ok || nowNs-at > pendingSetupTimeout.Nanoseconds() {
				// Data from a publication we have no image of: ask
				// for a setup (Aeron's elicit setup from source).
				e.pending[key] = nowNs
				sm := udpframe.SM{Flags: udpframe.FlagSMSetup, SessionID: d.SessionID, StreamID: d.StreamID,
					ReceiverID: e.receiverID}
				n := sm.Encode(e.buf[:])
				e.sendTo(e.buf[:n], e.controlAddr(from))
				sys[sysStatusMessagesSent].Add(1)
			}
		}
	case udpframe.TypeSetup:
		s, err := udpframe.DecodeSetup(b)
		if err != nil || logbuffer.CheckTermLength(int(s.TermLength)) != nil || checkMTU(int(s.MTU)) != nil ||
			s.TermOffset < 0 || int(s.TermOffset) > int(s.TermLength) || s.TermOffset&(logbuffer.FrameAlignment-1) != 0 ||
			s.ActiveTermID-s.InitialTermID < 0 {
			sys[sysInvalidPackets].Add(1)
			return
		}
		key := streamSession{s.StreamID, s.SessionID}
		if e.images[key] != nil || e.interest[s.StreamID] == 0 {
			return
		}
		if at, ok := e.pending[key]; ok && at == math.MaxInt64 {
			return // the conductor is creating it
		}
		select {
		case e.requests <- imageRequest{ep: e, setup: s, source: from}:
			e.pending[key] = math.MaxInt64
		default:
			sys[sysConductorProxyFails].Add(1)
		}
	case udpframe.TypeRTTM:
		r, err := udpframe.DecodeRTTM(b)
		if err != nil {
			sys[sysInvalidPackets].Add(1)
			return
		}
		// For this receiver (or any, id 0) and an image it has, as
		// aeron_data_packet_dispatcher_on_rttm: a request is answered with
		// its timestamp, a reply to our request measures the round trip.
		img := e.images[streamSession{r.StreamID, r.SessionID}]
		if img == nil || (r.ReceiverID != e.receiverID && r.ReceiverID != 0) {
			return
		}
		if r.Flags&udpframe.FlagRTTMReply != 0 {
			reply := udpframe.RTTM{SessionID: r.SessionID, StreamID: r.StreamID, EchoTimestamp: r.EchoTimestamp,
				ReceiverID: e.receiverID}
			n := reply.Encode(e.buf[:])
			e.sendTo(e.buf[:n], e.controlAddr(from))
			return
		}
		img.onRTTM(r, nowNs)
	default:
		sys[sysInvalidPackets].Add(1)
	}
}

// controlAddr is where status messages and NAKs for a publication heard
// from source go: the source, or on multicast the control group.
func (e *receiveEndpoint) controlAddr(source netip.AddrPort) netip.AddrPort {
	if e.ch.multicast {
		return e.ch.mcControl
	}
	return source
}

// wantsSetup reports a stream with subscribers and no image (lock held).
func (e *receiveEndpoint) wantsSetup() bool {
	for stream, n := range e.interest {
		if n == 0 {
			continue
		}
		found := false
		for _, img := range e.list {
			if img.streamID == stream {
				found = true
				break
			}
		}
		if !found {
			return true
		}
	}
	return false
}

// addImage makes an image live on the endpoint (conductor).
func (e *receiveEndpoint) addImage(img *image) {
	e.mu.Lock()
	key := streamSession{img.streamID, img.sessionID}
	e.images[key] = img
	delete(e.pending, key)
	e.list = append(e.list, img)
	e.mu.Unlock()
}

// removeImage stops the endpoint's work on an image (conductor).
func (e *receiveEndpoint) removeImage(img *image) {
	e.mu.Lock()
	key := streamSession{img.streamID, img.sessionID}
	if e.images[key] == img {
		delete(e.images, key)
	}
	for i, x := range e.list {
		if x == img {
			e.list = append(e.list[:i], e.list[i+1:]...)
			break
		}
	}
	e.mu.Unlock()
}

// forgetPending lets a setup that the conductor could not turn into an image
// be retried.
func (e *receiveEndpoint) forgetPending(key streamSession) {
	e.mu.Lock()
	delete(e.pending, key)
	e.mu.Unlock()
}

// doWork sends the images' status messages and NAKs (receiver agent).
func (e *receiveEndpoint) doWork(nowNs int64) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	work := 0
	for _, img := range e.list {
		work += img.doWork(nowNs)
	}
	for k, at := range e.pending {
		if at != math.MaxInt64 && nowNs-at > pendingSetupTimeout.Nanoseconds() {
			delete(e.pending, k)
		}
	}
	if e.ch.hasControl && nowNs > e.lastControlSM+controlSetupInterval.Nanoseconds() && e.wantsSetup() {
		// Dynamic MDC: ask the control address for setups (and so become
		// one of its destinations) until every stream we want has an image.
		sm := udpframe.SM{Flags: udpframe.FlagSMSetup, ReceiverID: e.receiverID}
		n := sm.Encode(e.buf[:])
		e.sendTo(e.buf[:n], e.ch.control)
		e.d.sys[sysStatusMessagesSent].Add(1)
		e.lastControlSM = nowNs
		work++
	}
	return work
}

// image is the receiving side of one publication's stream
// (aeron_publication_image.c). Fields after mu are guarded by the
// endpoint's lock.
type image struct {
	ep             *receiveEndpoint
	correlationID  int64
	sessionID      int32
	streamID       int32
	source         netip.AddrPort
	control        netip.AddrPort // where status messages and NAKs go
	sourceIdentity string
	termLength     int
	shift          int
	initialTermID  int32
	log            *logbuffer.Log
	mapping        *shm.Mapping
	path           string
	window         int32
	smTimeoutNs    int64
	reliable       bool

	rcvHwm, rcvPos     *atomic.Int64
	rcvHwmID, rcvPosID int32
	// rtt is the last measured round trip in ns (counter rcv-rtt; nil
	// when the image does not measure, rttIntervalNs 0).
	rtt           *atomic.Int64
	rttID         int32
	rttIntervalNs int64
	subs          atomic.Pointer[[]*atomic.Int64] // copy-on-write by the conductor

	lastPacketNs atomic.Int64
	endOfStream  atomic.Bool
	sendingEOS   atomic.Bool

	// endpoint lock
	lastSMPos int64
	lastSMNs  int64
	lossEntry int // offset in the loss report, -1 before the first loss
	// rejection is the reason a client rejected the image with (nil:
	// not rejected); a rejected image takes no data and sends error frames.
	rejection        []byte
	lastRTTMNs       int64
	overrunThreshold int64
	loss             lossDetector

	// conductor only
	state         imageState
	stateChangeNs int64
	cleanPos      int64
	links         []imageLink
}

type imageState int

const (
	imageActive imageState = iota
	imageDraining
	imageLinger
	imageDone
)

type imageLink struct {
	sub       *netSubscription
	counterID int32
	pos       *atomic.Int64
}

// insert puts a datagram of frames into the log (endpoint lock held). It
// reports false for a datagram that cannot belong to the image.
func (img *image) insert(b []byte, d udpframe.Data, from netip.AddrPort, nowNs int64) bool {
	if d.TermID-img.initialTermID < 0 || img.rejection != nil {
		return true // from before the image began, or rejected
	}
	if _, err := udpframe.CheckDataDatagram(b, img.termLength); err != nil {
		return false
	}
	sys := img.ep.d.sys
	heartbeat := d.IsHeartbeat()
	pos := logbuffer.ComputePosition(d.TermID, int(d.TermOffset), img.shift, img.initialTermID)
	proposed := pos
	if !heartbeat {
		// The datagram's (aligned) length, as Aeron: a padding frame sent as its
		// header counts 32 bytes here, however long the padding, so a
		// long pad at a term's end is never taken for an over-run; the
		// loss scan then steps over the whole padding.
		proposed = pos + int64(udpframe.Align(len(b)))
	}
	if proposed > img.overrunThreshold {
		sys[sysFlowControlOverRuns].Add(1)
		return true
	}
	if heartbeat {
		if pos >= img.lastSMPos-int64(img.termLength) {
			img.lastPacketNs.Store(nowNs)
			if d.Flags&udpframe.FlagEOS != 0 && !img.endOfStream.Load() {
				img.log.SetEndOfStreamPosition(pos)
				img.endOfStream.Store(true)
			}
			proposeMax(img.rcvHwm, proposed)
			sys[sysHeartbeatsReceived].Add(1)
		} else {
			sys[sysFlowControlUnderRuns].Add(1)
		}
		return true
	}
	if pos < img.lastSMPos {
		sys[sysFlowControlUnderRuns].Add(1)
		if proposed >= img.lastSMPos-int64(img.window) {
			img.lastPacketNs.Store(nowNs)
		}
		return true
	}
	img.lastPacketNs.Store(nowNs)
	term := img.log.Term(logbuffer.IndexByPosition(pos, img.shift))
	off := int(d.TermOffset)
	if logbuffer.FrameLengthVolatile(term, off) == 0 {
		// Everything but the first frame length first, then that length
		// with a release store: a reader seeing it sees the whole batch.
		copy(term[off+4:off+len(b)], b[4:])
		shm.StoreRelease32At(term, off, d.FrameLength)
	}
	proposeMax(img.rcvHwm, proposed)
	return true
}

func proposeMax(c *atomic.Int64, v int64) {
	if v > c.Load() {
		c.Store(v) // single writer: the endpoint's lock holder
	}
}

// doWork tracks the rebuild, NAKs gaps and sends status messages (endpoint
// lock held).
func (img *image) doWork(nowNs int64) int {
	subs := img.subs.Load()
	if subs == nil || len(*subs) == 0 {
		// No subscriber left: tell the sender the image is going (EOS
		// status messages) so it forgets this receiver at once.
		if img.sendingEOS.Load() && nowNs > img.lastSMNs+img.smTimeoutNs {
			img.sendSM(img.lastSMPos, udpframe.FlagSMEOS, nowNs)
			return 1
		}
		return 0
	}
	if img.rejection != nil {
		return img.sendRejection(nowNs)
	}
	minSub, maxSub := int64(math.MaxInt64), int64(0)
	for _, s := range *subs {
		v := s.Load()
		minSub, maxSub = min(minSub, v), max(maxSub, v)
	}
	work := 0
	hwm := img.rcvHwm.Load()
	rebuild := max(img.rcvPos.Load(), maxSub)
	term := img.log.Term(logbuffer.IndexByPosition(rebuild, img.shift))
	offset, _, nak := img.loss.scan(term, rebuild, hwm, nowNs, img.shift, img.initialTermID)
	newRebuild := rebuild - (rebuild & int64(img.termLength-1)) + int64(offset)
	proposeMax(img.rcvPos, newRebuild)
	if nak {
		img.reportLoss(int64(img.loss.length), nowNs)
		if img.reliable {
			n := udpframe.NAK{SessionID: img.sessionID, StreamID: img.streamID, TermID: img.loss.termID,
				TermOffset: img.loss.termOffset, Length: img.loss.length}.Encode(img.ep.buf[:])
			img.ep.sendTo(img.ep.buf[:n], img.control)
			img.ep.d.sys[sysNAKsSent].Add(1)
		} else {
			img.fillGap()
		}
		work++
	}
	work += img.measureRTT(nowNs)
	eos := img.sendingEOS.Load()
	if minSub > img.lastSMPos+int64(img.window/4) || nowNs > img.lastSMNs+img.smTimeoutNs {
		img.clean(minSub - int64(img.termLength))
		var flags uint8
		if eos {
			flags = udpframe.FlagSMEOS
		}
		img.sendSM(minSub, flags, nowNs)
		work++
	}
	return work
}

// onRTTM takes the reply to an RTT measurement this image asked for
// (endpoint lock held): the round trip is now less the echoed send time
// less the time the publication held it.
func (img *image) onRTTM(r udpframe.RTTM, nowNs int64) {
	if img.rtt == nil || r.EchoTimestamp <= 0 || r.EchoTimestamp > nowNs || r.ReceptionDelta < 0 {
		return
	}
	if rtt := nowNs - r.EchoTimestamp - r.ReceptionDelta; rtt >= 0 {
		img.rtt.Store(rtt)
	}
}

// measureRTT asks the publication for an RTT measurement every
// rttIntervalNs while it is heard from (endpoint lock held), as Aeron's
// receiver does when its congestion control measures RTT.
func (img *image) measureRTT(nowNs int64) int {
	if img.rttIntervalNs <= 0 || nowNs < img.lastRTTMNs+img.rttIntervalNs ||
		nowNs > img.lastPacketNs.Load()+img.smTimeoutNs*imageSMEOSMultiple {
		return 0
	}
	r := udpframe.RTTM{Flags: udpframe.FlagRTTMReply, SessionID: img.sessionID, StreamID: img.streamID,
		EchoTimestamp: nowNs, ReceiverID: img.ep.receiverID}
	n := r.Encode(img.ep.buf[:])
	img.ep.sendTo(img.ep.buf[:n], img.control)
	img.lastRTTMNs = nowNs
	return 1
}

// sendRejection sends the publication an error frame with the rejection's
// reason every status message timeout, in place of status messages
// (aeron_publication_image_send_pending_status_message; endpoint lock held).
func (img *image) sendRejection(nowNs int64) int {
	if nowNs <= img.lastSMNs+img.smTimeoutNs {
		return 0
	}
	ef := udpframe.Error{SessionID: img.sessionID, StreamID: img.streamID, ReceiverID: img.ep.receiverID,
		ErrorCode: command.ErrorImageRejected, Message: img.rejection}
	if img.ep.ch.hasGTag {
		ef.Flags, ef.GroupTag = udpframe.FlagErrGroupTag, img.ep.ch.gtag
	}
	n := ef.Encode(img.ep.buf[:])
	img.ep.sendTo(img.ep.buf[:n], img.control)
	img.ep.d.sys[sysErrorFramesSent].Add(1)
	img.lastSMNs = nowNs
	return 1
}

// sendSM sends a status message for position (endpoint lock held).
func (img *image) sendSM(position int64, flags uint8, nowNs int64) {
	termID := int32(position>>img.shift) + img.initialTermID
	sm := udpframe.SM{Flags: flags, SessionID: img.sessionID, StreamID: img.streamID, ConsumptionTermID: termID,
		ConsumptionTermOffset: int32(position & int64(img.termLength-1)), ReceiverWindow: img.window,
		ReceiverID: img.ep.receiverID, HasGroupTag: img.ep.ch.hasGTag, GroupTag: img.ep.ch.gtag}
	n := sm.Encode(img.ep.buf[:])
	img.ep.sendTo(img.ep.buf[:n], img.control)
	img.ep.d.sys[sysStatusMessagesSent].Add(1)
	img.lastSMPos, img.lastSMNs = position, nowNs
	img.overrunThreshold = position + int64(img.termLength/2)
}

// reportLoss records a loss observation for LossStat (receiver agent).
func (img *image) reportLoss(bytes, nowNs int64) {
	r := img.ep.d.loss
	if r == nil {
		return
	}
	nowMs := nowNs / 1e6
	if img.lossEntry >= 0 {
		r.record(img.lossEntry, bytes, nowMs)
		return
	}
	img.lossEntry = r.createEntry(bytes, nowMs, img.sessionID, img.streamID, img.ep.channel, img.sourceIdentity)
}

// fillGap pads over a gap an unreliable stream will not see again
// (reliable=false), as Aeron's term gap filler.
func (img *image) fillGap() {
	pos := logbuffer.ComputePosition(img.loss.termID, int(img.loss.termOffset), img.shift, img.initialTermID)
	term := img.log.Term(logbuffer.IndexByPosition(pos, img.shift))
	off, n := int(img.loss.termOffset), int(img.loss.length)
	if off+n > len(term) || n < logbuffer.HeaderLength || logbuffer.FrameLengthVolatile(term, off) != 0 {
		return
	}
	h := udpframe.Data{Type: udpframe.TypePad, Flags: udpframe.FlagUnfragmented, TermOffset: int32(off),
		SessionID: img.sessionID, StreamID: img.streamID, TermID: img.loss.termID}
	var hb [udpframe.DataHeaderLength]byte
	h.Encode(hb[:])
	copy(term[off+4:off+udpframe.DataHeaderLength], hb[4:])
	shm.StoreRelease32At(term, off, int32(n))
	img.ep.d.sys[sysLossGapFills].Add(1)
}

// clean zeroes the log behind position so that its terms can be rebuilt
// again (endpoint lock held).
func (img *image) clean(position int64) {
	for img.cleanPos < position {
		next := img.log.Clean(img.cleanPos, position)
		if next == img.cleanPos {
			break
		}
		img.cleanPos = next
	}
}

// receiver is the agent doing the endpoints' periodic work.
type receiver struct {
	shared    *udpShared
	endpoints atomic.Pointer[[]*receiveEndpoint] // copy-on-write by the conductor
}

func (r *receiver) Name() string   { return "aeron-driver-receiver" }
func (r *receiver) OnStart() error { return nil }
func (r *receiver) OnClose()       {}

// DoWork sends status messages and NAKs.
func (r *receiver) DoWork() (int, error) {
	list := r.endpoints.Load()
	if list == nil {
		return 0, nil
	}
	nowNs := time.Now().UnixNano()
	work := 0
	for _, e := range *list {
		work += e.doWork(nowNs)
	}
	return work, nil
}
