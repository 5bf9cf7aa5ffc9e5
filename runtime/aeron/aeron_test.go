package aeron_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
)

// testTimeout bounds every wait so a broken test fails instead of hanging;
// it is a guard, not an assertion about speed.
const testTimeout = 30 * time.Second

// testDriverConfig is a small driver with quick timers, for the tests'
// in-process drivers and (through childDriverConfig) their child processes.
func testDriverConfig(dir string) mediadriver.Config {
	return mediadriver.Config{
		Dir:           dir,
		IPCTermLength: 64 * 1024,
		// Long enough that a client starved by a loaded machine (CI runs
		// packages side by side, with -race) is not timed out mid-test;
		// tests of the timeout set their own.
		ClientLivenessTimeout: 10 * time.Second,
		PublicationLinger:     20 * time.Millisecond,
		TimerInterval:         10 * time.Millisecond,
		ToDriverBufferLength:  64*1024 + 768,
		ToClientsBufferLength: 64*1024 + 128,
		CounterValuesLength:   64 * 1024,
		ErrorLogLength:        64 * 1024,
	}
}

func startDriver(t testing.TB, dir string) *mediadriver.Driver {
	t.Helper()
	d, err := mediadriver.Start(testDriverConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func connect(t testing.TB, dir string) *aeron.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := aeron.Connect(ctx, aeron.Config{Dir: dir, ResourceLinger: 10 * time.Millisecond,
		ErrorHandler: func(err error) { t.Logf("client error: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return c
}

// eventually polls cond until it holds or the test deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func offer(t testing.TB, p *aeron.Publication, msg []byte) int64 {
	t.Helper()
	var r int64
	eventually(t, "offer", func() bool {
		r = p.Offer(msg)
		if r == aeron.Closed || r == aeron.MaxPositionExceeded || r == aeron.MessageTooLong {
			t.Fatalf("offer: %s", aeron.StatusString(r))
		}
		return r > 0
	})
	return r
}

func TestPublishSubscribeIPC(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	c := connect(t, dir)
	var available []int32
	var mu sync.Mutex
	sub, err := c.AddSubscription(ctx(t), "aeron:ipc", 1001, aeron.WithAvailableImage(func(im *aeron.Image) {
		mu.Lock()
		available = append(available, im.SessionID())
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := c.AddPublication(ctx(t), "aeron:ipc", 1001)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "image", sub.IsConnected)
	eventually(t, "publication connected", pub.IsConnected)
	var want, got []string
	h := func(b []byte, hd *aeron.Header) {
		if hd.SessionID() != pub.SessionID() || hd.StreamID() != 1001 {
			t.Errorf("header session %d stream %d", hd.SessionID(), hd.StreamID())
		}
		got = append(got, string(b))
	}
	for i := range 2000 {
		m := fmt.Sprintf("message %d %s", i, strings.Repeat("x", i%97))
		want = append(want, m)
		eventually(t, "offer", func() bool {
			if r := pub.Offer([]byte(m)); r > 0 {
				return true
			}
			sub.Poll(h, 10)
			return false
		})
	}
	eventually(t, "all messages", func() bool { sub.Poll(h, 10); return len(got) == len(want) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]int32{pub.SessionID()}, available); diff != "" {
		t.Errorf("available images (-want +got):\n%s", diff)
	}
	if im := sub.ImageBySessionID(pub.SessionID()); im == nil || im.Position() != pub.Position() || im.SourceIdentity() != "aeron:ipc" {
		t.Errorf("image position/source wrong: %+v", im)
	}
}

func TestLargeMessagesReassembled(t *testing.T) {
	const channel = "aeron:ipc?term-length=16m"
	sub, pub := connectedPair(t, (*aeron.Client).AddExclusivePublication, channel, channel, 7)
	if pub.TermLength() != 16<<20 || pub.MaxMessageLength() != 2<<20 {
		t.Fatalf("term %d max message %d", pub.TermLength(), pub.MaxMessageLength())
	}
	var sums []uint32
	asm := aeron.NewFragmentAssembler(func(b []byte, _ *aeron.Header) { sums = append(sums, crc32.ChecksumIEEE(b)) }, 1<<20)
	handler := asm.Handler()
	var want []uint32
	for i := range 8 {
		msg := bytes.Repeat([]byte{byte(i), byte(i * 7)}, 512*1024) // 1 MiB
		want = append(want, crc32.ChecksumIEEE(msg))
		offer(t, pub, msg)
		sub.Poll(handler, 1000)
	}
	eventually(t, "reassembly", func() bool { sub.Poll(handler, 1000); return len(sums) == len(want) })
	if diff := cmp.Diff(want, sums); diff != "" {
		t.Errorf("checksums (-want +got):\n%s", diff)
	}
	if r := pub.Offer(make([]byte, pub.MaxMessageLength()+1)); r != aeron.MessageTooLong {
		t.Errorf("oversized offer = %s", aeron.StatusString(r))
	}
}

func TestBackPressureAndNotConnected(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	c := connect(t, dir)
	pub, err := c.AddPublication(ctx(t), "aeron:ipc", 3)
	if err != nil {
		t.Fatal(err)
	}
	if r := pub.Offer([]byte("nobody")); r != aeron.NotConnected {
		t.Errorf("offer without subscriber = %s", aeron.StatusString(r))
	}
	sub, err := c.AddSubscription(ctx(t), "aeron:ipc", 3)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "limit", func() bool { return pub.PositionLimit() > 0 })
	msg := make([]byte, 1000)
	sent := 0
	var last int64
	eventually(t, "back pressure", func() bool {
		last = pub.Offer(msg)
		if last > 0 {
			sent++
		}
		return last == aeron.BackPressured
	})
	// The window is half a term: the publisher stops within it.
	// Offers stop once the position passes the limit (at most one message
	// beyond it); the limit is the window, half a term.
	if pos, lim := pub.Position(), pub.PositionLimit(); pos < lim || pos > lim+1056 || lim != int64(pub.TermLength()/2) {
		t.Errorf("stopped at %d with limit %d", pos, pub.PositionLimit())
	}
	got := 0
	eventually(t, "drain", func() bool {
		got += sub.Poll(func([]byte, *aeron.Header) {}, 100)
		return got == sent
	})
	offer(t, pub, msg) // space again once the subscriber caught up
}

func TestTryClaim(t *testing.T) {
	sub, pub := connectedPair(t, (*aeron.Client).AddPublication, "aeron:ipc", "aeron:ipc", 9)
	var claim aeron.BufferClaim
	eventually(t, "claim", func() bool { return pub.TryClaim(5, &claim) > 0 })
	copy(claim.Buffer(), "hello")
	claim.SetReservedValue(77)
	claim.Commit()
	eventually(t, "claim 2", func() bool { return pub.TryClaim(5, &claim) > 0 })
	claim.Abort()
	eventually(t, "offerv", func() bool { return pub.OfferV([][]byte{[]byte("af"), nil, []byte("ter")}) > 0 })
	var got []string
	var reserved []int64
	eventually(t, "poll", func() bool {
		sub.Poll(func(b []byte, h *aeron.Header) {
			got = append(got, string(b))
			reserved = append(reserved, h.ReservedValue())
		}, 10)
		return len(got) == 2
	})
	if diff := cmp.Diff([]string{"hello", "after"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if reserved[0] != 77 {
		t.Errorf("reserved value %d", reserved[0])
	}
	if r := pub.TryClaim(pub.MaxPayloadLength()+1, &claim); r != aeron.MessageTooLong {
		t.Errorf("oversized claim = %s", aeron.StatusString(r))
	}
}

func TestImageUnavailableWhenPublisherCloses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	c := connect(t, dir)
	gone := make(chan *aeron.Image, 1)
	sub, err := c.AddSubscription(ctx(t), "aeron:ipc", 11, aeron.WithUnavailableImage(func(im *aeron.Image) { gone <- im }))
	if err != nil {
		t.Fatal(err)
	}
	c2 := connect(t, dir)
	pub, err := c2.AddPublication(ctx(t), "aeron:ipc", 11)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "connected", pub.IsConnected)
	offer(t, pub, []byte("last words"))
	if err := pub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pub.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if r := pub.Offer([]byte("x")); r != aeron.Closed {
		t.Errorf("offer after close = %s", aeron.StatusString(r))
	}
	var got []string
	eventually(t, "drain", func() bool {
		sub.Poll(func(b []byte, _ *aeron.Header) { got = append(got, string(b)) }, 10)
		return len(got) == 1
	})
	select {
	case im := <-gone:
		if !im.IsClosed() {
			t.Error("unavailable image not closed")
		}
	case <-ctx(t).Done():
		t.Fatal("no unavailable image")
	}
	if sub.ImageCount() != 0 {
		t.Error("image still listed")
	}
}

func TestDriverErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	c := connect(t, dir)
	tests := []struct {
		name    string
		channel string
		code    int32
		text    string
	}{
		// Not a multicast channel: outside a network namespace of its own
		// (internal/netns) a test must not open one.
		{"udp group", "aeron:udp?endpoint=127.0.0.1:40123|group=true", aeron.ErrorCodeNotSupported, "not supported by the embedded driver"},
		{"udp multicast even group", "aeron:udp?endpoint=224.0.1.2:40123", aeron.ErrorCodeGeneric, "must be odd"},
		{"not aeron", "http://example", aeron.ErrorCodeInvalidChannel, "aeron:"},
		// Bad values are GENERIC_ERROR, as aeronmd answers them.
		{"bad term length", "aeron:ipc?term-length=3k", aeron.ErrorCodeGeneric, "term length"},
		{"bad mtu", "aeron:ipc?mtu=100", aeron.ErrorCodeGeneric, "mtu"},
		{"malformed param", "aeron:ipc?term-length", aeron.ErrorCodeInvalidChannel, "key=value"},
		{"oversized", "aeron:ipc?alias=" + strings.Repeat("a", 5000), aeron.ErrorCodeInvalidChannel, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.AddPublication(ctx(t), tt.channel, 1)
			var de *aeron.DriverError
			if !errors.As(err, &de) || de.Code != tt.code || !strings.Contains(de.Message, tt.text) {
				t.Errorf("error = %v, want code %d containing %q", err, tt.code, tt.text)
			}
		})
	}
	// A second publication on the stream with another term length is refused.
	if _, err := c.AddPublication(ctx(t), "aeron:ipc?term-length=64k", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddPublication(ctx(t), "aeron:ipc?term-length=128k", 2); err == nil || !strings.Contains(err.Error(), "term-length") {
		t.Errorf("mismatched term length: %v", err)
	}
	// The driver still serves.
	if _, err := c.AddSubscription(ctx(t), "aeron:ipc", 1); err != nil {
		t.Errorf("driver stopped serving: %v", err)
	}
}

func TestCounters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	c := connect(t, dir)
	key := binary.LittleEndian.AppendUint64(nil, 99)
	k, err := c.AddCounter(ctx(t), 1001, key, "my counter")
	if err != nil {
		t.Fatal(err)
	}
	k.Set(42)
	r := c.Counters()
	if r.Label(k.ID()) != "my counter" || r.Value(k.ID()) != 42 || r.TypeID(k.ID()) != 1001 || r.OwnerID(k.ID()) != c.ClientID() {
		t.Errorf("counter %d: %q %d %d", k.ID(), r.Label(k.ID()), r.Value(k.ID()), r.TypeID(k.ID()))
	}
	eventually(t, "heartbeat counter", func() bool {
		id := r.Find(aeron.CounterTypeClientHeartbeat, c.ClientID())
		return id != aeron.NullCounterID && r.Value(id) > 0 && strings.HasSuffix(r.Label(id), " name= version=tpool")
	})
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if r.IsAllocated(k.ID()) {
		t.Error("counter still allocated after Close")
	}
}

func TestClientNoticesDeadDriver(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	d := startDriver(t, dir)
	cx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := aeron.Connect(cx, aeron.Config{Dir: dir, DriverTimeout: 300 * time.Millisecond, KeepaliveInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pub, err := c.AddPublication(cx, "aeron:ipc", 5)
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Close()
	select {
	case <-c.Done():
	case <-cx.Done():
		t.Fatal("client did not notice the dead driver")
	}
	if !errors.Is(c.Err(), aeron.ErrDriverTimeout) {
		t.Errorf("Err = %v", c.Err())
	}
	if r := pub.Offer([]byte("x")); r != aeron.Closed {
		t.Errorf("offer after driver death = %s", aeron.StatusString(r))
	}
	if _, err := c.AddSubscription(cx, "aeron:ipc", 5); !errors.Is(err, aeron.ErrDriverTimeout) {
		t.Errorf("add after driver death: %v", err)
	}
}

func TestConnectWithoutDriver(t *testing.T) {
	cx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	dir := t.TempDir()
	_, err := aeron.Connect(cx, aeron.Config{Dir: dir, DriverTimeout: 50 * time.Millisecond, KeepaliveInterval: 10 * time.Millisecond})
	if !errors.Is(err, aeron.ErrNoDriver) {
		t.Fatalf("error = %v, want ErrNoDriver", err)
	}
	// It names the directory once, what it found there, and how to start
	// a driver.
	msg := err.Error()
	for _, want := range []string{"no media driver in " + dir + " after 50ms (cnc.dat: no such file or directory)",
		"tpool-aeronmd -dir " + dir, "mediadriver.Start"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not contain %q", msg, want)
		}
	}
	if strings.Count(msg, "cnc.dat") != 1 {
		t.Errorf("%q names cnc.dat more than once", msg)
	}
}

func TestOfferAndPollDoNotAllocate(t *testing.T) {
	sub, pub := connectedPair(t, (*aeron.Client).AddPublication, "aeron:ipc", "aeron:ipc", 21)
	msg := make([]byte, 32)
	big := make([]byte, 2*pub.MaxPayloadLength()+100) // three fragments
	delivered := 0
	handler := aeron.FragmentHandler(func([]byte, *aeron.Header) { delivered++ })
	asm := aeron.NewFragmentAssembler(handler, 1024).Handler()
	controlled := aeron.ControlledFragmentHandler(func([]byte, *aeron.Header) aeron.ControlledAction {
		delivered++
		return aeron.ActionContinue
	})
	var claim aeron.BufferClaim
	vec := [][]byte{msg[:4], msg[4:20], msg[20:]}
	tests := []struct {
		name  string
		offer func() int64
		poll  func() // after each offer; nil for the offers alone
	}{
		{"offer", func() int64 { return pub.Offer(msg) }, nil},
		{"offer2", func() int64 { return pub.Offer2(msg[:8], msg[8:]) }, nil},
		{"offerv", func() int64 { return pub.OfferV(vec) }, nil},
		{"tryclaim", func() int64 {
			r := pub.TryClaim(16, &claim)
			if r > 0 {
				claim.Commit()
			}
			return r
		}, nil},
		{"poll", func() int64 { return pub.Offer(msg) }, func() { sub.Poll(handler, 10) }},
		{"poll assembler", func() int64 { return pub.Offer(big) }, func() { sub.Poll(asm, 10) }},
		{"controlled poll", func() int64 { return pub.Offer(msg) }, func() { sub.ControlledPoll(controlled, 10) }},
	}
	const runs = 200
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offered, stuck := 0, false
			delivered = 0
			// Every call appends one message (retrying through rotations
			// and limit updates), so the measured calls deliver fragments.
			f := func() {
				for tries := 0; tt.offer() <= 0; tries++ {
					if tries == 10_000_000 {
						stuck = true
						return
					}
				}
				offered++
				if tt.poll != nil {
					tt.poll()
				}
			}
			if n := testing.AllocsPerRun(runs, f); n != 0 {
				t.Errorf("%v allocations per call", n)
			}
			if stuck || offered != runs+1 { // AllocsPerRun warms up with one call
				t.Fatalf("%d of %d offers succeeded", offered, runs+1)
			}
			eventually(t, "delivery", func() bool { sub.Poll(asm, 1000); return delivered >= offered })
			if delivered != offered {
				t.Errorf("delivered %d messages of %d", delivered, offered)
			}
		})
	}
}

func TestDriverUnblocksAbandonedClaim(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	d, err := mediadriver.Start(mediadriver.Config{Dir: dir, IPCTermLength: 64 * 1024, TimerInterval: 10 * time.Millisecond,
		PublicationUnblockTimeout: 100 * time.Millisecond, ToDriverBufferLength: 64*1024 + 768, ToClientsBufferLength: 64*1024 + 128,
		CounterValuesLength: 64 * 1024, ErrorLogLength: 64 * 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c := connect(t, dir)
	sub, _ := c.AddSubscription(ctx(t), "aeron:ipc", 31)
	dead, err := c.AddPublication(ctx(t), "aeron:ipc", 31)
	if err != nil {
		t.Fatal(err)
	}
	live, err := c.AddPublication(ctx(t), "aeron:ipc", 31)
	if err != nil {
		t.Fatal(err)
	}
	if dead.SessionID() != live.SessionID() {
		t.Fatal("concurrent publications do not share a session")
	}
	eventually(t, "connected", live.IsConnected)
	var claim aeron.BufferClaim
	eventually(t, "claim", func() bool { return dead.TryClaim(8, &claim) > 0 })
	// Never committed: the "dead" publisher abandons its claim.
	offer(t, live, []byte("after"))
	var got []string
	eventually(t, "message behind the abandoned claim", func() bool {
		sub.Poll(func(b []byte, _ *aeron.Header) { got = append(got, string(b)) }, 10)
		return len(got) == 1
	})
	if got[0] != "after" {
		t.Errorf("got %q", got)
	}
}

func TestImageCallbackHandsOffWork(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	c := connect(t, dir)
	added := make(chan error, 1)
	// A callback must not block on the client itself (it runs on the
	// goroutine that reads the driver's answers), but may hand work off.
	_, err := c.AddSubscription(ctx(t), "aeron:ipc", 51, aeron.WithAvailableImage(func(im *aeron.Image) {
		_ = c.Counters().Label(0) // non-blocking calls are fine
		go func() {
			_, err := c.AddPublication(ctx(t), "aeron:ipc", 52)
			added <- err
		}()
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddPublication(ctx(t), "aeron:ipc", 51); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-added:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx(t).Done():
		t.Fatal("callback deadlocked")
	}
}

func TestConcurrentOffersAcrossTermRotations(t *testing.T) {
	// 64 KiB terms: many rotations.
	sub, pub := connectedPair(t, (*aeron.Client).AddPublication, "aeron:ipc", "aeron:ipc", 61)
	const writers, each = 4, 3000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := make([]byte, 40+w*50)
			for i := range each {
				fillMessage(msg, uint32(w), uint32(i))
				for {
					r := pub.Offer(msg)
					if r > 0 {
						break
					}
					if r == aeron.Closed || r == aeron.MaxPositionExceeded {
						t.Errorf("offer: %s", aeron.StatusString(r))
						return
					}
				}
			}
		}()
	}
	next := make([]uint32, writers)
	got := 0
	h := func(b []byte, _ *aeron.Header) {
		id, seq, err := checkMessage(b)
		if err != nil || id >= writers || seq != next[id] {
			t.Fatalf("writer %d seq %d: %v", id, seq, err)
		}
		next[id]++
		got++
	}
	eventually(t, "all messages", func() bool { sub.Poll(h, 50); return got == writers*each })
	wg.Wait()
}

func TestControlledPoll(t *testing.T) {
	sub, pub := connectedPair(t, (*aeron.Client).AddPublication, "aeron:ipc", "aeron:ipc", 71)
	for _, m := range []string{"a", "b", "stop", "c"} {
		offer(t, pub, []byte(m))
	}
	var seen []string
	aborted := false
	h := func(b []byte, _ *aeron.Header) aeron.ControlledAction {
		seen = append(seen, string(b))
		if string(b) == "stop" && !aborted {
			aborted = true
			return aeron.ActionAbort // delivered again next poll
		}
		return aeron.ActionCommit
	}
	eventually(t, "messages", func() bool { sub.ControlledPoll(h, 10); return len(seen) >= 5 })
	if diff := cmp.Diff([]string{"a", "b", "stop", "stop", "c"}, seen); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if im := sub.Images()[0]; im.Position() != pub.Position() {
		t.Errorf("position %d, publisher at %d", im.Position(), pub.Position())
	}
}

func TestInvokerMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	cx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := aeron.Connect(cx, aeron.Config{Dir: dir, UseInvoker: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var nested *aeron.Publication
	// In invoker mode a callback may even call the client's blocking
	// methods: they drive the conductor themselves.
	sub, err := c.AddSubscription(cx, "aeron:ipc", 81, aeron.WithAvailableImage(func(*aeron.Image) {
		if nested == nil {
			nested, err = c.AddPublication(cx, "aeron:ipc", 82)
			if err != nil {
				t.Errorf("nested add: %v", err)
			}
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := c.AddPublication(cx, "aeron:ipc", 81)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "image and nested publication", func() bool {
		if _, err := c.Invoke(); err != nil {
			t.Fatal(err)
		}
		return sub.IsConnected() && nested != nil
	})
	var got string
	eventually(t, "message", func() bool {
		_, _ = c.Invoke()
		pub.Offer([]byte("invoked"))
		sub.Poll(func(b []byte, _ *aeron.Header) { got = string(b) }, 1)
		return got == "invoked"
	})
	c2 := connect(t, dir)
	if _, err := c2.Invoke(); !errors.Is(err, aeron.ErrConfig) {
		t.Errorf("Invoke on a goroutine-mode client: %v", err)
	}
}

func TestPublicationStartingPositionAndWindow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	c := connect(t, dir)
	const channel = "aeron:ipc?init-term-id=10|term-id=12|term-offset=1024|pub-wnd=8k"
	sub, _ := c.AddSubscription(ctx(t), "aeron:ipc", 91)
	pub, err := c.AddExclusivePublication(ctx(t), channel, 91)
	if err != nil {
		t.Fatal(err)
	}
	start := int64(2*64*1024 + 1024)
	if pub.Position() != start {
		t.Errorf("start position %d, want %d", pub.Position(), start)
	}
	eventually(t, "limit", func() bool { return pub.PositionLimit() == start+8*1024 })
	offer(t, pub, []byte("hello"))
	var termID, termOffset int32
	eventually(t, "message", func() bool {
		return sub.Poll(func(_ []byte, h *aeron.Header) { termID, termOffset = h.TermID(), h.TermOffset() }, 1) == 1
	})
	if termID != 12 || termOffset != 1024 {
		t.Errorf("frame at term %d offset %d", termID, termOffset)
	}
	if im := sub.Images()[0]; im.InitialTermID() != 10 || im.Position() != start+64 {
		t.Errorf("image initial term %d position %d", im.InitialTermID(), im.Position())
	}
	for _, bad := range []string{
		"aeron:ipc?init-term-id=10|term-id=12",
		"aeron:ipc?init-term-id=10|term-id=12|term-offset=33",
		"aeron:ipc?init-term-id=10|term-id=9|term-offset=0",
		"aeron:ipc?pub-wnd=1m",
		"aeron:ipc?untethered-window-limit-timeout=soon",
		"aeron:ipc?untethered-resting-timeout=-1s",
	} {
		var de *aeron.DriverError
		if _, err := c.AddExclusivePublication(ctx(t), bad, 92); !errors.As(err, &de) || de.Code != aeron.ErrorCodeGeneric {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// TestUntetheredSubscriberIsCutLooseAndRejoins: the timeouts come from the
// driver's configuration or, as in Aeron's C driver, from the
// publication's channel (which then wins over a configuration whose
// timeouts would outlast the test).
func TestUntetheredSubscriberIsCutLooseAndRejoins(t *testing.T) {
	tests := []struct {
		name                 string
		windowLimit, resting time.Duration
		pubChannel           string
	}{
		{"config", 50 * time.Millisecond, 100 * time.Millisecond, "aeron:ipc"},
		{"channel", time.Hour, time.Hour, "aeron:ipc?untethered-window-limit-timeout=50ms|untethered-resting-timeout=100ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testUntethered(t, tt.windowLimit, tt.resting, tt.pubChannel) })
	}
}

func testUntethered(t *testing.T, windowLimit, resting time.Duration, pubChannel string) {
	dir := filepath.Join(t.TempDir(), "aeron")
	d, err := mediadriver.Start(mediadriver.Config{Dir: dir, IPCTermLength: 64 * 1024, TimerInterval: 5 * time.Millisecond,
		UntetheredWindowLimitTimeout: windowLimit, UntetheredRestingTimeout: resting,
		ToDriverBufferLength: 64*1024 + 768, ToClientsBufferLength: 64*1024 + 128,
		CounterValuesLength: 64 * 1024, ErrorLogLength: 64 * 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c := connect(t, dir)
	events := make(chan string, 8)
	fast, _ := c.AddSubscription(ctx(t), "aeron:ipc", 101)
	slow, err := c.AddSubscription(ctx(t), "aeron:ipc?tether=false", 101,
		aeron.WithAvailableImage(func(*aeron.Image) { events <- "available" }),
		aeron.WithUnavailableImage(func(*aeron.Image) { events <- "unavailable" }))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := c.AddPublication(ctx(t), pubChannel, 101)
	if err != nil {
		t.Fatal(err)
	}
	if e := <-events; e != "available" {
		t.Fatalf("first event %q", e)
	}
	eventually(t, "connected", func() bool { return fast.IsConnected() && pub.IsConnected() })
	// Publish well past the window while only the tethered subscriber
	// reads: the untethered one must not hold the publisher back.
	msg := make([]byte, 1000)
	sent := 0
	for sent < 200 {
		if pub.Offer(msg) > 0 {
			sent++
		}
		fast.Poll(func([]byte, *aeron.Header) {}, 10)
	}
	want := []string{"unavailable", "available"}
	for _, w := range want {
		select {
		case e := <-events:
			if e != w {
				t.Fatalf("event %q, want %q", e, w)
			}
		case <-ctx(t).Done():
			t.Fatalf("no %q event", w)
		}
	}
	eventually(t, "rejoined", slow.IsConnected)
	// It rejoined at the slowest working position: it sees new messages.
	offer(t, pub, []byte("after rejoin"))
	var got string
	eventually(t, "message after rejoin", func() bool {
		fast.Poll(func([]byte, *aeron.Header) {}, 10)
		slow.Poll(func(b []byte, _ *aeron.Header) { got = string(b) }, 100)
		return got == "after rejoin"
	})
}
