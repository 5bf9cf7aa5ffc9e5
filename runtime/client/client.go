package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/agent"
	"github.com/tpool-go/tpool/runtime/driverclient"
)

// Well-known channels and stream ids (STREAM_ID_CONVENTIONS.md).
const (
	// DefaultChannel is the channel of every driver stream.
	DefaultChannel = "aeron:ipc?term-length=4m"
	// DefaultControlStreamID is the driver's control stream.
	DefaultControlStreamID = 1000
	// DefaultAnnounceStreamID is the conventional ShmPoolAnnounce stream.
	// tpoold announces on its control stream unless driver.announce_stream_id
	// says otherwise, and the client follows it by default: set
	// Config.Driver.AnnounceStreamID to this when the driver uses it.
	DefaultAnnounceStreamID = 1001
	// DefaultDescriptorStreamID is the shared FrameDescriptor stream.
	DefaultDescriptorStreamID = 1100
	// DefaultQoSStreamID is the QoS stream (QosProducer, QosConsumer).
	DefaultQoSStreamID = 1200
	// DefaultMetadataStreamID is the metadata stream (DataSourceAnnounce,
	// DataSourceMeta, MetaBlob messages).
	DefaultMetadataStreamID = 1300
)

var (
	// ErrClosed: the Client, Producer or Consumer was closed.
	ErrClosed = errors.New("client: closed")
	// ErrPaused: the producer's lease is not usable (revoked, expired, the
	// driver lost or shutting down, or not yet reattached). Nothing was
	// written; offer again later. The Producer reattaches by itself.
	ErrPaused = errors.New("client: producer paused: lease not usable")
	// ErrClaimLost: a claim was taken before the producer remapped (a new
	// epoch); it can no longer be committed.
	ErrClaimLost = errors.New("client: claim belongs to a previous epoch")
	// ErrFrameTooLarge: the tensor does not fit the largest payload pool.
	ErrFrameTooLarge = errors.New("client: frame larger than every payload pool")
	// ErrConfig: an invalid Config, ProducerConfig or ConsumerConfig.
	ErrConfig = errors.New("client: invalid config")
)

