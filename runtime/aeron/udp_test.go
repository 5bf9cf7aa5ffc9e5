package aeron_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
)

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// udpDriver starts a driver with quick UDP timers, changed by edit.
func udpDriver(t testing.TB, name string, edit func(*mediadriver.Config)) (*mediadriver.Driver, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	cfg := testDriverConfig(dir)
	// The image liveness timeout stays at its default (10 s): a shorter
	// one lets a loaded machine (or a burst of lost heartbeats) end an
	// image mid-stream, after which a new image joins at the current
	// position, as in Aeron, and the stream would show a gap.
	cfg.UDP = mediadriver.UDPConfig{
		TermLength:           64 * 1024,
		StatusMessageTimeout: 20 * time.Millisecond,
		LoopbackOnly:         true,
	}
	if edit != nil {
		edit(&cfg)
	}
	d, err := mediadriver.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d, dir
}

// stream offers n sequence-numbered messages of size bytes on pub while
// polling sub, and checks every message arrives once and in order.
func stream(t *testing.T, pub *aeron.Publication, sub *aeron.Subscription, n, size int) {
	t.Helper()
	msg := make([]byte, size)
	next := uint64(0)
	var bad error
	handler := func(buf []byte, h *aeron.Header) {
		if bad != nil {
			return
		}
		if len(buf) != size {
			bad = fmt.Errorf("message %d: %d bytes, want %d", next, len(buf), size)
			return
		}
		if got := binary.LittleEndian.Uint64(buf); got != next {
			bad = fmt.Errorf("message %d: got sequence %d (term id %d offset %d read at %d, position %d)", next, got, h.TermID(), h.TermOffset(), h.Offset, h.Position())
			return
		}
		next++
	}
	deadline := time.Now().Add(3 * testTimeout)
	sent := 0
	for next < uint64(n) && bad == nil {
		if time.Now().After(deadline) {
			t.Fatalf("gave up: sent %d, received %d of %d", sent, next, n)
		}
		if sent < n {
			binary.LittleEndian.PutUint64(msg, uint64(sent))
			if pub.Offer(msg) > 0 {
				sent++
			}
		}
		if sub.Poll(handler, 64) == 0 && sent == n {
			time.Sleep(50 * time.Microsecond)
		}
	}
	if bad != nil {
		t.Fatalf("%v (%d images)", bad, sub.ImageCount())
	}
	// Nothing more arrives: no duplicates after the last message.
	time.Sleep(20 * time.Millisecond)
	sub.Poll(handler, 64)
	if bad != nil || next != uint64(n) {
		t.Fatalf("after the stream: %v, %d messages", bad, next)
	}
}

func awaitConnected(t testing.TB, pub *aeron.Publication, sub *aeron.Subscription) {
	t.Helper()
	eventually(t, "publication connected and image available", func() bool {
		return pub.IsConnected() && sub.ImageCount() > 0
	})
}

func TestUDPUnicastStream(t *testing.T) {
	for _, mode := range []mediadriver.ThreadingMode{mediadriver.ThreadingDedicated, mediadriver.ThreadingSharedNetwork, mediadriver.ThreadingShared} {
		t.Run(string(mode), func(t *testing.T) {
			edit := func(c *mediadriver.Config) { c.UDP.Threading = mode }
			_, pubDir := udpDriver(t, "pub", edit)
			_, subDir := udpDriver(t, "sub", edit)
			channel := "aeron:udp?endpoint=127.0.0.1:" + strconv.Itoa(freeUDPPort(t))
			subClient := connect(t, subDir)
			sub, err := subClient.AddSubscription(ctx(t), channel, 10)
			if err != nil {
				t.Fatal(err)
			}
			pubClient := connect(t, pubDir)
			pub, err := pubClient.AddPublication(ctx(t), channel, 10)
			if err != nil {
				t.Fatal(err)
			}
			awaitConnected(t, pub, sub)
			if got := sub.Images()[0].SessionID(); got != pub.SessionID() {
				t.Fatalf("image session %d, publication session %d", got, pub.SessionID())
			}
			stream(t, pub, sub, 20000, 32)
			stream(t, pub, sub, 0, 1024) // nothing more
		})
	}
}

