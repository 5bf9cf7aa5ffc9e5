package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/pool"
)

const consumeHelp = `tp consume attaches to a stream through tpoold as a consumer and reads its
frames. Every frame is validated (runtime/pool's rules); a frame carrying the
test pattern of tp produce is also checked byte by byte. It follows the
stream across producer restarts and driver restarts (new epochs) and ends
with one summary line: frames received, intact, corrupt, dropped by reason,
gaps, frames overwritten before it joined (not loss) and the frame rate.

With -mode rate-limited it asks for at most -max-rate frames per second
(wire spec 11): the producer paces it on a per-consumer descriptor stream,
or, when the producer declines, it drops the surplus itself. Frames skipped
either way are not loss: the summary reports them apart, as "rate-limited"
(dropped here) and "paced" (not sent by the producer).
With -no-driver it maps what the producer's ShmPoolAnnounce messages name
(only inside -allow-dir), follows newer epochs, and drops a producer that
has not announced for -freshness; the summary then also counts announces
rejected (hostile or invalid), stale or malformed, and producers gone.
-fallback-uri is checked and reported ("fallback": none, unsupported or
not-implemented): tpool has no payload fallback over a bridge yet.

It stops after -frames frames, at -timeout, after -idle without a frame,
or on SIGINT/SIGTERM. Exit
status 0 only when every frame received was intact and, with -frames, that
many were received.

Usage:
  tp consume -stream ID [-frames N] [-timeout D] [-idle D] [-json]
             [-mode stream|rate-limited -max-rate HZ] [flags]

Flags:
`

// summary is tp consume's result (the -json object).
type summary struct {
	Stream     uint32            `json:"stream"`
	Received   uint64            `json:"received"`
	Intact     uint64            `json:"intact"`
	Corrupt    uint64            `json:"corrupt"`
	Pattern    uint64            `json:"pattern"` // of the intact, those with tp produce's pattern
	Dropped    uint64            `json:"dropped"`
	DropsBy    map[string]uint64 `json:"dropped_by_reason"`
	Gap        uint64            `json:"gap"`
	BeforeJoin uint64            `json:"before_join"`
	Remaps     uint64            `json:"remaps"`
	Mode       string            `json:"mode"`
	MaxRateHz  uint32            `json:"max_rate_hz,omitempty"`
	// RateLimited: dropped here to keep to -max-rate (the producer
	// declined or had not answered yet); Paced: not sent by the producer,
	// which paced this consumer on its own stream. Neither is loss.
	RateLimited      uint64  `json:"rate_limited"`
	Paced            uint64  `json:"paced"`
	DescriptorStream uint32  `json:"descriptor_stream,omitempty"` // a per-consumer stream, if granted
	Epoch            uint64  `json:"epoch"`
	Seconds          float64 `json:"seconds"`
	FPS              float64 `json:"fps"`
	Fallback         string  `json:"fallback"`
	// No-driver mode: announces and producers seen.
	Announces  *announceSummary `json:"announces,omitempty"`
	Incomplete bool             `json:"incomplete,omitempty"`
	Error      string           `json:"error,omitempty"`
}

// announceSummary is what a no-driver consumer made of the announces.
type announceSummary struct {
	Accepted     uint64 `json:"accepted"`
	Stale        uint64 `json:"stale"`
	Old          uint64 `json:"old"`
	Rejected     uint64 `json:"rejected"`
	Malformed    uint64 `json:"malformed"`
	MapFailures  uint64 `json:"map_failures"`
	ProducerGone uint64 `json:"producer_gone"`
}

