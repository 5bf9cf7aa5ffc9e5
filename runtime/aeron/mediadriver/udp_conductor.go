package mediadriver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"

	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/counters"
	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
	"github.com/tpool-go/tpool/runtime/aeron/internal/udpframe"
	"github.com/tpool-go/tpool/runtime/aeron/internal/uri"
	"github.com/tpool-go/tpool/runtime/shm"
)

// ImagesDir is the subdirectory holding the log buffers of UDP images.
const ImagesDir = "images"

// Channel endpoint status values (aeron_counters.h).
const channelStatusActive = 1

// Counter type ids the UDP side adds (aeron_counters.h).
const (
	typeSenderLimit   = 9
	typeSenderBPE     = 13
	typeLocalSockaddr = 14
	typePerImage      = 10 // AERON_COUNTER_PER_IMAGE_TYPE_ID: rcv-rtt
)

// udpState is the conductor's view of the UDP side: endpoints, network
// publications, images and the subscriptions on UDP channels.
type udpState struct {
	shared        *udpShared
	sender        *sender
	receiver      *receiver
	requests      chan imageRequest
	sendEndpoints map[string]*sendEndpoint
	recvEndpoints map[string]*receiveEndpoint
	pubs          []*networkPublication
	images        []*image
	subs          []*netSubscription
	// tags=: endpoints and publications by tag
	sendTags map[int64]*sendEndpoint
	recvTags map[int64]*receiveEndpoint
	pubTags  map[int64]*networkPublication
	// checkedProcs: GOMAXPROCS was checked against the threading mode.
	checkedProcs bool
}

// openLossReport creates the loss report file in the driver's directory
// (a driver without one still runs; losses then only show in counters).
func (u *udpState) openLossReport(dir string) error {
	r, err := openLossReport(dir)
	if err != nil {
		return err
	}
	u.shared.loss = r
	return nil
}

// netSubscription is a subscription on an aeron:udp channel.
type netSubscription struct {
	registrationID int64
	client         *client
	streamID       int32
	channel        string
	ep             *receiveEndpoint
	hasSession     bool
	sessionID      int32
}

func newUDPState(cfg UDPConfig, sys *systemCounters) *udpState {
	sh := &udpShared{cfg: cfg.withDefaults(), sys: sys, errs: make(chan error, 64), pubErrs: make(chan publicationError, 16)}
	return &udpState{shared: sh, sender: &sender{shared: sh}, receiver: &receiver{shared: sh},
		requests: make(chan imageRequest, 256), sendEndpoints: map[string]*sendEndpoint{},
		recvEndpoints: map[string]*receiveEndpoint{}, sendTags: map[int64]*sendEndpoint{},
		recvTags: map[int64]*receiveEndpoint{}, pubTags: map[int64]*networkPublication{}}
}

func (u *udpState) publishSenderList() {
	l := append([]*networkPublication(nil), u.pubs...)
	u.sender.pubs.Store(&l)
}

func (u *udpState) publishReceiverList() {
	l := make([]*receiveEndpoint, 0, len(u.recvEndpoints))
	for _, e := range u.recvEndpoints {
		l = append(l, e)
	}
	u.receiver.endpoints.Store(&l)
}

// channelStatusKey is the key of a channel endpoint status counter: the
// channel's length and as much of it as fits.
func channelStatusKey(channel string) []byte {
	k := make([]byte, counters.MaxKeyLength)
	n := copy(k[4:], channel)
	binary.LittleEndian.PutUint32(k, uint32(n))
	return k
}

func (c *conductor) allocateChannelStatus(typeID int32, name, channel string, regID int64) (int32, error) {
	id, err := c.counters.Allocate(typeID, channelStatusKey(channel), name+": "+channel)
	if err != nil {
		return 0, cmdErr(command.ErrorGenericError, "allocate %s: %v", name, err)
	}
	c.counters.SetRegistrationID(id, regID)
	v, _ := c.counters.Addr(id)
	v.Store(channelStatusActive)
	return id, nil
}

// allocateLocalSockaddr makes the counter through which clients learn an
// endpoint's local address (aeron_counter_local_sockaddr_indicator_allocate):
// key = channel status counter id, address length, address.
func (c *conductor) allocateLocalSockaddr(name string, regID int64, statusID int32, addr string) int32 {
	k := make([]byte, counters.MaxKeyLength)
	binary.LittleEndian.PutUint32(k, uint32(statusID))
	n := copy(k[8:len(k)-1], addr)
	binary.LittleEndian.PutUint32(k[4:], uint32(n))
	id, err := c.counters.Allocate(typeLocalSockaddr, k, fmt.Sprintf("%s: %d %s", name, statusID, addr))
	if err != nil {
		c.recordError(fmt.Errorf("allocate %s: %w", name, err))
		return counters.NullCounterID
	}
	c.counters.SetRegistrationID(id, regID)
	v, _ := c.counters.Addr(id)
	v.Store(channelStatusActive)
	return id
}

