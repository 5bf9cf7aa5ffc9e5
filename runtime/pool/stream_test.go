package pool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// testStream is one epoch of one stream in a temporary directory: the
// producer's writable regions and a consumer's read-only mappings of them.
type testStream struct {
	layout  Layout
	allow   *AllowList
	ringURI string
	poolURI map[uint16]string
	strides map[uint16]uint32
	nslots  uint32
	prod    *Producer
	cons    *Consumer
}

func newTestStream(t testing.TB, nslots uint32, strides ...uint32) *testStream {
	t.Helper()
	base := t.TempDir()
	s := &testStream{
		layout:  Layout{BaseDir: base, User: "tester", Namespace: "default", StreamID: 10000, Epoch: 5},
		poolURI: map[uint16]string{},
		strides: map[uint16]uint32{},
		nslots:  nslots,
	}
	dir, err := s.layout.Dir()
	if err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(dir, DirModePrivate); err != nil {
		t.Fatal(err)
	}
	hp, _ := s.layout.HeaderPath()
	ring, err := CreateRegion(hp, Superblock{Epoch: 5, StreamID: 10000, RegionType: HeaderRing, NSlots: nslots}, FileModeShared)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	s.ringURI = URI{Path: hp}.String()
	var pools []*Region
	for i, st := range strides {
		id := uint16(i + 1)
		pp, _ := s.layout.PoolPath(id)
		p, err := CreateRegion(pp, Superblock{Epoch: 5, StreamID: 10000, RegionType: PayloadPool, PoolID: id, NSlots: nslots, StrideBytes: st}, FileModeShared)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		pools = append(pools, p)
		s.poolURI[id] = URI{Path: pp}.String()
		s.strides[id] = st
	}
	s.prod, err = NewProducer(ring, pools, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.allow = mustAllow(t, base)
	s.cons = s.newConsumer(t)
	return s
}

func (s *testStream) expect(rt RegionType, id uint16) Expect {
	return Expect{Epoch: s.layout.Epoch, StreamID: s.layout.StreamID, RegionType: rt, PoolID: id, NSlots: s.nslots, StrideBytes: s.strides[id]}
}

// newConsumer maps the stream read-only from its URIs, as a consumer
// process would.
func (s *testStream) newConsumer(t testing.TB) *Consumer {
	t.Helper()
	ring, err := OpenRegion(s.ringURI, s.allow, s.expect(HeaderRing, 0), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	var pools []*Region
	for id := uint16(1); int(id) <= len(s.poolURI); id++ {
		p, err := OpenRegion(s.poolURI[id], s.allow, s.expect(PayloadPool, id), false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		pools = append(pools, p)
	}
	c, err := NewConsumer(ring, pools)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func bytesMeta(t testing.TB, n int) *FrameMeta {
	t.Helper()
	h, err := NewTensorHeader(Uint8, RowMajor, int32(n))
	if err != nil {
		t.Fatal(err)
	}
	return &FrameMeta{Tensor: h, TimestampNs: 42, MetaVersion: 7}
}

func TestProducerConsumerRoundTrip(t *testing.T) {
	s := newTestStream(t, 8, 64, 1024, 4096)
	tests := []struct {
		size     int
		wantPool uint16
	}{
		{0, 1}, {1, 1}, {64, 1}, {65, 2}, {1024, 2}, {1025, 3}, {4096, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			payload := make([]byte, tt.size)
			for i := range payload {
				payload[i] = byte(i*13 + tt.size)
			}
			m := bytesMeta(t, tt.size)
			seq, err := s.prod.Publish(payload, m)
			if err != nil {
				t.Fatal(err)
			}
			f, r := s.cons.Read(5, seq)
			if r != DropNone {
				t.Fatalf("Read: %v", r)
			}
			if f.PoolID != tt.wantPool {
				t.Errorf("pool %d, want %d (smallest stride that fits)", f.PoolID, tt.wantPool)
			}
			if diff := cmp.Diff(payload, f.Payload); diff != "" {
				t.Errorf("payload (-want +got):\n%s", diff)
			}
			if f.Seq != seq || f.TimestampNs != 42 || f.MetaVersion != 7 || f.PayloadSlot != uint32(seq&7) {
				t.Errorf("frame %+v", f)
			}
			if diff := cmp.Diff(m.Tensor, f.Tensor); diff != "" {
				t.Errorf("tensor (-want +got):\n%s", diff)
			}
			if r := s.cons.Verify(&f); r != DropNone {
				t.Errorf("Verify: %v", r)
			}
		})
	}
	want := ConsumerStats{Accepted: uint64(len(tests))}
	if diff := cmp.Diff(want, s.cons.Stats()); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if got := s.prod.Stats(); got.Committed != uint64(len(tests)) {
		t.Errorf("producer stats %+v", got)
	}
}

func TestClaimNoPoolFits(t *testing.T) {
	s := newTestStream(t, 4, 64, 128)
	for _, n := range []int{129, 1 << 20, -1} {
		if _, err := s.prod.Claim(n); !errors.Is(err, ErrNoPoolFits) {
			t.Errorf("Claim(%d) = %v, want ErrNoPoolFits", n, err)
		}
	}
	if got := s.prod.Stats(); got.DropsNoPool != 3 || s.prod.Next() != 0 {
		t.Errorf("stats %+v next %d: drops must be counted and consume no sequence", got, s.prod.Next())
	}
}

func TestCommitRules(t *testing.T) {
	s := newTestStream(t, 4, 64)
	c, err := s.prod.Claim(16)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytesMeta(t, 32) // larger than the claim
	if err := s.prod.Commit(&c, bad); !errors.Is(err, ErrTensorHeader) || !strings.Contains(err.Error(), "tensor exceeds payload") {
		t.Errorf("tensor larger than payload: %v", err)
	}
	zero := &FrameMeta{}
	if err := s.prod.Commit(&c, zero); !errors.Is(err, ErrTensorHeader) || !strings.Contains(err.Error(), "ndims") {
		t.Errorf("empty tensor header: %v", err)
	}
	// Nothing was published by the failed commits.
	if _, r := s.cons.Read(5, c.Seq); r != DropNotCommitted {
		t.Errorf("after failed commits: %v, want not committed", r)
	}
	if err := s.prod.Commit(&c, bytesMeta(t, 16)); err != nil {
		t.Fatal(err)
	}
	if err := s.prod.Commit(&c, bytesMeta(t, 16)); !errors.Is(err, ErrNotClaimed) {
		t.Errorf("second commit: %v", err)
	}
	// A claim abandoned by a newer claim can no longer be committed.
	old, _ := s.prod.Claim(8)
	cur, _ := s.prod.Claim(8)
	if err := s.prod.Commit(&old, bytesMeta(t, 8)); !errors.Is(err, ErrNotClaimed) {
		t.Errorf("commit of abandoned claim: %v", err)
	}
	if err := s.prod.Commit(&cur, bytesMeta(t, 8)); err != nil {
		t.Error(err)
	}
	if got := s.prod.Stats().Abandoned; got != 1 {
		t.Errorf("abandoned %d, want 1", got)
	}
}

// slotOf returns the producer's writable view of the header slot of seq.
func (s *testStream) slotOf(seq uint64) []byte {
	return s.prod.ring.slot(seq & s.prod.ring.mask)
}

func TestConsumerDropReasons(t *testing.T) {
	le := binary.LittleEndian
	th := func(b []byte) []byte { return b[shHeaderBytes+sbeMessageHeaderLen:] } // TensorHeader block
	tests := []struct {
		name   string
		seq    uint64 // read this seq instead of the published one when non-zero
		epoch  uint64 // when non-zero
		mutate func(s *testStream, slot []byte, seq uint64)
		want   DropReason
	}{
		{"valid", 0, 0, func(*testStream, []byte, uint64) {}, DropNone},
		{"epoch", 0, 6, func(*testStream, []byte, uint64) {}, DropEpoch},
		{"not committed", 0, 0, func(s *testStream, b []byte, seq uint64) { s.prod.ring.words[seq&s.prod.ring.mask].Store(seq << 1) }, DropNotCommitted},
		{"overwritten", 0, 0, func(s *testStream, b []byte, seq uint64) {
			s.prod.ring.words[seq&s.prod.ring.mask].Store((seq+4)<<1 | 1)
		}, DropOverwritten},
		{"stale", 0, 0, func(s *testStream, b []byte, seq uint64) {}, DropStale}, // reads seq+4 below
		{"payload offset", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint32(b[shPayloadOffset:], 1) }, DropPayloadOffset},
		{"payload slot", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint32(b[shPayloadSlot:], 3) }, DropPayloadSlot},
		{"payload slot out of range", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint32(b[shPayloadSlot:], 1<<31) }, DropPayloadSlot},
		{"unknown pool", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint16(b[shPoolID:], 9) }, DropUnknownPool},
		{"pool id zero", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint16(b[shPoolID:], 0) }, DropUnknownPool},
		{"values len over stride", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint32(b[shValuesLen:], 129) }, DropValuesLen},
		{"values len huge", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint32(b[shValuesLen:], 0xffffffff) }, DropValuesLen},
		{"header bytes length", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint32(b[shHeaderBytesLen:], 191) }, DropHeaderLength},
		{"header bytes length huge", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint32(b[shHeaderBytesLen:], 1<<30) }, DropHeaderLength},
		{"block length", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint16(b[shHeaderBytes:], 183) }, DropHeaderLength},
		{"template id", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint16(b[shHeaderBytes+2:], 51) }, DropTemplateID},
		{"schema id", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint16(b[shHeaderBytes+4:], 901) }, DropSchemaID},
		{"schema version", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint16(b[shHeaderBytes+6:], 2) }, DropSchemaVersion},
		{"ndims zero", 0, 0, func(_ *testStream, b []byte, _ uint64) { th(b)[thNDims] = 0 }, DropNDims},
		{"ndims nine", 0, 0, func(_ *testStream, b []byte, _ uint64) { th(b)[thNDims] = 9 }, DropNDims},
		{"dtype unknown", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint16(th(b)[thDtype:], 0) }, DropDtype},
		{"dtype 12", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint16(th(b)[thDtype:], 12) }, DropDtype},
		{"dtype negative", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint16(th(b)[thDtype:], 0xffff) }, DropDtype},
		{"major order unknown", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint16(th(b)[thMajorOrder:], 0) }, DropMajorOrder},
		{"major order 3", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint16(th(b)[thMajorOrder:], 3) }, DropMajorOrder},
		{"progress unit", 0, 0, func(_ *testStream, b []byte, _ uint64) { th(b)[thProgressUnit] = 3 }, DropProgressUnit},
		{"negative dim", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint32(th(b)[thDims:], 0xffffffff) }, DropDims},
		{"negative stride", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint32(th(b)[thStrides:], 0xfffffff0) }, DropStrides},
		{"progress stride zero", 0, 0, func(_ *testStream, b []byte, _ uint64) {
			th(b)[thProgressUnit] = byte(ProgressRows)
		}, DropProgressStride},
		{"tensor beyond payload", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint32(th(b)[thDims:], 5) }, DropTensorExtent},
		{"values len below tensor", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint32(b[shValuesLen:], 100) }, DropTensorExtent},
		{"empty payload, header ignored", 0, 0, func(_ *testStream, b []byte, _ uint64) { le.PutUint32(b[shValuesLen:], 0) }, DropNone},
		{"garbage beyond ndims", 0, 0, func(_ *testStream, b []byte, _ uint64) {
			le.PutUint32(th(b)[thDims+4*5:], 0xdeadbeef)
			le.PutUint32(th(b)[thStrides+4*7:], 0xffffffff)
		}, DropNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestStream(t, 4, 64, 128)
			// A 2-D uint32 tensor 4 x 8 = 128 bytes, in pool 2 (stride 128).
			h, err := NewTensorHeader(Uint32, RowMajor, 4, 8)
			if err != nil {
				t.Fatal(err)
			}
			seq, err := s.prod.Publish(make([]byte, 128), &FrameMeta{Tensor: h})
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(s, s.slotOf(seq), seq)
			epoch, read := uint64(5), seq
			if tt.epoch != 0 {
				epoch = tt.epoch
			}
			if tt.want == DropStale {
				read = seq + 4 // same slot, a later frame not yet written
			}
			f, r := s.cons.Read(epoch, read)
			if r != tt.want {
				t.Fatalf("Read = %v, want %v", r, tt.want)
			}
			st := s.cons.Stats()
			if r == DropNone {
				if st.Drops != ([NumDropReasons]uint64{}) || len(f.Payload) != int(binary.LittleEndian.Uint32(s.slotOf(seq)[shValuesLen:])) {
					t.Errorf("stats %+v, payload %d bytes", st, len(f.Payload))
				}
				want := [MaxDims]int32{4, 8}
				if f.Tensor.Dims != want || f.Tensor.Strides != ([MaxDims]int32{32, 4}) {
					t.Errorf("tensor dims %v strides %v", f.Tensor.Dims, f.Tensor.Strides)
				}
				return
			}
			if st.Drops[tt.want] != 1 {
				t.Errorf("Drops[%v] = %d, want 1", tt.want, st.Drops[tt.want])
			}
			if wantLate := uint64(0); tt.want.Late() {
				wantLate = 1
				if st.DropsLate != wantLate {
					t.Errorf("DropsLate = %d, want %d", st.DropsLate, wantLate)
				}
			} else if st.DropsLate != 0 {
				t.Errorf("DropsLate = %d for %v", st.DropsLate, tt.want)
			}
		})
	}
}

