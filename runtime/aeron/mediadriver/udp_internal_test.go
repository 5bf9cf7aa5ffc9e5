package mediadriver

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
	"github.com/tpool-go/tpool/runtime/aeron/internal/udpframe"
)

const (
	hTermLength = 64 * 1024
	hSession    = 77
	hStream     = 1001
	hInitial    = 1000
)

// harness is a receive endpoint with one image on an in-memory log and a
// socket that sends its status messages and NAKs to itself on loopback.
type harness struct {
	ep  *receiveEndpoint
	img *image
	sub *atomic.Int64
	src netip.AddrPort
}

func newSystemCountersForTest() *systemCounters {
	var s systemCounters
	for i := range s {
		s[i] = new(atomic.Int64)
	}
	return &s
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	ch := &udpChannel{endpoint: netip.MustParseAddrPort("127.0.0.1:0"), reliable: true}
	conn, err := listenUDP(ch.endpoint, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	shared := &udpShared{cfg: UDPConfig{}.withDefaults(), sys: newSystemCountersForTest(), errs: make(chan error, 1)}
	ep := &receiveEndpoint{d: shared, ch: ch, conn: conn, receiverID: 5, requests: make(chan imageRequest, 1),
		interest: map[int32]int{hStream: 1}, images: map[streamSession]*image{}, pending: map[streamSession]int64{}}
	mem := make([]byte, logbuffer.ComputeLogLength(hTermLength, DefaultPageSize))
	lg, err := logbuffer.Init(mem, logbuffer.Params{InitialTermID: hInitial, MTU: 1408, TermLength: hTermLength,
		PageSize: DefaultPageSize, SessionID: hSession, StreamID: hStream})
	if err != nil {
		t.Fatal(err)
	}
	img := &image{ep: ep, sessionID: hSession, streamID: hStream, source: conn.LocalAddr().(interface {
		AddrPort() netip.AddrPort
	}).AddrPort(), termLength: hTermLength, shift: logbuffer.PositionBitsToShift(hTermLength), initialTermID: hInitial,
		log: lg, window: hTermLength / 2, smTimeoutNs: int64(time.Millisecond), reliable: true,
		overrunThreshold: hTermLength / 2, rcvHwm: new(atomic.Int64), rcvPos: new(atomic.Int64)}
	img.control = img.source
	img.rtt, img.rttIntervalNs = new(atomic.Int64), int64(time.Millisecond)
	img.loss.delayNs, img.loss.retryNs = 0, int64(time.Millisecond)
	sub := new(atomic.Int64)
	img.subs.Store(&[]*atomic.Int64{sub})
	ep.images[streamSession{hStream, hSession}] = img
	ep.list = []*image{img}
	return &harness{ep: ep, img: img, sub: sub, src: img.source}
}

// dataFrame is one frame of payload bytes at position pos.
func dataFrame(pos int64, payload int) []byte {
	n := udpframe.Align(udpframe.DataHeaderLength + payload)
	b := make([]byte, n)
	udpframe.Data{FrameLength: int32(udpframe.DataHeaderLength + payload), Flags: udpframe.FlagUnfragmented, Type: udpframe.TypeData,
		TermOffset: int32(pos % hTermLength), SessionID: hSession, StreamID: hStream, TermID: hInitial + int32(pos/hTermLength)}.Encode(b)
	for i := udpframe.DataHeaderLength; i < len(b); i++ {
		b[i] = byte(pos)
	}
	return b
}

// step consumes what the image has (moving the subscriber to the receiver
// position, as a reader that keeps up would) and runs the receiver's work.
func (h *harness) step(now int64) {
	h.img.doWork(now)
	h.sub.Store(h.img.rcvPos.Load())
	h.img.doWork(now)
}

func TestImageRebuildsOutOfOrderAndDuplicates(t *testing.T) {
	h := newHarness(t)
	now := time.Now().UnixNano()
	frames := [][]byte{dataFrame(0, 100), dataFrame(160, 10), dataFrame(224, 500)}
	order := []int{2, 0, 2, 1, 0} // reordered, with duplicates
	for _, i := range order {
		h.ep.onDatagram(frames[i], h.src, now)
	}
	h.step(now)
	if got, want := h.img.rcvPos.Load(), int64(224+udpframe.Align(532)); got != want {
		t.Fatalf("rcv-pos %d, want %d", got, want)
	}
	if n := h.ep.d.sys[sysInvalidPackets].Load(); n != 0 {
		t.Fatalf("%d invalid packets", n)
	}
}

func TestImageNAKsGap(t *testing.T) {
	h := newHarness(t)
	now := time.Now().UnixNano()
	h.ep.onDatagram(dataFrame(0, 100), h.src, now)
	h.ep.onDatagram(dataFrame(320, 100), h.src, now) // 160..320 lost
	h.step(now)
	if got := h.ep.d.sys[sysNAKsSent].Load(); got != 1 {
		t.Fatalf("NAKs sent %d, want 1", got)
	}
	if h.img.loss.termOffset != 160 || h.img.loss.length != 160 {
		t.Fatalf("NAK for offset %d length %d, want 160 and 160", h.img.loss.termOffset, h.img.loss.length)
	}
	h.step(now) // within the retry delay: no new NAK
	if got := h.ep.d.sys[sysNAKsSent].Load(); got != 1 {
		t.Fatalf("NAKs sent %d after a second look, want still 1", got)
	}
	h.ep.onDatagram(dataFrame(160, 100), h.src, now)
	h.step(now)
	if got := h.img.rcvPos.Load(); got != 480 {
		t.Fatalf("rcv-pos %d after the retransmission, want 480", got)
	}
}

func TestReceivePathAllocatesNothing(t *testing.T) {
	h := newHarness(t)
	now := time.Now().UnixNano()
	pos := int64(0)
	frame := dataFrame(0, 32)
	allocs := testing.AllocsPerRun(1000, func() {
		udpframe.Data{FrameLength: 64, Flags: udpframe.FlagUnfragmented, Type: udpframe.TypeData,
			TermOffset: int32(pos % hTermLength), SessionID: hSession, StreamID: hStream,
			TermID: hInitial + int32(pos/hTermLength)}.Encode(frame)
		h.ep.onDatagram(frame, h.src, now)
		h.step(now)
		pos += int64(len(frame))
		now += int64(time.Microsecond)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per datagram", allocs)
	}
	if h.img.rcvPos.Load() != pos {
		t.Fatalf("rcv-pos %d, want %d", h.img.rcvPos.Load(), pos)
	}
}

// FuzzReceivePath feeds arbitrary datagrams to a receive endpoint with an
// image: they must be dropped (and counted) or inserted, never panic, and
// never leave the image stuck: the frame due next is still taken.
func FuzzReceivePath(f *testing.F) {
	f.Add(dataFrame(0, 100))
	f.Add(dataFrame(64, 7))
	hb := make([]byte, udpframe.DataHeaderLength)
	udpframe.Data{Flags: udpframe.FlagUnfragmented | udpframe.FlagEOS, Type: udpframe.TypeData, TermOffset: 512,
		SessionID: hSession, StreamID: hStream, TermID: hInitial}.Encode(hb)
	f.Add(hb)
	setup := make([]byte, udpframe.SetupLength)
	udpframe.Setup{SessionID: hSession + 1, StreamID: hStream, InitialTermID: 5, ActiveTermID: 5, TermLength: hTermLength, MTU: 1408}.Encode(setup)
	f.Add(setup)
	pad := make([]byte, udpframe.DataHeaderLength)
	udpframe.Data{FrameLength: hTermLength - 1024, Type: udpframe.TypePad, TermOffset: 1024, SessionID: hSession,
		StreamID: hStream, TermID: hInitial}.Encode(pad)
	f.Add(pad)
	nak := make([]byte, udpframe.NAKLength)
	udpframe.NAK{SessionID: hSession, StreamID: hStream, TermID: hInitial, Length: 64}.Encode(nak)
	f.Add(nak)
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 0, 0xc0, 1, 0})
	for _, flags := range []uint8{0, udpframe.FlagRTTMReply} {
		rttm := make([]byte, udpframe.RTTMLength)
		udpframe.RTTM{Flags: flags, SessionID: hSession, StreamID: hStream, EchoTimestamp: 1, ReceiverID: 5}.Encode(rttm)
		f.Add(rttm)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := newHarness(t)
		now := time.Now().UnixNano()
		h.ep.onDatagram(b, h.src, now)
		h.step(now)
		rcv, hwm := h.img.rcvPos.Load(), h.img.rcvHwm.Load()
		// rcv-pos may pass hwm only by stepping over a padding frame sent
		// as its header, never beyond the end of hwm's term.
		if rcv < 0 || rcv > hwm && rcv > (hwm/hTermLength+1)*hTermLength {
			t.Fatalf("rcv-pos %d, hwm %d", rcv, hwm)
		}
		if h.img.endOfStream.Load() || rcv+64 > h.img.overrunThreshold {
			return
		}
		h.ep.onDatagram(dataFrame(rcv, 16), h.src, now)
		h.step(now)
		if got := h.img.rcvPos.Load(); got <= rcv {
			t.Fatalf("image stuck at %d after the frame due next", got)
		}
	})
}

