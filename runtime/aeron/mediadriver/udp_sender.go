package mediadriver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
	"github.com/tpool-go/tpool/runtime/aeron/internal/udpframe"
	"github.com/tpool-go/tpool/runtime/shm"
)

// Go's runtime network poller stands in for Aeron's transport poller: each
// endpoint has one goroutine blocked in a read on its socket (reads and
// writes on a net.UDPConn with netip addresses do not allocate), which
// handles a datagram as soon as it arrives under the endpoint's lock. The
// sender and receiver agents do the periodic work: sending data, setups,
// heartbeats, status messages and NAKs.

// streamSession keys a stream of one publisher.
type streamSession struct{ streamID, sessionID int32 }

// sendEndpoint is a socket sending to one destination, shared by the
// publications of the channels with the same canonical form. Its reader
// goroutine handles status messages, NAKs, RTT measurements and error
// frames.
type sendEndpoint struct {
	d          *udpShared
	canonical  string
	channel    string
	dest       netip.AddrPort
	mdc        bool
	dynamic    bool                             // destinations learned from status messages
	seen       map[netip.AddrPort]int64         // dynamic destinations: last status message (under mu)
	dests      atomic.Pointer[[]netip.AddrPort] // where send sends; copy-on-write (MDC destinations)
	conn       *net.UDPConn
	statusID   int32
	sockaddrID int32 // local socket address counter
	tag        int64 // channel tag (tags=), if hasTag
	hasTag     bool
	refs       int // conductor only
	mu         sync.Mutex
	pubs       map[streamSession]*networkPublication
	done       chan struct{}
}

// udpShared is what the network goroutines share with the conductor.
type udpShared struct {
	cfg UDPConfig
	sys *systemCounters
	// errors records an error (the error log is the conductor's; this goes
	// through a channel).
	errs chan error
	// loss is the loss report (receiver agent only; nil without one).
	loss *lossReport
	// pubErrs carries error frames from the send endpoints' readers to
	// the conductor.
	pubErrs chan publicationError
}

func (s *udpShared) recordError(err error) {
	select {
	case s.errs <- err:
	default:
	}
}

func listenUDP(local netip.AddrPort, rcvbuf, sndbuf int) (*net.UDPConn, error) {
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(local))
	if err != nil {
		return nil, err
	}
	if rcvbuf > 0 {
		_ = conn.SetReadBuffer(rcvbuf)
	}
	if sndbuf > 0 {
		_ = conn.SetWriteBuffer(sndbuf)
	}
	return conn, nil
}

func newSendEndpoint(s *udpShared, ch *udpChannel) (*sendEndpoint, error) {
	local := ch.iface
	if !local.IsValid() {
		// A loopback destination gets a loopback source; anything else
		// the unspecified address of its family.
		switch a := ch.endpoint.Addr(); {
		case ch.mdc:
			local = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
		case a.IsLoopback():
			local = netip.AddrPortFrom(a, 0)
		case a.Is4():
			local = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
		default:
			local = netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
		}
	}
	var conn *net.UDPConn
	var err error
	if ch.multicast {
		conn, err = listenMulticast(ch.controlSocket(), ch.rcvbuf, ch.sndbuf)
	} else {
		conn, err = listenUDP(local, ch.rcvbuf, ch.sndbuf)
	}
	if err != nil {
		return nil, err
	}
	e := &sendEndpoint{d: s, canonical: ch.canonical, channel: ch.original, dest: ch.endpoint, conn: conn,
		pubs: map[streamSession]*networkPublication{}, done: make(chan struct{})}
	e.mdc, e.dynamic, e.seen = ch.mdc, ch.dynamic, map[netip.AddrPort]int64{}
	dests := []netip.AddrPort{}
	if !ch.mdc {
		dests = append(dests, ch.endpoint)
	}
	e.dests.Store(&dests)
	go e.readLoop()
	return e, nil
}

// close stops the reader and waits for it.
func (e *sendEndpoint) close() {
	_ = e.conn.Close()
	<-e.done
}

