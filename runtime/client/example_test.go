package client_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// A producer and a consumer of a 4x4 uint16 stream in one process. In real
// programs they are separate processes, and tpoold runs on its own: here a
// media driver and the driver run in-process, under temporary directories.
func Example() {
	aeronDir, baseDir, stop := startDriver()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := client.New(ctx, client.Config{
		AeronDir: aeronDir,
		Driver:   driverclient.Config{AllowedBaseDirs: []string{baseDir}},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	prod, err := c.NewProducer(ctx, client.ProducerConfig{StreamID: 10000})
	if err != nil {
		log.Fatal(err)
	}
	cons, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: 10000})
	if err != nil {
		log.Fatal(err)
	}

	// Produce: fill each frame in place and commit it.
	h, _ := pool.NewTensorHeader(pool.Uint16, pool.RowMajor, 4, 4)
	for i := range 3 {
		claim, err := prod.TryClaim(&h)
		if err != nil {
			log.Fatal(err)
		}
		v, _ := client.ClaimView[uint16](&claim)
		for r := range 4 {
			for col := range 4 {
				v.Set(uint16(100*i+10*r+col), r, col)
			}
		}
		if err := prod.Commit(&claim); err != nil {
			log.Fatal(err)
		}
	}

	// Consume: the view is valid until the next call; Verify after reading.
	for range 3 {
		f, err := cons.Next(ctx)
		if err != nil {
			log.Fatal(err)
		}
		v, _ := client.FrameAs[uint16](f)
		x := v.At(3, 2)
		if f.Verify() {
			fmt.Printf("frame %d: %v %v, element [3,2] = %d\n", f.Seq(), f.Tensor().Dtype, f.Tensor().Shape(), x)
		}
	}
	// Output:
	// frame 0: UINT16 [4 4], element [3,2] = 32
	// frame 1: UINT16 [4 4], element [3,2] = 132
	// frame 2: UINT16 [4 4], element [3,2] = 232
}

// startDriver runs a media driver and tpoold's engine in this process, with
// small regions for stream 10000.
func startDriver() (aeronDir, baseDir string, stop func()) {
	tmp, err := os.MkdirTemp("", "tpool-example-")
	if err != nil {
		log.Fatal(err)
	}
	aeronDir, baseDir = filepath.Join(tmp, "aeron"), filepath.Join(tmp, "shm")
	md, err := mediadriver.Start(mediadriver.Config{Dir: aeronDir})
	if err != nil {
		log.Fatal(err)
	}
	cfg := driver.DefaultConfig()
	cfg.Driver.AeronDir = aeronDir
	cfg.SHM.BaseDir = baseDir
	cfg.Policies.PrefaultSHM = false
	cfg.Profiles = []driver.Profile{{Name: "default", HeaderNslots: 16, PayloadPools: []driver.PoolSpec{{PoolID: 1, StrideBytes: 4096}}}}
	d, err := driver.Start(context.Background(), cfg, nil)
	if err != nil {
		log.Fatal(err)
	}
	return aeronDir, baseDir, func() {
		_ = d.Close()
		_ = md.Close()
		_ = os.RemoveAll(tmp)
	}
}
