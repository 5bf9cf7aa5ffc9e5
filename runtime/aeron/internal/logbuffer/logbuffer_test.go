package logbuffer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tpool-go/tpool/runtime/aeron/internal/testmem"
)

const termLength = TermMinLength

func newLog(t testing.TB) (*Log, []byte) {
	t.Helper()
	b := testmem.Bytes(t, ComputeLogLength(termLength, PageMinSize))
	l, err := Init(b, Params{CorrelationID: 42, InitialTermID: 100, MTU: 1408, TermLength: termLength,
		PageSize: PageMinSize, PublicationWindow: termLength / 2, SessionID: 7, StreamID: 1001})
	if err != nil {
		t.Fatal(err)
	}
	return l, b
}

func TestMetadataLayout(t *testing.T) {
	_, b := newLog(t)
	meta := b[3*termLength:]
	le := binary.LittleEndian
	got := map[string]int64{
		"tail0":       int64(le.Uint64(meta[0:])),
		"tail1":       int64(le.Uint64(meta[8:])),
		"tail2":       int64(le.Uint64(meta[16:])),
		"active":      int64(le.Uint32(meta[24:])),
		"eos":         int64(le.Uint64(meta[128:])),
		"correlation": int64(le.Uint64(meta[256:])),
		"initial":     int64(le.Uint32(meta[264:])),
		"hdr len":     int64(le.Uint32(meta[268:])),
		"mtu":         int64(le.Uint32(meta[272:])),
		"term len":    int64(le.Uint32(meta[276:])),
		"page":        int64(le.Uint32(meta[280:])),
		"hdr type":    int64(le.Uint16(meta[320+6:])),
		"hdr flags":   int64(meta[320+5]),
		"hdr session": int64(le.Uint32(meta[320+12:])),
		"hdr stream":  int64(le.Uint32(meta[320+16:])),
		"hdr term":    int64(le.Uint32(meta[320+20:])),
	}
	want := map[string]int64{
		"tail0": 100 << 32, "tail1": int64(98) << 32, "tail2": int64(99) << 32, "active": 0,
		"eos": 1<<63 - 1, "correlation": 42, "initial": 100, "hdr len": 32, "mtu": 1408,
		"term len": termLength, "page": 4096, "hdr type": 1, "hdr flags": 0xC0,
		"hdr session": 7, "hdr stream": 1001, "hdr term": 100,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMapErrors(t *testing.T) {
	_, good := newLog(t)
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   error
	}{
		{"too short", func(b []byte) []byte { return b[:1000] }, ErrTooShort},
		{"term length not power of two", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[len(b)-MetadataLength+TermLengthOffset:], 70000)
			return b
		}, ErrTermLength},
		{"term length larger than file", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[len(b)-MetadataLength+TermLengthOffset:], 1<<20)
			return b
		}, ErrTooShort},
		{"bad mtu", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[len(b)-MetadataLength+MTULengthOffset:], 7)
			return b
		}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mutate(append([]byte(nil), good...))
			if _, err := Map(b); !errors.Is(err, tt.want) {
				t.Errorf("Map error = %v, want %v", err, tt.want)
			}
		})
	}
}

type frag struct {
	Data  string
	Flags uint8
	Term  int32
}

func readAll(t *testing.T, l *Log, index, offset int) ([]frag, int) {
	t.Helper()
	var out []frag
	h := &Header{InitialTermID: l.InitialTermID(), Shift: PositionBitsToShift(l.TermLength())}
	n, next, corrupt := Read(l.Term(index), offset, func(b []byte, hd *Header) {
		out = append(out, frag{string(b), hd.Flags(), hd.TermID()})
	}, 1000, h)
	if corrupt {
		t.Fatal("corrupt")
	}
	if n != len(out) {
		t.Fatalf("n = %d, handled %d", n, len(out))
	}
	return out, next
}

