package driverit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/driverclient"
	"github.com/tpool-go/tpool/runtime/pool"
)

func runChild(role string) error {
	aeronDir, base, arg := os.Getenv(aeronEnv), os.Getenv(baseEnv), os.Getenv(argEnv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*testTimeout)
	defer cancel()
	go func() { <-stdinClosed; cancel() }()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	switch role {
	case "driver":
		d, err := driver.Start(ctx, driverConfig(aeronDir, base), log)
		if err != nil {
			return err
		}
		fmt.Println("ready")
		<-ctx.Done()
		return d.Close()
	case "client":
		return runClient(ctx, aeronDir, base, arg, log)
	case "tpoold":
		return runTpoold(ctx, aeronDir, base, log)
	case "rclient":
		return runRClient(ctx, aeronDir, base, arg, log)
	case "load":
		return runLoad(ctx, aeronDir, base, arg)
	}
	return fmt.Errorf("unknown role %q", role)
}

// mapping is what a client child maps of its lease.
type mapping struct{ regions []*pool.Region }

func mapLease(info *driverclient.LeaseInfo, allow *pool.AllowList, writable bool) (*mapping, error) {
	m := &mapping{}
	want := pool.Expect{Epoch: info.Epoch, StreamID: info.StreamID, RegionType: pool.HeaderRing, NSlots: info.HeaderNslots,
		LayoutVersion: info.LayoutVersion}
	r, err := pool.OpenRegion(info.HeaderURI, allow, want, writable)
	if err != nil {
		return nil, err
	}
	m.regions = append(m.regions, r)
	for _, p := range info.Pools {
		w := want
		w.RegionType, w.PoolID, w.StrideBytes = pool.PayloadPool, p.ID, p.StrideBytes
		r, err := pool.OpenRegion(p.URI, allow, w, writable)
		if err != nil {
			m.close()
			return nil, err
		}
		m.regions = append(m.regions, r)
	}
	return m, nil
}

func (m *mapping) close() {
	if m == nil {
		return
	}
	for _, r := range m.regions {
		_ = r.Close()
	}
	m.regions = nil
}

// runClient attaches one lease (arg: "producer" or "consumer") and reports
// on stdout, one line each: every event ("event KIND epoch=E t=NOW") and
// every change of mapping ("mapped epoch=E", "unmapped t=NOW"). It maps
// the regions while the lease is usable and unmaps them as soon as it is
// not. It runs until its stdin closes.
func runClient(ctx context.Context, aeronDir, base, arg string, log *slog.Logger) error {
	a, err := aeron.Connect(ctx, aeron.Config{Dir: aeronDir})
	if err != nil {
		return err
	}
	defer a.Close()
	evs := make(chan driverclient.Event, 1024)
	cfg := clientConfig(base)
	cfg.OnEvent = func(e driverclient.Event) { evs <- e }
	c, err := driverclient.New(ctx, a, cfg, log)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Start(); err != nil {
		return err
	}
	req := driverclient.AttachRequest{StreamID: testStream, Role: driverclient.RoleConsumer}
	if arg == "producer" {
		req.Role = driverclient.RoleProducer
	}
	if _, err := c.Attach(ctx, req); err != nil {
		return err
	}
	allow, err := c.AllowList()
	if err != nil {
		return err
	}
	var m *mapping
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-evs:
			var epoch uint64
			if e.Info != nil {
				epoch = e.Info.Epoch
			}
			fmt.Printf("event %v epoch=%d t=%d\n", e.Kind, epoch, driverclient.Now())
			// Events arrive late on this goroutine: go by the event, not
			// by the lease's state now.
			switch e.Kind {
			case driverclient.EventRevoked, driverclient.EventLeaseLost, driverclient.EventProducerRevoked,
				driverclient.EventDriverLost, driverclient.EventDriverShutdown, driverclient.EventDetached:
				if m == nil {
					break
				}
				m.close()
				m = nil
				fmt.Printf("unmapped t=%d\n", driverclient.Now())
			}
			if e.Kind == driverclient.EventAttached || e.Kind == driverclient.EventReattached || e.Kind == driverclient.EventEpochChanged {
				m.close()
				info := e.Lease.Info()
				if m, err = mapLease(info, allow, req.Role == driverclient.RoleProducer); err != nil {
					// Lost again since: the next event says what next.
					fmt.Printf("mapfail epoch=%d err=%q\n", info.Epoch, err)
					continue
				}
				fmt.Printf("mapped epoch=%d\n", info.Epoch)
			}
		}
	}
}

// runLoad runs arg ("N,ROUNDS,INTERVAL_MS": keepalive and announce period) clients, each on its own driverclient.Client
// over one Aeron client: each attaches a consumer lease, keeps it alive for
// 3 keepalive intervals and detaches, ROUNDS times; all concurrently. It
// prints "ok" when every client finished.
func runLoad(ctx context.Context, aeronDir, base, arg string) error {
	var n, rounds, ms int
	if _, err := fmt.Sscanf(strings.ReplaceAll(arg, ",", " "), "%d %d %d", &n, &rounds, &ms); err != nil {
		return err
	}
	a, err := aeron.Connect(ctx, aeron.Config{Dir: aeronDir})
	if err != nil {
		return err
	}
	defer a.Close()
	errs := make(chan error, n)
	fmt.Println("started")
	for i := range n {
		go func() { errs <- loadClient(ctx, a, base, i, rounds, time.Duration(ms)*time.Millisecond) }()
	}
	var all []error
	for range n {
		all = append(all, <-errs)
	}
	if err := errors.Join(all...); err != nil {
		return err
	}
	fmt.Println("ok")
	<-ctx.Done()
	return nil
}

func loadClient(ctx context.Context, a *aeron.Client, base string, i, rounds int, keepalive time.Duration) error {
	cfg := clientConfig(base)
	cfg.KeepaliveInterval = keepalive
	cfg.AnnouncePeriod = keepalive
	c, err := driverclient.New(ctx, a, cfg, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Start(); err != nil {
		return err
	}
	for range rounds {
		l, err := c.Attach(ctx, driverclient.AttachRequest{StreamID: testStream + uint32(i%2), Role: driverclient.RoleConsumer})
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		time.Sleep(3 * keepalive)
		if !l.Usable() {
			return fmt.Errorf("client %d: lease not usable after 3 keepalive intervals (state %v)", i, l.State())
		}
		if err := c.Detach(ctx, l); err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
	}
	return nil
}
