package mediadriver

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
	"github.com/tpool-go/tpool/runtime/agent"
)

// ThreadingMode says which goroutines run the driver's agents, as Aeron's
// threading modes do.
type ThreadingMode string

// Threading modes.
const (
	// ThreadingDedicated runs the conductor, the sender and the receiver
	// each on its own goroutine (Aeron's DEDICATED, the default).
	ThreadingDedicated ThreadingMode = "dedicated"
	// ThreadingSharedNetwork runs the sender and receiver together and the
	// conductor apart (SHARED_NETWORK).
	ThreadingSharedNetwork ThreadingMode = "shared-network"
	// ThreadingShared runs all three agents on one goroutine (SHARED).
	ThreadingShared ThreadingMode = "shared"
)

// ThreadingModeNames lists the modes for flag help.
const ThreadingModeNames = `"dedicated", "shared-network" or "shared"`

// Agents is how many goroutines run the driver's agents in the mode: 3
// dedicated, 2 shared-network, 1 shared.
func (m ThreadingMode) Agents() int {
	switch m {
	case ThreadingShared:
		return 1
	case ThreadingSharedNetwork:
		return 2
	}
	return 3
}

// MinGOMAXPROCS is the fewest Ps (runtime.GOMAXPROCS) that let the driver's
// UDP side run in the mode without waiting for the Go scheduler: one per
// agent goroutine plus one for the goroutines that read the sockets (4
// dedicated, 3 shared-network, 2 shared).
//
// Why: the agents never block in the scheduler when idle. They spin,
// yield the thread (sched_yield) and sleep in nanosleep, all without giving
// up their P (docs/AERON.md, "The driver's threading and GOMAXPROCS"). With
// fewer Ps than agents plus one, no P is ever idle, and a datagram that
// readies a socket's reader goroutine waits until a P passes through the
// scheduler with nothing else to run, or for sysmon's network poll, up to
// 10 ms later. Measured on 2 cores (docs/PERFORMANCE.md): dedicated mode
// at GOMAXPROCS 2 reaches 0.3-0.4x of aeronmd's throughput, at 4 over 1x.
// cmd/tpool-aeronmd raises GOMAXPROCS to this by default; a program that
// embeds the driver decides for itself (the driver logs a warning when its
// first UDP endpoint opens with fewer Ps).
func (m ThreadingMode) MinGOMAXPROCS() int { return m.Agents() + 1 }

// ParseThreadingMode parses a mode name.
func ParseThreadingMode(s string) (ThreadingMode, error) {
	switch m := ThreadingMode(s); m {
	case ThreadingDedicated, ThreadingSharedNetwork, ThreadingShared:
		return m, nil
	}
	return "", fmt.Errorf("threading mode %q: want %s: %w", s, ThreadingModeNames, ErrConfig)
}

// UDP defaults, from Aeron's C driver (aeron_driver_context.c).
const (
	DefaultUDPTermLength                = 16 << 20
	DefaultUDPMTU                       = 1408
	DefaultInitialWindow                = 128 << 10
	DefaultImageLivenessTimeout         = 10 * time.Second
	DefaultPublicationConnectionTimeout = 5 * time.Second
	DefaultStatusMessageTimeout         = 200 * time.Millisecond
	DefaultNAKUnicastDelay              = 100 * time.Microsecond
	DefaultNAKRetryDelayRatio           = 100
	DefaultRetransmitUnicastDelay       = 0
	DefaultRetransmitUnicastLinger      = 10 * time.Millisecond
	DefaultFlowControlReceiverTimeout   = 5 * time.Second
	// setupInterval and heartbeatInterval are fixed in Aeron too
	// (AERON_NETWORK_PUBLICATION_SETUP_TIMEOUT_NS, ..._HEARTBEAT_TIMEOUT_NS).
	setupInterval     = 100 * time.Millisecond
	heartbeatInterval = 100 * time.Millisecond
	// pendingSetupTimeout: how long a receiver waits for the setup it
	// asked for before it may ask again.
	pendingSetupTimeout = time.Second
	// controlSetupInterval: how often a receiver with a control address
	// asks it for setups while it lacks an image; dynamicDestinationTimeout:
	// how long a dynamic MDC destination lives without status messages
	// (Aeron's DESTINATION_TIMEOUT).
	controlSetupInterval      = 100 * time.Millisecond
	dynamicDestinationTimeout = 5 * time.Second
	// maxMessagesPerSend is how many datagrams the sender sends per
	// publication per duty cycle (AERON_SENDER_MAX_MESSAGES_PER_SEND).
	maxMessagesPerSend = 2
	// maxRetransmits bounds concurrent retransmits per publication
	// (AERON_RETRANSMIT_HANDLER_MAX_RESEND).
	maxRetransmits = 16
	// imageSMEOSMultiple: a draining image sends EOS status messages for
	// this many status message timeouts (AERON_IMAGE_SM_EOS_MULTIPLE).
	imageSMEOSMultiple = 5
)