func TestSendPathAllocatesNothing(t *testing.T) {
	sink, err := listenUDP(netip.MustParseAddrPort("127.0.0.1:0"), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	conn, err := listenUDP(netip.MustParseAddrPort("127.0.0.1:0"), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	shared := &udpShared{cfg: UDPConfig{}.withDefaults(), sys: newSystemCountersForTest(), errs: make(chan error, 1)}
	ep := &sendEndpoint{d: shared, conn: conn, dest: sink.LocalAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort(),
		pubs: map[streamSession]*networkPublication{}}
	mem := make([]byte, logbuffer.ComputeLogLength(hTermLength, DefaultPageSize))
	lg, err := logbuffer.Init(mem, logbuffer.Params{InitialTermID: hInitial, MTU: 1408, TermLength: hTermLength,
		PageSize: DefaultPageSize, SessionID: hSession, StreamID: hStream})
	if err != nil {
		t.Fatal(err)
	}
	ep.dests.Store(&[]netip.AddrPort{ep.dest})
	p := &networkPublication{shared: shared, ep: ep, sessionID: hSession, streamID: hStream, termLength: hTermLength,
		shift: logbuffer.PositionBitsToShift(hTermLength), mtu: 1408, initialTermID: hInitial, log: lg,
		fc: maxFlowControl{}, hasInitialConnection: true, connTimeoutNs: int64(time.Hour),
		pubPos: new(atomic.Int64), pubLmt: new(atomic.Int64), sndPos: new(atomic.Int64), sndLmt: new(atomic.Int64), sndBpe: new(atomic.Int64)}
	p.resendNow = p.resend
	p.retransmit.lingerNs = int64(time.Millisecond)
	p.hasReceivers.Store(true)
	p.sndLmt.Store(hTermLength / 2)
	msg := make([]byte, 32)
	now := time.Now().UnixNano()
	allocs := testing.AllocsPerRun(200, func() {
		// One message, one send, one NAK for it answered by a resend.
		pos := p.sndPos.Load()
		raw := lg.Tail(0).Load()
		if logbuffer.TermOffset(raw, hTermLength)+64 > hTermLength/2 {
			return
		}
		lg.Appender(0).AppendUnfragmented(len(msg), msg)
		p.send(now)
		p.onNAK(udpframe.NAK{SessionID: hSession, StreamID: hStream, TermID: hInitial, TermOffset: int32(pos), Length: 64}, now)
		now += int64(2 * time.Millisecond)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
	if p.sndPos.Load() == 0 || shared.sys[sysRetransmitsSent].Load() == 0 {
		t.Fatalf("snd-pos %d, retransmits %d: nothing was sent", p.sndPos.Load(), shared.sys[sysRetransmitsSent].Load())
	}
}

func TestImageTakesLongPaddingAtTermEnd(t *testing.T) {
	h := newHarness(t)
	now := time.Now().UnixNano()
	// Fill half the term, the last status message a quarter term back,
	// then a padding frame from the middle to the term's end: longer than
	// the window left, it must still be taken (as Aeron counts the 32
	// bytes sent) and the image must move on to the next term.
	pos := int64(0)
	for ; pos < hTermLength/2; pos += 1024 {
		h.ep.onDatagram(dataFrame(pos, 1024-32), h.src, now)
		if pos < hTermLength/4 {
			h.step(now) // the last status message stays a quarter term back
		}
	}
	pad := make([]byte, udpframe.DataHeaderLength)
	udpframe.Data{FrameLength: int32(hTermLength - pos), Type: udpframe.TypePad, Flags: udpframe.FlagUnfragmented,
		TermOffset: int32(pos), SessionID: hSession, StreamID: hStream, TermID: hInitial}.Encode(pad)
	h.ep.onDatagram(pad, h.src, now)
	h.step(now)
	if got := h.img.rcvPos.Load(); got != hTermLength {
		t.Fatalf("rcv-pos %d after the padding, want the next term at %d", got, hTermLength)
	}
	h.ep.onDatagram(dataFrame(hTermLength, 100), h.src, now)
	h.step(now)
	if got := h.img.rcvPos.Load(); got != hTermLength+160 {
		t.Fatalf("rcv-pos %d, want %d", got, hTermLength+160)
	}
}

// readFrame reads the next datagram the harness's socket sent itself.
func (h *harness) readFrame(t *testing.T) []byte {
	t.Helper()
	buf := make([]byte, 2048)
	_ = h.ep.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := h.ep.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	return buf[:n]
}

// TestImageRTTM: an image answers an RTT measurement request with its
// timestamp, asks for measurements itself every interval, and takes the
// round trip from the reply addressed to it (only).
func TestImageRTTM(t *testing.T) {
	h := newHarness(t)
	now := time.Now().UnixNano()
	b := make([]byte, udpframe.RTTMLength)
	udpframe.RTTM{Flags: udpframe.FlagRTTMReply, SessionID: hSession, StreamID: hStream, EchoTimestamp: 12345, ReceiverID: 0}.Encode(b)
	h.ep.onDatagram(b, h.src, now)
	r, err := udpframe.DecodeRTTM(h.readFrame(t))
	if err != nil || r.Flags != 0 || r.EchoTimestamp != 12345 || r.ReceiverID != h.ep.receiverID || r.SessionID != hSession {
		t.Fatalf("reply %+v (%v), want echo 12345 from receiver %d without the reply flag", r, err, h.ep.receiverID)
	}

	h.img.lastPacketNs.Store(now)
	if h.img.measureRTT(now) != 1 {
		t.Fatal("no measurement started")
	}
	r, err = udpframe.DecodeRTTM(h.readFrame(t))
	if err != nil || r.Flags != udpframe.FlagRTTMReply || r.EchoTimestamp != now || r.ReceiverID != h.ep.receiverID {
		t.Fatalf("request %+v (%v), want the reply flag and echo %d", r, err, now)
	}
	if h.img.measureRTT(now+int64(time.Millisecond)/2) != 0 {
		t.Fatal("a second measurement within the interval")
	}
	for _, tt := range []struct {
		receiver int64
		delta    int64
		want     int64
	}{
		{receiver: 999, want: 0}, // another receiver's reply
		{receiver: h.ep.receiverID, delta: 300, want: 700},
		{receiver: 0, want: 1000},
		{receiver: 0, delta: 5000, want: 1000}, // negative round trip: kept the last
	} {
		udpframe.RTTM{SessionID: hSession, StreamID: hStream, EchoTimestamp: now - 1000, ReceptionDelta: tt.delta, ReceiverID: tt.receiver}.Encode(b)
		h.ep.onDatagram(b, h.src, now)
		if got := h.img.rtt.Load(); got != tt.want {
			t.Fatalf("reply from receiver %d with delta %d: rtt %d, want %d", tt.receiver, tt.delta, got, tt.want)
		}
	}
}

// newSendHarness is a send endpoint with one publication on an in-memory
// log, sending to a sink socket on loopback.
func newSendHarness(t testing.TB) (*sendEndpoint, *networkPublication) {
	t.Helper()
	sink, err := listenUDP(netip.MustParseAddrPort("127.0.0.1:0"), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	conn, err := listenUDP(netip.MustParseAddrPort("127.0.0.1:0"), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	shared := &udpShared{cfg: UDPConfig{}.withDefaults(), sys: newSystemCountersForTest(), errs: make(chan error, 1),
		pubErrs: make(chan publicationError, 1)}
	ep := &sendEndpoint{d: shared, conn: conn, dest: sink.LocalAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort(),
		pubs: map[streamSession]*networkPublication{}, seen: map[netip.AddrPort]int64{}}
	mem := make([]byte, logbuffer.ComputeLogLength(hTermLength, DefaultPageSize))
	lg, err := logbuffer.Init(mem, logbuffer.Params{InitialTermID: hInitial, MTU: 1408, TermLength: hTermLength,
		PageSize: DefaultPageSize, SessionID: hSession, StreamID: hStream})
	if err != nil {
		t.Fatal(err)
	}
	ep.dests.Store(&[]netip.AddrPort{ep.dest})
	fc, _ := parseFlowControl("c", "min", time.Second)
	p := &networkPublication{shared: shared, ep: ep, sessionID: hSession, streamID: hStream, termLength: hTermLength,
		shift: logbuffer.PositionBitsToShift(hTermLength), mtu: 1408, initialTermID: hInitial, log: lg,
		fc: fc, hasInitialConnection: true, connTimeoutNs: int64(time.Hour),
		pubPos: new(atomic.Int64), pubLmt: new(atomic.Int64), sndPos: new(atomic.Int64), sndLmt: new(atomic.Int64), sndBpe: new(atomic.Int64)}
	p.resendNow = p.resend
	p.retransmit.lingerNs = int64(time.Millisecond)
	ep.pubs[streamSession{hStream, hSession}] = p
	return ep, p
}

// FuzzSendControlPath feeds arbitrary datagrams to a send endpoint's
// control handler (status messages, NAKs, RTTM, error frames): dropped and
// counted or acted on, never a panic, and the publication still sends.
func FuzzSendControlPath(f *testing.F) {
	b := make([]byte, udpframe.SMWithGroupTagLength)
	udpframe.SM{SessionID: hSession, StreamID: hStream, ConsumptionTermID: hInitial, ReceiverWindow: 4096, ReceiverID: 3,
		HasGroupTag: true, GroupTag: 1}.Encode(b)
	f.Add(b)
	b = make([]byte, udpframe.NAKLength)
	udpframe.NAK{SessionID: hSession, StreamID: hStream, TermID: hInitial, Length: 64}.Encode(b)
	f.Add(b)
	b = make([]byte, udpframe.RTTMLength)
	udpframe.RTTM{Flags: udpframe.FlagRTTMReply, SessionID: hSession, StreamID: hStream, EchoTimestamp: 5, ReceiverID: 3}.Encode(b)
	f.Add(b)
	b = make([]byte, udpframe.ErrorMaxFrameLength)
	n := udpframe.Error{SessionID: hSession, StreamID: hStream, ReceiverID: 3, ErrorCode: 13, Message: []byte("no")}.Encode(b)
	f.Add(b[:n])
	f.Fuzz(func(t *testing.T, b []byte) {
		ep, p := newSendHarness(t)
		now := time.Now().UnixNano()
		ep.onControl(b, ep.dest)
		// A status message may set any limit, even a negative one (a
		// status message from terms before the stream, as Aeron takes
		// it): flow control follows its receivers. What must hold is
		// that the publication sends once a receiver allows it.
		p.sndLmt.Store(hTermLength / 4)
		p.log.Appender(0).AppendUnfragmented(8, make([]byte, 8))
		p.send(now)
		if p.sndPos.Load() == 0 {
			t.Fatal("the publication sends nothing after the datagram")
		}
	})
}

// TestPublicationErrorFrame: an error frame from a receiver the
// publication knows makes it forget the receiver and is reported once.
func TestPublicationErrorFrame(t *testing.T) {
	ep, p := newSendHarness(t)
	sm := make([]byte, udpframe.SMLength)
	udpframe.SM{SessionID: hSession, StreamID: hStream, ConsumptionTermID: hInitial, ReceiverWindow: 4096, ReceiverID: 3}.Encode(sm)
	ep.onControl(sm, ep.dest)
	if !p.hasReceivers.Load() || !p.log.IsConnected() {
		t.Fatal("no receiver after its status message")
	}
	b := make([]byte, udpframe.ErrorMaxFrameLength)
	n := udpframe.Error{SessionID: hSession, StreamID: hStream, ReceiverID: 3, ErrorCode: 13, Message: []byte("go away")}.Encode(b)
	ep.onControl(b[:n], ep.dest)
	ep.onControl(b[:n], ep.dest) // a repeat: not reported again
	if p.hasReceivers.Load() || p.log.IsConnected() {
		t.Fatal("the receiver is still known after its error frame")
	}
	select {
	case pe := <-ep.d.pubErrs:
		if string(pe.frame.Message) != "go away" || pe.frame.ReceiverID != 3 || pe.source != ep.dest {
			t.Fatalf("reported %+v", pe)
		}
	default:
		t.Fatal("nothing reported")
	}
	if len(ep.d.pubErrs) != 0 {
		t.Fatal("the repeated frame was reported too")
	}
	if got := ep.d.sys[sysErrorFramesReceived].Load(); got != 2 {
		t.Fatalf("error frames received %d, want 2", got)
	}
}
