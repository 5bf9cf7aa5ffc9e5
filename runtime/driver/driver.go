package driver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gdriver "github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/agent"
	"github.com/tpool-go/tpool/runtime/pool"
	"golang.org/x/sys/unix"
)

// Sentinel errors of Start.
var (
	// ErrAlreadyRunning: another driver holds the lock of this base
	// directory and control stream.
	ErrAlreadyRunning = errors.New("driver: another tpoold already serves this base directory and control stream")
	// ErrMediaDriverActive: the embedded media driver cannot start because
	// a live media driver already uses the Aeron directory.
	ErrMediaDriverActive = errors.New("driver: a live Aeron media driver already uses the Aeron directory")
	// ErrNoMediaDriver: driver.aeron_dir names a directory without a live
	// media driver.
	ErrNoMediaDriver = errors.New("driver: no live Aeron media driver in driver.aeron_dir")
	// ErrUnknownLease is returned by RevokeLease for a lease that is not
	// active.
	ErrUnknownLease = errors.New("driver: no such active lease")
	// ErrStopped is returned by calls on a stopped driver.
	ErrStopped = errors.New("driver: stopped")
)

// Media driver modes reported by MediaDriver.
const (
	MediaDriverEmbedded = "embedded"
	MediaDriverExternal = "external"
)

// embeddedLinger is how long a driver with an embedded media driver waits
// after its shutdown notice before stopping the media driver, so clients
// can still read the final messages.
const embeddedLinger = 100 * time.Millisecond

// clientIdleSleep is the longest idle pause of the driver's own Aeron
// client conductor, which only relays keepalives and image changes: 10 ms
// rather than Aeron's 1 ms keeps an idle driver's CPU low.
const clientIdleSleep = 10 * time.Millisecond

// Driver is a running SHM driver (tpoold's engine).
type Driver struct {
	cfg      Config
	log      *slog.Logger
	md       *mediadriver.Driver
	aeronDir string
	client   *aeron.Client
	closers  []func() error // aeron resources, closed in reverse order
	lock     *os.File
	lockPath string
	tree     *shmTree
	eng      *engine
	runner   *agent.Runner
	m        *metrics
	desc     *RangeAllocator
	ctlIDs   *RangeAllocator
	streams  aeronStreams

	closeOnce sync.Once
	done      chan struct{} // closed when everything is released
	stopped   chan struct{} // closed when the engine stopped
	err       error
	closeErr  error
}

// Start validates cfg, takes the lock of its base directory and control
// stream, starts (or connects to) the Aeron media driver, cleans up epoch
// directories left by dead processes, and starts the driver's agent. ctx
// bounds the start only; stop the driver with Close or a shutdown request.
// logger may be nil.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (_ *Driver, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := logger.With("instance", cfg.Driver.InstanceID)
	d := &Driver{cfg: cfg, log: log, m: &metrics{}, done: make(chan struct{}), stopped: make(chan struct{}),
		desc: NewRangeAllocator(cfg.Driver.DescriptorStreamIDRange), ctlIDs: NewRangeAllocator(cfg.Driver.ControlStreamIDRange)}
	defer func() {
		if err != nil {
			d.release()
		}
	}()
	if d.tree, err = newSHMTree(&cfg); err != nil {
		return nil, fmt.Errorf("shm.base_dir: %w", err)
	}
	if ps := int64(cfg.SHM.PageSizeBytes); ps != d.tree.pageSize {
		log.Warn("shm.page_size_bytes differs from the page size of shm.base_dir", "page_size_bytes", ps,
			"base_dir_page_size", d.tree.pageSize, "hugetlbfs", d.tree.hugepages)
	}
	if err = d.takeLock(); err != nil {
		return nil, err
	}
	if err = d.startAeron(ctx); err != nil {
		return nil, err
	}
	if err = d.openStreams(ctx); err != nil {
		return nil, err
	}
	clock := func() int64 { return int64(pool.MonotonicNow()) }
	d.eng = newEngine(cfg, log, d.streams.ctl, d.streams.ann, d.streams.sub, d.tree, d.m, clock, time.Now)
	if n := d.tree.cleanupDead(cfg.Policies.EpochGCMinAge); n > 0 {
		d.m.gcRemoved.add(int64(n))
		log.Info("removed epoch directories of dead processes", "count", n)
	}
	if cfg.Policies.EpochGCEnabled && cfg.Policies.EpochGCOnStartup {
		d.eng.gc()
	}
	idle := agent.NewBackoff()
	d.runner = agent.NewRunner(engineAgent{d.eng}, idle, func(err error) { log.Error("driver agent", "err", err) })
	if err = d.runner.Start(); err != nil {
		return nil, err
	}
	go d.supervise()
	mode := d.MediaDriver()
	log.Info("tpoold started", "aeron_dir", d.aeronDir, "media_driver", mode,
		"control", cfg.Driver.ControlChannel, "control_stream_id", cfg.Driver.ControlStreamID,
		"announce", cfg.Driver.AnnounceChannel, "announce_stream_id", cfg.Driver.AnnounceStreamID,
		"base_dir", cfg.SHM.BaseDir, "streams", len(cfg.Streams), "dynamic_streams", cfg.Policies.AllowDynamicStreams,
		"hugepages_fs", d.tree.hugepages)
	return d, nil
}

