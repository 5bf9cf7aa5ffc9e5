package client

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
)

// fakePub hands every offered message straight to a receiver, meeting
// back pressure on every pressureEvery-th offer when set.
type fakePub struct {
	recv          *metaReceiver
	pressureEvery int
	offers        int
	maxMsg        int
	sent          [][]byte // copies, when keep is set
	keep          bool
	notConnected  bool
}

func (f *fakePub) Offer(msg []byte) int64 {
	f.offers++
	if f.notConnected {
		return aeron.NotConnected
	}
	if f.pressureEvery > 0 && f.offers%f.pressureEvery == 0 {
		return aeron.BackPressured
	}
	if f.keep {
		f.sent = append(f.sent, bytes.Clone(msg))
	}
	if f.recv != nil {
		f.recv.handle(msg)
	}
	return int64(f.offers)
}

func (f *fakePub) MaxMessageLength() int {
	if f.maxMsg == 0 {
		return 512 << 10
	}
	return f.maxMsg
}

func (f *fakePub) Close() error { return nil }

const testMetaStream = 10000

func newTestSender(t testing.TB, pub *fakePub, chunk int) *metaSender {
	t.Helper()
	m := &metaSender{}
	m.init(ProducerConfig{StreamID: testMetaStream, MetaChunkBytes: chunk})
	m.setPub(pub)
	return m
}

// publish sets attributes and blobs as PublishMeta and PublishBlob do and
// runs duty cycles until the round is out.
func publish(t testing.TB, m *metaSender, attrs []Attribute, blobs []outBlob) uint32 {
	t.Helper()
	m.attrs, m.blobs = attrs, blobs
	if err := m.newVersion(); err != nil {
		t.Fatal(err)
	}
	flush(t, m)
	return m.version
}

func flush(t testing.TB, m *metaSender) {
	t.Helper()
	for i := 0; i < 100000; i++ {
		m.duty(1, 7, 99)
		if !m.sending && !m.due {
			return
		}
	}
	t.Fatal("the round never ended")
}

func pattern(n int, salt byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ salt
	}
	return b
}

func blobOf(typ uint32, data []byte) outBlob {
	return outBlob{typ: typ, data: data, sum: blobChecksum(data)}
}

func TestMetaSendReceive(t *testing.T) {
	attrs := []Attribute{
		{Key: "sensor", Format: "text/plain", Value: []byte("IMX999")},
		{Key: "exposure_us", Format: "text/plain", Value: []byte("1250")},
		{Key: "empty", Format: "", Value: nil},
	}
	big := pattern(200_000, 1)
	for _, tc := range []struct {
		name     string
		chunk    int
		pressure int
	}{
		{"one chunk per blob", 1 << 20, 0},
		{"many chunks", 1000, 0},
		{"back pressure", 777, 3},
		{"back pressure on every other offer", 4096, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recv := newMetaReceiver(testMetaStream, 0)
			pub := &fakePub{recv: recv, pressureEvery: tc.pressure}
			m := newTestSender(t, pub, tc.chunk)
			m.source, m.haveSource = DataSource{Name: "cam0", Summary: "480x640 uint16"}, true
			v := publish(t, m, attrs, []outBlob{blobOf(1, big), blobOf(2, nil), blobOf(3, []byte("x"))})
			got := recv.lookup(v)
			if got == nil {
				t.Fatalf("version %d not received; stats %+v", v, recv.stats)
			}
			if got.Source != m.source || got.StreamID != testMetaStream || got.Version != v {
				t.Errorf("meta header %+v", got)
			}
			if len(got.Attributes) != len(attrs) {
				t.Fatalf("attributes %+v", got.Attributes)
			}
			for i, a := range attrs {
				g := got.Attributes[i]
				if g.Key != a.Key || g.Format != a.Format || !bytes.Equal(g.Value, a.Value) {
					t.Errorf("attribute %d: %+v, want %+v", i, g, a)
				}
			}
			for _, want := range []struct {
				typ  uint32
				data []byte
			}{{1, big}, {2, nil}, {3, []byte("x")}} {
				b, ok := got.Blob(want.typ)
				if !ok || !bytes.Equal(b, want.data) {
					t.Errorf("blob %d: %v, %d bytes", want.typ, ok, len(b))
				}
			}
			if a, ok := got.Attribute("exposure_us"); !ok || string(a.Value) != "1250" {
				t.Errorf("Attribute(exposure_us) = %+v, %v", a, ok)
			}
			if recv.latest() != got {
				t.Error("latest is not the version received")
			}
			if src := recv.source; src != m.source || recv.epoch != 99 || recv.producerID != 7 {
				t.Errorf("announce: %+v epoch %d id %d", src, recv.epoch, recv.producerID)
			}
			if s := recv.stats; s.BlobsDiscarded+s.Malformed+s.Stray+s.BlobsTooLarge != 0 || s.Blobs != 3 || s.Versions != 1 {
				t.Errorf("stats %+v", s)
			}
			if tc.pressure > 0 && m.stats.BackPressured == 0 {
				t.Error("no back pressure met")
			}
		})
	}
}

