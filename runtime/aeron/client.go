package aeron

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/broadcast"
	"github.com/tpool-go/tpool/runtime/aeron/internal/cnc"
	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/counters"
	"github.com/tpool-go/tpool/runtime/aeron/internal/ringbuffer"
	"github.com/tpool-go/tpool/runtime/agent"
	"github.com/tpool-go/tpool/runtime/shm"
)

// Sentinel errors.
var (
	// ErrNoDriver: no live driver appeared in the directory in time.
	ErrNoDriver = errors.New("aeron: no active media driver")
	// ErrDriverTimeout: the driver stopped heartbeating; the client is
	// unusable.
	ErrDriverTimeout = errors.New("aeron: media driver heartbeat timed out")
	// ErrClientTimeout: the driver timed this client out and released its
	// resources.
	ErrClientTimeout = errors.New("aeron: client timed out by the driver")
	// ErrClosed: the client, publication or subscription is closed.
	ErrClosed = errors.New("aeron: closed")
	// ErrCommandTimeout: the driver did not answer a command in time.
	ErrCommandTimeout = errors.New("aeron: no response from the media driver")
	// ErrToDriverFull: the to-driver buffer stayed full.
	ErrToDriverFull = errors.New("aeron: to-driver buffer full")
	// ErrCnCVersion: the CnC file was written by a driver with an
	// incompatible (major) CnC version.
	ErrCnCVersion = cnc.ErrVersion
	// ErrCnCCorrupt: the CnC file declares impossible region lengths.
	ErrCnCCorrupt = cnc.ErrBadLength
)

// DriverError is an error the driver returned for a command.
type DriverError struct {
	Code    int32
	Message string
}

func (e *DriverError) Error() string {
	return fmt.Sprintf("aeron driver: %s: %s", command.ErrorCodeString(e.Code), e.Message)
}

// Driver error codes a caller may want to test for with errors.As.
const (
	ErrorCodeInvalidChannel      = command.ErrorInvalidChannel
	ErrorCodeUnknownSubscription = command.ErrorUnknownSubscription
	ErrorCodeUnknownPublication  = command.ErrorUnknownPublication
	ErrorCodeUnknownCounter      = command.ErrorUnknownCounter
	ErrorCodeNotSupported        = command.ErrorNotSupported
	ErrorCodeGeneric             = command.ErrorGenericError
)

type response struct {
	msg []byte // a copy
	err error
}

// Client is a connection to a media driver.
type Client struct {
	cfg      Config // with defaults, Dir absolute
	cncMap   *shm.Mapping
	cncPath  string
	cncFile  os.FileInfo // the file mapped, to notice a replacement
	toDriver *ringbuffer.RingBuffer
	rx       *broadcast.CopyReceiver
	counters *counters.Reader
	clientID int64
	runner   *agent.Runner
	invoker  *agent.Invoker
	idle     agent.IdleStrategy

	mu        sync.Mutex // guards everything below and command writes
	scratch   []byte
	pending   map[int64]chan response
	subs      map[int64]*Subscription
	pubs      map[int64]*Publication
	lingers   []lingering
	heartbt   *atomic.Int64
	hbID      int32
	err       error
	done      chan struct{}
	closeErr  error
	closeOnce sync.Once
}

type lingering struct {
	deadline int64 // ns
	close    func()
}

// Connect waits for a live driver in cfg.Dir and starts the client.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("aeron dir %q: %w", cfg.Dir, err)
	}
	cfg.Dir = dir
	m, f, err := awaitCnC(ctx, dir, cfg.DriverTimeout)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, cncMap: m, cncPath: filepath.Join(dir, cnc.FileName), pending: map[int64]chan response{},
		subs: map[int64]*Subscription{}, pubs: map[int64]*Publication{}, done: make(chan struct{})}
	if err := c.init(f); err != nil {
		_ = m.Close()
		return nil, err
	}
	// Mapped a moment ago: a file replaced in between only makes the
	// replacement check below fire at once (a new Connect then finds it).
	c.cncFile, _ = os.Stat(c.cncPath)
	cc := &clientConductor{c: c}
	c.idle = cfg.Idle
	if c.idle == nil {
		b := agent.NewBackoff()
		b.MaxPark = cfg.IdleSleep
		c.idle = b
	}
	if cfg.UseInvoker {
		c.invoker = agent.NewInvoker(cc)
		err = c.invoker.Start()
	} else {
		c.runner = agent.NewRunner(cc, c.idle, cfg.ErrorHandler)
		err = c.runner.Start()
	}
	if err != nil {
		_ = m.Close()
		return nil, err
	}
	// Make the driver know us now (it allocates our heartbeat counter).
	c.mu.Lock()
	err = c.sendKeepalive()
	c.mu.Unlock()
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	cfg.Logger.Debug("aeron client connected", "dir", dir, "client_id", c.clientID)
	return c, nil
}

