package aeron_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
)

// Multi-process tests re-execute the test binary with TPOOL_AERON_CHILD set
// to a role; TestMain runs the role instead of the tests.

const childEnv = "TPOOL_AERON_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		if role != "publisher" && role != "driver" {
			// Never outlive the parent: it holds our stdin open.
			go func() {
				_, _ = io.Copy(io.Discard, os.Stdin)
				os.Exit(0)
			}()
		}
		if err := runChild(role); err != nil {
			fmt.Fprintf(os.Stderr, "child %s: %v\n", role, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func envInt(name string) int {
	v, _ := strconv.Atoi(os.Getenv(name))
	return v
}

func runChild(role string) error {
	dir := os.Getenv("AERON_DIR")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	switch role {
	case "driver":
		d, err := mediadriver.Start(childDriverConfig(dir))
		if err != nil {
			return err
		}
		fmt.Println("ready")
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		eof := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin) // the parent went away
			close(eof)
		}()
		select {
		case <-sig:
		case <-eof:
		}
		return d.Close()
	case "publisher":
		c, err := aeron.Connect(ctx, aeron.Config{Dir: dir})
		if err != nil {
			return err
		}
		defer c.Close()
		var pub *aeron.Publication
		channel := os.Getenv("CHANNEL")
		if os.Getenv("EXCLUSIVE") == "1" {
			pub, err = c.AddExclusivePublication(ctx, channel, int32(envInt("STREAM")))
		} else {
			pub, err = c.AddPublication(ctx, channel, int32(envInt("STREAM")))
		}
		if err != nil {
			return err
		}
		for !pub.IsConnected() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			time.Sleep(time.Millisecond)
		}
		id, count, size := uint32(envInt("ID")), envInt("COUNT"), envInt("SIZE")
		msg := make([]byte, size)
		backPressured := 0
		for seq := range count {
			fillMessage(msg, id, uint32(seq))
			for {
				r := pub.Offer(msg)
				if r > 0 {
					break
				}
				if r == aeron.BackPressured {
					backPressured++
				}
				if r == aeron.Closed || r == aeron.MaxPositionExceeded || r == aeron.MessageTooLong || ctx.Err() != nil {
					return fmt.Errorf("offer %d: %s", seq, aeron.StatusString(r))
				}
			}
		}
		fmt.Printf("done %d\n", backPressured)
		// Stay until the parent says so, keeping the image alive.
		_, _ = io.Copy(io.Discard, os.Stdin)
		return pub.Close()
	case "claimer":
		// Publishes COUNT complete messages, then claims a frame it never
		// commits and waits to be killed mid-offer.
		c, err := aeron.Connect(ctx, aeron.Config{Dir: dir})
		if err != nil {
			return err
		}
		pub, err := c.AddPublication(ctx, "aeron:ipc", int32(envInt("STREAM")))
		if err != nil {
			return err
		}
		for !pub.IsConnected() {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			time.Sleep(time.Millisecond)
		}
		msg := make([]byte, envInt("SIZE"))
		for seq := range envInt("COUNT") {
			fillMessage(msg, 1, uint32(seq))
			for r := pub.Offer(msg); r <= 0; r = pub.Offer(msg) {
				if r != aeron.BackPressured && r != aeron.AdminAction || ctx.Err() != nil {
					return fmt.Errorf("offer %d: %s", seq, aeron.StatusString(r))
				}
			}
		}
		var claim aeron.BufferClaim
		for r := pub.TryClaim(len(msg), &claim); r <= 0; r = pub.TryClaim(len(msg), &claim) {
			if r != aeron.BackPressured && r != aeron.AdminAction || ctx.Err() != nil {
				return fmt.Errorf("claim: %s", aeron.StatusString(r))
			}
		}
		fmt.Println("claimed")
		select {} // until SIGKILL, with the claim never committed
	case "hog":
		c, err := aeron.Connect(ctx, aeron.Config{Dir: dir})
		if err != nil {
			return err
		}
		if _, err := c.AddPublication(ctx, "aeron:ipc", int32(envInt("STREAM"))); err != nil {
			return err
		}
		if _, err := c.AddSubscription(ctx, "aeron:ipc", int32(envInt("STREAM"))+1); err != nil {
			return err
		}
		fmt.Println("ready")
		select {} // until SIGKILL
	case "slow":
		c, err := aeron.Connect(ctx, aeron.Config{Dir: dir})
		if err != nil {
			return err
		}
		defer c.Close()
		sub, err := c.AddSubscription(ctx, os.Getenv("CHANNEL"), int32(envInt("STREAM")))
		if err != nil {
			return err
		}
		fmt.Println("ready")
		want := envInt("COUNT")
		next := map[uint32]uint32{}
		var bad error
		got := 0
		h := func(b []byte, _ *aeron.Header) {
			id, seq, err := checkMessage(b)
			if err != nil || seq != next[id] {
				bad = fmt.Errorf("publisher %d seq %d (want %d): %v", id, seq, next[id], err)
			}
			next[id] = seq + 1
			got++
		}
		for got < want && bad == nil {
			if ctx.Err() != nil {
				return fmt.Errorf("received %d of %d: %w", got, want, ctx.Err())
			}
			if sub.Poll(h, 1) > 0 {
				time.Sleep(50 * time.Microsecond) // a slow consumer
			}
		}
		if bad != nil {
			return bad
		}
		fmt.Printf("received %d\n", got)
		return nil
	}
	if f := benchRoles[role]; f != nil {
		return f(ctx, dir)
	}
	return fmt.Errorf("unknown role %q", role)
}

