package aeron

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
)

// FuzzClientDispatch hands arbitrary driver responses, of any type and
// content, to a connected client's response dispatch (the client
// conductor's onMessage, under the client lock as the conductor holds
// it), and then checks that the client still works: it can add a
// subscription on a fresh stream (the seeded subscription's images, added
// or removed by the fuzzer, are polled too).
// The one response that may legitimately end the client is
// OnClientTimeout naming it; the target then connects a new client.
// Seeds are valid responses naming the client's live subscription,
// publication and log file, so mutations reach the state they change.
func FuzzClientDispatch(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "aeron")
	d, err := mediadriver.Start(mediadriver.Config{Dir: dir, IPCTermLength: 64 * 1024,
		ClientLivenessTimeout: 2 * time.Second, PublicationLinger: 10 * time.Millisecond, TimerInterval: 10 * time.Millisecond})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	f.Cleanup(cancel)
	var c *Client
	var sub *Subscription
	var pub *Publication
	dial := func(tb testing.TB) {
		tb.Helper()
		if c != nil {
			_ = c.Close()
		}
		if c, err = Connect(ctx, Config{Dir: dir, ResourceLinger: 10 * time.Millisecond, ErrorHandler: func(error) {}}); err != nil {
			tb.Fatal(err)
		}
		if sub, err = c.AddSubscription(ctx, "aeron:ipc", 9); err != nil {
			tb.Fatal(err)
		}
		if pub, err = c.AddPublication(ctx, "aeron:ipc", 9); err != nil {
			tb.Fatal(err)
		}
	}
	dial(f)
	f.Cleanup(func() { _ = c.Close() })

	logFile := filepath.Join(dir, mediadriver.PublicationsDir, strconv.FormatInt(pub.RegistrationID(), 10)+".logbuffer")
	seed := func(typeID int32, b []byte) { f.Add(typeID, b) }
	ready := command.PublicationReady{CorrelationID: 77, RegistrationID: pub.RegistrationID(), SessionID: pub.SessionID(), StreamID: 9, LogFileName: logFile}
	seed(command.OnPublicationReady, ready.Append(nil))
	seed(command.OnExclusivePublicationReady, ready.Append(nil))
	sr := command.SubscriptionReady{CorrelationID: sub.RegistrationID()}
	seed(command.OnSubscriptionReady, sr.Append(nil))
	ok := command.OperationSucceeded{CorrelationID: 78}
	seed(command.OnOperationSuccess, ok.Append(nil))
	image := command.ImageReady{CorrelationID: 4242, SessionID: pub.SessionID(), StreamID: 9, SubscriptionRegistration: sub.RegistrationID(), LogFileName: logFile, SourceIdentity: "aeron:ipc"}
	seed(command.OnAvailableImage, image.Append(nil))
	gone := command.ImageMessage{CorrelationID: pub.RegistrationID(), SubscriptionRegistration: sub.RegistrationID(), StreamID: 9}
	seed(command.OnUnavailableImage, gone.Append(nil))
	er := command.ErrorResponse{OffendingCorrelationID: 79, ErrorCode: command.ErrorGenericError, Message: "fuzz"}
	seed(command.OnError, er.Append(nil))
	cu := command.CounterUpdate{CorrelationID: 80, CounterID: 3}
	seed(command.OnCounterReady, cu.Append(nil))
	seed(command.OnUnavailableCounter, cu.Append(nil))
	seed(command.OnClientTimeout, (&command.ClientTimeout{ClientID: 81}).Append(nil))
	seed(0x7777, []byte{1, 2, 3})

	stream := int32(1000)
	f.Fuzz(func(t *testing.T, typeID int32, msg []byte) {
		cc := &clientConductor{c: c}
		c.mu.Lock()
		cc.onMessage(typeID, msg)
		c.mu.Unlock()
		for _, fn := range cc.notify {
			fn()
		}
		if err := c.Err(); err != nil {
			if typeID == command.OnClientTimeout && errors.Is(err, ErrClientTimeout) {
				dial(t)
				return
			}
			t.Fatalf("client failed after response %#x (%d bytes): %v", typeID, len(msg), err)
		}
		// Poll the seeded subscription: images the fuzzer added or removed
		// must be safe to poll.
		sub.Poll(func([]byte, *Header) {}, 10)

		// The client still talks to the driver: an add-subscription is
		// answered and resolved.
		stream++
		cx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := c.AddSubscription(cx, "aeron:ipc", stream)
		if err != nil {
			t.Fatalf("add subscription after response %#x: %v", typeID, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("close subscription after response %#x: %v", typeID, err)
		}
	})
}
