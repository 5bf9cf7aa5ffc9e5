package clientit

import (
	"bufio"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/internal/proctest"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// hostile is a producer that breaks every rule: it holds a real producer
// lease from tpoold and the stream's regions mapped writable (so it can
// write anything into them), and publications on the descriptor and
// control streams (so it can send anything there).
type hostile struct {
	t      *testing.T
	info   *driverclient.LeaseInfo
	ring   *pool.Region
	prod   *pool.Producer
	desc   *aeron.Publication
	ctrl   *control.Sender
	enc    wire.FrameDescriptorEncoder
	buf    [256]byte
	pay    []byte
	meta   pool.FrameMeta
	sent   uint64 // valid frames announced
	lastOK uint64 // the last valid frame's seq
}

func newHostile(t *testing.T, e *env) *hostile {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), proctest.Timeout)
	defer cancel()
	a, err := aeron.Connect(ctx, aeron.Config{Dir: e.aeronDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	dc, err := driverclient.New(ctx, a, clientConfig(e.aeronDir, e.base).Driver, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := dc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dc.Close() })
	l, err := dc.Attach(ctx, driverclient.AttachRequest{StreamID: testStream, Role: driverclient.RoleProducer})
	if err != nil {
		t.Fatal(err)
	}
	allow, err := dc.AllowList()
	if err != nil {
		t.Fatal(err)
	}
	h := &hostile{t: t, info: l.Info(), pay: make([]byte, frameBytes)}
	want := pool.Expect{Epoch: h.info.Epoch, StreamID: testStream, RegionType: pool.HeaderRing, NSlots: h.info.HeaderNslots,
		LayoutVersion: h.info.LayoutVersion}
	if h.ring, err = pool.OpenRegion(h.info.HeaderURI, allow, want, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.ring.Close() })
	want.RegionType, want.PoolID, want.StrideBytes = pool.PayloadPool, h.info.Pools[0].ID, h.info.Pools[0].StrideBytes
	pl, err := pool.OpenRegion(h.info.Pools[0].URI, allow, want, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pl.Close() })
	if h.prod, err = pool.NewProducer(h.ring, []*pool.Region{pl}, 0); err != nil {
		t.Fatal(err)
	}
	th, err := pool.NewTensorHeader(pool.Uint8, pool.RowMajor, frameBytes)
	if err != nil {
		t.Fatal(err)
	}
	h.meta = pool.FrameMeta{Tensor: th}
	if h.desc, err = a.AddPublication(ctx, client.DefaultChannel, client.DefaultDescriptorStreamID); err != nil {
		t.Fatal(err)
	}
	ctrl, err := a.AddPublication(ctx, client.DefaultChannel, client.DefaultControlStreamID)
	if err != nil {
		t.Fatal(err)
	}
	h.ctrl = control.NewSender(ctrl, 0)
	for !h.desc.IsConnected() {
		if ctx.Err() != nil {
			t.Fatal("the consumer never subscribed to the descriptor stream")
		}
		time.Sleep(time.Millisecond)
	}
	return h
}

// offer sends b on the descriptor stream.
func (h *hostile) offer(b []byte) {
	h.t.Helper()
	deadline := time.Now().Add(proctest.Timeout)
	for r := h.desc.Offer(b); r < 0; r = h.desc.Offer(b) {
		if r == aeron.Closed || r == aeron.MaxPositionExceeded || r == aeron.MessageTooLong || time.Now().After(deadline) {
			h.t.Fatalf("offer: %s", aeron.StatusString(r))
		}
		time.Sleep(10 * time.Microsecond)
	}
}

// descriptor sends a FrameDescriptor.
func (h *hostile) descriptor(stream uint32, epoch, seq uint64) {
	h.t.Helper()
	if err := h.enc.WrapWithHeader(h.buf[:]); err != nil {
		h.t.Fatal(err)
	}
	h.enc.SetStreamId(stream)
	h.enc.SetEpoch(epoch)
	h.enc.SetSeq(seq)
	h.enc.SetMetaVersion(0)
	n, err := h.enc.Finish()
	if err != nil {
		h.t.Fatal(err)
	}
	h.offer(h.buf[:n])
}

// publish writes a valid test-pattern frame and returns its seq; it sends
// no descriptor.
func (h *hostile) publish() uint64 {
	h.t.Helper()
	c, err := h.prod.Claim(frameBytes)
	if err != nil {
		h.t.Fatal(err)
	}
	fillPattern(c.Payload, c.Seq)
	if err := h.prod.Commit(&c, &h.meta); err != nil {
		h.t.Fatal(err)
	}
	return c.Seq
}