// childDriverConfig is testDriverConfig with a shorter client liveness
// timeout for drivers run in a child process.
func childDriverConfig(dir string) mediadriver.Config {
	cfg := testDriverConfig(dir)
	cfg.ClientLivenessTimeout = time.Second
	return cfg
}

// Messages: publisher id, sequence, payload, CRC32 of everything before it.
func fillMessage(b []byte, id, seq uint32) {
	binary.LittleEndian.PutUint32(b, id)
	binary.LittleEndian.PutUint32(b[4:], seq)
	for i := 8; i < len(b)-4; i++ {
		b[i] = byte(uint32(i) * (seq + 1) * (id + 3))
	}
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
}

func checkMessage(b []byte) (id, seq uint32, err error) {
	if len(b) < 12 {
		return 0, 0, fmt.Errorf("message of %d bytes", len(b))
	}
	id, seq = binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
	if crc32.ChecksumIEEE(b[:len(b)-4]) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return id, seq, errors.New("checksum mismatch")
	}
	return id, seq, nil
}

type child struct {
	cmd   *exec.Cmd
	lines chan string
	stdin io.WriteCloser
}

func startChild(t testing.TB, role, dir string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+role, "AERON_DIR="+dir)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 16), stdin: stdin}
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			c.lines <- s.Text()
		}
		close(c.lines)
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return c
}

// expect waits for a line starting with prefix and returns it.
func (c *child) expect(t testing.TB, prefix string) string {
	t.Helper()
	timer := time.NewTimer(testTimeout)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timer.C:
			t.Fatalf("child never said %q", prefix)
		}
	}
}

func (c *child) wait(t testing.TB) {
	t.Helper()
	_ = c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("child: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("child did not exit")
	}
}

func TestMultiProcessPublishers(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process")
	}
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	c := connect(t, dir)
	const stream, count = 2001, 3000
	var mu sync.Mutex
	var ended []bool
	sub, err := c.AddSubscription(ctx(t), "aeron:ipc", stream, aeron.WithUnavailableImage(func(im *aeron.Image) {
		mu.Lock()
		ended = append(ended, im.IsEndOfStream())
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	var pubs []*child
	for i := range 4 {
		env := []string{"CHANNEL=aeron:ipc", "STREAM=" + strconv.Itoa(stream), "ID=" + strconv.Itoa(i),
			"COUNT=" + strconv.Itoa(count), "SIZE=" + strconv.Itoa(64+i*100)}
		if i == 3 {
			env = append(env, "EXCLUSIVE=1")
		}
		pubs = append(pubs, startChild(t, "publisher", dir, env...))
	}
	next := make([]uint32, 4)
	got := 0
	h := func(b []byte, _ *aeron.Header) {
		id, seq, err := checkMessage(b)
		if err != nil || id >= 4 || seq != next[id] {
			t.Fatalf("publisher %d seq %d (want %d): %v", id, seq, next[id%4], err)
		}
		next[id]++
		got++
	}
	eventually(t, "all messages", func() bool { sub.Poll(h, 100); return got == 4*count })
	// Concurrent publications on one channel and stream share a session;
	// the exclusive one has its own.
	eventually(t, "two images", func() bool { return sub.ImageCount() == 2 })
	for _, p := range pubs {
		p.expect(t, "done")
		p.wait(t)
	}
	// The publishers closed: both images end and go away.
	eventually(t, "images unavailable", func() bool { return sub.ImageCount() == 0 })
	mu.Lock()
	defer mu.Unlock()
	if len(ended) != 2 || !ended[0] || !ended[1] {
		t.Errorf("end of stream at unavailable: %v", ended)
	}
}

func TestMultiProcessLargeMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process")
	}
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	c := connect(t, dir)
	const channel, stream, count = "aeron:ipc?term-length=8m", 2002, 6
	sub, err := c.AddSubscription(ctx(t), channel, stream)
	if err != nil {
		t.Fatal(err)
	}
	p := startChild(t, "publisher", dir, "CHANNEL="+channel, "STREAM="+strconv.Itoa(stream), "ID=9",
		"COUNT="+strconv.Itoa(count), "SIZE="+strconv.Itoa(1<<20))
	got := 0
	asm := aeron.NewFragmentAssembler(func(b []byte, _ *aeron.Header) {
		id, seq, err := checkMessage(b)
		if err != nil || len(b) != 1<<20 || id != 9 || seq != uint32(got) {
			t.Fatalf("message %d: id %d seq %d len %d: %v", got, id, seq, len(b), err)
		}
		got++
	}, 1<<20)
	h := asm.Handler()
	eventually(t, "all messages", func() bool { sub.Poll(h, 100); return got == count })
	p.expect(t, "done")
	p.wait(t)
}

