package mediadriver

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tpool-go/tpool/runtime/aeron/internal/broadcast"
	"github.com/tpool-go/tpool/runtime/aeron/internal/cnc"
	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/counters"
	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
	"github.com/tpool-go/tpool/runtime/aeron/internal/ringbuffer"
	"github.com/tpool-go/tpool/runtime/shm"
)

const guard = 30 * time.Second // failure guard for waits, not a speed assertion

func testConfig(dir string) Config {
	return Config{
		Dir:                   dir,
		IPCTermLength:         64 * 1024,
		ClientLivenessTimeout: 300 * time.Millisecond,
		PublicationLinger:     10 * time.Millisecond,
		TimerInterval:         10 * time.Millisecond,
		ToDriverBufferLength:  64*1024 + ringbuffer.TrailerLength,
		ToClientsBufferLength: 64*1024 + broadcast.TrailerLength,
		CounterValuesLength:   16 * 1024,
		ErrorLogLength:        16 * 1024,
	}
}

// startDriver starts a driver with testConfig in a new directory, which it
// returns; the driver is closed when the test ends.
func startDriver(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "aeron")
	d, err := Start(testConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return dir
}

// rawClient speaks the protocol directly, so tests can misbehave.
type rawClient struct {
	t   *testing.T
	m   *shm.Mapping
	f   *cnc.File
	rb  *ringbuffer.RingBuffer
	rx  *broadcast.CopyReceiver
	ctr *counters.Reader
	id  int64
}

