package driverclient

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/tpool-go/tpool/runtime/agent"
	"github.com/tpool-go/tpool/runtime/pool"
)

// Defaults (Driver Model spec sections 4.4 and 17; NOTES.md timing
// defaults).
const (
	DefaultControlChannel     = "aeron:ipc?term-length=4m"
	DefaultControlStreamID    = 1000
	DefaultAttachTimeout      = 5 * time.Second
	DefaultRetryBackoff       = time.Second
	DefaultMaxBackoff         = 10 * time.Second
	DefaultKeepaliveInterval  = time.Second
	DefaultExpiryGrace        = 3
	DefaultAnnouncePeriod     = time.Second
	DefaultDriverTimeoutCount = 3 // announce periods
)

// Config configures a Client. Zero fields take their defaults.
type Config struct {
	// ClientID identifies the client to the driver; 0 (the default) picks
	// a fresh random id per lease and replaces it when the driver says it
	// is already attached. A fixed id allows one lease at a time.
	ClientID uint32
	// ControlChannel and ControlStreamID name the driver's control stream
	// (default "aeron:ipc?term-length=4m", 1000). The channel string must
	// be the one the driver uses: Aeron refuses a second publication on a
	// stream with another term length.
	ControlChannel  string
	ControlStreamID int32
	// AnnounceChannel and AnnounceStreamID name the stream the driver
	// sends ShmPoolAnnounce on; default the control channel and stream, as
	// the driver's driver.announce_* keys default.
	AnnounceChannel  string
	AnnounceStreamID int32
	// AttachTimeout bounds the wait for an attach or detach response (5 s).
	AttachTimeout time.Duration
	// RetryBackoff is the first pause before attaching again after a
	// failure (1 s); it doubles up to MaxBackoff (10 s).
	RetryBackoff time.Duration
	MaxBackoff   time.Duration
	// KeepaliveInterval is the period of ShmLeaseKeepalive (1 s), and
	// ExpiryGraceIntervals (3) the number of intervals without a keepalive
	// sent after which the client considers its own lease expired.
	KeepaliveInterval    time.Duration
	ExpiryGraceIntervals int
	// AnnouncePeriod is the driver's announce period (1 s). DriverTimeout
	// (default 3 x AnnouncePeriod) is how long a lease's stream may go
	// without a fresh ShmPoolAnnounce before the driver is taken for lost;
	// a consumer waiting for the new epoch after its producer was revoked
	// waits as long.
	AnnouncePeriod time.Duration
	DriverTimeout  time.Duration
	// AllowedBaseDirs are the directories region URIs must point into
	// (wire spec 15.21a.5); default [pool.DefaultBaseDir]. They need not
	// exist when the Client is made.
	AllowedBaseDirs []string
	// OnEvent receives every Event, on the goroutine running DoWork. It
	// must not block or call the Client's blocking methods. May be nil.
	OnEvent func(Event)
	// Idle is the idle strategy of the goroutine Start runs (default
	// agent.NewBackoff(): a few spins and yields, then parks of up to 1 ms).
	Idle agent.IdleStrategy
	// AwaitRebind keeps the Client alive when its Aeron client stops (the
	// media driver died, shut down or timed the client out): every lease
	// fails closed with EventMediaDriverLost and waits in Backoff until
	// Rebind hands over a new Aeron client, then attaches again
	// (EventMediaDriverReconnected, then EventReattached). Without it (the
	// default) the Client stops for good with ErrAeronClosed.
	AwaitRebind bool
}

// ErrConfig is returned (wrapped) for an invalid Config.
var ErrConfig = errors.New("driverclient: invalid config")

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.ControlChannel == "" {
		c.ControlChannel = DefaultControlChannel
	}
	if c.ControlStreamID == 0 {
		c.ControlStreamID = DefaultControlStreamID
	}
	if c.AnnounceChannel == "" {
		c.AnnounceChannel = c.ControlChannel
	}
	if c.AnnounceStreamID == 0 {
		c.AnnounceStreamID = c.ControlStreamID
	}
	if c.AttachTimeout == 0 {
		c.AttachTimeout = DefaultAttachTimeout
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.RetryBackoff)
	}
	if c.KeepaliveInterval == 0 {
		c.KeepaliveInterval = DefaultKeepaliveInterval
	}
	if c.ExpiryGraceIntervals == 0 {
		c.ExpiryGraceIntervals = DefaultExpiryGrace
	}
	if c.AnnouncePeriod == 0 {
		c.AnnouncePeriod = DefaultAnnouncePeriod
	}
	if c.DriverTimeout == 0 {
		c.DriverTimeout = DefaultDriverTimeoutCount * c.AnnouncePeriod
	}
	if len(c.AllowedBaseDirs) == 0 {
		c.AllowedBaseDirs = []string{pool.DefaultBaseDir}
	}
	if c.Idle == nil {
		c.Idle = agent.NewBackoff()
	}
	return c
}

// Validate reports every impossible value (after defaults).
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format+": %w", append(args, ErrConfig)...))
	}
	if c.ControlStreamID < 0 || c.AnnounceStreamID < 0 {
		bad("negative stream id")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"attach timeout", c.AttachTimeout}, {"retry backoff", c.RetryBackoff}, {"max backoff", c.MaxBackoff},
		{"keepalive interval", c.KeepaliveInterval}, {"announce period", c.AnnouncePeriod}, {"driver timeout", c.DriverTimeout}} {
		if d.v < 0 {
			bad("%s %v is negative", d.name, d.v)
		}
	}
	if c.MaxBackoff < c.RetryBackoff {
		bad("max backoff %v is below the retry backoff %v", c.MaxBackoff, c.RetryBackoff)
	}
	if c.ExpiryGraceIntervals < 1 {
		bad("expiry grace intervals %d must be at least 1", c.ExpiryGraceIntervals)
	}
	if c.DriverTimeout < c.AnnouncePeriod {
		bad("driver timeout %v is below the announce period %v", c.DriverTimeout, c.AnnouncePeriod)
	}
	for _, d := range c.AllowedBaseDirs {
		if !filepath.IsAbs(d) {
			bad("allowed base dir %q is not absolute", d)
		}
	}
	return errors.Join(errs...)
}
