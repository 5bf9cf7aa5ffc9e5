package driverit

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tpool-go/tpool/internal/cpeer"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/driver/tomlconfig"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// Issue 9 section 5 (gated on TPOOL_TPC_BIN, and TPOOL_AERON_C_BIN for
// aeronmd): tensor_pool_c's driver-mode example producer streams to a
// runtime/client consumer, and a runtime/client producer to the C example
// consumer, through tpoold (the engine, in this process, on the
// configuration file cpeer writes for tp_driver) and through tensor_pool_c's
// tp_driver, over a real aeronmd and over tpool's media driver.
//
// The C producer writes its "interop" pattern (TP_PATTERN=interop: 16
// uint8, seq then ^seq, little-endian); the Go consumer checks every frame
// it accepts against it. The Go producer writes the same pattern as a 2x2
// float32 tensor's bytes; the C consumer prints what it accepted, which
// must be consecutive sequence numbers of 16 bytes in pool 1.
func TestInteropClientWithCPeers(t *testing.T) {
	cpeer.TPCBin(t, "tp_example_producer_driver") // skip before starting anything
	for _, media := range []string{"aeronmd", "tpool"} {
		for _, drv := range []string{"tpoold", "tp_driver"} {
			for _, dir := range []string{"c-to-go", "go-to-c"} {
				t.Run(media+"/"+drv+"/"+dir, func(t *testing.T) {
					var aeronDir string
					if media == "aeronmd" {
						aeronDir = cpeer.StartAeronMD(t)
					} else {
						aeronDir = filepath.Join(t.TempDir(), "aeron")
						md, err := mediadriver.Start(mediadriver.Config{Dir: aeronDir})
						if err != nil {
							t.Fatal(err)
						}
						t.Cleanup(func() { _ = md.Close() })
					}
					shm := cpeer.ShmDir(t)
					ccfg := cpeer.Config{AeronDir: aeronDir, ShmDir: shm}
					if drv == "tp_driver" {
						cpeer.StartTPDriver(t, ccfg)
					} else {
						startTpooldFromCConfig(t, ccfg)
					}
					c, err := client.New(testCtx(t), client.Config{AeronDir: aeronDir, NoReconnect: true,
						Driver: driverclient.Config{AnnounceStreamID: cpeer.AnnounceStreamID, AllowedBaseDirs: []string{shm}}}, nil)
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					if dir == "c-to-go" {
						cToGo(t, c, aeronDir)
					} else {
						goToC(t, c, aeronDir)
					}
				})
			}
		}
	}
}

// startTpooldFromCConfig runs tpoold's engine on the configuration file
// cpeer writes for tp_driver.
func startTpooldFromCConfig(t *testing.T, c cpeer.Config) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tpoold.toml")
	if err := os.WriteFile(path, []byte(c.TOML()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := tomlconfig.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d, err := driver.Start(testCtx(t), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
}

func interopPattern(b []byte, seq uint64) {
	binary.LittleEndian.PutUint64(b, seq)
	binary.LittleEndian.PutUint64(b[8:], ^seq)
}

// cToGo: the C producer publishes n frames; the Go consumer, attached
// first, checks each frame it accepts.
func cToGo(t *testing.T, c *client.Client, aeronDir string) {
	const n = 32
	ctx := testCtx(t)
	cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var good, bad int
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- cons.Run(runCtx, func(f client.FrameView) {
			p := f.Payload()
			var want [16]byte
			interopPattern(want[:], f.Seq())
			ok := len(p) == 16 && string(p) == string(want[:]) && f.Tensor().Dtype == pool.Uint8
			if !f.Verify() {
				return
			}
			mu.Lock()
			if ok {
				good++
			} else {
				bad++
			}
			mu.Unlock()
		})
	}()
	published := cpeer.RunProducer(t, cpeer.Client{AeronDir: aeronDir, StreamID: 10000, ClientID: 101, Count: n,
		Env: []string{"TP_PATTERN=interop"}})
	if len(published) != n {
		t.Fatalf("C producer published %d frames, want %d", len(published), n)
	}
	// Wait until every descriptor is accounted for.
	for {
		st := cons.Stats()
		if st.Descriptors >= n && st.Accepted+st.Dropped()+st.BeforeJoin >= n {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("consumer stats %+v", st)
		case <-time.After(10 * time.Millisecond):
		}
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	st := cons.Stats()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("accepted %d of %d intact (%d bad); stats %+v", good, n, bad, st)
	if bad != 0 || good == 0 || uint64(good) != st.Accepted {
		t.Fatalf("good %d, bad %d, stats %+v", good, bad, st)
	}
}

// goToC: the Go producer offers frames until the C consumer has accepted
// n; they must be consecutive, 16 bytes each, in pool 1.
func goToC(t *testing.T, c *client.Client, aeronDir string) {
	const n = 16
	ctx := testCtx(t)
	cc := cpeer.StartConsumer(t, cpeer.Client{AeronDir: aeronDir, StreamID: 10000, ClientID: 102, Count: n})
	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: 10000})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	h, err := pool.NewTensorHeader(pool.Float32, pool.RowMajor, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan []cpeer.Frame, 1)
	go func() { exited <- cc.Frames(t) }()
	var got []cpeer.Frame
	for offered := 0; got == nil; offered++ {
		select {
		case got = <-exited:
			continue
		case <-ctx.Done():
			t.Fatalf("C consumer still running after %d frames", offered)
		case <-time.After(20 * time.Millisecond):
		}
		cl, err := prod.TryClaim(&h)
		if err == nil {
			interopPattern(cl.Payload, cl.Seq)
			cl.Meta.TimestampNs = pool.MonotonicNow()
			err = prod.Commit(&cl)
		}
		if err != nil && !errors.Is(err, client.ErrPaused) && !errors.Is(err, client.ErrClaimLost) {
			t.Fatal(err)
		}
	}
	if len(got) != n {
		t.Fatalf("C consumer accepted %d frames, want %d", len(got), n)
	}
	for i, f := range got {
		if f.PoolID != 1 || f.Payload != 16 || (i > 0 && f.Seq != got[i-1].Seq+1) {
			t.Fatalf("C consumer accepted %+v", got)
		}
	}
	t.Logf("C consumer accepted seqs %d..%d; producer %+v", got[0].Seq, got[n-1].Seq, prod.Stats())
}