func TestMultiProcessSlowSubscriberBackPressure(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process")
	}
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir)
	const stream, count = 2003, 2000
	s := startChild(t, "slow", dir, "CHANNEL=aeron:ipc", "STREAM="+strconv.Itoa(stream), "COUNT="+strconv.Itoa(count))
	s.expect(t, "ready")
	p := startChild(t, "publisher", dir, "CHANNEL=aeron:ipc", "STREAM="+strconv.Itoa(stream), "ID=1",
		"COUNT="+strconv.Itoa(count), "SIZE=1024")
	line := p.expect(t, "done")
	n, _ := strconv.Atoi(strings.TrimPrefix(line, "done "))
	if n == 0 {
		t.Error("publisher never saw back pressure from a slow subscriber")
	}
	if got := s.expect(t, "received"); got != fmt.Sprintf("received %d", count) {
		t.Errorf("subscriber: %s", got)
	}
	s.wait(t)
	p.wait(t)
}

func TestMultiProcessKilledClientIsCleanedUp(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process")
	}
	dir := filepath.Join(t.TempDir(), "aeron")
	startDriver(t, dir) // liveness timeout 2s
	c := connect(t, dir)
	const stream = 2004
	gone := make(chan struct{}, 1)
	sub, err := c.AddSubscription(ctx(t), "aeron:ipc", stream, aeron.WithUnavailableImage(func(*aeron.Image) { gone <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	// The victim also subscribes to stream+1, where we publish.
	pub, err := c.AddPublication(ctx(t), "aeron:ipc", stream+1)
	if err != nil {
		t.Fatal(err)
	}
	hog := startChild(t, "hog", dir, "STREAM="+strconv.Itoa(stream))
	hog.expect(t, "ready")
	eventually(t, "victim's image", sub.IsConnected)
	eventually(t, "victim subscribed", pub.IsConnected)
	if err := hog.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gone:
	case <-ctx(t).Done():
		t.Fatal("killed client's image never went unavailable")
	}
	eventually(t, "victim's subscription removed", func() bool { return !pub.IsConnected() })
	// Everyone else carries on.
	sub2, err := c.AddSubscription(ctx(t), "aeron:ipc", stream+1)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "resubscribed", pub.IsConnected)
	offer(t, pub, []byte("still here"))
	var got string
	eventually(t, "message", func() bool {
		sub2.Poll(func(b []byte, _ *aeron.Header) { got = string(b) }, 1)
		return got == "still here"
	})
}

func TestMultiProcessDriver(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process")
	}
	dir := filepath.Join(t.TempDir(), "aeron")
	drv := startChild(t, "driver", dir)
	drv.expect(t, "ready")
	if _, err := mediadriver.Start(childDriverConfig(dir)); !errors.Is(err, mediadriver.ErrActiveDriver) {
		t.Fatalf("second driver in another process: %v, want ErrActiveDriver", err)
	}
	cx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := aeron.Connect(cx, aeron.Config{Dir: dir, DriverTimeout: 500 * time.Millisecond, KeepaliveInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.AddPublication(cx, "aeron:ipc", 1); err != nil {
		t.Fatal(err)
	}
	if err := drv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-cx.Done():
		t.Fatal("client did not notice the killed driver")
	}
	if !errors.Is(c.Err(), aeron.ErrDriverTimeout) {
		t.Errorf("Err = %v", c.Err())
	}
	// Its directory is stale once the heartbeat is older than the new
	// driver's DriverTimeout: a new driver takes it over.
	cfg := childDriverConfig(dir)
	cfg.DriverTimeout = 500 * time.Millisecond
	d, err := mediadriver.Start(cfg)
	if err != nil {
		t.Fatalf("stale directory not reclaimed: %v", err)
	}
	_ = d.Close()
}

