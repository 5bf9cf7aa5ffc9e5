package mediadriver

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tpool-go/tpool/runtime/aeron/internal/broadcast"
	"github.com/tpool-go/tpool/runtime/aeron/internal/cnc"
	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/counters"
	"github.com/tpool-go/tpool/runtime/aeron/internal/errorlog"
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
		UDP:                   UDPConfig{LoopbackOnly: true}, // fuzzed channels must not send packets elsewhere
	}
}

// startDriver starts a driver with testConfig in a new directory, which it
// returns; the driver is closed when the test ends.
func startDriver(t *testing.T) string {
	t.Helper()
	return startDriverWith(t, func(*Config) {})
}

// startDriverWith is startDriver with testConfig changed by edit.
func startDriverWith(t *testing.T, edit func(*Config)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "aeron")
	cfg := testConfig(dir)
	edit(&cfg)
	d, err := Start(cfg)
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
	deadline := time.Now().Add(guard)
	for {
		err := r.rb.Write(typeID, msg)
		if err == nil {
			return
		}
		if !errors.Is(err, ringbuffer.ErrFull) || time.Now().After(deadline) {
			r.t.Fatal(err)
		}
		time.Sleep(100 * time.Microsecond) // the driver is behind
	}
}

// awaitCounter waits until counter id reaches want.
func (r *rawClient) awaitCounter(id int32, want int64) {
	r.t.Helper()
	deadline := time.Now().Add(guard)
	for r.ctr.Value(id) < want {
		if time.Now().After(deadline) {
			r.t.Fatalf("counter %d (%s) at %d, want %d", id, r.ctr.Label(id), r.ctr.Value(id), want)
		}
		time.Sleep(time.Millisecond)
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
		{"udp dynamic mdc", command.AddSubscription, func(id int64) []byte {
			m := command.SubscriptionMessage{Correlated: command.Correlated{ClientID: r.id, CorrelationID: id}, StreamID: 1, Channel: "aeron:udp?control=localhost:40456|control-mode=dynamic"}
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
	// The publication's linger must not delay its end: as in Aeron, an IPC
	// publication's counters and log go one timer tick after its images
	// went unavailable (the linger is the clients' to keep their mappings).
	dir := startDriverWith(t, func(c *Config) { c.PublicationLinger = time.Hour })
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

func TestKeepaliveDoesNotCreateClient(t *testing.T) {
	dir := startDriver(t)
	r := newRawClient(t, dir)
	stranger := r.rb.NextCorrelationID()
	k := command.Correlated{ClientID: stranger}
	r.send(command.ClientKeepalive, k.Append(nil))
	// Commands run in order: once r's publication is ready the keepalive
	// has been handled.
	r.addPublication("aeron:ipc", 9)
	if id := r.ctr.FindByKey(counters.TypeClientHeartbeat, r.id); id == counters.NullCounterID {
		t.Fatal("the adding client has no heartbeat counter")
	}
	if id := r.ctr.FindByKey(counters.TypeClientHeartbeat, stranger); id != counters.NullCounterID {
		t.Errorf("a bare keepalive created client %d (heartbeat counter %d)", stranger, id)
	}
}

// errorRecord is one record of the distinct error log, as ErrorStat shows it.
type errorRecord struct {
	count int32
	text  string
}

// readErrorLog decodes the complete records of the CnC error log.
func readErrorLog(t *testing.T, b []byte) []errorRecord {
	t.Helper()
	var out []errorRecord
	for off := 0; off+errorlog.HeaderLength <= len(b); {
		n, err := shm.Int32At(b, off+errorlog.LengthOffset)
		if err != nil {
			t.Fatal(err)
		}
		length := int(n.Load())
		if length == 0 {
			break
		}
		if length < errorlog.HeaderLength || off+length > len(b) {
			t.Fatalf("error log record at %d has length %d", off, length)
		}
		c, _ := shm.Int32At(b, off+errorlog.ObservationCountOffset)
		out = append(out, errorRecord{count: c.Load(), text: string(b[off+errorlog.EncodedErrorOffset : off+length])})
		off += (length + errorlog.RecordAlignment - 1) &^ (errorlog.RecordAlignment - 1)
	}
	return out
}

func TestErrorLogMergesRepeats(t *testing.T) {
	// The reproduction of issue 12: a flood of one unknown command, then one
	// add-publication with a bad term length.
	const flood = 20000
	dir := startDriver(t)
	r := newRawClient(t, dir)
	for range flood {
		c := command.Correlated{ClientID: r.id, CorrelationID: r.rb.NextCorrelationID()}
		r.send(0x7777, c.Append(nil))
	}
	r.awaitCounter(sysErrors, flood)
	// A fresh receiver: r's fell behind the flood of error responses.
	r = newRawClient(t, dir)
	id := r.rb.NextCorrelationID()
	m := command.PublicationMessage{Correlated: command.Correlated{ClientID: r.id, CorrelationID: id}, StreamID: 1,
		Channel: "aeron:ipc?term-length=3k"}
	r.send(command.AddPublication, m.Append(nil))
	if e := r.awaitError(id); e.ErrorCode != command.ErrorGenericError {
		t.Errorf("bad term length answered %s (%s), want GENERIC_ERROR", command.ErrorCodeString(e.ErrorCode), e.Message)
	}
	got := readErrorLog(t, r.f.ErrorLog)
	if len(got) != 2 || got[0].count != flood || !strings.Contains(got[0].text, "unknown command type id 0x7777") ||
		got[1].count != 1 || !strings.Contains(got[1].text, "term length") {
		t.Errorf("%d error log records, first %+v; want the unknown command observed %d times and the term-length error once",
			len(got), got[:min(len(got), 3)], flood)
	}
}

func TestFullErrorLogCountsLostErrors(t *testing.T) {
	// Each unknown type id is a distinct error; far more of them than the
	// log holds.
	const distinct = 1000
	dir := startDriver(t)
	r := newRawClient(t, dir)
	for i := range distinct {
		c := command.Correlated{ClientID: r.id, CorrelationID: r.rb.NextCorrelationID()}
		r.send(0x10000+int32(i), c.Append(nil))
	}
	r.awaitCounter(sysErrors, distinct)
	got := readErrorLog(t, r.f.ErrorLog)
	if len(got) < 2 || len(got) >= distinct {
		t.Fatalf("%d records for %d distinct errors in a %d-byte log", len(got), distinct, len(r.f.ErrorLog))
	}
	last := got[len(got)-1]
	if last.text != errorlog.OverflowText {
		t.Fatalf("last record %q, want the overflow record", last.text)
	}
	total := int(last.count)
	for _, e := range got[:len(got)-1] {
		if e.count != 1 {
			t.Errorf("record %q observed %d times, want once", e.text, e.count)
		}
		total += int(e.count)
	}
	if total != distinct {
		t.Errorf("recorded %d and counted %d lost: %d errors, want %d", len(got)-1, last.count, total, distinct)
	}
}

func TestDrainingUnblocksSpaceClaimedWithoutHeader(t *testing.T) {
	// A publisher dies after moving the tail but before writing its frame
	// header; then its client times out. Aeron's unblocker needs a later
	// frame to tell such space from a live publisher's, so aeronmd leaves
	// the draining stream blocked; with no publisher left the driver pads it.
	dir := startDriverWith(t, func(c *Config) { c.PublicationUnblockTimeout = time.Hour })
	pubClient := newRawClient(t, dir)
	subClient := newRawClient(t, dir)
	_, p := pubClient.addPublication("aeron:ipc", 11)
	subID := subClient.rb.NextCorrelationID()
	s := command.SubscriptionMessage{Correlated: command.Correlated{ClientID: subClient.id, CorrelationID: subID}, StreamID: 11, Channel: "aeron:ipc"}
	subClient.send(command.AddSubscription, s.Append(nil))
	b := subClient.await(command.OnAvailableImage, func(b []byte) bool {
		m, err := command.DecodeImageReady(b)
		return err == nil && m.SubscriptionRegistration == subID
	})
	img, _ := command.DecodeImageReady(b)
	m, err := shm.Open(p.LogFileName, shm.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	lg, err := logbuffer.Map(m.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	lg.Tail(0).Add(64) // claimed, no header: the "publisher" is gone
	// pubClient never sends a keepalive and times out; subClient stays.
	keepalive := func() {
		k := command.Correlated{ClientID: subClient.id}
		subClient.send(command.ClientKeepalive, k.Append(nil))
	}
	deadline := time.Now().Add(guard)
	for subClient.ctr.Value(sysUnblockedPublications) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("draining publication never unblocked")
		}
		keepalive()
		time.Sleep(10 * time.Millisecond)
	}
	if typ := binary.LittleEndian.Uint16(lg.Term(0)[logbuffer.TypeOffset:]); typ != logbuffer.HdrTypePad {
		t.Errorf("frame type %#x at 0, want padding", typ)
	}
	// The subscriber reads past the padding: the image goes unavailable.
	pos, err := subClient.ctr.Addr(img.SubscriberPositionID)
	if err != nil {
		t.Fatal(err)
	}
	pos.Store(64)
	for gone := false; !gone; {
		if time.Now().After(deadline) {
			t.Fatal("image never went unavailable")
		}
		keepalive()
		n, err := subClient.rx.Receive(func(typeID int32, msg []byte) {
			if m, err := command.DecodeImageMessage(msg); typeID == command.OnUnavailableImage && err == nil &&
				m.SubscriptionRegistration == subID {
				gone = true
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			time.Sleep(time.Millisecond)
		}
	}
}