// A repeated round (what late joiners get every period) changes nothing
// and allocates nothing on either side.
func TestMetaRepeatAlloc(t *testing.T) {
	recv := newMetaReceiver(testMetaStream, 0)
	pub := &fakePub{recv: recv}
	m := newTestSender(t, pub, 1000)
	m.source, m.haveSource = DataSource{Name: "cam0"}, true
	v := publish(t, m, []Attribute{{Key: "k", Format: "text/plain", Value: []byte("v")}},
		[]outBlob{blobOf(9, pattern(10_000, 3))})
	first := recv.lookup(v)
	allocs := testing.AllocsPerRun(20, func() {
		m.restart()
		flush(t, m)
	})
	if allocs != 0 {
		t.Errorf("a repeated round allocates %.1f times", allocs)
	}
	if recv.lookup(v) != first {
		t.Error("a repeated round replaced the Meta")
	}
	if recv.stats.BlobsReused == 0 {
		t.Error("the repeated blob was reassembled again")
	}
}

// Versions: the newest MetaHistory stay; blobs carry over and are shared,
// not reassembled, when unchanged.
func TestMetaVersions(t *testing.T) {
	recv := newMetaReceiver(testMetaStream, 0)
	m := newTestSender(t, &fakePub{recv: recv}, 4096)
	cal := blobOf(1, pattern(50_000, 5))
	var versions []uint32
	for i := range MetaHistory + 2 {
		versions = append(versions, publish(t, m, []Attribute{{Key: "gain", Value: []byte{byte(i)}}}, []outBlob{cal}))
	}
	for i, v := range versions {
		got := recv.lookup(v)
		if i < 2 {
			if got != nil {
				t.Errorf("version %d (#%d) still held", v, i)
			}
			continue
		}
		if got == nil {
			t.Fatalf("version %d (#%d) missing", v, i)
		}
		if a, _ := got.Attribute("gain"); len(a.Value) != 1 || a.Value[0] != byte(i) {
			t.Errorf("version %d: gain %v", v, a.Value)
		}
		if b, ok := got.Blob(1); !ok || !bytes.Equal(b, cal.data) {
			t.Errorf("version %d: calibration blob missing", v)
		}
	}
	if recv.latest().Version != versions[len(versions)-1] {
		t.Errorf("latest %d, want %d", recv.latest().Version, versions[len(versions)-1])
	}
	if recv.stats.BlobsReused != uint64(len(versions)-1) {
		t.Errorf("reused %d blobs, want %d", recv.stats.BlobsReused, len(versions)-1)
	}
	for i := 1; i < len(versions); i++ {
		if versions[i] != versions[i-1]+1 {
			t.Errorf("versions %v do not increase by one", versions)
		}
	}
}

// Nobody subscribed: the round is skipped and tried again a period later.
func TestMetaNoSubscriber(t *testing.T) {
	pub := &fakePub{notConnected: true}
	m := newTestSender(t, pub, 0)
	m.attrs = []Attribute{{Key: "k"}}
	if err := m.newVersion(); err != nil {
		t.Fatal(err)
	}
	m.duty(100, 0, 0)
	if m.sending || m.stats.NoSubscriber != 1 {
		t.Fatalf("sending %v stats %+v", m.sending, m.stats)
	}
	m.duty(100+m.period-1, 0, 0)
	if pub.offers != 1 {
		t.Errorf("tried again before the period: %d offers", pub.offers)
	}
	pub.notConnected = false
	m.duty(100+m.period, 0, 0)
	if m.stats.Rounds != 1 {
		t.Errorf("no round a period later: %+v", m.stats)
	}
}

func TestMetaTooLarge(t *testing.T) {
	m := newTestSender(t, &fakePub{maxMsg: 1024}, 0)
	if m.chunkBytes > 1024 {
		t.Errorf("chunk %d bytes exceeds the maximum message", m.chunkBytes)
	}
	m.attrs = []Attribute{{Key: "k", Value: make([]byte, 2000)}}
	if err := m.newVersion(); err == nil {
		t.Error("an oversized DataSourceMeta was accepted")
	}
	if m.version != 0 {
		t.Error("a failed version was kept")
	}
}