func TestAppendAndRead(t *testing.T) {
	l, _ := newLog(t)
	a := l.Appender(0)
	r1 := a.AppendUnfragmented(5, []byte("he"), []byte("llo"))
	r2 := a.AppendUnfragmented(0)
	r3 := a.PutMessage(a.Reserve(AlignedLength(6)), []byte("single"))
	if r1 != 64 || r2 != 96 || r3 != 160 {
		t.Fatalf("results %d, %d, %d; want 64, 96, 160", r1, r2, r3)
	}
	got, next := readAll(t, l, 0, 0)
	want := []frag{{"hello", 0xC0, 100}, {"", 0xC0, 100}, {"single", 0xC0, 100}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if next != 160 {
		t.Errorf("next = %d", next)
	}
	// The third frame's header, byte for byte (aeron_data_header_t).
	wantHeader := []byte{
		38, 0, 0, 0, // frame length 32+6
		0, 0xC0, 1, 0, // version, flags, type DATA
		96, 0, 0, 0, // term offset
		7, 0, 0, 0, // session id
		0xE9, 0x03, 0, 0, // stream id 1001
		100, 0, 0, 0, // term id
		0, 0, 0, 0, 0, 0, 0, 0, // reserved value
	}
	if diff := cmp.Diff(wantHeader, l.Term(0)[96:128]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if le := binary.LittleEndian; le.Uint32(l.Term(0)[8:]) != 0 || le.Uint32(l.Term(0)[72:]) != 64 {
		t.Error("term offsets of the first two frames wrong")
	}
}

func TestFragmented(t *testing.T) {
	l, _ := newLog(t)
	msg := bytes.Repeat([]byte("0123456789"), 400) // 4000 bytes
	maxPayload := l.MTU() - HeaderLength
	r := l.Appender(0).AppendFragmented(len(msg), maxPayload, msg[:1000], msg[1000:])
	if r <= 0 {
		t.Fatalf("result %d", r)
	}
	got, _ := readAll(t, l, 0, 0)
	var flags []uint8
	var joined []byte
	for _, f := range got {
		flags = append(flags, f.Flags)
		joined = append(joined, f.Data...)
	}
	if diff := cmp.Diff([]uint8{FlagBegin, 0, FlagEnd}, flags); diff != "" {
		t.Errorf("flags (-want +got):\n%s", diff)
	}
	if !bytes.Equal(joined, msg) {
		t.Error("reassembled payload differs")
	}
}

// checkPadding checks the header of a committed padding frame: the default
// header with type PAD, as Aeron's appender and unblocker write it.
func checkPadding(t *testing.T, term []byte, offset, length int, termID int32) {
	t.Helper()
	le := binary.LittleEndian
	h := term[offset : offset+HeaderLength]
	want := []byte{
		0, 0, 0, 0, // frame length
		0, 0xC0, 0, 0, // version, flags, type PAD
		0, 0, 0, 0, // term offset
		7, 0, 0, 0, // session id
		0xE9, 0x03, 0, 0, // stream id 1001
		0, 0, 0, 0, // term id
		0, 0, 0, 0, 0, 0, 0, 0, // reserved value
	}
	le.PutUint32(want[FrameLengthOffset:], uint32(length))
	le.PutUint32(want[TermOffsetOffset:], uint32(offset))
	le.PutUint32(want[TermIDOffset:], uint32(termID))
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("padding header at %d (-want +got):\n%s", offset, diff)
	}
}

func TestTripAndRotate(t *testing.T) {
	l, _ := newLog(t)
	a := l.Appender(0)
	payload := make([]byte, 1000)
	var result int
	n := 0
	for {
		result = a.AppendUnfragmented(len(payload), payload)
		if result < 0 {
			break
		}
		n++
	}
	if result != AppendTripped {
		t.Fatalf("result %d, want tripped", result)
	}
	if a.AppendUnfragmented(1, payload[:1]) != AppendFailed {
		t.Error("append after trip did not fail")
	}
	got, next := readAll(t, l, 0, 0)
	if len(got) != n || next != termLength {
		t.Errorf("read %d fragments to %d; want %d to %d (padding skipped)", len(got), next, n, termLength)
	}
	padAt := n * AlignedLength(len(payload))
	checkPadding(t, l.Term(0), padAt, termLength-padAt, 100)
	if !l.RotateLog(0, 100) {
		t.Fatal("rotate lost")
	}
	if l.ActiveTermCount() != 1 || TermID(l.Tail(1).Load()) != 101 || TermOffset(l.Tail(1).Load(), termLength) != 0 {
		t.Errorf("after rotate: count %d tail1 %x", l.ActiveTermCount(), l.Tail(1).Load())
	}
	if l.RotateLog(0, 100) {
		t.Error("second rotate from the same term won")
	}
	if p := l.ProducerPosition(); p != termLength {
		t.Errorf("producer position %d", p)
	}
}

func TestClaimCommitAbort(t *testing.T) {
	l, _ := newLog(t)
	a := l.Appender(0)
	off1, r1 := a.Claim(4)
	off2, r2 := a.Claim(4)
	if r1 < 0 || r2 < 0 {
		t.Fatal("claim failed")
	}
	if got, _ := readAll(t, l, 0, 0); len(got) != 0 {
		t.Fatal("uncommitted claim visible")
	}
	copy(l.Term(0)[off1+HeaderLength:], "keep")
	Commit(l.Term(0), off1)
	Abort(l.Term(0), off2)
	got, next := readAll(t, l, 0, 0)
	if diff := cmp.Diff([]frag{{"keep", 0xC0, 100}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if next != r2 {
		t.Errorf("aborted frame not skipped: next %d, want %d", next, r2)
	}
}

func TestControlledRead(t *testing.T) {
	l, _ := newLog(t)
	a := l.Appender(0)
	for _, s := range []string{"a", "b", "c", "d"} {
		a.AppendUnfragmented(1, []byte(s))
	}
	// Each frame takes 64 bytes; the read starts at position 1000.
	tests := []struct {
		name    string
		actions map[string]Action // ActionContinue for the others
		wantN   int
		wantPos int64
		want    []string // fragment and the position seen while handling it
	}{
		{"abort", map[string]Action{"c": ActionAbort}, 2, 1128, []string{"a@1000", "b@1000", "c@1000"}},
		{"break", map[string]Action{"b": ActionBreak}, 2, 1128, []string{"a@1000", "b@1000"}},
		{"commit", map[string]Action{"b": ActionCommit}, 4, 1256, []string{"a@1000", "b@1000", "c@1128", "d@1128"}},
		{"continue", nil, 4, 1256, []string{"a@1000", "b@1000", "c@1000", "d@1000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pos atomic.Int64
			pos.Store(1000)
			var seen []string
			n, corrupt := ControlledRead(l.Term(0), 0, func(b []byte, _ *Header) Action {
				seen = append(seen, fmt.Sprintf("%s@%d", b, pos.Load()))
				if act, ok := tt.actions[string(b)]; ok {
					return act
				}
				return ActionContinue
			}, 10, &Header{}, &pos, 1000)
			if n != tt.wantN || pos.Load() != tt.wantPos || corrupt {
				t.Errorf("n %d pos %d corrupt %v; want %d, %d, false", n, pos.Load(), corrupt, tt.wantN, tt.wantPos)
			}
			if diff := cmp.Diff(tt.want, seen); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCorruptFrame(t *testing.T) {
	l, _ := newLog(t)
	term := l.Term(0)
	binary.LittleEndian.PutUint32(term, uint32(termLength+64))
	_, _, corrupt := Read(term, 0, func([]byte, *Header) {}, 10, &Header{})
	if !corrupt {
		t.Error("oversized frame not reported")
	}
	binary.LittleEndian.PutUint32(term, 64)
	binary.LittleEndian.PutUint16(term[TypeOffset:], 0x55)
	_, _, corrupt = Read(term, 0, func([]byte, *Header) {}, 10, &Header{})
	if !corrupt {
		t.Error("unknown frame type not reported")
	}
}

func TestClean(t *testing.T) {
	l, _ := newLog(t)
	a := l.Appender(0)
	for range 4 {
		a.AppendUnfragmented(10, make([]byte, 10))
	}
	clean := l.Clean(0, 128)
	if clean != 128 {
		t.Errorf("clean position %d", clean)
	}
	for i := range 128 {
		if l.Term(0)[i] != 0 {
			t.Fatalf("byte %d not cleaned", i)
		}
	}
	if l.Term(0)[128] == 0 {
		t.Error("cleaned past position")
	}
	// Cleaning stops at the end of a term.
	if got := l.Clean(termLength-64, termLength+500); got != termLength {
		t.Errorf("clean across term end = %d", got)
	}
}

func TestPositions(t *testing.T) {
	shift := PositionBitsToShift(termLength)
	tests := []struct {
		termID int32
		offset int
		want   int64
	}{
		{100, 0, 0},
		{100, 64, 64},
		{101, 32, termLength + 32},
		{103, 0, 3 * termLength},
	}
	for _, tt := range tests {
		if got := ComputePosition(tt.termID, tt.offset, shift, 100); got != tt.want {
			t.Errorf("ComputePosition(%d,%d) = %d, want %d", tt.termID, tt.offset, got, tt.want)
		}
	}
	if IndexByPosition(3*termLength, shift) != 0 || IndexByPosition(2*termLength, shift) != 2 {
		t.Error("IndexByPosition")
	}
	// Term ids wrap around int32 like Aeron's.
	if got := ComputePosition(-2147483648, 0, shift, 2147483647); got != termLength {
		t.Errorf("wrapped position = %d", got)
	}
}

func BenchmarkAppendRead(b *testing.B) {
	l, _ := newLog(b)
	msg := make([]byte, 32)
	h := &Header{}
	fh := func([]byte, *Header) {}
	b.ReportAllocs()
	off := 0
	for b.Loop() {
		a := l.Appender(0)
		if a.AppendUnfragmented(len(msg), msg) < 0 {
			b.StopTimer()
			l.Tail(0).Store(PackTail(100, 0))
			clear(l.Term(0))
			off = 0
			b.StartTimer()
			continue
		}
		_, off, _ = Read(l.Term(0), off, fh, 1, h)
	}
}

func TestUnblock(t *testing.T) {
	l, _ := newLog(t)
	a := l.Appender(0)
	a.AppendUnfragmented(10, make([]byte, 10))
	// A publisher claims and dies; another appends behind it.
	_, r := a.Claim(100)
	a.AppendUnfragmented(3, []byte("abc"))
	got, next := readAll(t, l, 0, 0)
	if len(got) != 1 || next != 64 {
		t.Fatalf("read past a blocked frame: %v %d", got, next)
	}
	if !l.Unblock(64) {
		t.Fatal("Unblock = false")
	}
	checkPadding(t, l.Term(0), 64, 100+HeaderLength, 100) // the claimed length, as Aeron pads it
	got, next = readAll(t, l, 0, 64)
	if diff := cmp.Diff([]frag{{"abc", 0xC0, 100}}, got); diff != "" || next != r+64 {
		t.Errorf("after unblock next %d (-want +got):\n%s", next, diff)
	}
	if l.Unblock(int64(next)) {
		t.Error("Unblock with nothing blocked = true")
	}
}

func TestUnblockAbandoned(t *testing.T) {
	l, _ := newLog(t)
	a := l.Appender(0)
	a.AppendUnfragmented(10, make([]byte, 10))
	// Publishers moved the tail over two frames and died before writing
	// their headers: Unblock cannot tell them from a live publisher's.
	l.Tail(0).Add(2 * 64)
	if l.Unblock(64) {
		t.Fatal("Unblock padded space a live publisher may be about to write")
	}
	if l.UnblockAbandoned(65) || l.UnblockAbandoned(-64) || l.UnblockAbandoned(int64(termLength)+64) {
		t.Error("UnblockAbandoned acted at a bad position")
	}
	if !l.UnblockAbandoned(64) {
		t.Fatal("UnblockAbandoned = false")
	}
	checkPadding(t, l.Term(0), 64, 128, 100)
	got, next := readAll(t, l, 0, 64)
	if len(got) != 0 || next != 192 {
		t.Errorf("after UnblockAbandoned read %v up to %d, want nothing but padding up to 192", got, next)
	}
	if l.UnblockAbandoned(192) {
		t.Error("UnblockAbandoned at the tail acted")
	}
	// A written frame in the claimed space is not abandoned space.
	l.Tail(0).Add(2 * 64)
	a.AppendUnfragmented(3, []byte("abc")) // at 320, behind the gap
	if l.UnblockAbandoned(192) {
		t.Error("UnblockAbandoned padded over a written frame")
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte{64, 0, 0, 0, 0, 0xC0, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		term := make([]byte, 1024)
		copy(term, data)
		h := &Header{}
		n, next, _ := Read(term, 0, func(b []byte, _ *Header) {}, 100, h)
		if n < 0 || next < 0 || next > len(term)+FrameAlignment {
			t.Fatalf("n %d next %d", n, next)
		}
	})
}

func FuzzMap(f *testing.F) {
	f.Add(uint32(termLength), uint32(PageMinSize), uint32(1408))
	f.Fuzz(func(t *testing.T, term, page, mtu uint32) {
		b := make([]byte, 3*TermMinLength+MetadataLength)
		meta := b[len(b)-MetadataLength:]
		binary.LittleEndian.PutUint32(meta[TermLengthOffset:], term)
		binary.LittleEndian.PutUint32(meta[PageSizeOffset:], page)
		binary.LittleEndian.PutUint32(meta[MTULengthOffset:], mtu)
		l, err := Map(b)
		if err == nil && PartitionCount*l.TermLength() > len(b)-MetadataLength {
			t.Fatal("accepted terms beyond the buffer")
		}
	})
}

func TestMisalignedInputsFromOtherProcesses(t *testing.T) {
	l, _ := newLog(t)
	if _, _, corrupt := Read(l.Term(0), 3, func([]byte, *Header) {}, 1, &Header{}); !corrupt {
		t.Error("Read at a misaligned offset not corrupt")
	}
	var pos atomic.Int64
	if _, corrupt := ControlledRead(l.Term(0), 3, func([]byte, *Header) Action { return ActionContinue }, 1, &Header{}, &pos, 3); !corrupt {
		t.Error("ControlledRead at a misaligned offset not corrupt")
	}
	if got := l.Clean(0, 77); got != 64 {
		t.Errorf("Clean to a misaligned position = %d, want 64", got)
	}
	if l.Unblock(33) || l.Unblock(-32) {
		t.Error("Unblock at a bad position acted")
	}
	l.Tail(0).Store(PackTail(100, 7))
	if r := l.Appender(0).AppendUnfragmented(1, []byte("x")); r != AppendCorrupt {
		t.Errorf("append on a misaligned tail = %d", r)
	}
	if r := l.Appender(0).AppendFragmented(3000, 1376, make([]byte, 3000)); r != AppendCorrupt {
		t.Errorf("fragmented append on a misaligned tail = %d", r)
	}
}

// TestFrameLengthNeverTorn has one goroutine write frame headers and clean
// them again while another polls the frame length, as a subscriber does: it
// must only ever see 0 or the whole negative length. A header whose first
// word is written byte by byte (binary.PutUint64 without the optimizer's
// store merging, as under -race) fails here: TestMultiProcessPublishers
// once read a length of 0x00ffff3c that way.
func TestFrameLengthNeverTorn(t *testing.T) {
	l, _ := newLog(t)
	term := l.Term(0)
	const frame = 196
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for range 1000 {
				l.template.writeHeader(term, 0, frame, 100, FlagUnfragmented)
				commitFrame(term, 4, 0)
				commitFrame(term, 0, 0)
			}
		}
	}()
	defer func() { close(stop); <-done }()
	for i := range 2_000_000 {
		if n := FrameLengthVolatile(term, 0); n != 0 && n != -frame {
			t.Fatalf("read %d: frame length %#x, want 0 or %d", i, uint32(n), -frame)
		}
	}
}
