package aeron_test

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/tpool-go/tpool/internal/netns"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
)

// TestUDPMulticast runs in a network namespace of its own (internal/netns:
// only a loopback interface, with multicast routed through it): a
// publication on a multicast group reaches subscribers on two other drivers
// and one on its own driver (the multicast loop), every message once and in
// order, with 5% receive loss on one subscriber's driver so that NAKs go to
// the control group and retransmits to the data group. The interface is
// given as a subnet (127.0.0.0/8), which selects lo.
func TestUDPMulticast(t *testing.T) {
	if !netns.Enter(t) {
		return
	}
	multicastStream(t, "aeron:udp?endpoint=239.255.10.1:40456|interface=127.0.0.0/8|ttl=1|fc=min,g:/3", "127.0.0.1:40456", nil)
}

// TestUDPMulticastIPv6 is TestUDPMulticast on an IPv6 group (ff0e::1:3,
// control group ff0e::1:4), in a network namespace with a veth pair
// (netns.WithIPv6Multicast: Linux does not deliver IPv6 multicast over lo),
// the interface given as the subnet of the namespace's unique local
// address. The drivers are not loopback-only here (that address is not a
// loopback one); the namespace has no interface but lo and the pair, so no
// packet can leave it.
func TestUDPMulticastIPv6(t *testing.T) {
	if !netns.Enter(t, netns.WithIPv6Multicast()) {
		return
	}
	channel := "aeron:udp?endpoint=[ff0e::1:3]:40456|interface=[fd00:7470::]/64|ttl=1|fc=min,g:/3"
	multicastStream(t, channel, "["+netns.IPv6Address+"]:40456", func(c *mediadriver.Config) { c.UDP.LoopbackOnly = false })
}

// multicastStream streams 20,000 messages on a multicast channel from one
// driver to subscribers on two others and on its own, one of them with 5%
// receive loss, and checks every message arrives once and in order, that
// the images name source as their source, and that NAKs and retransmits
// happened. edit (may be nil) adjusts every driver's configuration.
func multicastStream(t *testing.T, channel, source string, edit func(*mediadriver.Config)) {
	t.Helper()
	_, pubDir := udpDriver(t, "pub", edit)
	var subs []*aeron.Subscription
	var lossy *aeron.Client
	for i, name := range []string{"sub1", "sub2"} {
		_, dir := udpDriver(t, name, func(c *mediadriver.Config) {
			if edit != nil {
				edit(c)
			}
			if i == 1 {
				c.UDP.ReceiveLoss = mediadriver.NewRandomLoss(7, 0.05, 0, 0)
			}
		})
		c := connect(t, dir)
		sub, err := c.AddSubscription(ctx(t), channel, 10)
		if err != nil {
			t.Fatal(err)
		}
		subs, lossy = append(subs, sub), c
	}
	pubClient := connect(t, pubDir)
	local, err := pubClient.AddSubscription(ctx(t), channel, 10)
	if err != nil {
		t.Fatal(err)
	}
	subs = append(subs, local)
	pub, err := pubClient.AddPublication(ctx(t), channel, 10)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "three images and the publication connected", func() bool {
		return pub.IsConnected() && subs[0].ImageCount() == 1 && subs[1].ImageCount() == 1 && subs[2].ImageCount() == 1
	})
	for i, s := range subs {
		// The publication's socket is bound to the control group's port
		// and sends from the interface's address.
		if src := s.Images()[0].SourceIdentity(); src != source {
			t.Errorf("subscriber %d: image source %q, want %s", i, src, source)
		}
	}
	const n = 20000
	msg := make([]byte, 64)
	got := make([]uint64, len(subs))
	var bad error
	deadline := time.Now().Add(3 * testTimeout)
	for sent := 0; bad == nil; {
		done := true
		for _, g := range got {
			done = done && g == n
		}
		if done {
			break
		}
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
				if v := binary.LittleEndian.Uint64(b); v != got[i] && bad == nil {
					bad = fmt.Errorf("subscriber %d: message %d, want %d", i, v, got[i])
				}
				got[i]++
			}, 64)
		}
	}
	if bad != nil {
		t.Fatal(bad)
	}
	naks, retransmits := systemCounter(t, lossy, "NAKs sent"), systemCounter(t, pubClient, "Retransmits sent")
	if naks == 0 || retransmits == 0 {
		t.Errorf("%d NAKs sent by the lossy receiver, %d retransmits by the publisher: want both", naks, retransmits)
	}
	t.Logf("%d messages to %d multicast subscribers; %d NAKs, %d retransmits", n, len(subs), naks, retransmits)
}

// systemCounter reads a driver's system counter by its label.
func systemCounter(t *testing.T, c *aeron.Client, label string) int64 {
	t.Helper()
	cr := c.Counters()
	v, found := int64(0), false
	cr.ForEach(func(id, typeID int32, l string) {
		if typeID == 0 && l == label {
			v, found = cr.Value(id), true
		}
	})
	if !found {
		t.Fatalf("no system counter %q", label)
	}
	return v
}