func (e *sendEndpoint) send(b []byte) {
	for _, to := range *e.dests.Load() {
		if l := e.d.cfg.SendLoss; l != nil && l.ShouldDrop(b) {
			continue
		}
		n, err := e.conn.WriteToUDPAddrPort(b, to)
		if err != nil {
			// ECONNREFUSED and friends: nobody listens yet. Aeron
			// counts these as short sends too.
			e.d.sys[sysShortSends].Add(1)
			continue
		}
		if n < len(b) {
			e.d.sys[sysShortSends].Add(1)
		}
		e.d.sys[sysBytesSent].Add(int64(n))
	}
}

func (e *sendEndpoint) readLoop() {
	defer close(e.done)
	buf := make([]byte, udpframe.ErrorMaxFrameLength+64)
	for {
		n, from, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				e.d.recordError(fmt.Errorf("%s: read: %w", e.channel, err))
			}
			continue // e.g. ECONNREFUSED from an earlier send
		}
		e.onControl(buf[:n], from)
	}
}

func (e *sendEndpoint) onControl(b []byte, from netip.AddrPort) {
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
	nowNs := time.Now().UnixNano()
	switch h.Type {
	case udpframe.TypeSM:
		sm, err := udpframe.DecodeSM(b)
		if err != nil {
			sys[sysInvalidPackets].Add(1)
			return
		}
		sys[sysStatusMessagesReceived].Add(1)
		if e.dynamic {
			e.learnDestination(from, nowNs)
			if sm.SessionID == 0 && sm.StreamID == 0 && sm.Flags&udpframe.FlagSMSetup != 0 {
				e.triggerSetups(nowNs) // a receiver asks the control address for setups
				return
			}
		}
		if p := e.lookup(sm.StreamID, sm.SessionID); p != nil {
			p.onStatusMessage(sm, nowNs)
		}
	case udpframe.TypeNAK:
		nak, err := udpframe.DecodeNAK(b)
		if err != nil {
			sys[sysInvalidPackets].Add(1)
			return
		}
		sys[sysNAKsReceived].Add(1)
		if p := e.lookup(nak.StreamID, nak.SessionID); p != nil {
			p.onNAK(nak, nowNs)
		}
	case udpframe.TypeRTTM:
		r, err := udpframe.DecodeRTTM(b)
		if err != nil {
			sys[sysInvalidPackets].Add(1)
			return
		}
		if p := e.lookup(r.StreamID, r.SessionID); p != nil && r.Flags&udpframe.FlagRTTMReply != 0 {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.closed {
				return
			}
			reply := udpframe.RTTM{SessionID: r.SessionID, StreamID: r.StreamID, EchoTimestamp: r.EchoTimestamp, ReceiverID: r.ReceiverID}
			n := reply.Encode(p.ctrlBuf[:])
			e.send(p.ctrlBuf[:n])
		}
	case udpframe.TypeErr:
		ef, err := udpframe.DecodeError(b)
		if err != nil {
			sys[sysInvalidPackets].Add(1)
			return
		}
		sys[sysErrorFramesReceived].Add(1)
		if p := e.lookup(ef.StreamID, ef.SessionID); p != nil {
			p.onError(ef, from)
		}
	default:
		sys[sysInvalidPackets].Add(1)
	}
}

// learnDestination adds the source of a status message to a dynamic MDC
// endpoint's destinations (Aeron's dynamic multi-destination).
func (e *sendEndpoint) learnDestination(from netip.AddrPort, nowNs int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.seen[from]; !ok {
		dests := append(slices.Clone(*e.dests.Load()), from)
		e.dests.Store(&dests)
	}
	e.seen[from] = nowNs
}

// expireDestinations drops dynamic destinations silent for timeoutNs.
func (e *sendEndpoint) expireDestinations(nowNs, timeoutNs int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	changed := false
	for a, at := range e.seen {
		if nowNs-at > timeoutNs {
			delete(e.seen, a)
			changed = true
		}
	}
	if changed {
		dests := make([]netip.AddrPort, 0, len(e.seen))
		for a := range e.seen {
			dests = append(dests, a)
		}
		e.dests.Store(&dests)
	}
}