// valid publishes and announces a valid frame.
func (h *hostile) valid() {
	h.t.Helper()
	h.lastOK = h.publish()
	h.descriptor(testStream, h.info.Epoch, h.lastOK)
	h.sent++
}

// slot returns the header ring bytes of seq's slot.
func (h *hostile) slot(seq uint64) []byte {
	off := pool.SuperblockSize + int(seq&uint64(h.info.HeaderNslots-1))*pool.HeaderSlotBytes
	return h.ring.Mapping().Bytes()[off : off+pool.HeaderSlotBytes]
}

// stats asks the consumer for its counters.
func stats(t *testing.T, cons *proctest.Child) string {
	t.Helper()
	if err := cons.Send("stats"); err != nil {
		t.Fatal(err)
	}
	return cons.MustAwait(t, "stats")
}

// TestHostileProducer: a producer holding a real lease writes garbage into
// slot headers, sends descriptors for slots never written, replays,
// malformed messages, and announces regions at hostile URIs and higher
// epochs. The consumer (a process of its own) drops and counts all of it,
// accepts every valid frame sent between the attacks and nothing else,
// never crashes, never maps a file outside its allowed directory, and
// keeps the lease tpoold granted through the announces (they do not come
// from tpoold's session: DECISIONS.md 43).
func TestHostileProducer(t *testing.T) {
	e := newEnv(t)
	cons := e.spawn("consumer", "")
	cons.MustAwait(t, "attached")
	h := newHostile(t, e)
	rng := rand.New(rand.NewPCG(1, 2))
	nslots := uint64(h.info.HeaderNslots)
	epoch := h.info.Epoch

	// check: the consumer is alive, accepted exactly the valid frames,
	// none corrupt, and counted at least minDropped more drops than before.
	var dropped uint64
	check := func(phase string, minDropped uint64) string {
		t.Helper()
		h.valid() // the consumer still works after the attack
		st := stats(t, cons)
		t.Logf("%s: %s", phase, st)
		if n := proctest.Uint(t, st, "corrupt"); n != 0 {
			t.Errorf("%s: the consumer accepted %d corrupt frames", phase, n)
		}
		if n := proctest.Uint(t, st, "accepted"); n != h.sent {
			t.Errorf("%s: the consumer accepted %d frames, want the %d valid ones", phase, n, h.sent)
		}
		d := proctest.Uint(t, st, "dropped") + proctest.Uint(t, st, "malformed") + proctest.Uint(t, st, "beforejoin")
		if d < dropped+minDropped {
			t.Errorf("%s: %d drops counted, want at least %d", phase, d-dropped, minDropped)
		}
		dropped = d
		return st
	}

	for range 5 {
		h.valid()
	}
	check("valid frames", 0)

	// Garbage in slot headers: committed frames whose header is then
	// overwritten, keeping the committed seq_commit word or not.
	const garbage = 200
	for i := range garbage {
		seq := h.publish()
		s := h.slot(seq)
		from := 8 // keep seq_commit: the slot looks committed
		if i%2 == 1 {
			from = 0
		}
		for j := from; j < len(s); j++ {
			s[j] = byte(rng.Uint32())
		}
		if i%4 == 2 { // plausible header, absurd extent: dims and strides huge
			for j := 8; j < len(s); j += 8 {
				copy(s[j:], []byte{0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f})
			}
		}
		h.descriptor(testStream, epoch, seq)
	}
	check("garbage slot headers", garbage)

	// Descriptors for slots never written, other epochs, replays.
	next := h.lastOK + 1
	for _, d := range []struct{ epoch, seq uint64 }{
		{epoch, next + 3}, {epoch, next + nslots}, {epoch, next + 5*nslots + 1}, {epoch, 1<<63 - 1}, {epoch, ^uint64(0)},
		{epoch + 1, next}, {epoch + 1000, h.lastOK}, {0, h.lastOK}, {^uint64(0), h.lastOK},
		{epoch, h.lastOK}, {epoch, h.lastOK - 1}, {epoch, 0}, // replays of frames already delivered
	} {
		h.descriptor(testStream, d.epoch, d.seq)
	}
	h.descriptor(testStream+1, epoch, h.lastOK) // another stream: not ours, ignored
	check("descriptors for frames never written", 12)

	// Malformed messages on the descriptor stream.
	for n := 1; n <= 64; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		h.offer(b)
	}
	if err := h.enc.WrapWithHeader(h.buf[:]); err != nil {
		t.Fatal(err)
	}
	n, _ := h.enc.Finish()
	h.offer(h.buf[:n-1]) // a truncated descriptor
	check("malformed messages", 1)

	hostileAnnounces(t, e, h, cons)
}

