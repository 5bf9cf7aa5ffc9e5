package mediadriver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/broadcast"
	"github.com/tpool-go/tpool/runtime/aeron/internal/cnc"
	"github.com/tpool-go/tpool/runtime/aeron/internal/counters"
	"github.com/tpool-go/tpool/runtime/aeron/internal/errorlog"
	"github.com/tpool-go/tpool/runtime/aeron/internal/ringbuffer"
	"github.com/tpool-go/tpool/runtime/agent"
	"github.com/tpool-go/tpool/runtime/shm"
)

// Sentinel errors.
var (
	// ErrActiveDriver: another live driver uses the directory.
	ErrActiveDriver = errors.New("mediadriver: active driver detected in directory")
)

// PublicationsDir is the subdirectory holding IPC log buffers.
const PublicationsDir = "publications"

// File modes: never world-accessible (docs/AERON.md).
const (
	dirMode  = 0o770
	fileMode = 0o660
)

// Driver is a running embedded media driver.
type Driver struct {
	cfg     Config
	dir     string
	cncMap  *shm.Mapping
	runner  *agent.Runner
	runners []*agent.Runner // sender and receiver (udp_agents.go)
	cond    *conductor
	lock    *dirLock // held for the driver's life (lock.go)
	closeMu sync.Mutex
	closed  bool
}

// Start validates cfg, prepares the directory (refusing one a live driver
// uses, removing a stale one), creates the CnC file and starts the
// conductor on its own goroutine.
func Start(cfg Config) (*Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("aeron dir %q: %w", cfg.Dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	if err := prepareDir(dir, cfg, lock); err != nil {
		lock.release(true)
		return nil, err
	}
	d := &Driver{cfg: cfg, dir: dir, lock: lock}
	if err := d.createCnC(); err != nil {
		if !cfg.KeepDir {
			_ = os.RemoveAll(dir)
		}
		lock.release(false)
		return nil, err
	}
	if err := d.startAgents(); err != nil {
		d.cond.shutdown()
		_ = d.cncMap.Close()
		if !cfg.KeepDir {
			_ = os.RemoveAll(dir)
		}
		lock.release(false)
		return nil, err
	}
	cfg.Logger.Info("aeron media driver started", "dir", dir, "cnc_version", cnc.VersionString(cnc.Version))
	return d, nil
}

// Dir is the absolute Aeron directory.
func (d *Driver) Dir() string { return d.dir }

// Close stops the conductor, releases every log buffer and, unless KeepDir,
// removes the directory. It is idempotent.
func (d *Driver) Close() error {
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	d.stopAgents()
	d.cond.shutdown()
	err := d.cncMap.Close()
	if !d.cfg.KeepDir {
		if rerr := os.RemoveAll(d.dir); rerr != nil && err == nil {
			err = rerr // names the path it failed on
		}
	}
	d.lock.release(false) // last: the directory is no longer ours
	d.cfg.Logger.Info("aeron media driver stopped", "dir", d.dir)
	return err
}

// prepareDir refuses a directory whose CnC shows a live driver and clears
// a stale one (keeping the lock file, which the caller holds). A CnC with
// a fresh heartbeat is stale too when the free lock file names it: its
// tpool driver died (lock.go).
func prepareDir(dir string, cfg Config, lock *dirLock) error {
	path := filepath.Join(dir, cnc.FileName)
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err // "stat <path>: ..."
	default:
		active, meta, why := isActive(path, st, cfg.DriverTimeout)
		switch {
		case active && (meta == nil || !lock.names(meta.PID, meta.StartTimestampMs)):
			return fmt.Errorf("%s (%s): %w", dir, why, ErrActiveDriver)
		case active:
			cfg.Logger.Warn("replacing the aeron directory of a dead tpool media driver (its lock is free)",
				"dir", dir, "pid", meta.PID, "state", why)
		default:
			cfg.Logger.Warn("removing stale aeron directory", "dir", dir, "reason", why)
		}
		if err := removeContents(dir); err != nil {
			return fmt.Errorf("remove stale aeron directory: %w", err) // err names the path
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, PublicationsDir), dirMode); err != nil {
		return err // "mkdir <path>: ..."
	}
	return nil
}