// Messages for the reassembly tests.
func msgBlobAnnounce(stream, v, typ uint32, total, sum uint64) []byte {
	buf := make([]byte, 64)
	var e wire.MetaBlobAnnounceEncoder
	_ = e.WrapWithHeader(buf)
	e.SetStreamId(stream)
	e.SetMetaVersion(v)
	e.SetBlobType(typ)
	e.SetTotalLen(total)
	e.SetChecksum(sum)
	n, _ := e.Finish()
	return buf[:n]
}

func msgChunk(stream, v uint32, off uint64, data []byte) []byte {
	buf := make([]byte, 64+len(data))
	var e wire.MetaBlobChunkEncoder
	_ = e.WrapWithHeader(buf)
	e.SetStreamId(stream)
	e.SetMetaVersion(v)
	e.SetChunkOffset(off)
	_ = e.SetBytes(data)
	n, _ := e.Finish()
	return buf[:n]
}

func msgComplete(stream, v uint32, sum uint64) []byte {
	buf := make([]byte, 64)
	var e wire.MetaBlobCompleteEncoder
	_ = e.WrapWithHeader(buf)
	e.SetStreamId(stream)
	e.SetMetaVersion(v)
	e.SetChecksum(sum)
	n, _ := e.Finish()
	return buf[:n]
}

func msgMeta(v uint32) []byte {
	b, err := encodeMeta(testMetaStream, v, 1, []Attribute{{Key: "k", Format: "text/plain", Value: []byte("v")}})
	if err != nil {
		panic(err)
	}
	return b
}

func TestMetaBlobReassembly(t *testing.T) {
	const s, v = testMetaStream, 5
	data := pattern(300, 9)
	sum := blobChecksum(data)
	type want struct{ blobs, discarded, tooLarge, stray, malformed, other uint64 }
	for _, tc := range []struct {
		name string
		msgs [][]byte
		want want
		ok   bool // the blob is held afterwards
	}{
		{"in order", [][]byte{msgBlobAnnounce(s, v, 1, 300, sum), msgChunk(s, v, 0, data[:100]), msgChunk(s, v, 100, data[100:]), msgComplete(s, v, sum)},
			want{blobs: 1}, true},
		{"no checksum", [][]byte{msgBlobAnnounce(s, v, 1, 300, 0), msgChunk(s, v, 0, data), msgComplete(s, v, 0)},
			want{blobs: 1}, true},
		{"out of order", [][]byte{msgBlobAnnounce(s, v, 1, 300, sum), msgChunk(s, v, 100, data[100:]), msgChunk(s, v, 0, data[:100]), msgComplete(s, v, sum)},
			want{discarded: 1, stray: 2}, false},
		{"overlap", [][]byte{msgBlobAnnounce(s, v, 1, 300, sum), msgChunk(s, v, 0, data[:100]), msgChunk(s, v, 50, data[50:]), msgComplete(s, v, sum)},
			want{discarded: 1, stray: 1}, false},
		{"gap", [][]byte{msgBlobAnnounce(s, v, 1, 300, sum), msgChunk(s, v, 0, data[:100]), msgChunk(s, v, 150, data[150:]), msgComplete(s, v, sum)},
			want{discarded: 1, stray: 1}, false},
		{"past the end", [][]byte{msgBlobAnnounce(s, v, 1, 200, sum), msgChunk(s, v, 0, data)},
			want{discarded: 1}, false},
		{"empty chunk", [][]byte{msgBlobAnnounce(s, v, 1, 300, sum), msgChunk(s, v, 0, nil)},
			want{discarded: 1}, false},
		{"chunk of another version", [][]byte{msgBlobAnnounce(s, v, 1, 300, sum), msgChunk(s, v+1, 0, data)},
			want{discarded: 1}, false},
		{"complete too early", [][]byte{msgBlobAnnounce(s, v, 1, 300, sum), msgChunk(s, v, 0, data[:299]), msgComplete(s, v, sum)},
			want{discarded: 1}, false},
		{"checksum differs from the announce", [][]byte{msgBlobAnnounce(s, v, 1, 300, sum), msgChunk(s, v, 0, data), msgComplete(s, v, sum+1)},
			want{discarded: 1}, false},
		{"crc mismatch", [][]byte{msgBlobAnnounce(s, v, 1, 300, sum^1), msgChunk(s, v, 0, data), msgComplete(s, v, sum^1)},
			want{discarded: 1}, false},
		{"too large", [][]byte{msgBlobAnnounce(s, v, 1, 1<<20+1, sum), msgChunk(s, v, 0, data), msgComplete(s, v, sum)},
			want{tooLarge: 1, stray: 2}, false},
		{"huge", [][]byte{msgBlobAnnounce(s, v, 1, 1<<63, sum), msgComplete(s, v, sum)},
			want{tooLarge: 1, stray: 1}, false},
		{"a new announce loses the unfinished blob", [][]byte{msgBlobAnnounce(s, v, 1, 300, sum), msgChunk(s, v, 0, data[:10]),
			msgBlobAnnounce(s, v, 1, 300, sum), msgChunk(s, v, 0, data), msgComplete(s, v, sum)},
			want{blobs: 1, discarded: 1}, true},
		{"joined mid-blob", [][]byte{msgChunk(s, v, 100, data[100:]), msgComplete(s, v, sum)},
			want{stray: 2}, false},
		{"other streams are ignored", [][]byte{msgBlobAnnounce(s+1, v, 1, 300, sum), msgBlobAnnounce(s, v, 1, 300, sum),
			msgChunk(s+1, v, 7, data), msgChunk(s, v, 0, data), msgComplete(s+1, v, 1), msgComplete(s, v, sum)},
			want{blobs: 1}, true},
		{"garbage", [][]byte{nil, {1, 2, 3}, []byte("not an SBE message at all"), msgChunk(s, v, 0, data)[:30]},
			want{malformed: 3, other: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newMetaReceiver(s, 1<<20)
			for _, m := range tc.msgs {
				r.handle(m)
			}
			r.handle(msgMeta(v))
			got := want{r.stats.Blobs, r.stats.BlobsDiscarded, r.stats.BlobsTooLarge, r.stats.Stray, r.stats.Malformed, r.stats.Other}
			if got != tc.want {
				t.Errorf("stats %+v, want %+v", got, tc.want)
			}
			b, ok := r.lookup(v).Blob(1)
			if ok != tc.ok || (ok && !bytes.Equal(b, data)) {
				t.Errorf("blob held %v (%d bytes), want %v", ok, len(b), tc.ok)
			}
		})
	}
}