// TestMultiProcessPublisherKilledMidOffer kills a publisher process holding
// a claimed, never committed frame (issue 12). Its publication drains: the
// driver must unblock the frame, as Aeron's IPC publication does, so the
// subscriber gets every complete message and then loses the image about a
// liveness timeout after the kill, and Unblocked Publications counts it.
func TestMultiProcessPublisherKilledMidOffer(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process")
	}
	dir := filepath.Join(t.TempDir(), "aeron")
	cfg := testDriverConfig(dir)
	cfg.ClientLivenessTimeout = 2 * time.Second
	cfg.TimerInterval = 50 * time.Millisecond
	// Nothing but the draining unblock may end the stream in time: the
	// active publication's unblock timeout and the draining backstop
	// (linger + liveness) are both far beyond the bound below.
	cfg.PublicationUnblockTimeout = time.Minute
	cfg.PublicationLinger = time.Minute
	d, err := mediadriver.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	c := connect(t, dir)
	const stream, count, size = 2010, 200, 1000
	gone := make(chan struct{}, 1)
	sub, err := c.AddSubscription(ctx(t), "aeron:ipc", stream, aeron.WithUnavailableImage(func(*aeron.Image) { gone <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	claimer := startChild(t, "claimer", dir, "STREAM="+strconv.Itoa(stream), "COUNT="+strconv.Itoa(count), "SIZE="+strconv.Itoa(size))
	received := 0
	var bad error
	h := func(b []byte, _ *aeron.Header) {
		if _, seq, err := checkMessage(b); err != nil || seq != uint32(received) {
			bad = fmt.Errorf("message %d: seq %d, %v", received, seq, err)
		}
		received++
	}
	claimed := false
	eventually(t, "the complete messages and the claim", func() bool {
		select {
		case l, ok := <-claimer.lines:
			if !ok {
				t.Fatal("claimer exited")
			}
			claimed = claimed || l == "claimed"
		default:
		}
		sub.Poll(h, 10) // the claimer needs room in the window
		return claimed && received >= count
	})
	if err := claimer.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// aeronmd takes the liveness timeout plus about a timer tick; the
	// allowance of 100 ticks is for a loaded machine.
	bound := cfg.ClientLivenessTimeout + 100*cfg.TimerInterval
	deadline := time.NewTimer(testTimeout)
	defer deadline.Stop()
	for done := false; !done; {
		select {
		case <-gone:
			done = true
		case <-deadline.C:
			t.Fatalf("image still available %v after the publisher was killed", testTimeout)
		default:
			if sub.Poll(h, 10) == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	took := time.Since(killed)
	t.Logf("image unavailable %v after the kill (liveness timeout %v)", took, cfg.ClientLivenessTimeout)
	if took > bound {
		t.Errorf("image went unavailable %v after the kill, want within %v", took, bound)
	}
	if bad != nil || received != count {
		t.Errorf("received %d messages, want %d: %v", received, count, bad)
	}
	unblocked := int32(-1)
	c.Counters().ForEach(func(id, _ int32, label string) {
		if label == "Unblocked Publications" {
			unblocked = id
		}
	})
	if unblocked < 0 {
		t.Fatal("no Unblocked Publications counter")
	}
	if v := c.Counters().Value(unblocked); v != 1 {
		t.Errorf("Unblocked Publications = %d, want 1", v)
	}
}

// TestMultiProcessDriverReplaced: a driver process is SIGKILLed and a new
// driver takes its directory over at once (its lock file proves the old
// one dead). A client of the old driver, whose driver timeout is far too
// long to fire, notices that its cnc.dat was replaced and stops; a new
// client connects to the new driver.
func TestMultiProcessDriverReplaced(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process")
	}
	dir := filepath.Join(t.TempDir(), "aeron")
	drv := startChild(t, "driver", dir)
	drv.expect(t, "ready")
	cx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := aeron.Connect(cx, aeron.Config{Dir: dir, DriverTimeout: time.Hour, KeepaliveInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := drv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = drv.cmd.Wait()
	d, err := mediadriver.Start(childDriverConfig(dir))
	if err != nil {
		t.Fatalf("restart in the directory of the killed driver: %v", err)
	}
	defer d.Close()
	select {
	case <-c.Done():
	case <-cx.Done():
		t.Fatal("client did not notice its driver was replaced")
	}
	if !errors.Is(c.Err(), aeron.ErrDriverTimeout) || !strings.Contains(c.Err().Error(), "replaced") {
		t.Fatalf("Err = %v", c.Err())
	}
	c2, err := aeron.Connect(cx, aeron.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if _, err := c2.AddPublication(cx, "aeron:ipc", 1); err != nil {
		t.Fatal(err)
	}
}