// udpPair starts a publishing and a subscribing driver (edit changes both
// configurations), and a publication and subscription on a fresh loopback
// port, connected.
func udpPair(t *testing.T, edit func(c *mediadriver.Config, publisher bool), params string) (*aeron.Publication, *aeron.Subscription, *mediadriver.Driver) {
	t.Helper()
	pd, pubDir := udpDriver(t, "pub", func(c *mediadriver.Config) {
		if edit != nil {
			edit(c, true)
		}
	})
	_, subDir := udpDriver(t, "sub", func(c *mediadriver.Config) {
		if edit != nil {
			edit(c, false)
		}
	})
	channel := "aeron:udp?endpoint=127.0.0.1:" + strconv.Itoa(freeUDPPort(t)) + params
	sub, err := connect(t, subDir).AddSubscription(ctx(t), channel, 10)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := connect(t, pubDir).AddPublication(ctx(t), channel, 10)
	if err != nil {
		t.Fatal(err)
	}
	awaitConnected(t, pub, sub)
	return pub, sub, pd
}

func TestUDPLoss(t *testing.T) {
	tests := []struct {
		name              string
		rate, burst       float64
		burstLen          int
		sendSide, rcvSide bool
		messages, size    int
	}{
		{"1% receive", 0.01, 0, 0, false, true, 20000, 32},
		{"10% receive", 0.10, 0, 0, false, true, 10000, 32},
		{"10% send 1KiB", 0.10, 0, 0, true, false, 3000, 1024},
		{"bursts both ways", 0.001, 0.01, 20, true, true, 10000, 200},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, sub, _ := udpPair(t, func(c *mediadriver.Config, publisher bool) {
				loss := mediadriver.NewRandomLoss(uint64(i+1)*7919+boolSeed(publisher), tt.rate, tt.burst, tt.burstLen)
				if tt.sendSide {
					c.UDP.SendLoss = loss
				}
				if tt.rcvSide {
					c.UDP.ReceiveLoss = loss
				}
			}, "")
			stream(t, pub, sub, tt.messages, tt.size)
		})
	}
}

func boolSeed(b bool) uint64 {
	if b {
		return 1
	}
	return 2
}

func TestUDPImageGoesWhenPublicationCloses(t *testing.T) {
	pub, sub, _ := udpPair(t, nil, "|linger=200ms")
	stream(t, pub, sub, 100, 32)
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "image unavailable after end of stream", func() bool {
		sub.Poll(func([]byte, *aeron.Header) {}, 10)
		return sub.ImageCount() == 0
	})
}

func TestUDPImageGoesWhenPublisherDisappears(t *testing.T) {
	pub, sub, pd := udpPair(t, func(c *mediadriver.Config, _ bool) {
		c.UDP.ImageLivenessTimeout = 3 * time.Second
	}, "")
	stream(t, pub, sub, 100, 32)
	// The publishing driver vanishes without an end of stream: only the
	// image liveness timeout can tell.
	_ = pd.Close()
	eventually(t, "image unavailable after the liveness timeout", func() bool {
		sub.Poll(func([]byte, *aeron.Header) {}, 10)
		return sub.ImageCount() == 0
	})
}

func TestUDPRestartedReceiverJoinsAtCurrentPosition(t *testing.T) {
	_, pubDir := udpDriver(t, "pub", nil)
	channel := "aeron:udp?endpoint=127.0.0.1:" + strconv.Itoa(freeUDPPort(t))
	pub, err := connect(t, pubDir).AddPublication(ctx(t), channel, 10)
	if err != nil {
		t.Fatal(err)
	}
	firstDriver, firstDir := udpDriver(t, "sub1", nil)
	first, err := connect(t, firstDir).AddSubscription(ctx(t), channel, 10)
	if err != nil {
		t.Fatal(err)
	}
	awaitConnected(t, pub, first)
	stream(t, pub, first, 5000, 100)
	// The receiving side goes away (its driver with it, freeing the port)
	// and a new one starts on the same endpoint.
	if err := firstDriver.Close(); err != nil {
		t.Fatal(err)
	}
	before := pub.Position()
	_, subDir := udpDriver(t, "sub2", nil)
	second, err := connect(t, subDir).AddSubscription(ctx(t), channel, 10)
	if err != nil {
		t.Fatal(err)
	}
	awaitConnected(t, pub, second)
	if join := second.Images()[0].Position(); join < before {
		t.Fatalf("new image joined at %d, before the publication's position %d", join, before)
	}
	stream(t, pub, second, 1000, 100)
}