// A version is handed out only once its DataSourceMeta arrived; a blob
// arriving first waits for it, one arriving later joins it.
func TestMetaBlobBeforeAndAfterAttributes(t *testing.T) {
	r := newMetaReceiver(testMetaStream, 0)
	a, b := []byte("first"), []byte("second")
	r.handle(msgBlobAnnounce(testMetaStream, 3, 1, 5, blobChecksum(a)))
	r.handle(msgChunk(testMetaStream, 3, 0, a))
	r.handle(msgComplete(testMetaStream, 3, blobChecksum(a)))
	if r.lookup(3) != nil {
		t.Fatal("a version without attributes is handed out")
	}
	r.handle(msgMeta(3))
	before := r.lookup(3)
	if x, ok := before.Blob(1); !ok || string(x) != "first" {
		t.Fatalf("blob 1: %q %v", x, ok)
	}
	r.handle(msgBlobAnnounce(testMetaStream, 3, 2, 6, blobChecksum(b)))
	r.handle(msgChunk(testMetaStream, 3, 0, b))
	r.handle(msgComplete(testMetaStream, 3, blobChecksum(b)))
	after := r.lookup(3)
	if x, ok := after.Blob(2); !ok || string(x) != "second" {
		t.Fatalf("blob 2: %q %v", x, ok)
	}
	if _, ok := before.Blob(2); ok {
		t.Error("a Meta handed out earlier changed")
	}
	if len(after.Attributes) != 1 {
		t.Errorf("attributes lost: %+v", after.Attributes)
	}
}