// UDPConfig configures aeron:udp channels. Zero values mean the defaults.
type UDPConfig struct {
	// Threading is the threading mode (default ThreadingDedicated).
	Threading ThreadingMode
	// SenderIdle and ReceiverIdle are the agents' idle strategies (default
	// agent.NewBackoff()). In shared modes the conductor's (or the
	// sender's) is used for the shared goroutine.
	SenderIdle, ReceiverIdle agent.IdleStrategy
	// TermLength of aeron:udp publications without term-length.
	TermLength int
	// MTU of aeron:udp publications without mtu.
	MTU int
	// InitialWindow is the receiver window advertised in status messages,
	// capped at half the term length (rcv-wnd overrides it per channel).
	InitialWindow int
	// ImageLivenessTimeout: an image that hears nothing from its
	// publication this long goes unavailable.
	ImageLivenessTimeout time.Duration
	// PublicationConnectionTimeout: a publication without status messages
	// this long is no longer connected.
	PublicationConnectionTimeout time.Duration
	// StatusMessageTimeout is the longest gap between status messages.
	StatusMessageTimeout time.Duration
	// NAKDelay is the delay before the first NAK of a gap; NAKs repeat every
	// NAKDelay x DefaultNAKRetryDelayRatio while the gap stays.
	NAKDelay time.Duration
	// RetransmitDelay and RetransmitLinger: a NAKed range is resent after
	// the delay, and NAKs for it are ignored for the linger after that.
	RetransmitDelay  time.Duration
	RetransmitLinger time.Duration
	// FlowControlReceiverTimeout: min and tagged flow control forget a
	// receiver silent this long (t: in fc= overrides it).
	FlowControlReceiverTimeout time.Duration
	// RTTMeasurementInterval: every image asks its publication for a
	// round-trip time measurement (an RTTM frame with the reply flag) this
	// often and keeps the last result in its rcv-rtt counter (ns). Zero,
	// the default, measures nothing, as Aeron's receiver with its default
	// (static window) congestion control.
	RTTMeasurementInterval time.Duration
	// SendLoss and ReceiveLoss drop datagrams in the send and receive
	// paths, for tests (as Aeron's loss generators); nil drops nothing.
	SendLoss, ReceiveLoss LossGenerator
	// LoopbackOnly refuses every UDP address that is not a loopback one
	// (an unspecified local address excepted) and resolves no host name but
	// "localhost", without DNS: for tests and fuzzing, which must not send
	// packets anywhere else.
	LoopbackOnly bool
}

func (u UDPConfig) withDefaults() UDPConfig {
	if u.Threading == "" {
		u.Threading = ThreadingDedicated
	}
	if u.SenderIdle == nil {
		u.SenderIdle = agent.NewBackoff()
	}
	if u.ReceiverIdle == nil {
		u.ReceiverIdle = agent.NewBackoff()
	}
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
	def(&u.TermLength, DefaultUDPTermLength)
	def(&u.MTU, DefaultUDPMTU)
	def(&u.InitialWindow, DefaultInitialWindow)
	defd(&u.ImageLivenessTimeout, DefaultImageLivenessTimeout)
	defd(&u.PublicationConnectionTimeout, DefaultPublicationConnectionTimeout)
	defd(&u.StatusMessageTimeout, DefaultStatusMessageTimeout)
	defd(&u.NAKDelay, DefaultNAKUnicastDelay)
	defd(&u.RetransmitLinger, DefaultRetransmitUnicastLinger)
	defd(&u.FlowControlReceiverTimeout, DefaultFlowControlReceiverTimeout)
	return u
}

func (u UDPConfig) validate() error {
	u = u.withDefaults()
	if _, err := ParseThreadingMode(string(u.Threading)); err != nil {
		return err
	}
	if err := logbuffer.CheckTermLength(u.TermLength); err != nil {
		return fmt.Errorf("udp term length: %v: %w", err, ErrConfig)
	}
	if err := checkMTU(u.MTU); err != nil {
		return fmt.Errorf("udp: %v: %w", err, ErrConfig)
	}
	if u.InitialWindow < u.MTU {
		return fmt.Errorf("udp initial window %d below the mtu %d: %w", u.InitialWindow, u.MTU, ErrConfig)
	}
	if u.RetransmitDelay < 0 || u.NAKDelay < 0 || u.RTTMeasurementInterval < 0 {
		return fmt.Errorf("udp delays must not be negative: %w", ErrConfig)
	}
	return nil
}

// LossGenerator decides whether a datagram is dropped. It is called from
// the driver's network goroutines and must be safe for concurrent use.
type LossGenerator interface {
	ShouldDrop(datagram []byte) bool
}

// RandomLoss drops each datagram with probability Rate, and, when
// BurstLength > 0, starts a burst of BurstLength consecutive drops with
// probability BurstRate. Seed makes runs repeatable.
type RandomLoss struct {
	mu          sync.Mutex
	rng         *rand.Rand
	rate        float64
	burstRate   float64
	burstLength int
	inBurst     int
}

// NewRandomLoss makes a generator (see RandomLoss).
func NewRandomLoss(seed uint64, rate, burstRate float64, burstLength int) *RandomLoss {
	return &RandomLoss{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), rate: rate,
		burstRate: burstRate, burstLength: burstLength}
}

// ShouldDrop implements LossGenerator.
func (r *RandomLoss) ShouldDrop([]byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inBurst > 0 {
		r.inBurst--
		return true
	}
	if r.burstLength > 0 && r.rng.Float64() < r.burstRate {
		r.inBurst = r.burstLength - 1
		return true
	}
	return r.rng.Float64() < r.rate
}