// TestUDPUnreliableFillsGaps: with reliable=false a receiver pads over lost
// frames instead of NAKing them; the stream goes on, in order, with gaps.
func TestUDPUnreliableFillsGaps(t *testing.T) {
	pub, sub, _ := udpPair(t, func(c *mediadriver.Config, publisher bool) {
		if !publisher {
			c.UDP.ReceiveLoss = mediadriver.NewRandomLoss(3, 0.05, 0, 0)
		}
	}, "|reliable=false")
	const n = 5000
	msg := make([]byte, 32)
	got, last := 0, int64(-1)
	var bad error
	handler := func(b []byte, _ *aeron.Header) {
		v := int64(binary.LittleEndian.Uint64(b))
		if v <= last && bad == nil {
			bad = fmt.Errorf("message %d after %d", v, last)
		}
		last = v
		got++
	}
	for sent := 0; sent < n; {
		binary.LittleEndian.PutUint64(msg, uint64(sent))
		if pub.Offer(msg) > 0 {
			sent++
		}
		sub.Poll(handler, 64)
	}
	quiet := time.Now()
	for time.Since(quiet) < 300*time.Millisecond {
		if sub.Poll(handler, 64) > 0 {
			quiet = time.Now()
		}
	}
	if bad != nil {
		t.Fatal(bad)
	}
	t.Logf("received %d of %d, last %d", got, n, last)
	if got == n || got < n/2 {
		t.Fatalf("received %d of %d with 5%% loss and no retransmission", got, n)
	}
}

// TestUDPEphemeralPortFromLocalSockaddrCounter: a subscription on port 0
// binds an ephemeral port that clients learn from the rcv-local-sockaddr
// counter, as with Aeron; a publication to it connects.
func TestUDPEphemeralPortFromLocalSockaddrCounter(t *testing.T) {
	_, dir := udpDriver(t, "one", nil)
	c := connect(t, dir)
	sub, err := c.AddSubscription(ctx(t), "aeron:udp?endpoint=127.0.0.1:0", 10)
	if err != nil {
		t.Fatal(err)
	}
	addr := ""
	r := c.Counters()
	r.ForEach(func(id, typeID int32, label string) {
		if typeID == 14 && r.RegistrationID(id) == sub.RegistrationID() && strings.HasPrefix(label, "rcv-local-sockaddr: ") {
			f := strings.Fields(label)
			addr = f[len(f)-1]
		}
	})
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("rcv-local-sockaddr %q, want 127.0.0.1 with the bound port", addr)
	}
	pub, err := c.AddPublication(ctx(t), "aeron:udp?endpoint="+addr, 10)
	if err != nil {
		t.Fatal(err)
	}
	awaitConnected(t, pub, sub)
	stream(t, pub, sub, 100, 32)
}

// TestUDPPublicationNotConnectedWhenReceiverGoes: when the only
// subscription closes, its image sends end-of-stream status messages and the
// publication stops being connected well before the connection timeout.
func TestUDPPublicationNotConnectedWhenReceiverGoes(t *testing.T) {
	pub, sub, _ := udpPair(t, func(c *mediadriver.Config, _ bool) {
		c.UDP.PublicationConnectionTimeout = time.Minute // longer than the test's guard
	}, "")
	stream(t, pub, sub, 100, 32)
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the publication to go not connected", func() bool { return !pub.IsConnected() })
	eventually(t, "offers refused as not connected", func() bool { return pub.Offer(make([]byte, 32)) == aeron.NotConnected })
}

