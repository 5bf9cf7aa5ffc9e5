// Package uri parses Aeron channel URIs: "aeron:<media>" optionally followed
// by "?key=value|key=value", with an optional "aeron-spy:" prefix, and the
// size values ("4m", "64k", "1g") Aeron accepts for lengths.
package uri

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxLength bounds a channel string (the driver refuses longer ones).
const MaxLength = 4096

// Media kinds.
const (
	MediaIPC = "ipc"
	MediaUDP = "udp"
)

// Parameter keys used by IPC channels.
const (
	TermLengthKey    = "term-length"
	MTUKey           = "mtu"
	SessionIDKey     = "session-id"
	InitialTermIDKey = "init-term-id"
	TermIDKey        = "term-id"
	TermOffsetKey    = "term-offset"
	SparseKey        = "sparse"
	TetherKey        = "tether"
	EOSKey           = "eos"
	LingerKey        = "linger"
	AliasKey         = "alias"
	TagsKey          = "tags"
	PubWindowKey     = "pub-wnd"
	RejoinKey        = "rejoin"
	ReliableKey      = "reliable"
	// Untethered subscribers of an IPC publication: how long one may stay
	// a window behind before it is cut loose, and how long it rests then
	// (set on the publication, as in Aeron's C driver).
	UntetheredWindowLimitTimeoutKey = "untethered-window-limit-timeout"
	UntetheredRestingTimeoutKey     = "untethered-resting-timeout"
)

// ErrInvalid is returned (wrapped) for a malformed channel.
var ErrInvalid = errors.New("uri: invalid channel")

// URI is a parsed channel.
type URI struct {
	Prefix string // "" or "aeron-spy"
	Media  string
	Params map[string]string
}

// Parse parses a channel string.
func Parse(s string) (URI, error) {
	if len(s) > MaxLength {
		return URI{}, fmt.Errorf("channel of %d bytes exceeds %d: %w", len(s), MaxLength, ErrInvalid)
	}
	rest := s
	var u URI
	if p, ok := strings.CutPrefix(rest, "aeron-spy:"); ok {
		u.Prefix = "aeron-spy"
		rest = p
	}
	rest, ok := strings.CutPrefix(rest, "aeron:")
	if !ok {
		return URI{}, fmt.Errorf("%q does not start with \"aeron:\" (e.g. aeron:ipc or aeron:udp?endpoint=host:port): %w", s, ErrInvalid)
	}
	media, query, hasQuery := strings.Cut(rest, "?")
	if media == "" {
		return URI{}, fmt.Errorf("%q has no media: %w", s, ErrInvalid)
	}
	u.Media = media
	u.Params = map[string]string{}
	if hasQuery && query != "" {
		for _, kv := range strings.Split(query, "|") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return URI{}, fmt.Errorf("%q: parameter %q is not key=value: %w", s, kv, ErrInvalid)
			}
			u.Params[k] = v
		}
	}
	return u, nil
}

// String renders the URI (parameters in sorted order is not guaranteed).
func (u URI) String() string {
	var b strings.Builder
	if u.Prefix != "" {
		b.WriteString(u.Prefix + ":")
	}
	b.WriteString("aeron:" + u.Media)
	sep := "?"
	for k, v := range u.Params {
		b.WriteString(sep + k + "=" + v)
		sep = "|"
	}
	return b.String()
}

// ParseSize parses a length with an optional k, m or g suffix (powers of
// 1024), as Aeron does for term-length and mtu.
func ParseSize(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty size: %w", ErrInvalid)
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	}
	digits := s
	if mult != 1 {
		digits = s[:len(s)-1]
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("size %q: %w", s, ErrInvalid)
	}
	if v > (1<<62)/mult {
		return 0, fmt.Errorf("size %q overflows: %w", s, ErrInvalid)
	}
	return v * mult, nil
}

// Size returns a size parameter, or def when absent.
func (u URI) Size(key string, def int64) (int64, error) {
	v, ok := u.Params[key]
	if !ok {
		return def, nil
	}
	n, err := ParseSize(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return n, nil
}

// Int32 returns an int32 parameter and whether it was present.
func (u URI) Int32(key string) (int32, bool, error) {
	v, ok := u.Params[key]
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, true, fmt.Errorf("%s=%q: %w", key, v, ErrInvalid)
	}
	return int32(n), true, nil
}

// Bool returns a boolean parameter ("true"/"false"), or def when absent.
func (u URI) Bool(key string, def bool) (bool, error) {
	v, ok := u.Params[key]
	if !ok {
		return def, nil
	}
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q: %w", key, v, ErrInvalid)
}

// Duration parses a duration parameter in nanoseconds with an optional
// ns/us/ms/s suffix (see ParseDuration), or def when absent. A duration
// beyond MaxInt64 nanoseconds is invalid.
func (u URI) Duration(key string, def int64) (int64, error) {
	v, ok := u.Params[key]
	if !ok {
		return def, nil
	}
	d, err := ParseDuration(v, time.Nanosecond)
	if err != nil {
		return 0, fmt.Errorf("%s: %v: %w", key, err, ErrInvalid)
	}
	return int64(d), nil
}

// ParseDuration parses a duration as Aeron writes them in channels and
// environment variables: a non-negative decimal count with an optional
// ns, us, ms or s suffix. A count without a suffix is in units of bare
// (nanoseconds for channel parameters; AERON_DRIVER_TIMEOUT counts
// milliseconds). A duration beyond MaxInt64 nanoseconds (about 292 years)
// is an error, never a wrapped-around value. It is the one duration parser
// of the client and the driver.
func ParseDuration(s string, bare time.Duration) (time.Duration, error) {
	mult := bare
	num := s
	for _, suf := range []struct {
		s string
		m time.Duration
	}{{"ns", time.Nanosecond}, {"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}} {
		if n, ok := strings.CutSuffix(s, suf.s); ok {
			num, mult = n, suf.m
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || mult <= 0 {
		return 0, fmt.Errorf("duration %q is not a non-negative integer with an optional ns, us, ms or s suffix", s)
	}
	if n > math.MaxInt64/int64(mult) {
		return 0, fmt.Errorf("duration %q overflows (the limit is %d ns)", s, int64(math.MaxInt64))
	}
	return time.Duration(n) * mult, nil
}
