package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tpool-go/tpool/gen/wire"
)

// ConsumerMode is the delivery a Consumer asks for (wire spec 11).
type ConsumerMode uint8

const (
	// ModeStream (the default): every descriptor; frames the consumer is
	// too slow for are dropped as late.
	ModeStream ConsumerMode = ConsumerMode(wire.ModeStream)
	// ModeRateLimited: at most ConsumerConfig.MaxRateHz frames per
	// second, paced by the producer on a per-consumer descriptor stream,
	// or dropped locally (ConsumerStats.RateLimited) when the producer
	// declines it.
	ModeRateLimited ConsumerMode = ConsumerMode(wire.ModeRateLimited)
)

// String returns "stream" or "rate-limited" (the names tp consume -mode
// takes).
func (m ConsumerMode) String() string {
	switch m {
	case 0, ModeStream:
		return "stream"
	case ModeRateLimited:
		return "rate-limited"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// ParseConsumerMode reads "stream" or "rate-limited" (case-insensitive;
// the wire names STREAM and RATE_LIMITED are accepted too).
func ParseConsumerMode(s string) (ConsumerMode, error) {
	switch strings.ReplaceAll(strings.ToLower(s), "_", "-") {
	case "stream":
		return ModeStream, nil
	case "rate-limited":
		return ModeRateLimited, nil
	}
	return 0, fmt.Errorf("%w: mode %q: want stream or rate-limited", ErrConfig, s)
}

// PerConsumerRequest says whether a Consumer asks its producer for
// per-consumer descriptor and control streams (wire spec 5, 10.1.2).
type PerConsumerRequest uint8

const (
	// PerConsumerAuto (the default) asks in ModeRateLimited, so that the
	// producer paces the consumer on its own stream, and not in
	// ModeStream.
	PerConsumerAuto PerConsumerRequest = iota
	// PerConsumerNever stays on the shared streams.
	PerConsumerNever
	// PerConsumerAlways asks in every mode.
	PerConsumerAlways
)

// maxChannelLen bounds the channels of ConsumerHello and ConsumerConfig
// (Aeron's own limit for a channel URI is smaller than this).
const maxChannelLen = 4096

// Errors of the ConsumerHello and ConsumerConfig decoders (wrapped).
var (
	// errNotMessage: not a ConsumerHello or ConsumerConfig of a
	// supported version, or truncated.
	errNotMessage = errors.New("client: malformed message")
	// errBadRequest: a ConsumerHello or ConsumerConfig that breaks the
	// rules of wire spec 10.1.2 and 10.1.3 (an invalid mode or bool, a
	// stream id without a channel, a channel too long).
	errBadRequest = errors.New("client: invalid per-consumer request")
)

// hello is a decoded ConsumerHello.
type hello struct {
	stream, consumer uint32
	mode             wire.Mode
	maxRateHz        uint32
	supportsShm      bool
	supportsProgress bool
	layoutVersion    uint32
	descID, ctlID    uint32
	descChan         string // "": not requested
	ctlChan          string
}

// decodeHello decodes and checks a ConsumerHello (header included). A
// channel with stream id 0 asks the producer to choose the id (Driver
// Model 11; decision 20); a stream id without a channel is an error (wire
// spec 10.1.3).
func decodeHello(msg []byte, h *hello) error {
	var d wire.ConsumerHelloDecoder
	if err := d.WrapWithHeader(msg); err != nil {
		return fmt.Errorf("%w: ConsumerHello: %w", errNotMessage, err)
	}
	prevDesc, prevCtl := h.descChan, h.ctlChan
	*h = hello{stream: d.StreamId(), consumer: d.ConsumerId(), mode: d.Mode(), maxRateHz: d.MaxRateHz(),
		layoutVersion: d.ExpectedLayoutVersion(), descID: d.DescriptorStreamId(), ctlID: d.ControlStreamId()}
	shm, prog := d.SupportsShm(), d.SupportsProgress()
	if !h.mode.IsValid() || !shm.IsValid() || !prog.IsValid() {
		return fmt.Errorf("%w: ConsumerHello: mode %d, supportsShm %d, supportsProgress %d", errBadRequest, h.mode, shm, prog)
	}
	h.supportsShm, h.supportsProgress = shm == wire.BoolTrue, prog == wire.BoolTrue
	var err error
	if h.descChan, err = channelOf("descriptor", d.DescriptorChannel(), h.descID, prevDesc); err != nil {
		return err
	}
	h.ctlChan, err = channelOf("control", d.ControlChannel(), h.ctlID, prevCtl)
	return err
}

func channelOf(what string, ch []byte, id uint32, prev string) (string, error) {
	switch {
	case len(ch) > maxChannelLen:
		return "", fmt.Errorf("%w: %s channel of %d bytes", errBadRequest, what, len(ch))
	case len(ch) == 0 && id != 0:
		return "", fmt.Errorf("%w: %s stream %d without a channel", errBadRequest, what, id)
	}
	return intern(ch, prev), nil
}

// intern returns prev when it holds ch's bytes: a decoder that reuses its
// result struct allocates nothing for the channel every peer repeats.
func intern(ch []byte, prev string) string {
	if string(ch) == prev {
		return prev
	}
	return string(ch)
}

// grant is a decoded ConsumerConfig: the producer's answer to a hello.
type grant struct {
	stream, consumer uint32
	mode             wire.Mode
	useShm           bool
	descID, ctlID    uint32 // 0: declined (or not requested)
	descChan         string
	ctlChan          string
}

// decodeGrant decodes and checks a ConsumerConfig (header included): an
// assigned stream needs both its channel and a non-zero id (wire spec
// 10.1.3).
func decodeGrant(msg []byte, g *grant) error {
	var d wire.ConsumerConfigDecoder
	if err := d.WrapWithHeader(msg); err != nil {
		return fmt.Errorf("%w: ConsumerConfig: %w", errNotMessage, err)
	}
	prevDesc, prevCtl := g.descChan, g.ctlChan
	*g = grant{stream: d.StreamId(), consumer: d.ConsumerId(), mode: d.Mode(),
		descID: d.DescriptorStreamId(), ctlID: d.ControlStreamId()}
	use := d.UseShm()
	if !g.mode.IsValid() || !use.IsValid() {
		return fmt.Errorf("%w: ConsumerConfig: mode %d, useShm %d", errBadRequest, g.mode, use)
	}
	g.useShm = use == wire.BoolTrue
	var err error
	if g.descChan, err = assigned("descriptor", d.DescriptorChannel(), g.descID, prevDesc); err != nil {
		return err
	}
	g.ctlChan, err = assigned("control", d.ControlChannel(), g.ctlID, prevCtl)
	return err
}

func assigned(what string, ch []byte, id uint32, prev string) (string, error) {
	if (len(ch) == 0) != (id == 0) || len(ch) > maxChannelLen {
		return "", fmt.Errorf("%w: assigned %s channel of %d bytes with stream %d", errBadRequest, what, len(ch), id)
	}
	return intern(ch, prev), nil
}

// encodeHello writes h as a ConsumerHello into buf and returns its length.
// Progress hints are sent as absent (the producer's defaults apply).
func encodeHello(buf []byte, h *hello) (int, error) {
	var e wire.ConsumerHelloEncoder
	if err := e.WrapWithHeader(buf); err != nil {
		return 0, err
	}
	e.SetStreamId(h.stream)
	e.SetConsumerId(h.consumer)
	e.SetSupportsShm(boolOf(h.supportsShm))
	e.SetSupportsProgress(boolOf(h.supportsProgress))
	e.SetMode(h.mode)
	e.SetMaxRateHz(h.maxRateHz)
	e.SetExpectedLayoutVersion(h.layoutVersion)
	e.SetProgressIntervalUsNull()
	e.SetProgressBytesDeltaNull()
	e.SetProgressMajorDeltaUnitsNull()
	e.SetDescriptorStreamId(h.descID)
	e.SetControlStreamId(h.ctlID)
	if err := e.SetDescriptorChannelString(h.descChan); err != nil {
		return 0, err
	}
	if err := e.SetControlChannelString(h.ctlChan); err != nil {
		return 0, err
	}
	return e.Finish()
}

// encodeGrant writes g as a ConsumerConfig into buf.
func encodeGrant(buf []byte, g *grant) (int, error) {
	var e wire.ConsumerConfigEncoder
	if err := e.WrapWithHeader(buf); err != nil {
		return 0, err
	}
	e.SetStreamId(g.stream)
	e.SetConsumerId(g.consumer)
	e.SetUseShm(boolOf(g.useShm))
	e.SetMode(g.mode)
	e.SetDescriptorStreamId(g.descID)
	e.SetControlStreamId(g.ctlID)
	if err := e.SetPayloadFallbackUriString(""); err != nil {
		return 0, err
	}
	if err := e.SetDescriptorChannelString(g.descChan); err != nil {
		return 0, err
	}
	if err := e.SetControlChannelString(g.ctlChan); err != nil {
		return 0, err
	}
	return e.Finish()
}

func boolOf(b bool) wire.Bool {
	if b {
		return wire.BoolTrue
	}
	return wire.BoolFalse
}

// ipcChannel reports whether ch is an Aeron IPC channel: the only media a
// producer opens per-consumer streams on (its consumers map its shared
// memory, so they are on its host; decision 20).
func ipcChannel(ch string) bool {
	return ch == "aeron:ipc" || strings.HasPrefix(ch, "aeron:ipc?")
}