// TestUDPTwoPublishersOneSubscription: two publications to one endpoint
// make two images (two sessions); a session-id subscription sees only its
// own.
func TestUDPTwoPublishersOneSubscription(t *testing.T) {
	_, pubDir := udpDriver(t, "pub", nil)
	_, subDir := udpDriver(t, "sub", nil)
	channel := "aeron:udp?endpoint=127.0.0.1:" + strconv.Itoa(freeUDPPort(t))
	sc := connect(t, subDir)
	all, err := sc.AddSubscription(ctx(t), channel, 10)
	if err != nil {
		t.Fatal(err)
	}
	pc := connect(t, pubDir)
	a, err := pc.AddExclusivePublication(ctx(t), channel, 10)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pc.AddExclusivePublication(ctx(t), channel, 10)
	if err != nil {
		t.Fatal(err)
	}
	only, err := sc.AddSubscription(ctx(t), channel+"|session-id="+strconv.Itoa(int(b.SessionID())), 10)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "two images and one", func() bool {
		return all.ImageCount() == 2 && only.ImageCount() == 1 && a.IsConnected() && b.IsConnected()
	})
	if got := only.Images()[0].SessionID(); got != b.SessionID() {
		t.Fatalf("session-id subscription has session %d, want %d", got, b.SessionID())
	}
}

// TestUDPTags: tags=CHANNEL[,PUB] registers an endpoint (and a
// publication) under tags; aeron:udp?tags=... refers to them.
func TestUDPTags(t *testing.T) {
	_, pubDir := udpDriver(t, "pub", nil)
	_, subDir := udpDriver(t, "sub", nil)
	port := strconv.Itoa(freeUDPPort(t))
	sc := connect(t, subDir)
	sub, err := sc.AddSubscription(ctx(t), "aeron:udp?endpoint=127.0.0.1:"+port+"|tags=31", 10)
	if err != nil {
		t.Fatal(err)
	}
	byTag, err := sc.AddSubscription(ctx(t), "aeron:udp?tags=31", 10)
	if err != nil {
		t.Fatal(err)
	}
	pc := connect(t, pubDir)
	pub, err := pc.AddPublication(ctx(t), "aeron:udp?endpoint=127.0.0.1:"+port+"|tags=41,42", 10)
	if err != nil {
		t.Fatal(err)
	}
	same, err := pc.AddPublication(ctx(t), "aeron:udp?tags=41,42", 10)
	if err != nil {
		t.Fatal(err)
	}
	if same.RegistrationID() != pub.RegistrationID() || same.SessionID() != pub.SessionID() {
		t.Fatalf("tagged publication %d/%d, want the original %d/%d", same.RegistrationID(), same.SessionID(), pub.RegistrationID(), pub.SessionID())
	}
	other, err := pc.AddPublication(ctx(t), "aeron:udp?tags=41", 11) // same endpoint, another stream
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "both subscriptions connected", func() bool { return sub.ImageCount() == 1 && byTag.ImageCount() == 1 && pub.IsConnected() })
	if other.IsConnected() {
		t.Fatal("stream 11 connected without a subscriber")
	}
	for _, ch := range []string{"aeron:udp?tags=99", "aeron:udp?tags=x"} {
		if _, err := pc.AddPublication(ctx(t), ch, 10); err == nil {
			t.Errorf("%s accepted", ch)
		}
	}
}

