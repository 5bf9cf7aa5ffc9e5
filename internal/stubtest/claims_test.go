package stubtest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/typed"
)

// The generated claim queue: the With constructors take the client's
// configuration (MaxClaims, Progress), several CloudClaims are filled a
// few points at a time with ProgressRows and committed out of order; the
// consumer, through OnCloudProgress, gets the hints in points (rows) and
// every frame intact, in sequence order.
func TestCloudClaimQueue(t *testing.T) {
	c := newClient(t, TpooldProfile)
	ctx := testCtx(t)
	rows := map[uint64][]int{} // seq -> Rows of each hint
	states := map[client.ProgressState]int{}
	s, err := NewCloudConsumerWith(ctx, c, client.ConsumerConfig{OnProgress: OnCloudProgress(func(p typed.Progress) {
		rows[p.Seq] = append(rows[p.Seq], p.Rows())
		states[p.State]++
	})})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := NewCloudProducerWith(ctx, c, client.ProducerConfig{MaxClaims: 3, Progress: true,
		ProgressInterval: time.Nanosecond, ProgressBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const points = 40
	var claims []CloudClaim
	for i := range 3 {
		cl, err := p.TryClaim(points + i)
		if err != nil {
			t.Fatal(err)
		}
		claims = append(claims, cl)
	}
	for r := 0; r < points+2; r += 10 {
		for _, cl := range claims {
			v := cl.View()
			n := min(r+10, int(v.Shape()[0]))
			for i := r; i < n; i++ {
				copy(v.Row(i), []float32{float32(cl.Seq()), float32(i), -1})
			}
			if err := cl.ProgressRows(n); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Microsecond)
		}
	}
	for _, i := range []int{1, 2, 0} {
		if _, err := claims[i].Commit(); err != nil {
			t.Fatal(err)
		}
	}
	for i, cl := range claims {
		v, f, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := points + i
		if f.Seq() != cl.Seq() || v.Len() != 3*n || v.At(n-1, 0) != float32(cl.Seq()) || v.At(n-1, 1) != float32(n-1) || !f.Verify() {
			t.Fatalf("frame %d: seq %d (want %d), shape %v", i, f.Seq(), cl.Seq(), v.Shape())
		}
	}
	for states[client.ProgressComplete] < len(claims) {
		s.Poll(func(CloudView, client.FrameView) { t.Error("an unexpected frame") })
		if ctx.Err() != nil {
			t.Fatalf("hints %v: %v", states, rows)
		}
		time.Sleep(time.Millisecond)
	}
	for i, cl := range claims {
		r := rows[cl.Seq()]
		if len(r) < 3 || r[0] != 0 || r[len(r)-1] != points+i {
			t.Errorf("seq %d: rows in the hints %v, want 0 ... %d", cl.Seq(), r, points+i)
		}
	}
	if states[client.ProgressFilling] == 0 {
		t.Errorf("no PROGRESS hint: %v", states)
	}
}

// A configuration that contradicts the declaration is refused, naming
// both; one that agrees is completed by it.
func TestWithConfigContract(t *testing.T) {
	c := newClient(t, TpooldProfile)
	ctx := testCtx(t)
	_, err := NewImageProducerWith(ctx, c, client.ProducerConfig{StreamID: 10001})
	if !errors.Is(err, typed.ErrMismatch) || !strings.Contains(err.Error(), "stream id 10001, the declaration's 10000") {
		t.Errorf("producer of another stream: %v", err)
	}
	_, err = NewImageConsumerWith(ctx, c, client.ConsumerConfig{StreamID: 10001})
	if !errors.Is(err, typed.ErrMismatch) {
		t.Errorf("consumer of another stream: %v", err)
	}
	p, err := NewImageProducerWith(ctx, c, client.ProducerConfig{StreamID: 10000, MaxClaims: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, _ := p.TryClaim()
	b, _ := p.TryClaim()
	if _, err := p.TryClaim(); err != nil || a.Open() || !b.Open() {
		t.Fatalf("third claim of two: %v; open %v %v", err, a.Open(), b.Open())
	}
	if p.Untyped().Lease().Info().StreamID != 10000 {
		t.Fatal("not stream 10000")
	}
}

// The claim queue through the stubs allocates nothing per frame.
func TestClaimQueueStubsNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := newClient(t, TpooldProfile)
	ctx := testCtx(t)
	hints := 0
	s, err := NewImageConsumerWith(ctx, c, client.ConsumerConfig{OnProgress: OnImageProgress(func(p typed.Progress) { hints += p.Rows() })})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := NewImageProducerWith(ctx, c, client.ProducerConfig{MaxClaims: 2, Progress: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got := 0
	handler := func(v ImageView, f client.FrameView) {
		if v.At(47, 63) == 7 && f.Verify() {
			got++
		}
	}
	frame := func() {
		var cl [2]ImageClaim
		for i := range cl {
			var err error
			if cl[i], err = p.TryClaim(); err != nil {
				t.Fatal(err)
			}
		}
		for r := range 48 {
			for _, x := range cl {
				x.View().Row(r)[63] = 7
				if err := x.ProgressRows(r + 1); err != nil {
					t.Fatal(err)
				}
			}
		}
		for i := range cl {
			cl[1-i].SetTimestampNs(1)
			if _, err := cl[1-i].Commit(); err != nil {
				t.Fatal(err)
			}
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