func (c *Client) init(f *cnc.File) error {
	var err error
	if c.toDriver, err = ringbuffer.New(f.ToDriver); err != nil {
		return fmt.Errorf("cnc to-driver buffer: %w", err)
	}
	rx, err := broadcast.NewReceiver(f.ToClients)
	if err != nil {
		return fmt.Errorf("cnc to-clients buffer: %w", err)
	}
	c.rx = broadcast.NewCopyReceiver(rx)
	if c.counters, err = counters.NewReader(f.CounterMetadata, f.CounterValues); err != nil {
		return fmt.Errorf("cnc counters: %w", err)
	}
	c.clientID = c.toDriver.NextCorrelationID()
	return nil
}

// awaitCnC maps the CnC file once a driver has initialised it and its
// heartbeat is fresh.
func awaitCnC(ctx context.Context, dir string, driverTimeout time.Duration) (*shm.Mapping, *cnc.File, error) {
	path := filepath.Join(dir, cnc.FileName)
	deadline := time.Now().Add(driverTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		m, f, err := tryCnC(path, driverTimeout)
		if err == nil {
			return m, f, nil
		}
		if errors.Is(err, cnc.ErrVersion) || errors.Is(err, cnc.ErrBadLength) {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		last = err
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("no media driver in %s after %v (%s); %s: %w",
				dir, driverTimeout, inDir(last), howToStart(dir), ErrNoDriver)
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("waiting for a media driver in %s (%s; %s): %w", dir, inDir(last), howToStart(dir), ctx.Err())
		case <-tick.C:
		}
	}
}

// howToStart tells a user with no media driver how to get one.
func howToStart(dir string) string {
	return fmt.Sprintf("start one with \"tpool-aeronmd -dir %s\" (or a real aeronmd with AERON_DIR=%s), "+
		"or embed one with runtime/aeron/mediadriver.Start", dir, dir)
}

// inDir renders an error of tryCnC without the directory the caller
// already names: "cnc.dat: no such file or directory".
func inDir(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return filepath.Base(pe.Path) + ": " + pe.Err.Error()
	}
	return err.Error()
}

func tryCnC(path string, driverTimeout time.Duration) (*shm.Mapping, *cnc.File, error) {
	m, err := shm.Open(path, shm.ReadWrite)
	if err != nil {
		return nil, nil, err
	}
	f, hb, err := cnc.ParseLive(m.Bytes())
	if err == nil {
		if age := time.Now().UnixMilli() - hb; age > driverTimeout.Milliseconds() {
			err = fmt.Errorf("driver heartbeat %dms old", age)
		}
	}
	if err != nil {
		_ = m.Close()
		return nil, nil, err
	}
	return m, f, nil
}

// ClientID is the id the driver knows this client by.
func (c *Client) ClientID() int64 { return c.clientID }

// Dir is the Aeron directory in use.
func (c *Client) Dir() string { return c.cfg.Dir }

// Done is closed when the client stops working: Close, a dead driver or a
// client timeout. Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is nil while the client works, then the reason it stopped.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Counters returns a reader of the driver's counters.
func (c *Client) Counters() *CountersReader { return &CountersReader{r: c.counters} }

// nextCorrelationID is unique across the driver.
func (c *Client) nextCorrelationID() int64 { return c.toDriver.NextCorrelationID() }