// TestUDPManualMDC: a control-mode=manual publication sends to every
// destination added to it; each subscriber gets the whole stream in order
// (min flow control keeps the slower one in the window); a removed
// destination gets nothing more and its image goes.
func TestUDPManualMDC(t *testing.T) {
	_, pubDir := udpDriver(t, "pub", nil)
	var subs []*aeron.Subscription
	var dests []string
	for _, name := range []string{"sub1", "sub2"} {
		_, dir := udpDriver(t, name, func(c *mediadriver.Config) { c.UDP.ImageLivenessTimeout = 2 * time.Second })
		dest := "aeron:udp?endpoint=127.0.0.1:" + strconv.Itoa(freeUDPPort(t))
		sub, err := connect(t, dir).AddSubscription(ctx(t), dest, 10)
		if err != nil {
			t.Fatal(err)
		}
		subs, dests = append(subs, sub), append(dests, dest)
	}
	pub, err := connect(t, pubDir).AddPublication(ctx(t), "aeron:udp?control-mode=manual|fc=min,g:/2", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dests {
		if err := pub.AddDestination(ctx(t), d); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "both images and the publication connected", func() bool {
		return pub.IsConnected() && subs[0].ImageCount() == 1 && subs[1].ImageCount() == 1
	})
	const n = 5000
	msg := make([]byte, 64)
	next := [2]uint64{}
	var bad error
	handler := func(i int) aeron.FragmentHandler {
		return func(b []byte, _ *aeron.Header) {
			if v := binary.LittleEndian.Uint64(b); v != next[i] && bad == nil {
				bad = fmt.Errorf("subscriber %d: message %d, want %d", i, v, next[i])
			}
			next[i]++
		}
	}
	h0, h1 := handler(0), handler(1)
	deadline := time.Now().Add(testTimeout)
	for sent := 0; (next[0] < n || next[1] < n) && bad == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("gave up: sent %d, received %v", sent, next)
		}
		if sent < n {
			binary.LittleEndian.PutUint64(msg, uint64(sent))
			if pub.Offer(msg) > 0 {
				sent++
			}
		}
		subs[0].Poll(h0, 64)
		subs[1].Poll(h1, 64)
	}
	if bad != nil {
		t.Fatal(bad)
	}
	if err := pub.RemoveDestination(ctx(t), dests[1]); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the removed destination's image to go", func() bool {
		subs[1].Poll(h1, 64)
		return subs[1].ImageCount() == 0
	})
	if err := pub.RemoveDestination(ctx(t), dests[1]); err == nil {
		t.Error("removing a destination twice succeeded")
	}
}