// triggerSetups makes every publication of the endpoint send a setup now.
func (e *sendEndpoint) triggerSetups(nowNs int64) {
	e.mu.Lock()
	pubs := make([]*networkPublication, 0, len(e.pubs))
	for _, p := range e.pubs {
		pubs = append(pubs, p)
	}
	e.mu.Unlock()
	for _, p := range pubs {
		p.mu.Lock()
		p.setupElicited = true
		p.lastSetupNs = nowNs - setupInterval.Nanoseconds() - 1
		p.mu.Unlock()
	}
}

func (e *sendEndpoint) lookup(streamID, sessionID int32) *networkPublication {
	e.mu.Lock()
	p := e.pubs[streamSession{streamID, sessionID}]
	e.mu.Unlock()
	return p
}

// networkPublication is the sender side of an aeron:udp publication
// (aeron_network_publication.c). The conductor creates it and owns its
// lifecycle; the sender agent sends from its log; the endpoint's reader
// handles control frames. Fields under mu are the sender's.
type networkPublication struct {
	shared         *udpShared
	ep             *sendEndpoint
	registrationID int64
	sessionID      int32
	streamID       int32
	channel        string
	exclusive      bool
	termLength     int
	shift          int
	mtu            int
	initialTermID  int32
	log            *logbuffer.Log
	mapping        *shm.Mapping
	path           string
	params         pubParams
	termWindow     int64
	signalEOS      bool
	connTimeoutNs  int64

	pubPos, pubLmt, sndPos, sndLmt, sndBpe           *atomic.Int64
	pubPosID, pubLmtID, sndPosID, sndLmtID, sndBpeID int32

	mu                   sync.Mutex
	fc                   flowControl
	retransmit           retransmitHandler
	lastSetupNs          int64
	lastDataOrHeartbeat  int64
	hasInitialConnection bool
	setupElicited        bool
	trackSenderLimits    bool
	ctrlBuf              [udpframe.SetupLength + 8]byte
	resendNow            func(termID, termOffset, length int32) // p.resend, bound once
	closed               bool
	receivers            []receiverLiveness

	hasReceivers atomic.Bool
	lastSMNs     atomic.Int64
	endOfStream  atomic.Bool // set by the conductor once drained

	// conductor only
	refs          int
	state         pubState
	stateChangeNs int64
	cleanPos      int64
	lastSnd       int64
	sndMovedNs    int64
	tag           int64 // publication tag (tags=CHANNEL,PUB), if hasTag
	hasTag        bool
}

func (p *networkPublication) termIDAndOffset(pos int64) (int32, int32) {
	return int32(pos>>p.shift) + p.initialTermID, int32(pos & int64(p.termLength-1))
}

// receiverLiveness is when a receiver last sent a status message; an EOS
// status message (the receiver's image went) forgets it at once, as
// Aeron's receiver liveness tracker.
type receiverLiveness struct {
	id     int64
	lastNs int64
}

func (p *networkPublication) trackReceiver(id int64, eos bool, nowNs int64) {
	for i := range p.receivers {
		if p.receivers[i].id == id {
			if eos {
				p.receivers = append(p.receivers[:i], p.receivers[i+1:]...)
			} else {
				p.receivers[i].lastNs = nowNs
			}
			return
		}
	}
	if !eos {
		p.receivers = append(p.receivers, receiverLiveness{id: id, lastNs: nowNs})
	}
}

// expireReceivers forgets receivers silent for the connection timeout.
func (p *networkPublication) expireReceivers(nowNs int64) {
	kept := p.receivers[:0]
	for _, r := range p.receivers {
		if nowNs-r.lastNs <= p.connTimeoutNs {
			kept = append(kept, r)
		}
	}
	p.receivers = kept
}