func newRawClient(t *testing.T, dir string) *rawClient {
	t.Helper()
	m, err := shm.Open(filepath.Join(dir, cnc.FileName), shm.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	f, err := cnc.Parse(m.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	rb, err := ringbuffer.New(f.ToDriver)
	if err != nil {
		t.Fatal(err)
	}
	rx, err := broadcast.NewReceiver(f.ToClients)
	if err != nil {
		t.Fatal(err)
	}
	ctr, err := counters.NewReader(f.CounterMetadata, f.CounterValues)
	if err != nil {
		t.Fatal(err)
	}
	return &rawClient{t: t, m: m, f: f, rb: rb, rx: broadcast.NewCopyReceiver(rx), ctr: ctr, id: rb.NextCorrelationID()}
}

func (r *rawClient) send(typeID int32, msg []byte) {
	r.t.Helper()
	if err := r.rb.Write(typeID, msg); err != nil {
		r.t.Fatal(err)
	}
}

// await reads responses until one of type typeID satisfies match.
func (r *rawClient) await(typeID int32, match func([]byte) bool) []byte {
	r.t.Helper()
	deadline := time.Now().Add(guard)
	var found []byte
	for found == nil {
		if time.Now().After(deadline) {
			r.t.Fatalf("no response %#x", typeID)
		}
		n, err := r.rx.Receive(func(t int32, msg []byte) {
			if t == typeID && match(msg) {
				found = append([]byte(nil), msg...)
			}
		})
		if err != nil {
			r.t.Fatal(err)
		}
		if n == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	return found
}

func (r *rawClient) addPublication(channel string, stream int32) (int64, command.PublicationReady) {
	id := r.rb.NextCorrelationID()
	m := command.PublicationMessage{Correlated: command.Correlated{ClientID: r.id, CorrelationID: id}, StreamID: stream, Channel: channel}
	r.send(command.AddPublication, m.Append(nil))
	b := r.await(command.OnPublicationReady, func(b []byte) bool {
		p, err := command.DecodePublicationReady(b)
		return err == nil && p.CorrelationID == id
	})
	p, _ := command.DecodePublicationReady(b)
	return id, p
}

func (r *rawClient) awaitError(correlationID int64) command.ErrorResponse {
	b := r.await(command.OnError, func(b []byte) bool {
		e, err := command.DecodeErrorResponse(b)
		return err == nil && e.OffendingCorrelationID == correlationID
	})
	e, _ := command.DecodeErrorResponse(b)
	return e
}

func TestCnCLayout(t *testing.T) {
	dir := startDriver(t)
	r := newRawClient(t, dir)
	want := cnc.Metadata{
		Version: 512, ToDriverBufferLength: 64*1024 + 768, ToClientsBufferLength: 64*1024 + 128,
		CounterMetadataLength: 64 * 1024, CounterValuesLength: 16 * 1024, ErrorLogBufferLength: 16 * 1024,
		ClientLivenessTimeoutNs: 300e6, StartTimestampMs: r.f.Metadata.StartTimestampMs, PID: int64(os.Getpid()),
	}
	if diff := cmp.Diff(want, r.f.Metadata); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	st, err := os.Stat(filepath.Join(dir, cnc.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm()&0o007 != 0 {
		t.Errorf("cnc.dat is world-accessible: %v", st.Mode())
	}
	if age := time.Now().UnixMilli() - r.rb.ConsumerHeartbeat(); age < 0 || age > guard.Milliseconds() {
		t.Errorf("driver heartbeat age %dms", age)
	}
}

func TestDirectoryOwnership(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "aeron")
	cfg := testConfig(dir)
	d, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(cfg); !errors.Is(err, ErrActiveDriver) {
		t.Fatalf("second driver: %v, want ErrActiveDriver", err)
	}
	cfg.KeepDir = true
	_ = d.Close()
	// The first driver removed its directory; make a stale one by hand: a
	// driver that stopped without cleaning up.
	d, err = Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Close()
	stale := filepath.Join(dir, PublicationsDir, "junk.logbuffer")
	if err := os.WriteFile(stale, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err = Start(cfg)
	if err != nil {
		t.Fatalf("stale directory not reclaimed: %v", err)
	}
	defer d.Close()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Error("stale directory not cleaned")
	}
}

func TestBadCommandsKeepDriverServing(t *testing.T) {
	dir := startDriver(t)
	r := newRawClient(t, dir)
	tests := []struct {
		name   string
		typeID int32
		msg    func(id int64) []byte
		code   int32
	}{
		{"unknown command", 0x55, func(id int64) []byte {
			c := command.Correlated{ClientID: r.id, CorrelationID: id}
			return c.Append(nil)
		}, command.ErrorUnknownCommandTypeID},
		{"channel length past end", command.AddPublication, func(id int64) []byte {
			m := command.PublicationMessage{Correlated: command.Correlated{ClientID: r.id, CorrelationID: id}, StreamID: 1, Channel: "aeron:ipc"}
			b := m.Append(nil)
			binary.LittleEndian.PutUint32(b[20:], 5000)
			return b
		}, command.ErrorMalformedCommand},
		{"remove unknown publication", command.RemovePublication, func(id int64) []byte {
			m := command.RemoveMessage{Correlated: command.Correlated{ClientID: r.id, CorrelationID: id}, RegistrationID: 999999}
			return m.Append(nil)
		}, command.ErrorUnknownPublication},
		{"remove unknown subscription", command.RemoveSubscription, func(id int64) []byte {
			m := command.RemoveMessage{Correlated: command.Correlated{ClientID: r.id, CorrelationID: id}, RegistrationID: 999999}
			return m.Append(nil)
		}, command.ErrorUnknownSubscription},
		{"udp multicast", command.AddSubscription, func(id int64) []byte {
			m := command.SubscriptionMessage{Correlated: command.Correlated{ClientID: r.id, CorrelationID: id}, StreamID: 1, Channel: "aeron:udp?endpoint=224.0.1.1:40456"}
			return m.Append(nil)
		}, command.ErrorNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := r.rb.NextCorrelationID()
			r.send(tt.typeID, tt.msg(id))
			if e := r.awaitError(id); e.ErrorCode != tt.code {
				t.Errorf("code %d (%s), want %d", e.ErrorCode, e.Message, tt.code)
			}
		})
	}
	// The driver still serves the same client.
	if id, p := r.addPublication("aeron:ipc", 5); p.RegistrationID != id {
		t.Errorf("publication ready with registration id %d, want a new publication %d", p.RegistrationID, id)
	}
}

func TestClientTimeoutCleansUp(t *testing.T) {
	dir := startDriver(t)
	r := newRawClient(t, dir)
	_, p := r.addPublication("aeron:ipc", 7)
	subID := r.rb.NextCorrelationID()
	s := command.SubscriptionMessage{Correlated: command.Correlated{ClientID: r.id, CorrelationID: subID}, StreamID: 7, Channel: "aeron:ipc"}
	r.send(command.AddSubscription, s.Append(nil))
	b := r.await(command.OnAvailableImage, func(b []byte) bool {
		m, err := command.DecodeImageReady(b)
		return err == nil && m.SubscriptionRegistration == subID
	})
	img, _ := command.DecodeImageReady(b)
	if img.CorrelationID != p.RegistrationID || img.SourceIdentity != "aeron:ipc" || img.LogFileName != p.LogFileName {
		t.Errorf("image %+v for publication %+v", img, p)
	}
	if r.ctr.State(img.SubscriberPositionID) != counters.RecordAllocated || r.ctr.State(p.PositionLimitCounterID) != counters.RecordAllocated {
		t.Fatal("counters not allocated")
	}
	// Never heartbeat: the driver times the client out.
	r.await(command.OnClientTimeout, func(b []byte) bool {
		m, err := command.DecodeClientTimeout(b)
		return err == nil && m.ClientID == r.id
	})
	deadline := time.Now().Add(guard)
	for {
		_, err := os.Stat(p.LogFileName)
		freed := r.ctr.State(p.PositionLimitCounterID) != counters.RecordAllocated &&
			r.ctr.State(img.SubscriberPositionID) != counters.RecordAllocated
		if errors.Is(err, os.ErrNotExist) && freed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not cleaned up: log err %v, counters freed %v", err, freed)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSystemCounters(t *testing.T) {
	dir := startDriver(t)
	r := newRawClient(t, dir)
	for id, label := range systemCounterLabels {
		if r.ctr.TypeID(int32(id)) != counters.TypeSystem || r.ctr.Label(int32(id)) != label {
			t.Fatalf("counter %d: type %d label %q", id, r.ctr.TypeID(int32(id)), r.ctr.Label(int32(id)))
		}
		if k := r.ctr.Key(int32(id)); binary.LittleEndian.Uint32(k) != uint32(id) {
			t.Fatalf("counter %d key %v", id, k[:4])
		}
	}
	before := r.ctr.Value(sysErrors)
	id := r.rb.NextCorrelationID()
	c := command.Correlated{ClientID: r.id, CorrelationID: id}
	r.send(0x77, c.Append(nil))
	r.awaitError(id)
	if got := r.ctr.Value(sysErrors); got != before+1 {
		t.Errorf("errors counter %d, want %d", got, before+1)
	}
	r.addPublication("aeron:ipc", 3)
	want := int64(logbuffer.ComputeLogLength(testConfig(dir).IPCTermLength, DefaultPageSize))
	if got := r.ctr.Value(sysBytesCurrentlyMapped); got != want {
		t.Errorf("bytes currently mapped %d, want the one log buffer's %d", got, want)
	}
}