func TestDropAccounting(t *testing.T) {
	s := newTestStream(t, 4, 64)
	m := bytesMeta(t, 8)
	pub := func() uint64 {
		seq, err := s.prod.Publish(make([]byte, 8), m)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	for range 10 {
		pub()
	}
	read := func(seq uint64) DropReason {
		f, r := s.cons.Read(5, seq)
		if r == DropNone {
			r = s.cons.Verify(&f)
		}
		return r
	}
	steps := []struct {
		seq  uint64
		want DropReason
	}{
		{0, DropOverwritten}, // slot 0 now holds seq 8
		{6, DropNone},        // gap of 5 (1..5)
		{7, DropNone},
		{9, DropNone}, // gap of 1 (8)
		{9, DropSeqRegression},
		{12, DropStale}, // gap of 2 (10, 11); slot 0 holds 8
	}
	for _, st := range steps {
		if got := read(st.seq); got != st.want {
			t.Errorf("read %d = %v, want %v", st.seq, got, st.want)
		}
	}
	got := s.cons.Stats()
	want := ConsumerStats{Accepted: 3, DropsGap: 5 + 1 + 2, DropsLate: 2}
	want.Drops[DropOverwritten] = 1
	want.Drops[DropStale] = 1
	want.Drops[DropSeqRegression] = 1
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestVerifyDetectsReuse(t *testing.T) {
	s := newTestStream(t, 2, 64)
	m := bytesMeta(t, 8)
	seq, _ := s.prod.Publish([]byte("AAAAAAAA"), m)
	f, r := s.cons.Read(5, seq)
	if r != DropNone {
		t.Fatal(r)
	}
	// The producer laps the ring while the consumer holds the frame.
	s.prod.Publish([]byte("BBBBBBBB"), m)
	s.prod.Publish([]byte("CCCCCCCC"), m)
	if string(f.Payload) != "CCCCCCCC" {
		t.Fatalf("payload %q: the view should alias the reused slot", f.Payload)
	}
	if r := s.cons.Verify(&f); r != DropChanged {
		t.Errorf("Verify = %v, want DropChanged", r)
	}
	// Claimed but not yet committed also invalidates it.
	seq, _ = s.prod.Publish([]byte("DDDDDDDD"), m)
	f, r = s.cons.Read(5, seq)
	if r != DropNone {
		t.Fatal(r)
	}
	if _, err := s.prod.Claim(8); err != nil {
		t.Fatal(err)
	}
	s.prod.Claim(8) // the slot of seq
	if r := s.cons.Verify(&f); r != DropChanged {
		t.Errorf("Verify during rewrite = %v, want DropChanged", r)
	}
	if st := s.cons.Stats(); st.DropsLate != 2 || st.Accepted != 0 {
		t.Errorf("stats %+v", st)
	}
	var empty Frame
	if r := s.cons.Verify(&empty); r == DropNone {
		t.Error("Verify of a zero Frame accepted")
	}
}

func TestCopy(t *testing.T) {
	s := newTestStream(t, 4, 64)
	seq, _ := s.prod.Publish([]byte("hello"), bytesMeta(t, 5))
	dst := make([]byte, 64)
	f, r := s.cons.Copy(5, seq, dst)
	if r != DropNone || string(f.Payload) != "hello" || &f.Payload[0] != &dst[0] {
		t.Errorf("Copy = %q, %v", f.Payload, r)
	}
	seq, _ = s.prod.Publish([]byte("hello"), bytesMeta(t, 5))
	if _, r := s.cons.Copy(5, seq, dst[:2]); r == DropNone {
		t.Error("Copy into a short buffer succeeded")
	}
}

func TestOpenRegionRejects(t *testing.T) {
	s := newTestStream(t, 4, 64)
	pp, _ := s.layout.PoolPath(1)
	dir := filepath.Dir(pp)
	tests := []struct {
		name    string
		setup   func(t *testing.T) string // returns the URI
		want    Expect
		wantErr error
	}{
		{"bad URI", func(*testing.T) string { return "shm:file?path=" + pp + "|x=1" }, s.expect(PayloadPool, 1), ErrURIParameter},
		{"hugepages required on tmpfs", func(*testing.T) string { return s.poolURI[1] + "|require_hugepages=true" }, s.expect(PayloadPool, 1), ErrNotHugepages},
		{"epoch mismatch", func(*testing.T) string { return s.poolURI[1] }, Expect{Epoch: 6, StreamID: 10000, RegionType: PayloadPool, PoolID: 1, NSlots: 4, StrideBytes: 64}, ErrEpoch},
		{"announced as header ring", func(*testing.T) string { return s.poolURI[1] }, s.expect(HeaderRing, 0), ErrRegionType},
		{"file too long", func(t *testing.T) string {
			p := filepath.Join(dir, "long.pool")
			copyFile(t, pp, p, 64*6)
			return "shm:file?path=" + p
		}, s.expect(PayloadPool, 1), ErrRegionSize},
		{"file too short", func(t *testing.T) string {
			p := filepath.Join(dir, "short.pool")
			copyFile(t, pp, p, 64*4)
			return "shm:file?path=" + p
		}, s.expect(PayloadPool, 1), ErrRegionSize},
		{"shorter than a superblock", func(t *testing.T) string {
			p := filepath.Join(dir, "tiny.pool")
			copyFile(t, pp, p, 10)
			return "shm:file?path=" + p
		}, s.expect(PayloadPool, 1), ErrShortRegion},
		{"zeroed file", func(t *testing.T) string {
			p := filepath.Join(dir, "zero.pool")
			writeFile(t, p, 64*5, 0o600)
			return "shm:file?path=" + p
		}, s.expect(PayloadPool, 1), ErrBadMagic},
		{"outside the allowed dirs", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "x.pool")
			copyFile(t, pp, p, 64*5)
			return "shm:file?path=" + p
		}, s.expect(PayloadPool, 1), ErrNotContained},
		{"missing", func(*testing.T) string { return "shm:file?path=" + filepath.Join(dir, "9.pool") }, s.expect(PayloadPool, 9), fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := OpenRegion(tt.setup(t), s.allow, tt.want, false)
			if err == nil {
				r.Close()
				t.Fatalf("OpenRegion succeeded, want %v", tt.wantErr)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string, size int) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > size {
		b = b[:size]
	} else {
		b = append(b, make([]byte, size-len(b))...)
	}
	writeFile(t, to, 0, 0o600)
	must(t, os.WriteFile(to, b, 0o600))
}

func TestCreateRegion(t *testing.T) {
	dir := t.TempDir()
	old := unix.Umask(0o077) // must not narrow the requested mode
	defer unix.Umask(old)
	r, err := CreateRegion(filepath.Join(dir, "1.pool"), Superblock{Epoch: 1, StreamID: 2, RegionType: PayloadPool, PoolID: 1, NSlots: 8, StrideBytes: 128}, FileModeShared)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		r.Close()
		if _, err := r.Current(); !errors.Is(err, ErrClosed) {
			t.Errorf("Current after Close: %v", err)
		}
	}()
	st, err := os.Stat(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o660 || st.Size() != 64+8*128 {
		t.Errorf("mode %v size %d", st.Mode().Perm(), st.Size())
	}
	sb := r.Superblock()
	if sb.SlotBytes != 128 || sb.LayoutVersion != LayoutVersion || sb.PID != uint64(os.Getpid()) || sb.ActivityTimestampNs == 0 {
		t.Errorf("filled superblock %+v", sb)
	}
	r.SetActivity(99)
	if r.Activity() != 99 {
		t.Errorf("activity %d", r.Activity())
	}
	cur, err := r.Current()
	if err != nil || cur.ActivityTimestampNs != 99 || cur.Epoch != sb.Epoch || cur.PID != sb.PID {
		t.Errorf("Current = %+v, %v", cur, err)
	}

	bad := []struct {
		name    string
		sb      Superblock
		mode    os.FileMode
		wantErr error
	}{
		{"world readable", Superblock{RegionType: HeaderRing, NSlots: 4}, 0o664, ErrInsecureMode},
		{"nslots not power of two", Superblock{RegionType: HeaderRing, NSlots: 6}, 0o600, ErrNSlots},
		{"nslots zero", Superblock{RegionType: HeaderRing}, 0o600, ErrNSlots},
		{"ring with pool id", Superblock{RegionType: HeaderRing, NSlots: 4, PoolID: 1}, 0o600, ErrPoolID},
		{"stride not power of two", Superblock{RegionType: PayloadPool, NSlots: 4, StrideBytes: 192}, 0o600, ErrStrideBytes},
		{"stride zero", Superblock{RegionType: PayloadPool, NSlots: 4}, 0o600, ErrStrideBytes},
		{"region type", Superblock{RegionType: 7, NSlots: 4}, 0o600, ErrRegionType},
		{"exists", Superblock{RegionType: PayloadPool, NSlots: 8, StrideBytes: 128}, 0o600, fs.ErrExist},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "x")
			if tt.wantErr == fs.ErrExist {
				p = r.Path()
			}
			r, err := CreateRegion(p, tt.sb, tt.mode)
			if err == nil {
				r.Close()
				t.Fatal("created")
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != fs.ErrExist {
				if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("left %s behind", p)
				}
			}
		})
	}
}