// isActive decides whether the CnC file at path belongs to a live driver
// by Aeron's rule (a heartbeat younger than timeout). It returns the CnC's
// metadata when it could read it.
func isActive(path string, st os.FileInfo, timeout time.Duration) (bool, *cnc.Metadata, string) {
	m, err := shm.Open(path, shm.ReadOnly)
	if err != nil {
		return false, nil, "unreadable cnc: " + err.Error()
	}
	defer m.Close()
	f, hb, err := cnc.ParseLive(m.Bytes())
	switch {
	case errors.Is(err, cnc.ErrTooShort) || errors.Is(err, cnc.ErrNotReady):
		// A driver may be creating it right now.
		if time.Since(st.ModTime()) < timeout {
			return true, nil, "cnc being created: " + err.Error()
		}
		return false, nil, "unfinished cnc: " + err.Error()
	case err != nil:
		return false, nil, err.Error()
	}
	meta := f.Metadata
	age := time.Duration(time.Now().UnixMilli()-hb) * time.Millisecond
	if hb > 0 && age < timeout {
		return true, &meta, fmt.Sprintf("heartbeat %v ago, pid %d", age, meta.PID)
	}
	return false, &meta, fmt.Sprintf("heartbeat %v old", age)
}

func (d *Driver) createCnC() error {
	c := d.cfg
	meta := cnc.Metadata{
		ToDriverBufferLength:    int32(c.ToDriverBufferLength),
		ToClientsBufferLength:   int32(c.ToClientsBufferLength),
		CounterMetadataLength:   int32(c.CounterValuesLength * counterMetadataToValuesFactor),
		CounterValuesLength:     int32(c.CounterValuesLength),
		ErrorLogBufferLength:    int32(c.ErrorLogLength),
		ClientLivenessTimeoutNs: c.ClientLivenessTimeout.Nanoseconds(),
		StartTimestampMs:        time.Now().UnixMilli(),
		PID:                     int64(os.Getpid()),
	}
	path := filepath.Join(d.dir, cnc.FileName)
	m, err := shm.Create(path, meta.FileLength(DefaultPageSize), fileMode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", path, ErrActiveDriver)
		}
		return err // "create <dir>/cnc.dat: ..."
	}
	b := m.Bytes()
	if err := cnc.EncodeMetadata(b, meta); err != nil {
		_ = m.Close()
		return err
	}
	f, err := cnc.Regions(b, meta)
	if err != nil {
		_ = m.Close()
		return err
	}
	cond, err := newConductor(d, f)
	if err != nil {
		_ = m.Close()
		return err
	}
	if err := cond.udp.openLossReport(d.dir); err != nil {
		_ = m.Close()
		return err
	}
	cond.toDriver.SetConsumerHeartbeat(time.Now().UnixMilli())
	ver, err := shm.Int32At(b, cnc.VersionOffset)
	if err != nil {
		_ = m.Close()
		return err
	}
	if err := d.lock.record(meta.PID, meta.StartTimestampMs); err != nil {
		_ = m.Close()
		return err
	}
	ver.Store(cnc.Version) // last: clients wait for it
	d.cncMap = m
	d.cond = cond
	return nil
}

func newConductor(d *Driver, f *cnc.File) (*conductor, error) {
	rb, err := ringbuffer.New(f.ToDriver)
	if err != nil {
		return nil, fmt.Errorf("to-driver buffer: %w", err)
	}
	tx, err := broadcast.NewTransmitter(f.ToClients)
	if err != nil {
		return nil, fmt.Errorf("to-clients buffer: %w", err)
	}
	nowMs := func() int64 { return time.Now().UnixMilli() }
	cm, err := counters.NewManager(f.CounterMetadata, f.CounterValues, nowMs, d.cfg.CounterFreeToReuse.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("counters: %w", err)
	}
	sys, err := allocateSystemCounters(cm)
	if err != nil {
		return nil, err
	}
	return &conductor{
		sys:      sys,
		cfg:      d.cfg,
		dir:      d.dir,
		log:      d.cfg.Logger,
		toDriver: rb,
		toClient: tx,
		counters: cm,
		errors:   errorlog.New(f.ErrorLog, nowMs),
		clients:  map[int64]*client{},
		udp:      newUDPState(d.cfg.UDP, sys),
	}, nil
}