func (c *conductor) freeCounter(id int32) {
	if id != counters.NullCounterID {
		_ = c.counters.Free(id)
	}
}

// udpPublicationParams reads the publication parameters of a UDP channel,
// with the UDP defaults.
func (c *conductor) udpPublicationParams(u uri.URI) (pubParams, error) {
	p, err := c.publicationParams(u)
	if err != nil {
		return p, err
	}
	ucfg := c.udp.shared.cfg
	if !p.hasTermLength {
		p.termLength = ucfg.TermLength
	}
	if !p.hasMTU {
		p.mtu = ucfg.MTU
	}
	switch {
	case p.mtu > p.termLength/8:
		return p, cmdErr(command.ErrorGenericError, "mtu %d larger than term-length/8 (%d)", p.mtu, p.termLength/8)
	case p.window > p.termLength/2:
		return p, cmdErr(command.ErrorGenericError, "pub-wnd %d must be in (0, term-length/2]", p.window)
	case p.hasPosition && int(p.termOffset) > p.termLength:
		return p, cmdErr(command.ErrorGenericError, "term-offset %d beyond the term length %d", p.termOffset, p.termLength)
	}
	return p, nil
}

func (c *conductor) onAddNetworkPublication(cl *client, m command.PublicationMessage, u uri.URI, exclusive bool) error {
	ch, err := parseUDPChannel(u, m.Channel, c.udp.shared.cfg.LoopbackOnly)
	if err != nil {
		return err
	}
	params, err := c.udpPublicationParams(u)
	if err != nil {
		return err
	}
	fc, err := parseFlowControl(m.Channel, u.Params["fc"], c.udp.shared.cfg.FlowControlReceiverTimeout)
	if err != nil {
		return err
	}
	if ch.mdc {
		// Publications with the same control address share its socket;
		// without one (manual MDC) each has an endpoint of its own.
		ch.canonical = "MDC-" + ch.iface.String()
		if !ch.iface.IsValid() || ch.iface.Port() == 0 {
			ch.canonical += "-" + strconv.FormatInt(m.CorrelationID, 10)
		}
	}
	var ep *sendEndpoint
	if ch.ref {
		if ep = c.udp.sendTags[ch.channelTag]; ep == nil {
			return cmdErr(command.ErrorGenericError, "%s: no publication channel has tag %d", m.Channel, ch.channelTag)
		}
		ch.canonical, ch.endpoint, ch.original = ep.canonical, ep.dest, ep.channel
	} else {
		ep = c.udp.sendEndpoints[ch.canonical]
	}
	var pub *networkPublication
	if p := c.udp.pubTags[ch.pubTag]; ch.hasPubTag && p != nil {
		if p.state != pubActive || p.ep != ep || p.streamID != m.StreamID || exclusive || p.exclusive {
			return cmdErr(command.ErrorGenericError, "%s: publication tag %d names a publication this one cannot share", m.Channel, ch.pubTag)
		}
		pub = p
	}
	if ep != nil && pub == nil {
		for _, p := range c.udp.pubs {
			if p.ep != ep || p.streamID != m.StreamID || p.state != pubActive {
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
	}
	if pub != nil {
		if err := params.matches(pub.termLength, pub.mtu); err != nil {
			return err
		}
		pub.refs++
	} else {
		if ep == nil {
			if ep, err = c.newSendEndpoint(ch, m.CorrelationID); err != nil {
				return err
			}
		}
		if pub, err = c.newNetworkPublication(cl, m, ch, ep, params, fc, exclusive); err != nil {
			if ep.refs == 0 {
				c.closeSendEndpoint(ep)
			}
			return err
		}
	}
	cl.pubs = append(cl.pubs, pubLink{registrationID: m.CorrelationID, net: pub})
	c.sendPublicationReady(exclusive, command.PublicationReady{
		CorrelationID: m.CorrelationID, RegistrationID: pub.registrationID, SessionID: pub.sessionID,
		StreamID: pub.streamID, PositionLimitCounterID: pub.pubLmtID, ChannelStatusIndicatorID: ep.statusID,
		LogFileName: pub.path,
	})
	return nil
}

// checkGOMAXPROCS warns once, when the first UDP endpoint opens, if the
// threading mode needs more Ps than the process has (see
// ThreadingMode.MinGOMAXPROCS).
func (c *conductor) checkGOMAXPROCS() {
	if c.udp.checkedProcs {
		return
	}
	c.udp.checkedProcs = true
	mode := c.udp.shared.cfg.Threading
	if have, want := runtime.GOMAXPROCS(0), mode.MinGOMAXPROCS(); have < want {
		c.log.Warn("GOMAXPROCS is below what the UDP threading mode needs: socket reads may wait up to 10 ms for a P; raise GOMAXPROCS or use a shared threading mode",
			"gomaxprocs", have, "threading", string(mode), "want", want)
	}
}

func (c *conductor) newSendEndpoint(ch *udpChannel, regID int64) (*sendEndpoint, error) {
	c.checkGOMAXPROCS()
	ep, err := newSendEndpoint(c.udp.shared, ch)
	if err != nil {
		return nil, cmdErr(command.ErrorGenericError, "%s: open send socket: %v", ch.original, err)
	}
	if ep.statusID, err = c.allocateChannelStatus(counters.TypeSendChannelStatus, "snd-channel", ch.original, regID); err != nil {
		ep.close()
		return nil, err
	}
	ep.sockaddrID = c.allocateLocalSockaddr("snd-local-sockaddr", regID, ep.statusID, ep.conn.LocalAddr().String())
	c.udp.sendEndpoints[ch.canonical] = ep
	if ch.hasChannelTag {
		ep.tag, ep.hasTag = ch.channelTag, true
		c.udp.sendTags[ch.channelTag] = ep
	}
	return ep, nil
}

func (c *conductor) closeSendEndpoint(ep *sendEndpoint) {
	ep.close()
	c.freeCounter(ep.sockaddrID)
	_ = c.counters.Free(ep.statusID)
	delete(c.udp.sendEndpoints, ep.canonical)
	if ep.hasTag && c.udp.sendTags[ep.tag] == ep {
		delete(c.udp.sendTags, ep.tag)
	}
}

func (c *conductor) newNetworkPublication(cl *client, m command.PublicationMessage, ch *udpChannel, ep *sendEndpoint,
	params pubParams, fc flowControl, exclusive bool) (*networkPublication, error) {
	regID := m.CorrelationID
	sessionID := c.allocateSessionID(params)
	for !params.hasSession && ep.pubs[streamSession{m.StreamID, sessionID}] != nil {
		sessionID = c.allocateSessionID(params)
	}
	initialTermID := rand.Int32()
	if params.hasPosition {
		initialTermID = params.initialTermID
	}
	path := filepath.Join(c.dir, PublicationsDir, strconv.FormatInt(regID, 10)+".logbuffer")
	length := logbuffer.ComputeLogLength(params.termLength, DefaultPageSize)
	create := shm.CreateAllocated
	if params.sparse {
		create = shm.Create
	}
	mp, err := create(path, length, fileMode)
	if err != nil {
		return nil, cmdErr(command.ErrorStorageSpace, "create log buffer: %v", err)
	}
	var ids []int32
	fail := func(err error) (*networkPublication, error) {
		for _, id := range ids {
			_ = c.counters.Free(id)
		}
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
		LingerTimeoutNs: params.linger, Sparse: params.sparse, SignalEOS: params.eos, Tether: true, Rejoin: true,
		Reliable: ch.reliable,
	})
	if err != nil {
		return fail(cmdErr(command.ErrorGenericError, "init log buffer: %v", err))
	}
	p := &networkPublication{
		shared: c.udp.shared, ep: ep, registrationID: regID, sessionID: sessionID, streamID: m.StreamID,
		channel: m.Channel, exclusive: exclusive, termLength: params.termLength,
		shift: logbuffer.PositionBitsToShift(params.termLength), mtu: params.mtu, initialTermID: initialTermID,
		log: lg, mapping: mp, path: path, params: params, termWindow: int64(window), signalEOS: params.eos,
		connTimeoutNs: c.udp.shared.cfg.PublicationConnectionTimeout.Nanoseconds(), fc: fc,
		refs: 1, state: pubActive, stateChangeNs: c.nowNs,
	}
	p.retransmit.delayNs = c.udp.shared.cfg.RetransmitDelay.Nanoseconds()
	p.retransmit.lingerNs = c.udp.shared.cfg.RetransmitLinger.Nanoseconds()
	p.resendNow = p.resend
	for _, ctr := range []struct {
		typeID int32
		name   string
		id     *int32
		addr   **atomic.Int64
	}{
		{counters.TypePublisherPosition, "pub-pos (sampled)", &p.pubPosID, &p.pubPos},
		{counters.TypePublisherLimit, "pub-lmt", &p.pubLmtID, &p.pubLmt},
		{counters.TypeSenderPosition, "snd-pos", &p.sndPosID, &p.sndPos},
		{typeSenderLimit, "snd-lmt", &p.sndLmtID, &p.sndLmt},
		{typeSenderBPE, "snd-bpe", &p.sndBpeID, &p.sndBpe},
	} {
		id, err := c.counters.Allocate(ctr.typeID, counters.StreamKey(regID, sessionID, m.StreamID, m.Channel),
			counters.StreamLabel(ctr.name, regID, sessionID, m.StreamID, m.Channel, ""))
		if err != nil {
			return fail(cmdErr(command.ErrorGenericError, "allocate %s: %v", ctr.name, err))
		}
		ids = append(ids, id)
		c.counters.SetRegistrationID(id, regID)
		*ctr.id = id
		*ctr.addr, _ = c.counters.Addr(id)
	}
	c.counters.SetOwnerID(p.pubLmtID, cl.id)
	start := lg.ProducerPosition()
	p.pubPos.Store(start)
	p.pubLmt.Store(start)
	p.sndPos.Store(start)
	p.sndLmt.Store(start)
	p.cleanPos = start
	p.lastSMNs.Store(c.nowNs)
	ep.mu.Lock()
	ep.pubs[streamSession{m.StreamID, sessionID}] = p
	ep.mu.Unlock()
	ep.refs++
	if ch.hasPubTag {
		p.tag, p.hasTag = ch.pubTag, true
		c.udp.pubTags[ch.pubTag] = p
	}
	c.udp.pubs = append(c.udp.pubs, p)
	c.udp.publishSenderList()
	c.sys[sysBytesCurrentlyMapped].Add(int64(length))
	c.log.Debug("network publication added", "registration_id", regID, "session_id", sessionID,
		"stream_id", m.StreamID, "channel", m.Channel)
	return p, nil
}

// releaseNetworkPublication drops one reference; the last one drains it.
func (c *conductor) releaseNetworkPublication(p *networkPublication) {
	p.refs--
	if p.refs > 0 || p.state != pubActive {
		return
	}
	producer := p.log.ProducerPosition()
	if p.pubLmt.Load() > producer {
		p.pubLmt.Store(producer)
	}
	p.log.SetEndOfStreamPosition(producer)
	p.state, p.stateChangeNs = pubDraining, c.nowNs
}

// updateNetworkPublisherLimit moves pub-lmt a window ahead of the sender
// while receivers are connected and holds it at the sender otherwise
// (aeron_network_publication_update_pub_pos_and_lmt).
func (c *conductor) updateNetworkPublisherLimit(p *networkPublication) int {
	if p.state != pubActive {
		return 0
	}
	p.pubPos.Store(p.log.ProducerPosition())
	snd := p.sndPos.Load()
	if p.log.IsConnected() {
		proposed := snd + p.termWindow
		if proposed > p.pubLmt.Load() {
			p.clean(snd - int64(p.termLength))
			p.pubLmt.Store(proposed)
			return 1
		}
	} else if p.pubLmt.Load() > snd {
		p.pubLmt.Store(snd)
		p.clean(snd - int64(p.termLength))
		return 1
	}
	return 0
}

func (p *networkPublication) clean(position int64) {
	for p.cleanPos < position {
		next := p.log.Clean(p.cleanPos, position)
		if next == p.cleanPos {
			break
		}
		p.cleanPos = next
	}
}

func (c *conductor) networkPublicationTimer(p *networkPublication) {
	switch p.state {
	case pubActive:
		if !p.exclusive {
			c.checkNetworkBlocked(p)
		}
	case pubDraining:
		producer := p.log.ProducerPosition()
		p.pubPos.Store(producer)
		if p.sndPos.Load() >= producer || !p.hasReceivers.Load() ||
			c.nowNs-p.stateChangeNs > p.params.linger+p.connTimeoutNs {
			p.endOfStream.Store(true)
			p.state, p.stateChangeNs = pubLinger, c.nowNs
		}
	case pubLinger:
		if c.nowNs-p.stateChangeNs >= p.params.linger {
			p.state = pubDone
		}
	}
}

// checkNetworkBlocked unblocks a log left with an uncommitted frame by a
// publisher that died mid-offer, at the sender position
// (aeron_network_publication_check_for_blocked_publisher).
func (c *conductor) checkNetworkBlocked(p *networkPublication) {
	snd := p.sndPos.Load()
	producer := p.log.ProducerPosition()
	if snd == p.lastSnd && (producer > snd || p.log.ActiveTermCount() != int32(snd>>p.shift)) {
		if c.nowNs > p.sndMovedNs+c.cfg.PublicationUnblockTimeout.Nanoseconds() {
			if p.log.Unblock(snd) {
				c.sys[sysUnblockedPublications].Add(1)
				c.recordError(errors.New("unblocked network publication"), "registration_id", p.registrationID, "position", snd)
			}
			p.sndMovedNs = c.nowNs
		}
		return
	}
	p.lastSnd, p.sndMovedNs = snd, c.nowNs
}

func (c *conductor) closeNetworkPublication(p *networkPublication) {
	if p.hasTag && c.udp.pubTags[p.tag] == p {
		delete(c.udp.pubTags, p.tag)
	}
	p.ep.mu.Lock()
	if p.ep.pubs[streamSession{p.streamID, p.sessionID}] == p {
		delete(p.ep.pubs, streamSession{p.streamID, p.sessionID})
	}
	p.ep.mu.Unlock()
	// The sender list no longer has it; after closed is set under its
	// lock, neither the sender nor the endpoint's reader touches the log.
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	for _, id := range []int32{p.pubPosID, p.pubLmtID, p.sndPosID, p.sndLmtID, p.sndBpeID} {
		_ = c.counters.Free(id)
	}
	c.sys[sysBytesCurrentlyMapped].Add(-int64(p.mapping.Len()))
	_ = p.mapping.Close()
	if err := os.Remove(p.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.recordError(fmt.Errorf("remove log buffer: %w", err))
	}
	p.ep.refs--
	if p.ep.refs == 0 {
		c.closeSendEndpoint(p.ep)
	}
	c.log.Debug("network publication closed", "registration_id", p.registrationID)
}

func (c *conductor) onAddNetworkSubscription(cl *client, m command.SubscriptionMessage, u uri.URI) error {
	ch, err := parseUDPChannel(u, m.Channel, c.udp.shared.cfg.LoopbackOnly)
	if err != nil {
		return err
	}
	sessionID, hasSession, err := u.Int32(uri.SessionIDKey)
	if err != nil {
		return cmdErr(command.ErrorGenericError, "%v", err)
	}
	if ch.mdc || ch.manualMode {
		return cmdErr(command.ErrorNotSupported, "%s: a subscription needs an endpoint; receive-side destinations (control-mode=manual on a subscription) are not supported by the embedded driver", m.Channel)
	}
	if tether, err := u.Bool(uri.TetherKey, true); err != nil {
		return cmdErr(command.ErrorGenericError, "%v", err)
	} else if !tether {
		return cmdErr(command.ErrorNotSupported, "%s: untethered (tether=false) UDP subscriptions are not supported by the embedded driver", m.Channel)
	}
	var ep *receiveEndpoint
	if ch.ref {
		if ep = c.udp.recvTags[ch.channelTag]; ep == nil {
			return cmdErr(command.ErrorGenericError, "%s: no subscription channel has tag %d", m.Channel, ch.channelTag)
		}
	} else {
		ep = c.udp.recvEndpoints[ch.canonical]
	}
	if ep == nil {
		c.checkGOMAXPROCS()
		if ep, err = newReceiveEndpoint(c.udp.shared, ch, c.udp.requests); err != nil {
			return cmdErr(command.ErrorGenericError, "%s: bind %s: %v", m.Channel, ch.endpoint, err)
		}
		if ep.statusID, err = c.allocateChannelStatus(counters.TypeReceiveChannelStatus, "rcv-channel", m.Channel, m.CorrelationID); err != nil {
			ep.close()
			return err
		}
		ep.sockaddrID = c.allocateLocalSockaddr("rcv-local-sockaddr", m.CorrelationID, ep.statusID, ep.conn.LocalAddr().String())
		c.udp.recvEndpoints[ch.canonical] = ep
		if ch.hasChannelTag {
			ep.tag, ep.hasTag = ch.channelTag, true
			c.udp.recvTags[ch.channelTag] = ep
		}
		c.udp.publishReceiverList()
	}
	ep.refs++
	ep.mu.Lock()
	ep.interest[m.StreamID]++
	ep.mu.Unlock()
	s := &netSubscription{registrationID: m.CorrelationID, client: cl, streamID: m.StreamID, channel: m.Channel,
		ep: ep, hasSession: hasSession, sessionID: sessionID}
	c.udp.subs = append(c.udp.subs, s)
	cl.netSubs = append(cl.netSubs, s)
	r := command.SubscriptionReady{CorrelationID: m.CorrelationID, ChannelStatusIndicatorID: ep.statusID}
	c.scratch = r.Append(c.scratch[:0])
	c.transmit(command.OnSubscriptionReady, c.scratch)
	for _, img := range c.udp.images {
		if img.ep == ep && img.state == imageActive && s.matches(img) {
			c.linkImage(s, img, img.joinPosition())
			img.publishSubs()
		}
	}
	return nil
}

func (s *netSubscription) matches(img *image) bool {
	return s.streamID == img.streamID && (!s.hasSession || s.sessionID == img.sessionID)
}

// joinPosition: a new subscriber starts at the slowest subscriber, or the
// receiver position.
func (img *image) joinPosition() int64 {
	pos := img.rcvPos.Load()
	for _, l := range img.links {
		pos = min(pos, l.pos.Load())
	}
	return pos
}

func (img *image) publishSubs() {
	l := make([]*atomic.Int64, len(img.links))
	for i, x := range img.links {
		l[i] = x.pos
	}
	img.subs.Store(&l)
}

func (c *conductor) linkImage(s *netSubscription, img *image, join int64) {
	id, err := c.counters.Allocate(counters.TypeSubscriberPosition,
		counters.StreamKey(s.registrationID, img.sessionID, img.streamID, s.channel),
		counters.StreamLabel("sub-pos", s.registrationID, img.sessionID, img.streamID, s.channel, "@"+strconv.FormatInt(join, 10)))
	if err != nil {
		c.recordError(fmt.Errorf("allocate sub-pos: %w", err), "subscription_registration_id", s.registrationID)
		return
	}
	c.counters.SetRegistrationID(id, s.registrationID)
	c.counters.SetOwnerID(id, s.client.id)
	pos, _ := c.counters.Addr(id)
	pos.Store(join)
	img.links = append(img.links, imageLink{sub: s, counterID: id, pos: pos})
	msg := command.ImageReady{
		CorrelationID: img.correlationID, SessionID: img.sessionID, StreamID: img.streamID,
		SubscriptionRegistration: s.registrationID, SubscriberPositionID: id,
		LogFileName: img.path, SourceIdentity: img.sourceIdentity,
	}
	c.scratch = msg.Append(c.scratch[:0])
	c.transmit(command.OnAvailableImage, c.scratch)
}

func (c *conductor) sendUnavailableNetImage(img *image, s *netSubscription) {
	m := command.ImageMessage{CorrelationID: img.correlationID, SubscriptionRegistration: s.registrationID,
		StreamID: img.streamID, Channel: s.channel}
	c.scratch = m.Append(c.scratch[:0])
	c.transmit(command.OnUnavailableImage, c.scratch)
}

// removeNetworkSubscription unlinks a subscription from its images and
// releases its endpoint.
func (c *conductor) removeNetworkSubscription(s *netSubscription) {
	for _, img := range c.udp.images {
		for i, l := range img.links {
			if l.sub == s {
				_ = c.counters.Free(l.counterID)
				img.links = append(img.links[:i], img.links[i+1:]...)
				img.publishSubs()
				break
			}
		}
	}
	for i, x := range c.udp.subs {
		if x == s {
			c.udp.subs = append(c.udp.subs[:i], c.udp.subs[i+1:]...)
			break
		}
	}
	ep := s.ep
	ep.mu.Lock()
	ep.interest[s.streamID]--
	if ep.interest[s.streamID] <= 0 {
		delete(ep.interest, s.streamID)
	}
	ep.mu.Unlock()
	ep.refs--
	c.maybeCloseReceiveEndpoint(ep)
}

// maybeCloseReceiveEndpoint closes an endpoint without subscriptions once
// its images are gone (they send their end-of-stream status messages
// through it until then).
func (c *conductor) maybeCloseReceiveEndpoint(ep *receiveEndpoint) {
	if ep.refs > 0 || c.udp.recvEndpoints[ep.canonical] != ep {
		return
	}
	for _, img := range c.udp.images {
		if img.ep == ep {
			return
		}
	}
	delete(c.udp.recvEndpoints, ep.canonical)
	if ep.hasTag && c.udp.recvTags[ep.tag] == ep {
		delete(c.udp.recvTags, ep.tag)
	}
	c.udp.publishReceiverList()
	ep.close()
	c.freeCounter(ep.sockaddrID)
	_ = c.counters.Free(ep.statusID)
}

// onImageRequest creates the image a setup frame asked for.
func (c *conductor) onImageRequest(r imageRequest) {
	ep, s := r.ep, r.setup
	key := streamSession{s.StreamID, s.SessionID}
	if c.udp.recvEndpoints[ep.canonical] != ep {
		return // the endpoint closed meanwhile
	}
	var subs []*netSubscription
	for _, x := range c.udp.subs {
		if x.ep == ep && x.streamID == s.StreamID && (!x.hasSession || x.sessionID == s.SessionID) {
			subs = append(subs, x)
		}
	}
	if len(subs) == 0 {
		ep.forgetPending(key)
		return
	}
	img, err := c.newImage(r)
	if err != nil {
		c.recordError(fmt.Errorf("create image: %w", err), "session_id", s.SessionID, "stream_id", s.StreamID, "source", r.source)
		ep.forgetPending(key)
		return
	}
	join := img.rcvPos.Load()
	for _, x := range subs {
		c.linkImage(x, img, join)
	}
	img.publishSubs()
	c.udp.images = append(c.udp.images, img)
	ep.addImage(img)
}

func (c *conductor) newImage(r imageRequest) (*image, error) {
	s, ep := r.setup, r.ep
	regID := c.toDriver.NextCorrelationID()
	dir := filepath.Join(c.dir, ImagesDir)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, strconv.FormatInt(regID, 10)+".logbuffer")
	termLength := int(s.TermLength)
	length := logbuffer.ComputeLogLength(termLength, DefaultPageSize)
	// Images stay sparse: pages are touched as the stream fills them.
	mp, err := shm.Create(path, length, fileMode)
	if err != nil {
		return nil, err
	}
	ucfg := c.udp.shared.cfg
	lg, err := logbuffer.Init(mp.Bytes(), logbuffer.Params{
		CorrelationID: regID, InitialTermID: s.InitialTermID, MTU: s.MTU, TermLength: s.TermLength,
		PageSize: DefaultPageSize, SessionID: s.SessionID, StreamID: s.StreamID, HasPosition: true,
		TermID: s.ActiveTermID, TermOffset: s.TermOffset, Sparse: true, Tether: true, Rejoin: true,
		Reliable: ep.ch.reliable, SignalEOS: true,
	})
	if err != nil {
		_ = mp.Close()
		_ = os.Remove(path)
		return nil, err
	}
	shift := logbuffer.PositionBitsToShift(termLength)
	join := logbuffer.ComputePosition(s.ActiveTermID, int(s.TermOffset), shift, s.InitialTermID)
	window := ucfg.InitialWindow
	if ep.ch.rcvWindow > 0 {
		window = ep.ch.rcvWindow
	}
	window = min(window, termLength/2)
	img := &image{
		ep: ep, correlationID: regID, sessionID: s.SessionID, streamID: s.StreamID, source: r.source, control: ep.controlAddr(r.source),
		sourceIdentity: r.source.String(), termLength: termLength, shift: shift, initialTermID: s.InitialTermID,
		log: lg, mapping: mp, path: path, window: int32(window), smTimeoutNs: ucfg.StatusMessageTimeout.Nanoseconds(),
		reliable: ep.ch.reliable, lastSMPos: join, overrunThreshold: join + int64(termLength/2),
		state: imageActive, stateChangeNs: c.nowNs, cleanPos: join, lossEntry: -1,
	}
	img.rttIntervalNs = ucfg.RTTMeasurementInterval.Nanoseconds()
	img.loss.delayNs = ucfg.NAKDelay.Nanoseconds()
	img.loss.retryNs = ucfg.NAKDelay.Nanoseconds() * DefaultNAKRetryDelayRatio
	img.lastPacketNs.Store(c.nowNs)
	type ctrSpec struct {
		typeID int32
		name   string
		id     *int32
		addr   **atomic.Int64
		value  int64
	}
	ctrs := []ctrSpec{
		{counters.TypeReceiverHWM, "rcv-hwm", &img.rcvHwmID, &img.rcvHwm, join},
		{counters.TypeReceiverPosition, "rcv-pos", &img.rcvPosID, &img.rcvPos, join},
	}
	img.rttID = counters.NullCounterID
	if img.rttIntervalNs > 0 {
		ctrs = append(ctrs, ctrSpec{typePerImage, "rcv-rtt", &img.rttID, &img.rtt, 0})
	}
	var ids []int32
	for _, ctr := range ctrs {
		id, err := c.counters.Allocate(ctr.typeID, counters.StreamKey(regID, s.SessionID, s.StreamID, ep.channel),
			counters.StreamLabel(ctr.name, regID, s.SessionID, s.StreamID, ep.channel, ""))
		if err != nil {
			for _, id := range ids {
				_ = c.counters.Free(id)
			}
			_ = mp.Close()
			_ = os.Remove(path)
			return nil, err
		}
		ids = append(ids, id)
		c.counters.SetRegistrationID(id, regID)
		*ctr.id = id
		*ctr.addr, _ = c.counters.Addr(id)
		(*ctr.addr).Store(ctr.value)
	}
	c.sys[sysBytesCurrentlyMapped].Add(int64(length))
	c.log.Debug("image added", "correlation_id", regID, "session_id", s.SessionID, "stream_id", s.StreamID,
		"source", img.sourceIdentity, "join_position", join)
	return img, nil
}

