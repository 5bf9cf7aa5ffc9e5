package mediadriver

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/broadcast"
	"github.com/tpool-go/tpool/runtime/aeron/internal/cnc"
	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/ringbuffer"
	"github.com/tpool-go/tpool/runtime/shm"
)

// maxFuzzLog is the largest term length a fuzzed add-publication may ask
// for: the driver allocates log buffers on disk (as Aeron does), and a
// fuzzer that finds "term-length=1g" would otherwise write gigabytes per
// input. Only such inputs are skipped.
const maxFuzzLog = 1 << 20

// FuzzCommandDispatch sends arbitrary records, of any command type and
// any content, through a running driver's to-driver ring buffer into its
// conductor, end to end, and then checks that the driver still serves a
// well-behaved client: its add-subscription must be answered with
// OnSubscriptionReady. Seeds are one valid record of every command.
func FuzzCommandDispatch(f *testing.F) {
	const victim = int64(0x5eed) // a client id the seeds use, so fuzzed records hit a live client
	c := command.Correlated{ClientID: victim, CorrelationID: 1}
	add := func(typeID int32, msg []byte) { f.Add(typeID, msg) }
	pub := command.PublicationMessage{Correlated: c, StreamID: 7, Channel: "aeron:ipc?term-length=64k"}
	add(command.AddPublication, pub.Append(nil))
	add(command.AddExclusivePublication, pub.Append(nil))
	sub := command.SubscriptionMessage{Correlated: c, StreamID: 7, Channel: "aeron:ipc"}
	add(command.AddSubscription, sub.Append(nil))
	rm := command.RemoveMessage{Correlated: c, RegistrationID: 1}
	for _, t := range []int32{command.RemovePublication, command.RemoveSubscription, command.RemoveCounter, command.RemoveDestination, command.RemoveDestinationByID} {
		add(t, rm.Append(nil))
	}
	for _, t := range []int32{command.ClientKeepalive, command.ClientClose, command.TerminateDriver, command.RejectImage, 0x7777} {
		add(t, c.Append(nil))
	}
	ctr := command.CounterMessage{Correlated: c, TypeID: 1001, Key: []byte{1, 2, 3, 4}, Label: "fuzz"}
	add(command.AddCounter, ctr.Append(nil))
	add(command.AddStaticCounter, ctr.Append(nil))
	dst := command.PublicationMessage{Correlated: c, StreamID: 0, Channel: "aeron:udp?endpoint=localhost:1"}
	add(command.AddDestination, dst.Append(nil))
	add(command.AddRcvDestination, dst.Append(nil))

	dir := filepath.Join(f.TempDir(), "aeron")
	cfg := testConfig(dir)
	cfg.CounterValuesLength = 1 << 20 // clients the fuzzer invents each hold a counter until they time out
	d, err := Start(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = d.Close() })
	m, err := shm.Open(filepath.Join(dir, cnc.FileName), shm.ReadWrite)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = m.Close() })
	file, err := cnc.Parse(m.Bytes())
	if err != nil {
		f.Fatal(err)
	}
	rb, err := ringbuffer.New(file.ToDriver)
	if err != nil {
		f.Fatal(err)
	}
	rx, err := broadcast.NewReceiver(file.ToClients)
	if err != nil {
		f.Fatal(err)
	}
	responses := broadcast.NewCopyReceiver(rx)
	// The well-behaved client takes its ids from a range of its own, so an
	// answer to a fuzzed record is never taken for an answer to the probe.
	probeIDs := int64(1) << 62
	next := func() int64 { probeIDs++; return probeIDs }
	good := next()
	params := &conductor{cfg: Config{}.withDefaults()}

	f.Fuzz(func(t *testing.T, typeID int32, msg []byte) {
		if typeID == command.AddPublication || typeID == command.AddExclusivePublication {
			if pm, err := command.DecodePublicationMessage(msg); err == nil {
				if u, err := parseChannel(pm.Channel); err == nil {
					if p, err := params.publicationParams(u); err == nil && p.termLength > maxFuzzLog {
						return
					}
				}
			}
		}
		if err := writeRecord(rb, typeID, msg); err != nil {
			// The ring buffer refuses what it cannot carry (type ids < 1,
			// records over its maximum length): nothing reached the driver.
			if errors.Is(err, ringbuffer.ErrMsgTypeID) || errors.Is(err, ringbuffer.ErrTooLong) {
				return
			}
			t.Fatalf("write record %#x: %v", typeID, err)
		}
		id := next()
		probe := command.SubscriptionMessage{Correlated: command.Correlated{ClientID: good, CorrelationID: id}, StreamID: 0x7ead, Channel: "aeron:ipc"}
		if err := writeRecord(rb, command.AddSubscription, probe.Append(nil)); err != nil {
			t.Fatalf("write probe: %v", err)
		}
		answered := false
		deadline := time.Now().Add(guard)
		for !answered {
			if time.Now().After(deadline) {
				t.Fatalf("no answer to a well-behaved add-subscription after record %#x (%d bytes)", typeID, len(msg))
			}
			n, err := responses.Receive(func(rt int32, b []byte) {
				switch rt {
				case command.OnSubscriptionReady:
					if r, err := command.DecodeSubscriptionReady(b); err == nil && r.CorrelationID == id {
						answered = true
					}
				case command.OnError:
					if e, err := command.DecodeErrorResponse(b); err == nil && e.OffendingCorrelationID == id {
						t.Fatalf("well-behaved add-subscription refused after record %#x: %d %s", typeID, e.ErrorCode, e.Message)
					}
				}
			})
			if err != nil && !errors.Is(err, broadcast.ErrLapped) {
				t.Fatalf("to-clients buffer after record %#x: %v", typeID, err)
			}
			if n == 0 && err == nil {
				time.Sleep(50 * time.Microsecond)
			}
		}
		rmProbe := command.RemoveMessage{Correlated: command.Correlated{ClientID: good, CorrelationID: next()}, RegistrationID: id}
		if err := writeRecord(rb, command.RemoveSubscription, rmProbe.Append(nil)); err != nil {
			t.Fatalf("write probe removal: %v", err)
		}
	})
}

// writeRecord writes one record to the to-driver ring buffer, waiting
// (within guard) while the driver catches up.
func writeRecord(rb *ringbuffer.RingBuffer, typeID int32, msg []byte) error {
	deadline := time.Now().Add(guard)
	for {
		err := rb.Write(typeID, msg)
		if !errors.Is(err, ringbuffer.ErrFull) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Microsecond)
	}
}