// takeLock creates and flocks <base_dir>/.tpoold-<control stream id>.lock.
func (d *Driver) takeLock() error {
	d.lockPath = filepath.Join(d.tree.base, ".tpoold-"+strconv.FormatUint(uint64(d.cfg.Driver.ControlStreamID), 10)+".lock")
	f, err := os.OpenFile(d.lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("lock %s: %w", d.lockPath, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%w (lock %s held by pid %s; stop it or use another shm.base_dir or driver.control_stream_id)",
				ErrAlreadyRunning, d.lockPath, string(b[:n]))
		}
		return fmt.Errorf("lock %s: %w", d.lockPath, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	d.lock = f
	return nil
}

func (d *Driver) startAeron(ctx context.Context) error {
	alog := d.log.With("component", "aeron")
	dir := d.cfg.Driver.AeronDir
	if dir == "" {
		md, err := mediadriver.Start(mediadriver.Config{Logger: alog})
		if err != nil {
			if errors.Is(err, mediadriver.ErrActiveDriver) {
				return fmt.Errorf("embedded media driver: %w: %v; set driver.aeron_dir to that directory to use it", ErrMediaDriverActive, err)
			}
			return fmt.Errorf("embedded media driver: %w", err)
		}
		d.md = md
		dir = md.Dir()
	} else if _, err := os.Stat(filepath.Join(dir, "cnc.dat")); err != nil {
		return fmt.Errorf("%w: %s has no cnc.dat (%v); start aeronmd or tpool-aeronmd there, or leave driver.aeron_dir empty for the embedded media driver",
			ErrNoMediaDriver, dir, err)
	}
	d.aeronDir = dir
	c, err := aeron.Connect(ctx, aeron.Config{Dir: dir, ClientName: "tpoold " + d.cfg.Driver.InstanceID, Logger: alog,
		IdleSleep:    clientIdleSleep,
		ErrorHandler: func(err error) { alog.Error("aeron client", "err", err) }})
	if err != nil {
		if errors.Is(err, aeron.ErrNoDriver) {
			return fmt.Errorf("%w: %s: %v", ErrNoMediaDriver, dir, err)
		}
		return fmt.Errorf("connect to media driver in %s: %w", dir, err)
	}
	d.client = c
	return nil
}

// aeron resources of the control plane.
type aeronStreams struct {
	sub      *aeron.Subscription
	ctl, ann *aeron.Publication
}

func (d *Driver) openStreams(ctx context.Context) error {
	c := d.cfg.Driver
	sub, err := d.client.AddSubscription(ctx, c.ControlChannel, int32(c.ControlStreamID))
	if err != nil {
		return fmt.Errorf("control subscription %s stream %d: %w", c.ControlChannel, c.ControlStreamID, err)
	}
	d.closers = append(d.closers, sub.Close)
	// Exclusive publications: the driver's messages carry a session id no
	// other publisher on the media driver can use, and the announce
	// publication takes the control one's, so clients recognise both
	// (DECISIONS.md 43, runtime/driverclient/source.go).
	ctl, err := d.client.AddExclusivePublication(ctx, c.ControlChannel, int32(c.ControlStreamID))
	if err != nil {
		return fmt.Errorf("control publication %s stream %d: %w", c.ControlChannel, c.ControlStreamID, err)
	}
	d.closers = append(d.closers, ctl.Close)
	ann := ctl
	if c.AnnounceChannel != c.ControlChannel || c.AnnounceStreamID != c.ControlStreamID {
		ch := withSession(c.AnnounceChannel, ctl.SessionID())
		if ann, err = d.client.AddExclusivePublication(ctx, ch, int32(c.AnnounceStreamID)); err != nil {
			return fmt.Errorf("announce publication %s stream %d: %w", ch, c.AnnounceStreamID, err)
		}
		d.closers = append(d.closers, ann.Close)
	}
	d.streams = aeronStreams{sub: sub, ctl: ctl, ann: ann}
	counters, err := d.m.addCounters(ctx, d.client, d.cfg.Driver.InstanceID)
	for _, k := range counters {
		d.closers = append(d.closers, k.Close)
	}
	return err
}

// withSession adds session-id to an Aeron channel URI unless it names
// one already.
func withSession(channel string, session int32) string {
	if strings.Contains(channel, "session-id=") {
		return channel
	}
	sep := "?"
	if strings.Contains(channel, "?") {
		sep = "|"
	}
	return channel + sep + "session-id=" + strconv.Itoa(int(session))
}

// supervise waits for the engine to stop (a Close, an accepted shutdown
// request or a fatal error) and releases everything.
func (d *Driver) supervise() {
	<-d.runner.Done()
	close(d.stopped)
	d.err = d.eng.fatal
	if d.md != nil {
		time.Sleep(embeddedLinger)
	}
	d.release()
	if d.err != nil {
		d.log.Error("tpoold stopped on error", "err", d.err)
	} else {
		d.log.Info("tpoold stopped")
	}
	close(d.done)
}

// release frees what Start acquired, in reverse order.
func (d *Driver) release() {
	var errs []error
	if d.eng != nil && d.eng.state != stopped {
		d.eng.removeAll() // Start failed after the engine existed
	}
	for _, k := range d.m.named() {
		k.m.c = nil
	}
	for i := len(d.closers) - 1; i >= 0; i-- {
		errs = append(errs, d.closers[i]())
	}
	d.closers = nil
	if d.client != nil {
		errs = append(errs, d.client.Close())
	}
	if d.md != nil {
		errs = append(errs, d.md.Close())
	}
	if d.lock != nil {
		if err := os.Remove(d.lockPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		errs = append(errs, d.lock.Close())
		d.lock = nil
	}
	if d.tree != nil {
		d.tree.removeCreated()
	}
	d.closeErr = errors.Join(errs...)
}

// Close shuts the driver down gracefully: it stops accepting attaches,
// waits up to policies.shutdown_timeout for leases to end, revokes the
// rest, sends a final ShmPoolAnnounce and the ShmDriverShutdown notice,
// removes every SHM file and directory it created and stops an embedded
// media driver. It is idempotent and returns the error of releasing
// resources, if any.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		select {
		case d.eng.cmds <- func(e *engine) { e.drain(gdriver.ShutdownReasonNormal, "driver closed") }:
		case <-d.stopped:
		}
	})
	<-d.done
	return d.closeErr
}

