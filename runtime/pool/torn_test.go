package pool

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/shm"
)

// The torn-read tests run one writer overwriting a small ring as fast as
// it can while readers validate frames. Every payload carries its sequence
// and a checksum of its words, so a reader can tell if a frame it accepted
// was torn. Sizes vary with the sequence, so the header (values_len, pool,
// dims) changes under the readers too.

const (
	tornNSlots = 8
	// tornAttemptsEnv overrides the number of read attempts per reader.
	tornAttemptsEnv = "TPOOL_TORN_ATTEMPTS"
	tornRoleEnv     = "TPOOL_TORN_ROLE"
	tornDirEnv      = "TPOOL_TORN_DIR"
)

var tornStrides = []uint32{256, 1024, 4096}

// tornWords returns the payload size of seq in 8-byte words (4..512).
func tornWords(seq uint64) int {
	return 4 << (seq % 8) // 32 B .. 4 KiB across all three pools
}

func tornWord(seq uint64, i int) uint64 {
	x := seq*0x9E3779B97F4A7C15 + uint64(i)*0xBF58476D1CE4E5B9
	x ^= x >> 31
	return x
}

// fillTorn writes the payload of seq: word 0 is seq, then pattern words,
// then a checksum of all previous words.
func fillTorn(p []byte, seq uint64) {
	n := len(p) / 8
	le := binary.LittleEndian
	le.PutUint64(p, seq)
	sum := seq
	for i := 1; i < n-1; i++ {
		w := tornWord(seq, i)
		le.PutUint64(p[8*i:], w)
		sum = sum*31 + w
	}
	le.PutUint64(p[8*(n-1):], sum)
}

// checkTorn reports whether p is exactly the payload fillTorn wrote for seq.
func checkTorn(p []byte, seq uint64) bool {
	n := len(p) / 8
	if len(p) != 8*tornWords(seq) {
		return false
	}
	le := binary.LittleEndian
	if le.Uint64(p) != seq {
		return false
	}
	sum := seq
	for i := 1; i < n-1; i++ {
		w := le.Uint64(p[8*i:])
		if w != tornWord(seq, i) {
			return false
		}
		sum = sum*31 + w
	}
	return le.Uint64(p[8*(n-1):]) == sum
}

// tornControl is the shared state standing in for the descriptor stream:
// the number of frames committed so far, and a stop flag.
type tornControl struct {
	published *atomic.Uint64
	stop      *atomic.Uint64
}

func runTornWriter(p *Producer, ctl tornControl) (uint64, error) {
	var meta FrameMeta
	for ctl.stop.Load() == 0 {
		seq := p.Next()
		words := tornWords(seq)
		c, err := p.Claim(8 * words)
		if err != nil {
			return 0, err
		}
		fillTorn(c.Payload, seq)
		meta.Tensor = TensorHeader{Dtype: Uint64, MajorOrder: RowMajor, NDims: 1, Dims: [MaxDims]int32{int32(words)}}
		meta.TimestampNs = seq
		if err := p.Commit(&c, &meta); err != nil {
			return 0, err
		}
		ctl.published.Store(seq + 1)
	}
	return p.Next(), nil
}

type tornResult struct {
	Attempts   uint64
	First      uint64
	Last       uint64
	Corrupt    uint64 // accepted but failed the checksum: must be 0
	Stats      ConsumerStats
	FirstError string
}

// runTornReader reads frames in sequence order as they are published,
// skipping ahead when a whole ring behind, until it made attempts reads.
func runTornReader(c *Consumer, ctl tornControl, attempts uint64) tornResult {
	var res tornResult
	next, started := uint64(0), false
	for res.Attempts < attempts {
		pub := ctl.published.Load()
		if pub == 0 || (started && next >= pub) {
			continue // nothing new yet
		}
		latest := pub - 1
		if !started || latest-next >= tornNSlots {
			next = latest - min(latest, tornNSlots/2) // fall behind on purpose: more overwrites
			if !started {
				res.First, started = next, true
			}
		}
		seq := next
		next++
		res.Attempts++
		res.Last = seq
		f, r := c.Read(c.Epoch(), seq)
		if r != DropNone {
			continue
		}
		ok := checkTorn(f.Payload, seq) && f.Tensor.Dims[0] == int32(tornWords(seq)) && f.TimestampNs == seq
		if c.Verify(&f) != DropNone {
			continue // torn or reused while reading: correctly dropped
		}
		if !ok && res.Corrupt == 0 {
			res.FirstError = fmt.Sprintf("seq %d: accepted a corrupt frame (%d bytes, dims %v)", seq, len(f.Payload), f.Tensor.Shape())
		}
		if !ok {
			res.Corrupt++
		}
	}
	res.Stats = c.Stats()
	return res
}