// TestUDPDynamicMDC: a publication on a control address
// (aeron:udp?control=...) learns its destinations from the receivers that
// subscribe with endpoint= and control=; each gets the stream.
func TestUDPDynamicMDC(t *testing.T) {
	_, pubDir := udpDriver(t, "pub", nil)
	control := "127.0.0.1:" + strconv.Itoa(freeUDPPort(t))
	pub, err := connect(t, pubDir).AddPublication(ctx(t), "aeron:udp?control-mode=dynamic|control="+control+"|fc=min,g:/2", 10)
	if err != nil {
		t.Fatal(err)
	}
	var subs []*aeron.Subscription
	for _, name := range []string{"sub1", "sub2"} {
		_, dir := udpDriver(t, name, nil)
		ch := "aeron:udp?endpoint=127.0.0.1:" + strconv.Itoa(freeUDPPort(t)) + "|control=" + control
		sub, err := connect(t, dir).AddSubscription(ctx(t), ch, 10)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	eventually(t, "both images and the publication connected", func() bool {
		return pub.IsConnected() && subs[0].ImageCount() == 1 && subs[1].ImageCount() == 1
	})
	stream(t, pub, subs[0], 0, 32) // nothing yet
	msg := make([]byte, 32)
	const n = 3000
	got := [2]int{}
	deadline := time.Now().Add(testTimeout)
	for sent := 0; got[0] < n || got[1] < n; {
		if time.Now().After(deadline) {
			t.Fatalf("gave up: sent %d, received %v", sent, got)
		}
		if sent < n {
			binary.LittleEndian.PutUint64(msg, uint64(sent))
			if pub.Offer(msg) > 0 {
				sent++
			}
		}
		for i, s := range subs {
			s.Poll(func(b []byte, _ *aeron.Header) {
				if v := binary.LittleEndian.Uint64(b); v != uint64(got[i]) {
					t.Fatalf("subscriber %d: message %d, want %d", i, v, got[i])
				}
				got[i]++
			}, 64)
		}
	}
}

// counterValue is the value of the first counter whose label starts with
// prefix, and whether there is one.
func counterValue(c *aeron.Client, prefix string) (int64, bool) {
	cr := c.Counters()
	v, found := int64(0), false
	cr.ForEach(func(id, _ int32, label string) {
		if !found && strings.HasPrefix(label, prefix) {
			v, found = cr.Value(id), true
		}
	})
	return v, found
}

// TestUDPRTTMeasurement: an image on a driver with RTTMeasurementInterval
// asks its publication (on another driver, which answers) for round-trip
// measurements and shows the result in its rcv-rtt counter; without the
// setting there is no such counter.
func TestUDPRTTMeasurement(t *testing.T) {
	_, pubDir := udpDriver(t, "pub", nil)
	_, subDir := udpDriver(t, "sub", func(c *mediadriver.Config) { c.UDP.RTTMeasurementInterval = 5 * time.Millisecond })
	_, plainDir := udpDriver(t, "plain", nil)
	port := strconv.Itoa(freeUDPPort(t))
	subClient, plainClient := connect(t, subDir), connect(t, plainDir)
	sub, err := subClient.AddSubscription(ctx(t), "aeron:udp?endpoint=127.0.0.1:"+port, 10)
	if err != nil {
		t.Fatal(err)
	}
	plainPort := strconv.Itoa(freeUDPPort(t))
	plain, err := plainClient.AddSubscription(ctx(t), "aeron:udp?endpoint=127.0.0.1:"+plainPort, 10)
	if err != nil {
		t.Fatal(err)
	}
	pubClient := connect(t, pubDir)
	pub, err := pubClient.AddPublication(ctx(t), "aeron:udp?endpoint=127.0.0.1:"+port, 10)
	if err != nil {
		t.Fatal(err)
	}
	pub2, err := pubClient.AddPublication(ctx(t), "aeron:udp?endpoint=127.0.0.1:"+plainPort, 10)
	if err != nil {
		t.Fatal(err)
	}
	awaitConnected(t, pub, sub)
	awaitConnected(t, pub2, plain)
	eventually(t, "a measured round trip in rcv-rtt", func() bool {
		v, _ := counterValue(subClient, "rcv-rtt")
		return v > 0
	})
	v, _ := counterValue(subClient, "rcv-rtt")
	t.Logf("rcv-rtt %v", time.Duration(v))
	if _, found := counterValue(plainClient, "rcv-rtt"); found {
		t.Error("a driver without RTTMeasurementInterval has a rcv-rtt counter")
	}
}

// TestUDPImageRejection: a subscriber rejects its image with a reason; the
// receiving driver sends error frames, the publishing driver forgets that
// receiver (the publication is no longer connected) and tells its clients,
// whose handler gets the reason, the codes and the receiver's address.
func TestUDPImageRejection(t *testing.T) {
	_, pubDir := udpDriver(t, "pub", nil)
	_, subDir := udpDriver(t, "sub", nil)
	channel := "aeron:udp?endpoint=127.0.0.1:" + strconv.Itoa(freeUDPPort(t))
	sub, err := connect(t, subDir).AddSubscription(ctx(t), channel, 10)
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan aeron.PublicationErrorFrame, 4)
	pubClient, err := aeron.Connect(ctx(t), aeron.Config{Dir: pubDir, ResourceLinger: 10 * time.Millisecond,
		PublicationErrorFrameHandler: func(f aeron.PublicationErrorFrame) { frames <- f }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pubClient.Close() })
	pub, err := pubClient.AddPublication(ctx(t), channel, 10)
	if err != nil {
		t.Fatal(err)
	}
	awaitConnected(t, pub, sub)
	if err := sub.Images()[0].Reject(ctx(t), "not today"); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-frames:
		if f.Message != "not today" || f.ErrorCode != 13 || f.RegistrationID != pub.RegistrationID() ||
			f.SessionID != pub.SessionID() || f.StreamID != 10 || !f.Source.Addr().IsLoopback() {
			t.Fatalf("publication error frame %+v", f)
		}
	case <-time.After(testTimeout):
		t.Fatal("no publication error frame")
	}
	eventually(t, "the publication no longer connected", func() bool { return !pub.IsConnected() })
	if err := sub.Images()[0].Reject(ctx(t), string(make([]byte, 1024))); err == nil {
		t.Error("a 1024-byte reason was accepted")
	}
}