func consume(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("consume", flag.ContinueOnError)
	var cf common
	cf.register(fs)
	stream := fs.Uint("stream", 10000, "stream `ID` to consume")
	frames := fs.Uint64("frames", 0, "stop after `N` frames received (0: run until -timeout or a signal)")
	timeout := fs.Duration("timeout", 0, "stop after this `DURATION` (0: no limit), the wait for tpoold and a producer included")
	idle := fs.Duration("idle", 0, "stop after this `DURATION` without a frame, once frames have arrived (0: never)")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	mode := fs.String("mode", "stream", "consumer `MODE`: stream (every frame) or rate-limited (at most -max-rate frames per second)")
	maxRate := fs.Uint("max-rate", 0, "with -mode rate-limited, the most frames per second wanted (`HZ`, > 0)")
	fallback := fs.String("fallback-uri", "", "payload fallback `URI` (an aeron:udp/aeron:ipc channel or bridge://ID): checked and reported; payload fallback is not implemented")
	if code, ok := parse(fs, args, stdout, stderr, consumeHelp); !ok {
		return code
	}
	log, err := cf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "tp consume:", err)
		return 2
	}
	if *stream == 0 || *stream > 1<<32-1 {
		fmt.Fprintln(stderr, "tp consume: -stream: want a stream id in 1..4294967295")
		return 2
	}
	m, err := client.ParseConsumerMode(*mode)
	if err != nil {
		fmt.Fprintln(stderr, "tp consume: -mode: want stream or rate-limited")
		return 2
	}
	switch {
	case m == client.ModeRateLimited && (*maxRate == 0 || *maxRate > 1e9):
		fmt.Fprintln(stderr, "tp consume: -mode rate-limited needs -max-rate in 1..1000000000")
		return 2
	case m == client.ModeStream && *maxRate != 0:
		fmt.Fprintln(stderr, "tp consume: -max-rate needs -mode rate-limited")
		return 2
	}
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	sum := summary{Stream: uint32(*stream), DropsBy: map[string]uint64{}, Mode: m.String(), MaxRateHz: uint32(*maxRate)}
	start := time.Now()
	c, err := client.New(ctx, cf.config(), log)
	if err != nil {
		fmt.Fprintln(stderr, "tp consume:", err)
		return 1
	}
	defer c.Close()
	s, err := c.NewConsumer(ctx, client.ConsumerConfig{StreamID: uint32(*stream), Mode: m, MaxRateHz: uint32(*maxRate),
		PayloadFallbackURI: *fallback})
	if err != nil {
		fmt.Fprintln(stderr, "tp consume:", err)
		return 1
	}
	var first, last time.Time // the first and last frame received
	for *frames == 0 || sum.Received < *frames {
		nctx, cancel := ctx, context.CancelFunc(func() {})
		if *idle > 0 && !first.IsZero() {
			nctx, cancel = context.WithTimeout(ctx, *idle)
		}
		f, err := s.Next(nctx)
		cancel()
		if err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				sum.Error = err.Error()
			}
			break
		}
		p := f.Payload()
		pattern := hasPattern(p)
		ok := !pattern || checkPattern(p, f.Seq())
		if !f.Verify() {
			continue // overwritten while read: a drop, counted by the consumer
		}
		last = time.Now()
		if first.IsZero() {
			first = last
		}
		sum.Received++
		switch {
		case !ok:
			sum.Corrupt++
			log.Error("corrupt frame", "epoch", f.Epoch(), "seq", f.Seq())
		case pattern:
			sum.Intact++
			sum.Pattern++
		default:
			sum.Intact++
		}
	}
	sum.Epoch = s.Epoch()
	sum.DescriptorStream = s.PeerStatus().DescriptorStreamID
	status := s.Status()
	sum.Fallback = status.Fallback.String()
	if status.NoDriver {
		a := status.Announces
		sum.Announces = &announceSummary{Accepted: a.Accepted, Stale: a.Stale, Old: a.Old, Rejected: a.Rejected,
			Malformed: a.Malformed, MapFailures: a.MapFailures, ProducerGone: a.ProducerGone}
	}
	_ = s.Close() // closes out the last frame, so Stats counts it
	st := s.Stats()
	sum.RateLimited, sum.Paced = st.RateLimited, st.Paced
	sum.Dropped, sum.Gap, sum.BeforeJoin, sum.Remaps = st.Dropped(), st.Gap, st.BeforeJoin, st.Remaps
	for r, n := range st.Drops {
		if n > 0 {
			sum.DropsBy[pool.DropReason(r).String()] = n
		}
	}
	if st.Unmapped > 0 {
		sum.DropsBy["UNMAPPED"] = st.Unmapped
	}
	if first.IsZero() {
		first, last = start, time.Now()
	}
	sum.Seconds = max(last.Sub(first).Seconds(), 1e-9)
	sum.FPS = float64(sum.Received) / sum.Seconds
	sum.Incomplete = *frames != 0 && sum.Received < *frames
	if *asJSON {
		b, _ := json.Marshal(sum)
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprintln(stdout, sum.line())
	}
	if sum.Corrupt > 0 || sum.Incomplete || sum.Error != "" {
		return 1
	}
	return 0
}

func (s *summary) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tp consume: stream %d: received %d, intact %d, corrupt %d, dropped %d", s.Stream, s.Received, s.Intact, s.Corrupt, s.Dropped)
	if len(s.DropsBy) > 0 {
		var rs []string
		for _, r := range slices.Sorted(maps.Keys(s.DropsBy)) {
			rs = append(rs, fmt.Sprintf("%s %d", r, s.DropsBy[r]))
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(rs, ", "))
	}
	fmt.Fprintf(&b, ", gap %d, before join %d, remaps %d", s.Gap, s.BeforeJoin, s.Remaps)
	if s.Mode == client.ModeRateLimited.String() {
		where := "shared stream"
		if s.DescriptorStream != 0 {
			where = fmt.Sprintf("own stream %d", s.DescriptorStream)
		}
		fmt.Fprintf(&b, ", rate-limited to %d Hz (%s): rate-limited %d, paced %d", s.MaxRateHz, where, s.RateLimited, s.Paced)
	}
	fmt.Fprintf(&b, ", %.1f fps", s.FPS)
	if a := s.Announces; a != nil {
		fmt.Fprintf(&b, ", announces accepted %d (stale %d, old %d, rejected %d, malformed %d), map failures %d, producers gone %d",
			a.Accepted, a.Stale, a.Old, a.Rejected, a.Malformed, a.MapFailures, a.ProducerGone)
	}
	if s.Fallback != client.FallbackNone.String() {
		fmt.Fprintf(&b, ", fallback %s", s.Fallback)
	}
	if s.Incomplete {
		b.WriteString(", INCOMPLETE")
	}
	if s.Error != "" {
		fmt.Fprintf(&b, ", error: %s", s.Error)
	}
	return b.String()
}