// check verifies a reader's accounting: every sequence in its range was
// accepted, dropped late, or skipped as a gap, and none was accepted torn.
func (r tornResult) check(t *testing.T, name string) {
	t.Helper()
	st := r.Stats
	if r.Corrupt != 0 {
		t.Errorf("%s: %d corrupt frames accepted; first: %s", name, r.Corrupt, r.FirstError)
	}
	var other uint64
	for reason, n := range st.Drops {
		if !DropReason(reason).Late() {
			other += n
		}
	}
	if other != 0 {
		t.Errorf("%s: %d drops that are neither late nor gaps: %v", name, other, st.Drops)
	}
	if span := r.Last - r.First + 1; st.Accepted+st.DropsLate+st.DropsGap != span {
		t.Errorf("%s: accepted %d + late %d + gap %d != %d sequences read over", name, st.Accepted, st.DropsLate, st.DropsGap, span)
	}
	if st.Accepted+st.DropsLate != r.Attempts {
		t.Errorf("%s: accepted %d + late %d != %d attempts", name, st.Accepted, st.DropsLate, r.Attempts)
	}
	if st.Accepted == 0 {
		t.Errorf("%s: nothing accepted", name)
	}
	t.Logf("%s: %d attempts over seq %d..%d: accepted %d, late %d (%v not committed, %v overwritten, %v changed), gap %d",
		name, r.Attempts, r.First, r.Last, st.Accepted, st.DropsLate, st.Drops[DropNotCommitted],
		st.Drops[DropOverwritten], st.Drops[DropChanged], st.DropsGap)
}

func tornAttempts(t *testing.T, normal, short uint64) uint64 {
	if s := os.Getenv(tornAttemptsEnv); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", tornAttemptsEnv, err)
		}
		return n
	}
	if testing.Short() {
		return short
	}
	return normal
}

