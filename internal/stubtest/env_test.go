package stubtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/driver/tomlconfig"
	"github.com/tpool-go/tpool/runtime/driverclient"
)

// testTimeout turns a hang into a failure; it is not a speed assertion.
const testTimeout = 60 * time.Second

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newClient starts an embedded media driver and tpoold's driver in this
// process, in private directories, configured with the generated
// TpooldProfile (profile is that text, or another for the mismatch
// tests), and returns a client of them.
func newClient(t testing.TB, profile string) *client.Client {
	t.Helper()
	dc, _, err := tomlconfig.Parse("TpooldProfile", []byte(profile), nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	aeronDir, base := filepath.Join(dir, "aeron"), filepath.Join(dir, "shm")
	// Aeron's default 10 s client liveness: under load (20 and more on 2
	// cores, the benchmarks spinning) 2 s dropped the clients mid-run.
	md, err := mediadriver.Start(mediadriver.Config{Dir: aeronDir, ClientLivenessTimeout: 10 * time.Second,
		PublicationLinger: 20 * time.Millisecond, TimerInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = md.Close() })
	dc.Driver.AeronDir = aeronDir
	dc.SHM.BaseDir = base
	dc.SHM.AllowedBaseDirs = []string{base}
	dc.Policies.AnnouncePeriod = 200 * time.Millisecond
	dc.Policies.LeaseKeepaliveInterval = 200 * time.Millisecond
	// 5 s without a keepalive before a lease expires: the benchmarks keep
	// both cores busy, and on a loaded machine (load 20 on 2 cores) the
	// default 3 intervals expired leases mid-run ("producer paused").
	dc.Policies.LeaseExpiryGraceIntervals = 25
	dc.Policies.PrefaultSHM = false
	dc.Policies.ShutdownTimeout = 200 * time.Millisecond
	d, err := driver.Start(testCtx(t), dc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	c, err := client.New(testCtx(t), client.Config{AeronDir: aeronDir, Driver: driverclient.Config{
		KeepaliveInterval: 200 * time.Millisecond, AnnouncePeriod: 200 * time.Millisecond,
		AttachTimeout: 2 * time.Second, RetryBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		AllowedBaseDirs: []string{base}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}