// FuzzMetaReceiver feeds arbitrary message sequences (2-byte length
// prefixes) to a receiver with a small blob limit: it must never panic,
// never hold a blob over the limit, and every blob it holds with a
// checksum must match it.
func FuzzMetaReceiver(f *testing.F) {
	data := pattern(700, 2)
	sum := blobChecksum(data)
	seed := func(msgs ...[]byte) []byte {
		var out []byte
		for _, m := range msgs {
			out = binary.LittleEndian.AppendUint16(out, uint16(len(m)))
			out = append(out, m...)
		}
		return out
	}
	recv := newMetaReceiver(testMetaStream, 0)
	pub := &fakePub{keep: true, recv: recv}
	m := newTestSender(f, pub, 256)
	m.source, m.haveSource = DataSource{Name: "cam", Summary: "s"}, true
	publish(f, m, []Attribute{{Key: "a", Format: "b", Value: []byte("c")}}, []outBlob{blobOf(1, data)})
	f.Add(seed(pub.sent...))
	f.Add(seed(msgBlobAnnounce(testMetaStream, 1, 1, 700, sum), msgChunk(testMetaStream, 1, 0, data[:300]),
		msgChunk(testMetaStream, 1, 300, data[300:]), msgComplete(testMetaStream, 1, sum), msgMeta(1)))
	f.Add(seed(msgBlobAnnounce(testMetaStream, 1, 1, 1<<40, sum), msgChunk(testMetaStream, 1, 1<<39, data)))
	f.Add(seed(msgChunk(testMetaStream, 1, 0, data), msgComplete(testMetaStream, 1, 0)))
	const limit = 4096
	f.Fuzz(func(t *testing.T, in []byte) {
		r := newMetaReceiver(testMetaStream, limit)
		for len(in) >= 2 {
			n := int(binary.LittleEndian.Uint16(in))
			in = in[2:]
			n = min(n, len(in))
			r.handle(in[:n])
			in = in[n:]
			if r.blob.active && r.blob.reuse == nil && uint64(len(r.blob.buf)) != r.blob.total {
				t.Fatalf("reassembly buffer %d bytes for a %d-byte blob", len(r.blob.buf), r.blob.total)
			}
		}
		for _, m := range r.hist {
			if m == nil {
				continue
			}
			for i, b := range m.Blobs {
				if len(b.Data) > limit {
					t.Fatalf("blob of %d bytes over the %d limit", len(b.Data), limit)
				}
				if m.sums[i] != 0 && blobChecksum(b.Data) != m.sums[i] {
					t.Fatalf("blob %d of version %d fails its checksum", b.Type, m.Version)
				}
			}
			_ = r.lookup(m.Version)
		}
		_ = r.latest()
	})
}

func TestSBEFormat(t *testing.T) {
	if got := SBEFormat(900, 52); got != "sbe:900.52" {
		t.Errorf("SBEFormat(900, 52) = %q", got)
	}
}

// A consumer that joins in the middle of a round gets no version without
// its blobs: the attributes wait for the next whole round. One whose blob
// keeps failing gets the attributes at the second DataSourceMeta.
func TestMetaLateJoinWaitsForWholeRound(t *testing.T) {
	pub := &fakePub{keep: true}
	m := newTestSender(t, pub, 1000)
	m.source, m.haveSource = DataSource{Name: "cam"}, true
	cal := blobOf(1, pattern(5000, 4))
	v := publish(t, m, []Attribute{{Key: "k", Value: []byte("v")}}, []outBlob{cal})
	round := pub.sent
	if len(round) < 5 {
		t.Fatalf("round of %d messages", len(round))
	}
	r := newMetaReceiver(testMetaStream, 0)
	r.handle(round[0])              // an earlier announce: the receiver knows the producer announces
	for _, msg := range round[3:] { // joined mid-blob
		r.handle(msg)
	}
	if r.lookup(v) != nil {
		t.Fatal("a version completed without its blob")
	}
	if r.stats.Deferred != 1 {
		t.Errorf("deferred %d", r.stats.Deferred)
	}
	for _, msg := range round { // the next round, whole
		r.handle(msg)
	}
	got := r.lookup(v)
	if b, ok := got.Blob(1); !ok || !bytes.Equal(b, cal.data) {
		t.Fatalf("after a whole round: %+v", got)
	}

	// The same without the earlier announce: a consumer whose first
	// messages are the rest of a blob knows it joined mid-round before it
	// has seen where rounds start (this completed the version without its
	// blob, now and then, in TestMetadataEndToEnd).
	fresh := newMetaReceiver(testMetaStream, 0)
	for _, msg := range round[3:] {
		fresh.handle(msg)
	}
	if fresh.lookup(v) != nil {
		t.Fatal("joined mid-blob, no announce seen: a version completed without its blob")
	}
	for _, msg := range round {
		fresh.handle(msg)
	}
	if b, ok := fresh.lookup(v).Blob(1); !ok || !bytes.Equal(b, cal.data) {
		t.Fatalf("after a whole round: %+v", fresh.lookup(v))
	}

	// A blob over the limit never arrives: the second DataSourceMeta
	// completes the version without it.
	small := newMetaReceiver(testMetaStream, 100)
	for range 2 {
		for _, msg := range round {
			small.handle(msg)
		}
	}
	if got := small.lookup(v); got == nil || len(got.Blobs) != 0 || len(got.Attributes) != 1 {
		t.Errorf("with the blob refused: %+v (stats %+v)", got, small.stats)
	}
}
