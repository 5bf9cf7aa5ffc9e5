package mediadriver

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/broadcast"
	"github.com/tpool-go/tpool/runtime/aeron/internal/cnc"
	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
	"github.com/tpool-go/tpool/runtime/aeron/internal/ringbuffer"
	"github.com/tpool-go/tpool/runtime/agent"
)

// Defaults, from Aeron's C driver where it has one.
const (
	DefaultToDriverBufferLength   = 1<<20 + ringbuffer.TrailerLength
	DefaultToClientsBufferLength  = 1<<20 + broadcast.TrailerLength
	DefaultCounterValuesLength    = 1 << 20
	DefaultErrorLogLength         = 1 << 20
	DefaultClientLivenessTimeout  = 10 * time.Second
	DefaultDriverTimeout          = 10 * time.Second
	DefaultIPCTermLength          = 64 << 20
	DefaultIPCMTU                 = 1408
	DefaultPublicationLinger      = 5 * time.Second
	DefaultTimerInterval          = time.Second
	DefaultCounterFreeToReuse     = time.Second
	DefaultPublicationUnblock     = 15 * time.Second
	DefaultUntetheredWindowLimit  = 5 * time.Second
	DefaultUntetheredResting      = 10 * time.Second
	DefaultPageSize               = logbuffer.PageMinSize
	counterMetadataToValuesFactor = 4
)

// Config configures a driver. The zero value of each field means its
// default; Validate reports impossible values.
type Config struct {
	// Dir is the Aeron directory; default cnc.DefaultDir() ($AERON_DIR, then
	// /dev/shm/aeron-<user>).
	Dir string
	// KeepDir leaves the directory in place on Close (default: removed).
	KeepDir bool

	ToDriverBufferLength  int // ring buffer incl. trailer
	ToClientsBufferLength int // broadcast buffer incl. trailer
	CounterValuesLength   int // metadata is 4x this
	ErrorLogLength        int

	// ClientLivenessTimeout: a client whose heartbeat is older is removed
	// with everything it owned.
	ClientLivenessTimeout time.Duration
	// DriverTimeout: a CnC heartbeat younger than this means another live
	// driver owns the directory.
	DriverTimeout time.Duration
	// IPCTermLength is the term length of aeron:ipc publications without a
	// term-length parameter.
	IPCTermLength int
	// IPCMTU is the MTU of aeron:ipc publications without an mtu parameter.
	IPCMTU int
	// PublicationLinger is the default linger of publications (the
	// channel's linger parameter): written to the log for clients, which
	// keep their mappings that long, and, with ClientLivenessTimeout, the
	// driver's backstop for a publication that never drains. As in Aeron,
	// the driver itself frees an IPC publication one TimerInterval after
	// its images went unavailable.
	PublicationLinger time.Duration
	// TimerInterval is the period of liveness checks and state changes.
	TimerInterval time.Duration
	// PublicationUnblockTimeout: a concurrent publication whose consumers
	// have been stuck behind an uncommitted frame this long is unblocked
	// (its publisher died mid-offer). A draining publication (no
	// publisher left) is unblocked at its next timer tick.
	PublicationUnblockTimeout time.Duration
	// UntetheredWindowLimitTimeout: an untethered subscriber (tether=false)
	// a window behind for this long loses its image.
	UntetheredWindowLimitTimeout time.Duration
	// UntetheredRestingTimeout: how long a cut-loose untethered subscriber
	// rests before it rejoins at the slowest position.
	UntetheredRestingTimeout time.Duration
	// CounterFreeToReuse is how long a freed counter id rests.
	CounterFreeToReuse time.Duration
	// Idle is the conductor's idle strategy (default agent.NewBackoff()).
	Idle agent.IdleStrategy
	// Logger receives driver events; nil discards them.
	Logger *slog.Logger
	// UDP configures aeron:udp channels and the sender and receiver
	// agents (udp_config.go).
	UDP UDPConfig
}

// ErrConfig is returned (wrapped) by Validate.
var ErrConfig = errors.New("mediadriver: invalid config")

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Dir == "" {
		c.Dir = cnc.DefaultDir()
	}
	def(&c.ToDriverBufferLength, DefaultToDriverBufferLength)
	def(&c.ToClientsBufferLength, DefaultToClientsBufferLength)
	def(&c.CounterValuesLength, DefaultCounterValuesLength)
	def(&c.ErrorLogLength, DefaultErrorLogLength)
	def(&c.IPCTermLength, DefaultIPCTermLength)
	def(&c.IPCMTU, DefaultIPCMTU)
	defd(&c.ClientLivenessTimeout, DefaultClientLivenessTimeout)
	defd(&c.DriverTimeout, DefaultDriverTimeout)
	defd(&c.PublicationLinger, DefaultPublicationLinger)
	defd(&c.TimerInterval, DefaultTimerInterval)
	defd(&c.CounterFreeToReuse, DefaultCounterFreeToReuse)
	defd(&c.PublicationUnblockTimeout, DefaultPublicationUnblock)
	defd(&c.UntetheredWindowLimitTimeout, DefaultUntetheredWindowLimit)
	defd(&c.UntetheredRestingTimeout, DefaultUntetheredResting)
	if c.Idle == nil {
		c.Idle = agent.NewBackoff()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.UDP = c.UDP.withDefaults()
	return c
}

func pow2(n int) bool { return n > 0 && n&(n-1) == 0 }

// Validate checks the configuration (after defaults are applied).
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case !pow2(c.ToDriverBufferLength - ringbuffer.TrailerLength):
		return fmt.Errorf("to-driver buffer %d: capacity must be a power of two: %w", c.ToDriverBufferLength, ErrConfig)
	case !pow2(c.ToClientsBufferLength - broadcast.TrailerLength):
		return fmt.Errorf("to-clients buffer %d: capacity must be a power of two: %w", c.ToClientsBufferLength, ErrConfig)
	case c.CounterValuesLength%128 != 0 || c.CounterValuesLength <= 0:
		return fmt.Errorf("counter values %d: must be a positive multiple of 128: %w", c.CounterValuesLength, ErrConfig)
	case c.ErrorLogLength < 0 || c.ErrorLogLength%8 != 0:
		return fmt.Errorf("error log %d: %w", c.ErrorLogLength, ErrConfig)
	case logbuffer.CheckTermLength(c.IPCTermLength) != nil:
		return fmt.Errorf("ipc term length %d: %w", c.IPCTermLength, ErrConfig)
	case checkMTU(c.IPCMTU) != nil:
		return fmt.Errorf("ipc mtu %d: %w", c.IPCMTU, ErrConfig)
	case c.ClientLivenessTimeout < time.Millisecond || c.DriverTimeout < time.Millisecond:
		return fmt.Errorf("timeouts must be at least 1ms: %w", ErrConfig)
	}
	return c.UDP.validate()
}

func checkMTU(mtu int) error {
	if mtu < logbuffer.HeaderLength+logbuffer.FrameAlignment || mtu > logbuffer.MaxUDPPayload || mtu%logbuffer.FrameAlignment != 0 {
		return fmt.Errorf("mtu %d must be a multiple of %d in [%d, %d]", mtu, logbuffer.FrameAlignment,
			logbuffer.HeaderLength+logbuffer.FrameAlignment, logbuffer.MaxUDPPayload)
	}
	return nil
}