// Config configures a Client. Zero fields take their defaults.
type Config struct {
	// AeronDir is the media driver's directory (default $AERON_DIR, else
	// /dev/shm/aeron-<user>).
	AeronDir string
	// EmbeddedMediaDriver starts tpool's embedded media driver in this
	// process at AeronDir (it must not already hold a live driver) and stops
	// it on Close. Otherwise a live external media driver (aeronmd,
	// tpool-aeronmd, or the one tpoold embeds) must be there.
	EmbeddedMediaDriver bool
	// Driver configures the driver client: client id, control and announce
	// streams, timers and the allowed base directories. Its defaults are
	// tpoold's (control and announce on DefaultChannel stream 1000).
	Driver driverclient.Config
	// DescriptorChannel and DescriptorStreamID name the FrameDescriptor
	// stream (default DefaultChannel, DefaultDescriptorStreamID).
	DescriptorChannel  string
	DescriptorStreamID int32

	// --- Metadata (meta.go).

	// MetadataChannel and MetadataStreamID name the metadata stream
	// (default DefaultChannel, DefaultMetadataStreamID).
	MetadataChannel  string
	MetadataStreamID int32

	// Invoker makes the application run the duty cycle: call DoWork often
	// (at least every few milliseconds while attaching, and more often than
	// the keepalive interval otherwise), from one goroutine that also uses
	// the Producers and Consumers. Otherwise the Client runs it on its own
	// goroutine. The Aeron client conductor always has a goroutine.
	Invoker bool
	// NoReconnect turns off recovery from a lost media driver (see
	// "Driver loss" in the package documentation): the Client then stops
	// for good when its media driver dies. Without it (the default) the
	// Client waits for a live media driver in AeronDir, reconnects and
	// reattaches every lease. A Client with EmbeddedMediaDriver never
	// reconnects (its media driver lives and dies with it).
	NoReconnect bool
	// Idle is the idle strategy of Consumer.Next and Consumer.Run
	// (default agent.NewBackoff()); one per Consumer is made with the
	// default, a non-nil value is shared and must then be used by one
	// Consumer only.
	Idle agent.IdleStrategy

	// Per-consumer streams, RATE_LIMITED mode and QoS (wire spec 10.1.2,
	// 10.1.3, 10.4, 11; Driver Model 11; peers.go).
	//
	// QoSChannel and QoSStreamID name the QoS stream (default
	// DefaultChannel, DefaultQoSStreamID). QoSInterval (default
	// DefaultQoSInterval, 1 s) is the period of QosProducer, QosConsumer
	// and ConsumerHello; a producer forgets a consumer it has not heard
	// from for 5 intervals and frees its streams.
	QoSChannel  string
	QoSStreamID int32
	QoSInterval time.Duration
	// PerConsumerDescriptorStreams and PerConsumerControlStreams are the
	// stream ids this Client's producers hand out as per-consumer streams
	// (default 31000-31999 and 32000-32999). Keep them equal to tpoold's
	// driver.descriptor_stream_id_range and driver.control_stream_id_range.
	PerConsumerDescriptorStreams StreamRange
	PerConsumerControlStreams    StreamRange
	// DeclinePerConsumerStreams makes this Client's producers decline
	// every per-consumer stream: RATE_LIMITED consumers then drop locally.
	DeclinePerConsumerStreams bool
	// MaxConsumers bounds each producer's table of consumers (default
	// DefaultMaxConsumers); consumers beyond it are declined.
	MaxConsumers int
	// --- No-driver mode (nodriver.go) ---

	// NoDriver runs the Client without the SHM driver (wire spec v1.2
	// without the Driver Model): no driver client, no leases. Producers
	// create their regions themselves under NoDriverConfig.BaseDir and
	// publish ShmPoolAnnounce on the announce stream; consumers map what
	// the announces name. An Aeron media driver is still needed. Driver
	// and its fields are ignored.
	NoDriver bool
	// NoDriverConfig configures no-driver mode (ignored without NoDriver).
	NoDriverConfig NoDriverConfig
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.DescriptorChannel == "" {
		c.DescriptorChannel = DefaultChannel
	}
	if c.DescriptorStreamID == 0 {
		c.DescriptorStreamID = DefaultDescriptorStreamID
	}
	if c.MetadataChannel == "" {
		c.MetadataChannel = DefaultChannel
	}
	if c.MetadataStreamID == 0 {
		c.MetadataStreamID = DefaultMetadataStreamID
	}
	c.Driver = c.Driver.WithDefaults()
	c.NoDriverConfig = c.NoDriverConfig.WithDefaults()
	return c.peerDefaults()
}

// Validate reports impossible values (after defaults).
func (c Config) Validate() error {
	c = c.WithDefaults()
	if c.NoDriver {
		return errors.Join(c.validateNoDriver(), c.validatePeers())
	}
	if c.DescriptorStreamID == c.Driver.ControlStreamID && c.DescriptorChannel == c.Driver.ControlChannel {
		return fmt.Errorf("%w: descriptor stream %d is the control stream", ErrConfig, c.DescriptorStreamID)
	}
	if err := c.validatePeers(); err != nil {
		return err
	}
	if c.MetadataStreamID == c.DescriptorStreamID && c.MetadataChannel == c.DescriptorChannel {
		return fmt.Errorf("%w: metadata stream %d is the descriptor stream", ErrConfig, c.MetadataStreamID)
	}
	return c.Driver.Validate()
}

// Client is one process's connection to Aeron and to the SHM driver. Make
// one per process and share it between its Producers and Consumers.
type Client struct {
	cfg    Config
	log    *slog.Logger
	md     *mediadriver.Driver
	aeron  *aeron.Client // guarded by mu once New returns (reconnect.go)
	acfg   aeron.Config
	dc     *driverclient.Client
	beatNs int64
	rc     reconnector
	pe     *peers // per-consumer streams and QoS (peers.go)

	mu        sync.Mutex
	producers []*Producer
	consumers []*Consumer

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// New connects to Aeron (starting the embedded media driver if asked) and
// makes the driver client. The driver itself (tpoold) need not be running
// yet: attaches wait for it.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (_ *Client, err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, log: logger, stop: make(chan struct{})}
	defer func() {
		if err != nil {
			c.release()
		}
	}()
	dir := cfg.AeronDir
	if cfg.EmbeddedMediaDriver {
		if c.md, err = mediadriver.Start(mediadriver.Config{Dir: dir}); err != nil {
			return nil, fmt.Errorf("client: embedded media driver: %w", err)
		}
		dir = c.md.Dir()
		logger.Info("embedded media driver started", "dir", dir)
	}
	c.acfg = aeron.Config{Dir: dir, Logger: logger}
	if c.aeron, err = aeron.Connect(ctx, c.acfg); err != nil {
		return nil, fmt.Errorf("client: connect to the media driver: %w", err)
	}
	c.acfg.Dir = c.aeron.Dir()
	if cfg.NoDriver {
		c.startNoDriver() // no driver client (nodriver.go)
		return c, nil
	}
	dcfg := cfg.Driver
	dcfg.AwaitRebind = c.reconnects()
	if c.dc, err = driverclient.New(ctx, c.aeron, dcfg, logger); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	// Producers refresh their regions' activity_timestamp_ns twice per
	// announce period, so they look alive to the driver and consumers.
	c.beatNs = int64(c.dc.Config().AnnouncePeriod / 2)
	c.pe = newPeers(c)
	if !cfg.Invoker {
		if err := c.dc.Start(); err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		c.wg.Add(2)
		go c.heartbeats()
		go c.pe.run()
	}
	c.startReconnector()
	return c, nil
}