// Done is closed once the driver has stopped and released everything,
// whether by Close, an accepted ShmDriverShutdownRequest or a fatal error.
func (d *Driver) Done() <-chan struct{} { return d.done }

// Err returns why the driver stopped: nil after Close or an accepted
// shutdown request, the fatal error otherwise (e.g. one wrapping ErrMlock).
// It is meaningful once Done is closed.
func (d *Driver) Err() error {
	select {
	case <-d.done:
		return d.err
	default:
		return nil
	}
}

// Stats returns a snapshot of the driver's figures. Safe for concurrent
// use.
func (d *Driver) Stats() Stats { return d.m.snapshot() }

// AeronDir returns the Aeron directory of the media driver in use.
func (d *Driver) AeronDir() string { return d.aeronDir }

// MediaDriver reports "embedded" or "external".
func (d *Driver) MediaDriver() string {
	if d.md != nil {
		return MediaDriverEmbedded
	}
	return MediaDriverExternal
}

// Config returns the effective configuration (defaults filled in).
func (d *Driver) Config() Config { return d.cfg.clone() }

// DescriptorStreamIDs allocates per-consumer descriptor stream ids from
// driver.descriptor_stream_id_range (Driver Model 11); with the range unset
// Allocate always fails, which means: decline, use the shared stream.
func (d *Driver) DescriptorStreamIDs() *RangeAllocator { return d.desc }

// ControlStreamIDs allocates per-consumer control stream ids from
// driver.control_stream_id_range, like DescriptorStreamIDs.
func (d *Driver) ControlStreamIDs() *RangeAllocator { return d.ctlIDs }

// RevokeLease invalidates an active lease for administrative reasons:
// ShmLeaseRevoked with reason REVOKED goes out and, for a producer, a new
// epoch and its announce. It returns ErrUnknownLease if the lease is not
// active (a second revoke of the same lease sends nothing).
func (d *Driver) RevokeLease(ctx context.Context, leaseID uint64, reason string) error {
	res := make(chan error, 1)
	f := func(e *engine) { res <- e.revoke(leaseID, reason) }
	select {
	case d.eng.cmds <- f:
	case <-d.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-res:
		return err
	case <-d.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}