// write sends one command; callers hold c.mu.
func (c *Client) write(typeID int32, msg []byte) error {
	if c.err != nil {
		return c.err
	}
	deadline := time.Now().Add(c.cfg.DriverTimeout)
	for {
		err := c.toDriver.Write(typeID, msg)
		if !errors.Is(err, ringbuffer.ErrFull) {
			if err != nil {
				return fmt.Errorf("aeron: write command %#x: %w", typeID, err)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return ErrToDriverFull
		}
		c.mu.Unlock()
		time.Sleep(time.Millisecond)
		c.mu.Lock()
		if c.err != nil {
			return c.err
		}
	}
}

func (c *Client) sendKeepalive() error {
	m := command.Correlated{ClientID: c.clientID, CorrelationID: 0}
	c.scratch = m.Append(c.scratch[:0])
	return c.write(command.ClientKeepalive, c.scratch)
}

// request sends a command built by encode with a fresh correlation id,
// registers for its answer, and waits. It returns the correlation id and the
// driver's answer.
func (c *Client) request(ctx context.Context, typeID int32, register func(correlationID int64),
	encode func(correlationID int64, b []byte) []byte) (int64, []byte, error) {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return 0, nil, err
	}
	id := c.nextCorrelationID()
	ch := make(chan response, 1)
	c.pending[id] = ch
	if register != nil {
		register(id)
	}
	c.scratch = encode(id, c.scratch[:0])
	if err := c.write(typeID, c.scratch); err != nil {
		delete(c.pending, id)
		c.mu.Unlock()
		return id, nil, err
	}
	c.mu.Unlock()
	if c.invoker != nil {
		return c.awaitInvoking(ctx, typeID, id, ch)
	}
	timer := time.NewTimer(c.cfg.DriverTimeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		return id, r.msg, r.err
	case <-ctx.Done():
		c.dropPending(id)
		return id, nil, ctx.Err()
	case <-timer.C:
		c.dropPending(id)
		return id, nil, fmt.Errorf("command %#x correlation %d: %w", typeID, id, ErrCommandTimeout)
	case <-c.done:
		c.dropPending(id)
		return id, nil, c.Err()
	}
}

// awaitInvoking waits for a response by running the client conductor in
// the calling goroutine (invoker mode).
func (c *Client) awaitInvoking(ctx context.Context, typeID int32, id int64, ch chan response) (int64, []byte, error) {
	deadline := time.Now().Add(c.cfg.DriverTimeout)
	for {
		select {
		case r := <-ch:
			return id, r.msg, r.err
		case <-ctx.Done():
			c.dropPending(id)
			return id, nil, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			c.dropPending(id)
			return id, nil, fmt.Errorf("command %#x correlation %d: %w", typeID, id, ErrCommandTimeout)
		}
		n, _ := c.invoker.Invoke()
		if err := c.Err(); err != nil {
			c.dropPending(id)
			return id, nil, err
		}
		c.idle.Idle(n)
	}
}

// Invoke runs one duty cycle of the client conductor when the client was
// connected with Config.UseInvoker: it reads driver responses, runs image
// callbacks, keeps the client alive and watches the driver. It returns the
// amount of work done, or the reason the client stopped.
func (c *Client) Invoke() (int, error) {
	if c.invoker == nil {
		return 0, fmt.Errorf("Invoke without Config.UseInvoker: %w", ErrConfig)
	}
	n, _ := c.invoker.Invoke()
	return n, c.Err()
}

func (c *Client) dropPending(id int64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// resolve answers a pending request; callers hold c.mu.
func (c *Client) resolve(id int64, r response) bool {
	ch, ok := c.pending[id]
	if !ok {
		return false
	}
	delete(c.pending, id)
	if r.msg != nil {
		r.msg = append([]byte(nil), r.msg...)
	}
	ch <- r
	return true
}

// fail stops the client for good; callers hold c.mu.
func (c *Client) fail(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	for id, ch := range c.pending {
		ch <- response{err: err}
		delete(c.pending, id)
	}
	for _, s := range c.subs {
		s.markClosed()
	}
	for _, p := range c.pubs {
		p.closed.Store(true)
	}
	close(c.done)
}

func (c *Client) lingerLocked(now int64, f func()) {
	c.lingers = append(c.lingers, lingering{deadline: now + c.cfg.ResourceLinger.Nanoseconds(), close: f})
}

// Close tells the driver this client is leaving, stops the client conductor
// and unmaps everything. It is idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(c.close)
	return c.closeErr
}

func (c *Client) close() {
	c.mu.Lock()
	if c.err == nil {
		m := command.Correlated{ClientID: c.clientID, CorrelationID: c.nextCorrelationID()}
		c.scratch = m.Append(c.scratch[:0])
		_ = c.toDriver.Write(command.ClientClose, c.scratch)
	}
	c.fail(ErrClosed)
	c.mu.Unlock()
	if c.runner != nil {
		_ = c.runner.Close()
	}
	if c.invoker != nil {
		c.invoker.Close()
	}
	c.mu.Lock()
	for _, s := range c.subs {
		for _, im := range s.imageList() {
			im.unmap()
		}
	}
	for _, p := range c.pubs {
		_ = p.mapping.Close()
	}
	for _, l := range c.lingers {
		l.close()
	}
	c.lingers = nil
	c.mu.Unlock()
	c.closeErr = c.cncMap.Close()
}