// AeronDir returns the media driver directory in use.
func (c *Client) AeronDir() string { return c.acfg.Dir }

// DriverClient returns the driver client (for its Stats and events); nil
// in no-driver mode.
func (c *Client) DriverClient() *driverclient.Client { return c.dc }

// DoWork runs one duty cycle in invoker mode: the driver client's, and the
// producers' heartbeats. It returns the amount of work done.
func (c *Client) DoWork() int {
	now := driverclient.Now()
	n := c.pe.doWork(now)
	if c.dc != nil { // nil in no-driver mode
		n += c.dc.DoWork(now)
	}
	c.mu.Lock()
	for _, p := range c.producers {
		n += p.heartbeat(uint64(now), c.beatNs)
	}
	c.mu.Unlock()
	return n
}

func (c *Client) heartbeats() {
	defer c.wg.Done()
	t := time.NewTicker(time.Duration(c.beatNs) / 2)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			now := uint64(driverclient.Now())
			c.mu.Lock()
			for _, p := range c.producers {
				p.heartbeat(now, c.beatNs)
			}
			c.mu.Unlock()
		}
	}
}

func (c *Client) add(p *Producer, s *Consumer) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.stop:
		return ErrClosed
	default:
	}
	if (p != nil && p.aeron != c.aeron) || (s != nil && s.aeron != c.aeron) {
		return errStaleAeron // reconnected meanwhile (reconnect.go)
	}
	if p != nil {
		c.producers = append(c.producers, p)
	}
	if s != nil {
		c.consumers = append(c.consumers, s)
	}
	return nil
}

func (c *Client) remove(p *Producer, s *Consumer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.producers {
		if x == p {
			c.producers = append(c.producers[:i], c.producers[i+1:]...)
			break
		}
	}
	for i, x := range c.consumers {
		if x == s {
			c.consumers = append(c.consumers[:i], c.consumers[i+1:]...)
			break
		}
	}
}

// Close closes every Producer and Consumer still open (detaching their
// leases), the driver client, the Aeron client and the embedded media
// driver. It is idempotent; in invoker mode do not call it concurrently
// with DoWork.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		ps := append([]*Producer(nil), c.producers...)
		cs := append([]*Consumer(nil), c.consumers...)
		close(c.stop)
		c.mu.Unlock()
		c.stopReconnector()
		var errs []error
		for _, p := range ps {
			errs = append(errs, p.Close())
		}
		for _, s := range cs {
			errs = append(errs, s.Close())
		}
		c.wg.Wait()
		c.pe.close()
		errs = append(errs, c.release())
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

func (c *Client) release() error {
	var errs []error
	if c.dc != nil {
		errs = append(errs, c.dc.Close())
	}
	if c.aeron != nil {
		errs = append(errs, c.aeron.Close())
	}
	for _, a := range c.rc.retired { // stopped clients: their errors say nothing new
		_ = a.Close()
	}
	if c.md != nil {
		errs = append(errs, c.md.Close())
	}
	return errors.Join(errs...)
}

// detach ends a lease with a bounded wait.
func (c *Client) detach(l *driverclient.Lease) error {
	if l == nil {
		return nil // no-driver mode: no lease
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.dc.Config().AttachTimeout)
	defer cancel()
	err := c.dc.Detach(ctx, l)
	if errors.Is(err, driverclient.ErrClosed) {
		return nil
	}
	return err
}
