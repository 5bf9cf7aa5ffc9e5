package aeron

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/cnc"
	"github.com/tpool-go/tpool/runtime/aeron/internal/uri"
	"github.com/tpool-go/tpool/runtime/agent"
)

// Defaults, as in Aeron's clients.
const (
	DefaultDriverTimeout     = 10 * time.Second
	DefaultKeepaliveInterval = 500 * time.Millisecond
	DefaultResourceLinger    = 3 * time.Second
	DefaultIdleSleep         = time.Millisecond
)

// Config configures a client. Zero fields take their defaults.
type Config struct {
	// Dir is the Aeron directory: default $AERON_DIR, else
	// /dev/shm/aeron-<user>.
	Dir string
	// DriverTimeout: a driver whose heartbeat is older is considered dead;
	// also bounds waiting for the driver's answer to a command.
	DriverTimeout time.Duration
	// KeepaliveInterval: how often the client proves its liveness.
	KeepaliveInterval time.Duration
	// ResourceLinger: how long closed log buffers stay mapped.
	ResourceLinger time.Duration
	// IdleSleep: the client conductor's longest idle pause (with the
	// default idle strategy).
	IdleSleep time.Duration
	// Idle is the client conductor's idle strategy; default a backoff that
	// parks up to IdleSleep.
	Idle agent.IdleStrategy
	// UseInvoker runs the client conductor inside Client.Invoke (and inside
	// the blocking calls) instead of on a goroutine of its own, as Aeron's
	// AgentInvoker does. The client must then be used from one goroutine,
	// which calls Invoke at least every KeepaliveInterval.
	UseInvoker bool
	// ClientName is appended to the client's heartbeat counter label (as
	// Aeron clients do), so tools like AeronStat can tell clients apart.
	ClientName string
	// ErrorHandler receives asynchronous errors (driver death, client
	// timeout, broadcast lapping, corrupted log buffers). May be nil.
	ErrorHandler func(error)
	// Logger receives client events; nil discards them.
	Logger *slog.Logger
	// PublicationErrorFrameHandler receives the error frames receivers
	// sent this client's driver's network publications (a receiver that
	// rejected its image, say), as Aeron's publication error frame
	// handler. It runs on the client conductor's goroutine, outside the
	// client's lock. May be nil.
	PublicationErrorFrameHandler func(PublicationErrorFrame)
}

// ErrConfig is returned (wrapped) for invalid configuration.
var ErrConfig = errors.New("aeron: invalid config")

func (c Config) withDefaults() Config {
	if c.Dir == "" {
		c.Dir = cnc.DefaultDir()
	}
	if c.DriverTimeout == 0 {
		c.DriverTimeout = DefaultDriverTimeout
	}
	if c.KeepaliveInterval == 0 {
		c.KeepaliveInterval = DefaultKeepaliveInterval
	}
	if c.ResourceLinger == 0 {
		c.ResourceLinger = DefaultResourceLinger
	}
	if c.IdleSleep == 0 {
		c.IdleSleep = DefaultIdleSleep
	}
	if c.ErrorHandler == nil {
		c.ErrorHandler = func(error) {}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports impossible values.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.DriverTimeout < 0 || c.KeepaliveInterval < 0 || c.ResourceLinger < 0 || c.IdleSleep < 0 {
		return fmt.Errorf("negative duration: %w", ErrConfig)
	}
	if c.KeepaliveInterval >= c.DriverTimeout {
		return fmt.Errorf("keepalive interval %v must be below the driver timeout %v: %w", c.KeepaliveInterval, c.DriverTimeout, ErrConfig)
	}
	return nil
}

// Environment variables read by ConfigFromEnv, as Aeron's C client names
// them.
const (
	EnvDir                    = "AERON_DIR"
	EnvClientName             = "AERON_CLIENT_NAME"
	EnvDriverTimeout          = "AERON_DRIVER_TIMEOUT"                  // ms, or with ns/us/ms/s
	EnvResourceLingerDuration = "AERON_CLIENT_RESOURCE_LINGER_DURATION" // ns, or with ns/us/ms/s
	EnvIdleSleepDuration      = "AERON_CLIENT_IDLE_SLEEP_DURATION"      // ns, or with ns/us/ms/s
)

// ConfigFromEnv builds a Config from the Aeron environment variables, read
// through getenv (pass os.Getenv). Unset variables leave their defaults.
// Durations are parsed as channel parameters are (a count with an optional
// ns/us/ms/s suffix): a value that overflows is an error.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	c.Dir = getenv(EnvDir)
	c.ClientName = getenv(EnvClientName)
	for _, e := range []struct {
		name string
		bare time.Duration // the unit of a count without a suffix
		dst  *time.Duration
	}{
		{EnvDriverTimeout, time.Millisecond, &c.DriverTimeout},
		{EnvResourceLingerDuration, time.Nanosecond, &c.ResourceLinger},
		{EnvIdleSleepDuration, time.Nanosecond, &c.IdleSleep},
	} {
		v := getenv(e.name)
		if v == "" {
			continue
		}
		d, err := uri.ParseDuration(v, e.bare)
		if err != nil {
			return Config{}, fmt.Errorf("%s: %v: %w", e.name, err, ErrConfig)
		}
		if e.dst == &c.DriverTimeout && d <= 0 {
			return Config{}, fmt.Errorf("%s=%q: the driver timeout must be positive: %w", e.name, v, ErrConfig)
		}
		*e.dst = d
	}
	return c, c.Validate()
}
