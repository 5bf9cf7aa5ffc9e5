package driverit

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

// TestLoadHundredClients: 100 clients in 4 processes attach, keep alive
// for 3 keepalive intervals (of 1 s) and detach, twice, all at once. Every attach
// succeeds, no lease expires, and none is left.
func TestLoadHundredClients(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	e := newEnv(t)
	// 100 clients on a shared 2-core machine (and under -race): the
	// default 1 s keepalive and announce period, not the fault tests'
	// 200 ms, so that a stalled scheduler is not taken for a lost driver.
	cfg := driverConfig(e.aeronDir, e.base)
	cfg.Policies.LeaseKeepaliveInterval = time.Second
	cfg.Policies.AnnouncePeriod = time.Second
	d := e.startDriverWith(cfg)
	var kids []*child
	for range 4 {
		kids = append(kids, e.spawn("load", "25,2,1000"))
	}
	peak := int64(0)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for _, k := range kids {
			k.await("ok")
		}
	}()
	for waiting := true; waiting; {
		select {
		case <-finished:
			waiting = false
		case <-time.After(10 * time.Millisecond):
			peak = max(peak, d.Stats().ActiveLeases)
		}
	}
	s := d.Stats()
	t.Logf("peak active leases %d; attaches %d, detaches %d, keepalives %d, expiries %d, rejections %+v",
		peak, s.Attaches, s.Detaches, s.Keepalives, s.Expiries, s.Rejections)
	if s.ActiveLeases != 0 {
		t.Errorf("%d leases left", s.ActiveLeases)
	}
	// Under load an attach can time out and be retried while the first
	// request is still granted: the client then detaches the lease it does
	// not use, so attaches may exceed 200 but every one is detached.
	if s.Attaches < 200 || s.Detaches != s.Attaches || s.Expiries != 0 {
		t.Errorf("attaches %d detaches %d expiries %d, want >= 200, as many, 0", s.Attaches, s.Detaches, s.Expiries)
	}
	if peak < 50 {
		t.Errorf("peak of %d concurrent leases: the clients did not overlap", peak)
	}
}

type usage struct{ goroutines, fds, maps, files int }

func measure(t *testing.T, base string) usage {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	_ = filepath.WalkDir(base, func(_ string, de fs.DirEntry, err error) error {
		if err == nil && de.Type().IsRegular() {
			files++
		}
		return nil
	})
	return usage{goroutines: runtime.NumGoroutine(), fds: len(fds), maps: strings.Count(string(maps), " "+base+"/"), files: files}
}

// TestThousandAttachDetachCycles: a producer and a consumer attach, map
// their regions, unmap and detach 1,000 times. Goroutines, file
// descriptors and mappings (of the client and the in-process driver) come
// back to where they were, epoch GC keeps the files under the base dir
// bounded, and no lease is left.
func TestThousandAttachDetachCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	e := newEnv(t)
	d := e.startDriver()
	a := e.connect()
	c := e.newClient(a, nil)
	ctx := testCtx(t)
	allow := func() *pool.AllowList {
		al, err := c.AllowList()
		if err != nil {
			t.Fatal(err)
		}
		return al
	}
	cycle := func() {
		pl, err := c.Attach(ctx, driverclient.AttachRequest{StreamID: testStream, Role: driverclient.RoleProducer})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := c.Attach(ctx, driverclient.AttachRequest{StreamID: testStream, Role: driverclient.RoleConsumer})
		if err != nil {
			t.Fatal(err)
		}
		pm, err := mapLease(pl.Info(), allow(), true)
		if err != nil {
			t.Fatal(err)
		}
		at, err := pool.Attach(cl.Announcement(), allow(), 0)
		if err != nil {
			t.Fatal(err)
		}
		_ = at.Close()
		pm.close()
		if err := c.Detach(ctx, cl); err != nil {
			t.Fatal(err)
		}
		if err := c.Detach(ctx, pl); err != nil {
			t.Fatal(err)
		}
	}
	for range 10 { // warm up: lazily made buffers, linger of closed logs
		cycle()
	}
	before := measure(t, e.base)
	start := time.Now()
	for range 1000 {
		cycle()
	}
	t.Logf("1000 cycles (2 attaches, 2 maps, 2 detaches each) in %v", time.Since(start))
	// GC of old epochs and Aeron's linger run on timers: allow them time.
	var after usage
	deadline := time.Now().Add(testTimeout)
	for {
		after = measure(t, e.base)
		if (after.goroutines <= before.goroutines && after.fds <= before.fds && after.maps <= before.maps &&
			after.files <= before.files) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("before %+v, after %+v", before, after)
	if after.goroutines > before.goroutines || after.fds > before.fds || after.maps > before.maps || after.files > before.files {
		t.Errorf("leak: before %+v, after %+v", before, after)
	}
	// (The driver, in this process, keeps the current epoch mapped.)
	s := d.Stats()
	t.Logf("driver: attaches %d, detaches %d, expiries %d", s.Attaches, s.Detaches, s.Expiries)
	if s.ActiveLeases != 0 {
		t.Errorf("driver: %d leases left", s.ActiveLeases)
	}
}
