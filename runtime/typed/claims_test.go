package typed_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
	"github.com/tpool-go/tpool/runtime/typed"
)

// Several typed claims open at once (a DMA ring), filled a row at a time
// with progress reports, committed out of order: the consumer's typed
// progress handler gets STARTED, PROGRESS (in rows) and COMPLETE per frame,
// and every frame arrives intact, in sequence order.
func TestClaimQueueProgress(t *testing.T) {
	c := newClient(t, map[uint32]uint32{imageSpec.StreamID: 64})
	ctx := testCtx(t)
	seen := map[uint64][]typed.Progress{}
	s, err := typed.NewConsumer[uint16](ctx, c, &imageSpec, client.ConsumerConfig{
		OnProgress: typed.OnProgress(&imageSpec, func(p typed.Progress) { seen[p.Seq] = append(seen[p.Seq], p) })})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := typed.NewProducer[uint16](ctx, c, &imageSpec, client.ProducerConfig{MaxClaims: 3, Progress: true,
		ProgressInterval: time.Nanosecond, ProgressBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var claims [3]typed.Claim[uint16]
	for i := range claims {
		if claims[i], err = p.TryClaim(); err != nil {
			t.Fatal(err)
		}
	}
	for r := range 4 {
		for _, cl := range claims {
			row := cl.View().Row(r)
			for j := range row {
				row[j] = uint16(cl.Seq()*100) + uint16(r*8+j)
			}
			if err := cl.ProgressRows(r + 1); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Microsecond) // past the 1 ns throttle on a coarse clock
		}
	}
	if err := claims[0].ProgressRows(1); !errors.Is(err, client.ErrProgress) {
		t.Errorf("regressing progress: %v, want client.ErrProgress", err)
	}
	claims[1].SetTimestampNs(77)
	for _, i := range []int{2, 0, 1} {
		seq, err := claims[i].Commit()
		if err != nil || seq != claims[i].Seq() {
			t.Fatalf("commit %d: seq %d, %v", i, seq, err)
		}
	}
	for _, cl := range claims {
		if cl.Open() {
			t.Error("a committed claim is open")
		}
		if _, err := cl.Commit(); !errors.Is(err, client.ErrClaimLost) {
			t.Errorf("second commit: %v, want client.ErrClaimLost", err)
		}
		if err := cl.Progress(0); !errors.Is(err, client.ErrClaimLost) {
			t.Errorf("progress after commit: %v, want client.ErrClaimLost", err)
		}
	}
	for i, cl := range claims {
		v, f, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Seq() != cl.Seq() || v.At(3, 7) != uint16(cl.Seq()*100)+31 || v.At(0, 0) != uint16(cl.Seq()*100) || !f.Verify() {
			t.Fatalf("frame %d: seq %d, want %d (sequence order); data %v", i, f.Seq(), cl.Seq(), v.Data())
		}
		if i == 1 && f.TimestampNs() != 77 {
			t.Errorf("claim's timestamp: %d", f.TimestampNs())
		}
	}
	// The hints come on the control stream, not with the frames.
	complete := func() bool {
		for _, cl := range claims {
			l := seen[cl.Seq()]
			if len(l) == 0 || l[len(l)-1].State != client.ProgressComplete {
				return false
			}
		}
		return true
	}
	for !complete() {
		s.Poll(func(typed.View[uint16], client.FrameView) { t.Error("an unexpected frame") })
		if ctx.Err() != nil {
			t.Fatalf("progress: %v; stats %+v", seen, s.Untyped().ProgressStats())
		}
		time.Sleep(time.Millisecond)
	}
	for _, cl := range claims {
		l := seen[cl.Seq()]
		if l[0].State != client.ProgressStarted || l[0].Rows() != 0 {
			t.Errorf("seq %d: first hint %+v", cl.Seq(), l[0])
		}
		if last := l[len(l)-1]; last.Rows() != 4 || last.Elements() != 32 || last.Filled != 64 {
			t.Errorf("seq %d: last hint %+v: rows %d elements %d", cl.Seq(), last, last.Rows(), last.Elements())
		}
		rows := 0
		for _, h := range l {
			if h.State == client.ProgressFilling {
				if h.Rows() < rows || h.Rows() < 1 || h.Rows() > 4 || h.Filled != uint64(h.Rows()*16) {
					t.Errorf("seq %d: progress %+v: rows %d after %d", cl.Seq(), h, h.Rows(), rows)
				}
				rows = h.Rows()
			}
		}
		if rows == 0 {
			t.Errorf("seq %d: no PROGRESS hint: %+v (producer %+v)", cl.Seq(), l, p.Untyped().ProgressStats())
		}
	}
}

// A claim beyond MaxClaims aborts the oldest open one; Claim, Commit and
// Abort keep working one claim at a time beside the queue.
func TestClaimQueueFull(t *testing.T) {
	c := newClient(t, map[uint32]uint32{imageSpec.StreamID: 64})
	ctx := testCtx(t)
	s, err := typed.NewConsumer[uint16](ctx, c, &imageSpec, client.ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := typed.NewProducer[uint16](ctx, c, &imageSpec, client.ProducerConfig{MaxClaims: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, _ := p.TryClaim()
	b, _ := p.TryClaim()
	cc, err := p.TryClaim()
	if err != nil {
		t.Fatal(err)
	}
	if a.Open() || !b.Open() || !cc.Open() {
		t.Fatalf("open: %v %v %v, want the oldest aborted", a.Open(), b.Open(), cc.Open())
	}
	if _, err := a.Commit(); !errors.Is(err, client.ErrClaimLost) {
		t.Fatalf("commit of the aborted claim: %v", err)
	}
	b.Abort()
	b.Abort() // idempotent
	if _, err := cc.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, f, err := s.Next(ctx); err != nil || f.Seq() != cc.Seq() {
		t.Fatalf("next: %v", err)
	}
	var zero typed.Claim[uint16]
	if zero.Open() || zero.Seq() != 0 {
		t.Error("the zero Claim is open")
	}
	if _, err := zero.Commit(); !errors.Is(err, client.ErrClaimLost) {
		t.Errorf("zero commit: %v", err)
	}
	zero.Abort()
	if _, err := p.Offer(make([]uint16, 32)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p.Untyped().Stats(); st.Frames != 2 || st.Aborted != 2 {
		t.Errorf("stats %+v, want 2 frames, 2 aborted", st)
	}
}

// The configuration the client gets is the declaration's; one that
// contradicts it is refused naming both.
func TestConfigContract(t *testing.T) {
	c := newClient(t, map[uint32]uint32{cloudSpec.StreamID: 2048})
	ctx := testCtx(t)
	tests := []struct {
		name string
		cfg  client.ProducerConfig
		want string // "" for success
	}{
		{"defaults", client.ProducerConfig{}, ""},
		{"same stream", client.ProducerConfig{StreamID: cloudSpec.StreamID, MaxClaims: 4}, ""},
		{"other stream", client.ProducerConfig{StreamID: 5}, "the configuration's stream id 5, the declaration's 10001"},
		{"small layout", client.ProducerConfig{Layout: client.StreamLayout{Pools: []pool.PoolConfig{{ID: 1, StrideBytes: 1024}}}},
			"is 1200 bytes; the configuration's Layout pools hold at most 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := typed.NewProducer[float32](ctx, c, &cloudSpec, tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				_ = p.Close()
				return
			}
			if !errors.Is(err, typed.ErrMismatch) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v, want ErrMismatch with %q", err, tt.want)
			}
		})
	}
	if _, err := typed.NewConsumer[float32](ctx, c, &cloudSpec, client.ConsumerConfig{StreamID: 7}); !errors.Is(err, typed.ErrMismatch) {
		t.Errorf("consumer of stream 7: %v", err)
	}
}

// Claim queues and progress allocate nothing per frame.
func TestClaimQueueNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := newClient(t, map[uint32]uint32{imageSpec.StreamID: 64})
	ctx := testCtx(t)
	hints := 0
	s, err := typed.NewConsumer[uint16](ctx, c, &imageSpec, client.ConsumerConfig{
		OnProgress: typed.OnProgress(&imageSpec, func(p typed.Progress) { hints += p.Rows() })})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := typed.NewProducer[uint16](ctx, c, &imageSpec, client.ProducerConfig{MaxClaims: 2, Progress: true,
		ProgressInterval: time.Nanosecond, ProgressBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got := 0
	handler := func(v typed.View[uint16], f client.FrameView) {
		if v.Len() == 32 && f.Verify() {
			got++
		}
	}
	frame := func() {
		a, err := p.TryClaim()
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.TryClaim()
		if err != nil {
			t.Fatal(err)
		}
		for r := range 4 {
			a.View().Row(r)[0] = 1
			b.View().Row(r)[1] = 2
			_ = a.ProgressRows(r + 1)
			_ = b.ProgressRows(r + 1)
		}
		b.SetTimestampNs(1)
		if _, err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Commit(); err != nil {
			t.Fatal(err)
		}
		for want := got + 2; got < want; {
			s.Poll(handler)
		}
	}
	for range 10 {
		frame()
	}
	if n := testing.AllocsPerRun(200, frame); n != 0 {
		t.Errorf("%v allocations per two frames, want 0", n)
	}
}

// OnProgress gives a hint in the declaration's units: whole elements and
// whole rows (columns for column-major), -1 rows when a dynamic inner dim
// decides a row's size.
func TestProgressUnits(t *testing.T) {
	volume := typed.Spec{Name: "test.Volume", StreamID: 3, Dtype: pool.Float64, Order: pool.ColumnMajor,
		Shape: []int32{2, -1, 5}, MaxShape: []int32{2, 9, 5}, Slots: 64, StrideBytes: 1024}
	colFixed := volume
	colFixed.Shape = []int32{2, 9, -1}
	tests := []struct {
		name        string
		spec        *typed.Spec
		filled      uint64
		elems, rows int
	}{
		{"image", &imageSpec, 0, 0, 0},
		{"image row", &imageSpec, 16, 8, 1},
		{"image part row", &imageSpec, 47, 23, 2},
		{"cloud", &cloudSpec, 12 * 10, 30, 10},
		{"column major dynamic inner", &volume, 8 * 20, 20, -1},
		{"column major fixed inner", &colFixed, 8 * 37, 37, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got typed.Progress
			typed.OnProgress(tt.spec, func(p typed.Progress) { got = p })(client.FrameProgress{Seq: 9, Filled: tt.filled, State: client.ProgressFilling})
			if got.Seq != 9 || got.Elements() != tt.elems || got.Rows() != tt.rows {
				t.Fatalf("%+v: elements %d rows %d, want %d %d", got, got.Elements(), got.Rows(), tt.elems, tt.rows)
			}
		})
	}
}