func (c *conductor) imageTimer(img *image) {
	switch img.state {
	case imageActive:
		if len(img.links) == 0 || c.nowNs > img.lastPacketNs.Load()+c.udp.shared.cfg.ImageLivenessTimeout.Nanoseconds() ||
			(img.endOfStream.Load() && img.rcvPos.Load() >= img.rcvHwm.Load()) {
			img.state, img.stateChangeNs = imageDraining, c.nowNs
			img.sendingEOS.Store(true)
		}
	case imageDraining:
		drained := true
		rcv := img.rcvPos.Load()
		for _, l := range img.links {
			if l.pos.Load() < rcv {
				drained = false
			}
		}
		if drained && c.nowNs-img.stateChangeNs > imageSMEOSMultiple*img.smTimeoutNs {
			img.ep.removeImage(img)
			for _, l := range img.links {
				c.sendUnavailableNetImage(img, l.sub)
			}
			img.state, img.stateChangeNs = imageLinger, c.nowNs
		}
	case imageLinger:
		if len(img.links) == 0 || c.nowNs > img.stateChangeNs+c.udp.shared.cfg.ImageLivenessTimeout.Nanoseconds() {
			img.state = imageDone
		}
	}
}

func (c *conductor) closeImage(img *image) {
	img.ep.removeImage(img) // idempotent; the endpoint no longer touches it
	for _, l := range img.links {
		_ = c.counters.Free(l.counterID)
	}
	img.links = nil
	_ = c.counters.Free(img.rcvHwmID)
	_ = c.counters.Free(img.rcvPosID)
	c.freeCounter(img.rttID)
	c.sys[sysBytesCurrentlyMapped].Add(-int64(img.mapping.Len()))
	_ = img.mapping.Close()
	if err := os.Remove(img.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.recordError(fmt.Errorf("remove image log buffer: %w", err))
	}
	c.log.Debug("image closed", "correlation_id", img.correlationID)
}