// tornFixture creates the stream regions and the control file in dir.
func tornFixture(t testing.TB, dir string) (*Producer, tornControl) {
	ring, err := CreateRegion(filepath.Join(dir, "header.ring"), Superblock{Epoch: 9, StreamID: 10000, RegionType: HeaderRing, NSlots: tornNSlots}, FileModePrivate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	var pools []*Region
	for i, st := range tornStrides {
		p, err := CreateRegion(filepath.Join(dir, fmt.Sprintf("%d.pool", i+1)), Superblock{Epoch: 9, StreamID: 10000, RegionType: PayloadPool, PoolID: uint16(i + 1), NSlots: tornNSlots, StrideBytes: st}, FileModePrivate)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		pools = append(pools, p)
	}
	prod, err := NewProducer(ring, pools, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := shm.Create(filepath.Join(dir, "control"), 4096, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return prod, mapControl(t, m)
}

func mapControl(t testing.TB, m *shm.Mapping) tornControl {
	pub, err := shm.Uint64At(m.Bytes(), 0)
	if err != nil {
		t.Fatal(err)
	}
	stop, err := shm.Uint64At(m.Bytes(), 64)
	if err != nil {
		t.Fatal(err)
	}
	return tornControl{published: pub, stop: stop}
}

// openTornRegions maps the ring and pools of the stream in dir through
// the URI path (read-only unless writable) until the test ends.
func openTornRegions(t testing.TB, dir string, writable bool) (*Region, []*Region) {
	allow := mustAllow(t, dir)
	want := Expect{Epoch: 9, StreamID: 10000, RegionType: HeaderRing, NSlots: tornNSlots}
	ring, err := OpenRegion(URI{Path: filepath.Join(dir, "header.ring")}.String(), allow, want, writable)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ring.Close() })
	var pools []*Region
	for i, st := range tornStrides {
		want := Expect{Epoch: 9, StreamID: 10000, RegionType: PayloadPool, PoolID: uint16(i + 1), NSlots: tornNSlots, StrideBytes: st}
		p, err := OpenRegion(URI{Path: filepath.Join(dir, fmt.Sprintf("%d.pool", i+1))}.String(), allow, want, writable)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		pools = append(pools, p)
	}
	return ring, pools
}

// tornConsumer maps the stream in dir read-only through the URI path.
func tornConsumer(t testing.TB, dir string) *Consumer {
	c, err := NewConsumer(openTornRegions(t, dir, false))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTornPayloadHelpers(t *testing.T) {
	p := make([]byte, 8*tornWords(5))
	fillTorn(p, 5)
	if !checkTorn(p, 5) {
		t.Fatal("fresh payload fails its check")
	}
	if checkTorn(p, 13) {
		t.Error("payload of 5 passes as 13")
	}
	for _, i := range []int{0, 9, len(p) - 1} {
		q := append([]byte(nil), p...)
		q[i] ^= 1
		if checkTorn(q, 5) {
			t.Errorf("flipped byte %d not detected", i)
		}
	}
	// Half of one frame and half of another (a torn copy) is detected.
	q := make([]byte, len(p))
	fillTorn(q, 5+8*tornNSlots)
	copy(q, p[:len(p)/2])
	if checkTorn(q, 5) {
		t.Error("torn payload not detected")
	}
}

// TestTornReadsInProcess runs the writer and two readers as goroutines on
// separate mappings; under -race it also checks the Go-side state.
func TestTornReadsInProcess(t *testing.T) {
	attempts := tornAttempts(t, 100_000, 20_000)
	if raceEnabled {
		attempts = min(attempts, 30_000)
	}
	dir := t.TempDir()
	prod, ctl := tornFixture(t, dir)
	readers := []*Consumer{tornConsumer(t, dir), tornConsumer(t, dir)}

	var wg sync.WaitGroup
	var werr error
	wg.Go(func() { _, werr = runTornWriter(prod, ctl) })
	results := make([]tornResult, len(readers))
	var rg sync.WaitGroup
	for i, c := range readers {
		rg.Go(func() { results[i] = runTornReader(c, ctl, attempts) })
	}
	rg.Wait()
	ctl.stop.Store(1)
	wg.Wait()
	if werr != nil {
		t.Fatalf("writer: %v", werr)
	}
	for i, r := range results {
		r.check(t, fmt.Sprintf("reader %d", i))
	}
}

// TestTornReadsMultiProcess re-executes the test binary as one writer and
// two reader processes sharing the regions through files, the way
// producers and consumers do. At least a million read attempts in total by
// default; -short or TPOOL_TORN_ATTEMPTS (per reader) scale it down.
func TestTornReadsMultiProcess(t *testing.T) {
	if os.Getenv(tornRoleEnv) != "" {
		t.Skip("helper process")
	}
	attempts := tornAttempts(t, 500_000, 50_000)
	if raceEnabled {
		attempts = min(attempts, 30_000) // the race runtime slows every access
	}
	dir := t.TempDir()
	_, ctl := tornFixture(t, dir) // the parent only creates; the writer child opens

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := func(role string) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestTornReadsHelper$", "-test.v")
		cmd.Env = append(os.Environ(), tornRoleEnv+"="+role, tornDirEnv+"="+dir,
			tornAttemptsEnv+"="+strconv.FormatUint(attempts, 10))
		out := new(bytes.Buffer)
		cmd.Stdout = out
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, out
	}
	writer, _ := start("writer")
	r1, out1 := start("reader")
	r2, out2 := start("reader")
	errs := []error{r1.Wait(), r2.Wait()}
	ctl.stop.Store(1)
	errs = append(errs, writer.Wait())
	for i, err := range errs {
		if err != nil {
			t.Fatalf("helper %d: %v", i, err)
		}
	}
	var total uint64
	for i, out := range []*bytes.Buffer{out1, out2} {
		res, err := parseTornResult(out.Bytes())
		if err != nil {
			t.Fatalf("reader %d: %v\n%s", i, err, out)
		}
		res.check(t, fmt.Sprintf("reader process %d", i))
		total += res.Attempts
	}
	if total < 2*attempts {
		t.Errorf("%d attempts, want %d", total, 2*attempts)
	}
}

const tornResultPrefix = "TORN-RESULT "

func parseTornResult(out []byte) (tornResult, error) {
	var res tornResult
	for _, line := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(line, tornResultPrefix); ok {
			return res, json.Unmarshal([]byte(s), &res)
		}
	}
	return res, fmt.Errorf("no result line")
}

// TestTornReadsHelper is the body of the helper processes.
func TestTornReadsHelper(t *testing.T) {
	role, dir := os.Getenv(tornRoleEnv), os.Getenv(tornDirEnv)
	if role == "" {
		t.Skip("only run as a helper of TestTornReadsMultiProcess")
	}
	cm, err := shm.Open(filepath.Join(dir, "control"), shm.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	ctl := mapControl(t, cm)
	switch role {
	case "writer":
		ring, pools := openTornRegions(t, dir, true)
		p, err := NewProducer(ring, pools, 0)
		if err != nil {
			t.Fatal(err)
		}
		n, err := runTornWriter(p, ctl)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("writer committed %d frames", n)
	case "reader":
		attempts, err := strconv.ParseUint(os.Getenv(tornAttemptsEnv), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		res := runTornReader(tornConsumer(t, dir), ctl, attempts)
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("\n%s%s\n", tornResultPrefix, b)
	default:
		t.Fatalf("unknown role %q", role)
	}
}