// onStatusMessage runs on the endpoint's reader.
func (p *networkPublication) onStatusMessage(sm udpframe.SM, nowNs int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.lastSMNs.Store(nowNs)
	if sm.Flags&udpframe.FlagSMSetup != 0 {
		// A receiver without an image asks for a setup: send it now.
		p.setupElicited = true
		p.lastSetupNs = nowNs - setupInterval.Nanoseconds() - 1
		return
	}
	p.hasInitialConnection = true
	p.trackReceiver(sm.ReceiverID, sm.Flags&udpframe.FlagSMEOS != 0, nowNs)
	p.sndLmt.Store(p.fc.onStatusMessage(sm, p.sndLmt.Load(), p.initialTermID, p.shift, nowNs))
	p.hasReceivers.Store(len(p.receivers) > 0)
	p.log.SetConnected(len(p.receivers) > 0 && p.fc.hasRequiredReceivers())
}

// publicationError is an error frame a receiver sent a publication, on its
// way to the conductor, which logs it and tells the clients
// (OnPublicationError).
type publicationError struct {
	registrationID int64
	frame          udpframe.Error // Message copied: the datagram buffer is reused
	source         netip.AddrPort
}

// onError runs on the endpoint's reader: a receiver that sent an error
// frame (it rejected the stream) is forgotten at once, and the first frame
// from a receiver the publication knew is reported, as Aeron's
// aeron_network_publication_on_error with its liveness tracker.
func (p *networkPublication) onError(ef udpframe.Error, from netip.AddrPort) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.fc.onRemoteClose(ef.ReceiverID)
	known := false
	for i := range p.receivers {
		if p.receivers[i].id == ef.ReceiverID {
			p.receivers = append(p.receivers[:i], p.receivers[i+1:]...)
			known = true
			break
		}
	}
	if !known {
		return
	}
	p.hasReceivers.Store(len(p.receivers) > 0)
	p.log.SetConnected(len(p.receivers) > 0 && p.fc.hasRequiredReceivers())
	ef.Message = append([]byte(nil), ef.Message...) // rare: an allocation is fine here
	select {
	case p.shared.pubErrs <- publicationError{registrationID: p.registrationID, frame: ef, source: from}:
	default:
	}
}

// onNAK runs on the endpoint's reader.
func (p *networkPublication) onNAK(n udpframe.NAK, nowNs int64) {
	p.mu.Lock()
	if !p.closed && !p.retransmit.onNAK(n.TermID, n.TermOffset, n.Length, nowNs, p.resendNow) {
		p.shared.sys[sysRetransmitOverflow].Add(1)
	}
	p.mu.Unlock()
}

// available scans term from offset for committed frames up to maxLength
// bytes, as Aeron's term scanner: a padding frame counts as its header
// only (the receiver pads the rest itself) and is reported in padding.
func available(term []byte, offset, maxLength int) (avail, padding int) {
	for offset+avail < len(term) {
		at := offset + avail
		n := int(logbuffer.FrameLengthVolatile(term, at))
		if n <= 0 {
			break
		}
		aligned := logbuffer.AlignedLength(n - logbuffer.HeaderLength)
		if logbuffer.FrameType(term, at) == logbuffer.HdrTypePad {
			padding = aligned - logbuffer.HeaderLength
			aligned = logbuffer.HeaderLength
		}
		if avail+aligned > maxLength || at+aligned+padding > len(term) {
			padding = 0
			break
		}
		avail += aligned
		if padding > 0 {
			break
		}
	}
	return avail, padding
}

// resend sends [termOffset, termOffset+length) of a term again if it is
// still in the log (p.mu held).
func (p *networkPublication) resend(termID, termOffset, length int32) {
	snd := p.sndPos.Load()
	pos := logbuffer.ComputePosition(termID, int(termOffset), p.shift, p.initialTermID)
	bottom := snd - int64(p.termLength/2) - int64(min(p.termLength/8, 16<<20))
	if pos < bottom || pos >= snd || termOffset&(logbuffer.FrameAlignment-1) != 0 || int(termOffset) >= p.termLength {
		return
	}
	term := p.log.Term(logbuffer.IndexByPosition(pos, p.shift))
	offset, remaining, total := int(termOffset), int(length), 0
	for remaining > 0 && offset < p.termLength {
		avail, padding := available(term, offset, min(remaining, p.mtu))
		if avail <= 0 {
			break
		}
		p.ep.send(term[offset : offset+avail])
		offset += avail + padding
		remaining -= avail + padding
		total += avail + padding
	}
	if total > 0 {
		p.shared.sys[sysRetransmitsSent].Add(1)
		p.shared.sys[sysRetransmittedBytes].Add(int64(total))
	}
}