// udpDoWork is the conductor's per-cycle UDP work: image requests, errors
// from the network goroutines, publisher limits.
func (c *conductor) udpDoWork() int {
	work := 0
	for i := 0; i < 16; i++ {
		select {
		case r := <-c.udp.requests:
			c.onImageRequest(r)
			work++
			continue
		case err := <-c.udp.shared.errs:
			c.recordError(err)
			work++
			continue
		case pe := <-c.udp.shared.pubErrs:
			c.onPublicationError(pe)
			work++
			continue
		default:
		}
		break
	}
	for _, p := range c.udp.pubs {
		work += c.updateNetworkPublisherLimit(p)
	}
	return work
}

// udpTimer runs the state machines of network publications and images.
func (c *conductor) udpTimer() {
	kept := c.udp.pubs[:0]
	removed := false
	var done []*networkPublication
	for _, e := range c.udp.sendEndpoints {
		if e.dynamic {
			e.expireDestinations(c.nowNs, dynamicDestinationTimeout.Nanoseconds())
		}
	}
	for _, p := range c.udp.pubs {
		c.networkPublicationTimer(p)
		if p.state == pubDone {
			done = append(done, p)
			removed = true
			continue
		}
		kept = append(kept, p)
	}
	clear(c.udp.pubs[len(kept):])
	c.udp.pubs = kept
	if removed {
		c.udp.publishSenderList()
	}
	for _, p := range done {
		c.closeNetworkPublication(p)
	}
	keptImages := c.udp.images[:0]
	for _, img := range c.udp.images {
		c.imageTimer(img)
		if img.state == imageDone {
			c.closeImage(img)
			continue
		}
		keptImages = append(keptImages, img)
	}
	clear(c.udp.images[len(keptImages):])
	c.udp.images = keptImages
	for _, ep := range c.udp.recvEndpoints {
		if ep.refs == 0 {
			c.maybeCloseReceiveEndpoint(ep) // deleting during range is fine in Go
		}
	}
}

