package aeron_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
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
	cfg.UDP = mediadriver.UDPConfig{
		TermLength:           64 * 1024,
		ImageLivenessTimeout: 500 * time.Millisecond,
		StatusMessageTimeout: 20 * time.Millisecond,
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
			bad = fmt.Errorf("message %d: got sequence %d (term id %d offset %d, position %d)", next, got, h.TermID(), h.TermOffset(), h.Position())
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
		t.Fatal(bad)
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