// send is one duty cycle of the sender for this publication.
func (p *networkPublication) send(nowNs int64) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0
	}
	snd := p.sndPos.Load()
	termID, termOffset := p.termIDAndOffset(snd)
	if !p.hasInitialConnection || p.setupElicited {
		if nowNs > p.lastSetupNs+setupInterval.Nanoseconds() {
			s := udpframe.Setup{TermOffset: termOffset, SessionID: p.sessionID, StreamID: p.streamID,
				InitialTermID: p.initialTermID, ActiveTermID: termID, TermLength: int32(p.termLength), MTU: int32(p.mtu)}
			n := s.Encode(p.ctrlBuf[:])
			p.ep.send(p.ctrlBuf[:n])
			p.lastSetupNs = nowNs
			if p.hasReceivers.Load() {
				p.setupElicited = false
			}
		}
	}
	bytes := p.sendData(nowNs, snd, int(termOffset))
	if bytes == 0 {
		if p.hasInitialConnection && nowNs > p.lastDataOrHeartbeat+heartbeatInterval.Nanoseconds() {
			flags := uint8(udpframe.FlagUnfragmented)
			if p.signalEOS && p.endOfStream.Load() {
				flags |= udpframe.FlagEOS
			}
			h := udpframe.Data{Flags: flags, Type: udpframe.TypeData, TermOffset: termOffset, SessionID: p.sessionID,
				StreamID: p.streamID, TermID: termID}
			n := h.Encode(p.ctrlBuf[:])
			p.ep.send(p.ctrlBuf[:n])
			p.shared.sys[sysHeartbeatsSent].Add(1)
			p.lastDataOrHeartbeat = nowNs
			bytes = n
		}
		p.sndLmt.Store(p.fc.onIdle(nowNs, p.sndLmt.Load(), snd))
		if len(p.receivers) > 0 {
			p.expireReceivers(nowNs)
			if len(p.receivers) == 0 {
				p.hasReceivers.Store(false)
				p.log.SetConnected(false)
			}
		}
	}
	p.retransmit.processTimeouts(nowNs, p.resendNow)
	return bytes
}

func (p *networkPublication) sendData(nowNs, snd int64, termOffset int) int {
	window := p.sndLmt.Load() - snd
	sent, pos := 0, snd
	term := p.log.Term(logbuffer.IndexByPosition(snd, p.shift))
	for i := 0; i < maxMessagesPerSend && window > 0; i++ {
		avail, padding := available(term, termOffset, int(min(window, int64(p.mtu))))
		if avail <= 0 {
			break
		}
		p.ep.send(term[termOffset : termOffset+avail])
		sent += avail
		total := avail + padding
		window -= int64(total)
		termOffset += total
		pos += int64(total)
		if termOffset >= p.termLength {
			break
		}
	}
	if sent > 0 {
		p.lastDataOrHeartbeat = nowNs
		p.trackSenderLimits = true
		p.sndPos.Store(pos)
	} else if p.trackSenderLimits && window <= 0 {
		p.sndBpe.Add(1)
		p.shared.sys[sysSenderFlowControlLimits].Add(1)
		p.trackSenderLimits = false
	}
	return sent
}

// sender is the agent sending every network publication's data.
type sender struct {
	shared *udpShared
	pubs   atomic.Pointer[[]*networkPublication] // copy-on-write by the conductor
}

func (s *sender) Name() string   { return "aeron-driver-sender" }
func (s *sender) OnStart() error { return nil }
func (s *sender) OnClose()       {}

// DoWork sends what each publication has.
func (s *sender) DoWork() (int, error) {
	list := s.pubs.Load()
	if list == nil {
		return 0, nil
	}
	nowNs := time.Now().UnixNano()
	work := 0
	for _, p := range *list {
		work += p.send(nowNs)
	}
	return work, nil
}