// udpShutdown closes every socket and log (after the agents stopped).
func (c *conductor) udpShutdown() {
	for _, e := range c.udp.recvEndpoints {
		e.close()
	}
	for _, e := range c.udp.sendEndpoints {
		e.close()
	}
	for _, p := range c.udp.pubs {
		_ = p.mapping.Close()
	}
	for _, img := range c.udp.images {
		_ = img.mapping.Close()
	}
	c.udp.shared.loss.close()
	c.udp.shared.loss = nil
	c.udp.pubs, c.udp.images = nil, nil
	c.udp.recvEndpoints, c.udp.sendEndpoints = map[string]*receiveEndpoint{}, map[string]*sendEndpoint{}
}

// onPublicationError logs an error frame a receiver sent a publication and
// tells the clients (aeron_driver_conductor_on_publication_error).
func (c *conductor) onPublicationError(pe publicationError) {
	f := pe.frame
	groupTag := int64(-1) // AERON_NULL_VALUE
	if f.Flags&udpframe.FlagErrGroupTag != 0 {
		groupTag = f.GroupTag
	}
	c.recordError(fmt.Errorf("onPublicationError: registrationId=%d, destinationRegistrationId=%d, sessionId=%d, streamId=%d, receiverId=%d, groupId=%d, errorCode=%d, errorMessage=%s",
		pe.registrationID, int64(-1), f.SessionID, f.StreamID, f.ReceiverID, groupTag, f.ErrorCode, f.Message))
	m := command.PublicationError{RegistrationID: pe.registrationID, DestinationRegistrationID: -1,
		SessionID: f.SessionID, StreamID: f.StreamID, ReceiverID: f.ReceiverID, GroupTag: groupTag,
		SourcePort: pe.source.Port(), ErrorCode: f.ErrorCode, Message: string(f.Message)}
	switch a := pe.source.Addr(); {
	case a.Is4():
		m.AddressType = command.AddressTypeIPv4
		a4 := a.As4()
		copy(m.SourceAddress[:], a4[:])
	case a.Is6():
		m.AddressType = command.AddressTypeIPv6
		m.SourceAddress = a.As16()
	}
	c.scratch = m.Append(c.scratch[:0])
	c.transmit(command.OnPublicationError, c.scratch)
}

// onRejectImage rejects a network image at a client's request
// (aeron_driver_conductor_on_invalidate_image): its receiver drops the
// stream's data and sends error frames with the reason in place of status
// messages until the image times out.
func (c *conductor) onRejectImage(m command.RejectImageMessage) error {
	if len(m.Reason) > udpframe.ErrorMaxTextLength {
		return cmdErr(command.ErrorGenericError, "Invalidation reason_text must be %d bytes or less", udpframe.ErrorMaxTextLength)
	}
	for _, img := range c.udp.images {
		if img.correlationID == m.ImageCorrelationID {
			img.ep.mu.Lock()
			img.rejection = []byte(m.Reason)
			img.ep.mu.Unlock()
			c.sendSuccess(m.CorrelationID)
			return nil
		}
	}
	return cmdErr(command.ErrorGenericError, "Unable to resolve image for correlationId=%d", m.ImageCorrelationID)
}