// hostileAnnounces sends ShmPoolAnnounces for the consumer's stream at
// ever higher epochs whose regions lie outside the allowed directory (by
// path, by "..", through a symlink inside it), are absurdly large, are not
// regions, or are the real regions under a lexically valid path of a
// higher epoch; each names a real, valid-looking region file (a decoy
// outside the allowed directory) where it can. The consumer must map none
// of them, count each as foreign (not from tpoold), and keep accepting the
// valid frames of the real epoch.
func hostileAnnounces(t *testing.T, e *env, h *hostile, cons *proctest.Child) {
	outside := filepath.Join(filepath.Dir(e.base), "outside")
	if err := os.MkdirAll(outside, 0o700); err != nil {
		t.Fatal(err)
	}
	nslots := h.info.HeaderNslots
	stride := h.info.Pools[0].StrideBytes
	decoyRing, decoyPool := filepath.Join(outside, "decoy.ring"), filepath.Join(outside, "decoy.pool")
	// The decoys are valid regions for the epochs announced, so only the
	// allow list stands between them and the consumer.
	for _, d := range []struct {
		path string
		sb   pool.Superblock
	}{
		{decoyRing, pool.Superblock{StreamID: testStream, RegionType: pool.HeaderRing, NSlots: nslots, SlotBytes: pool.HeaderSlotBytes}},
		{decoyPool, pool.Superblock{StreamID: testStream, RegionType: pool.PayloadPool, PoolID: 1, NSlots: nslots, SlotBytes: stride, StrideBytes: stride}},
	} {
		r, err := pool.CreateRegion(d.path, d.sb, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		_ = r.Close()
	}
	linkRing, linkPool := filepath.Join(e.base, "evil.ring"), filepath.Join(e.base, "evil.pool")
	if err := os.Symlink(decoyRing, linkRing); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(decoyPool, linkPool); err != nil {
		t.Fatal(err)
	}
	uri := func(p string) string { return "shm:file?path=" + p }
	dotdot := func(p string) string { return e.base + "/../outside/" + filepath.Base(p) }
	long := e.base + "/" + strings.Repeat("x", 4000)
	cases := []struct {
		name           string
		ring, poolPath string // region URIs (already formatted)
		nslots, stride uint32
	}{
		{"outside", uri(decoyRing), uri(decoyPool), nslots, stride},
		{"dot-dot", uri(dotdot(decoyRing)), uri(dotdot(decoyPool)), nslots, stride},
		{"proc", uri("/proc/self/mem"), uri("/dev/zero"), nslots, stride},
		{"other scheme", "file://" + decoyRing, "file://" + decoyPool, nslots, stride},
		{"hugepages", uri(decoyRing) + "|require_hugepages=true", uri(decoyPool), nslots, stride},
		{"long path", uri(long), uri(long), nslots, stride},
		{"empty", "", "", nslots, stride},
		{"huge nslots", uri(e.base + "/huge.ring"), uri(e.base + "/huge.pool"), 1 << 31, stride},
		{"huge stride", uri(e.base + "/huge.ring"), uri(e.base + "/huge.pool"), nslots, 1 << 31},
		{"directory", uri(e.base), uri(e.base), nslots, stride},
		{"symlink inside", uri(linkRing), uri(linkPool), nslots, stride},
		// Lexically valid paths inside the allowed directory, where the
		// driver would put a later epoch: mapping them fails (they do not
		// exist), so a consumer that followed the announce would unmap and
		// drop every frame.
		{"next epoch", uri(nextEpoch(h.info.HeaderURI)), uri(nextEpoch(h.info.Pools[0].URI)), nslots, stride},
	}
	// Epochs far above the real ones, so every announce would be news to
	// the consumer's driver client if it took announces from anyone. (The
	// hostile producer's own driver client hears them too, and keeps its
	// lease for the same reason.)
	epoch := uint64(1) << 62
	refused := func(st string) uint64 { return proctest.Uint(t, st, "foreign") }
	prev := refused(stats(t, cons))
	accepted := proctest.Uint(t, stats(t, cons), "accepted")
	if accepted != h.sent {
		t.Fatalf("before the announces: %d frames accepted, want %d", accepted, h.sent)
	}
	for _, c := range cases {
		for r := range 3 { // tpoold's announces may arrive between: repeat
			st := h.ctrl.SendPoolAnnounce(&control.PoolAnnounce{StreamID: testStream, ProducerID: 1, Epoch: epoch,
				TimestampNs: pool.MonotonicNow(), ClockDomain: wire.ClockDomainMonotonic, LayoutVersion: pool.LayoutVersion,
				HeaderNslots: c.nslots, HeaderSlotBytes: pool.HeaderSlotBytes, HeaderURI: c.ring,
				Pools: []control.Pool{{PoolID: 1, Nslots: c.nslots, StrideBytes: c.stride, RegionURI: c.poolPath}}})
			if !control.Sent(st) {
				t.Fatalf("%s: announce %d not sent: %s", c.name, r, control.StatusString(st))
			}
		}
		epoch++
		h.valid()
		// The consumer's driver client takes the announces in on its own
		// goroutine: wait for the refusal to be counted (the deadline only
		// turns a hang into a failure).
		st := stats(t, cons)
		for deadline := time.Now().Add(10 * time.Second); refused(st) == prev && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			st = stats(t, cons)
		}
		t.Logf("announce %s: %s", c.name, st)
		if exited, code := cons.Exited(); exited {
			t.Fatalf("announce %s: the consumer exited (code %d)", c.name, code)
		}
		if n := proctest.Uint(t, st, "corrupt"); n != 0 {
			t.Errorf("announce %s: the consumer accepted %d corrupt frames", c.name, n)
		}
		if n := refused(st); n == prev {
			t.Errorf("announce %s: not counted as foreign", c.name)
		} else {
			prev = n
		}
		checkMaps(t, cons.Pid(), filepath.Dir(e.base), e.base, outside)
		// The frame sent after the announces is accepted: the consumer is
		// still on tpoold's epoch and regions.
		st = awaitAccepted(t, cons, h.sent)
		if n := proctest.Uint(t, st, "epoch"); n != h.info.Epoch {
			t.Errorf("announce %s: the consumer is at epoch %d, tpoold's is %d", c.name, n, h.info.Epoch)
		}
		for _, k := range []string{"remaperrors", "unmapped"} {
			if n := proctest.Uint(t, st, k); n != 0 {
				t.Errorf("announce %s: %s=%d, want 0", c.name, k, n)
			}
		}
	}
	// Announce periods later (tpoold's announces in between), the consumer
	// still accepts every valid frame.
	time.Sleep(3 * announcePeriod)
	for range 20 {
		h.valid()
	}
	st := awaitAccepted(t, cons, h.sent)
	t.Logf("after the attacks: %s", st)
	if n := proctest.Uint(t, st, "corrupt"); n != 0 {
		t.Errorf("after the attacks: the consumer accepted %d corrupt frames", n)
	}
	checkMaps(t, cons.Pid(), filepath.Dir(e.base), e.base, outside)
}