func TestNewProducerConsumerRejectMismatchedRegions(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, sb Superblock) *Region {
		r, err := CreateRegion(filepath.Join(dir, name), sb, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	ring := mk("ring", Superblock{Epoch: 1, StreamID: 1, RegionType: HeaderRing, NSlots: 4})
	good := mk("1.pool", Superblock{Epoch: 1, StreamID: 1, RegionType: PayloadPool, PoolID: 1, NSlots: 4, StrideBytes: 64})
	tests := []struct {
		name  string
		ring  *Region
		pools []*Region
	}{
		{"no pools", ring, nil},
		{"ring is a pool", good, []*Region{good}},
		{"pool is a ring", ring, []*Region{ring}},
		{"nslots differ", ring, []*Region{mk("2.pool", Superblock{Epoch: 1, StreamID: 1, RegionType: PayloadPool, PoolID: 2, NSlots: 8, StrideBytes: 64})}},
		{"epoch differs", ring, []*Region{mk("3.pool", Superblock{Epoch: 2, StreamID: 1, RegionType: PayloadPool, PoolID: 3, NSlots: 4, StrideBytes: 64})}},
		{"stream differs", ring, []*Region{mk("4.pool", Superblock{Epoch: 1, StreamID: 2, RegionType: PayloadPool, PoolID: 4, NSlots: 4, StrideBytes: 64})}},
		{"duplicate pool id", ring, []*Region{good, good}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewProducer(tt.ring, tt.pools, 0); !errors.Is(err, ErrLayout) {
				t.Errorf("NewProducer: %v, want ErrLayout", err)
			}
			if _, err := NewConsumer(tt.ring, tt.pools); !errors.Is(err, ErrLayout) {
				t.Errorf("NewConsumer: %v, want ErrLayout", err)
			}
		})
	}
}