// awaitAccepted polls the consumer's stats until it has accepted want
// frames (the deadline only turns a hang into a failure) and returns the
// last stats line; it fails t if the count does not reach want.
func awaitAccepted(t *testing.T, cons *proctest.Child, want uint64) string {
	t.Helper()
	st := stats(t, cons)
	for deadline := time.Now().Add(10 * time.Second); proctest.Uint(t, st, "accepted") < want && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		st = stats(t, cons)
	}
	if n := proctest.Uint(t, st, "accepted"); n != want {
		t.Errorf("the consumer accepted %d frames, want the %d valid ones (%s)", n, want, st)
	}
	return st
}

// nextEpoch returns a region URI's path with its epoch directory
// (.../<stream>/<epoch>/<file>) replaced by a much higher one.
func nextEpoch(regionURI string) string {
	p := strings.TrimPrefix(regionURI, "shm:file?path=")
	if i := strings.IndexByte(p, '|'); i >= 0 {
		p = p[:i]
	}
	dir, file := filepath.Split(p)
	return filepath.Join(filepath.Dir(filepath.Clean(dir)), strconv.FormatUint(1<<62, 10), file)
}

// checkMaps fails t if process pid maps any file under root that is not
// under allowed, or anything under outside.
func checkMaps(t *testing.T, pid int, root, allowed, outside string) {
	t.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	mapped := 0
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 6 {
			continue
		}
		p := strings.Join(fields[5:], " ")
		if strings.HasPrefix(p, allowed+"/") {
			mapped++
		}
		if strings.HasPrefix(p, outside+"/") || strings.HasPrefix(p, root+"/") && !strings.HasPrefix(p, allowed+"/") {
			t.Errorf("the consumer maps %s, outside its allowed directory %s", p, allowed)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("the consumer maps %d files inside its allowed directory", mapped)
}
