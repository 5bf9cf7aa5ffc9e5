package driver

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tpool-go/tpool/runtime/pool"
)

// Defaults of the Driver Model spec section 17 (and NOTES.md decision 5
// where the two reference implementations disagree).
const (
	DefaultInstanceID                  = "driver-01"
	DefaultChannel                     = "aeron:ipc?term-length=4m"
	DefaultControlStreamID      uint32 = 1000
	DefaultQoSStreamID          uint32 = 1200
	DefaultBaseDir                     = pool.DefaultBaseDir // "/dev/shm/tensorpool"
	DefaultNamespace                   = pool.DefaultNamespace
	DefaultPageSizeBytes        uint32 = 4096
	DefaultPermissionsMode             = os.FileMode(0o660)
	DefaultAnnouncePeriod              = time.Second
	DefaultKeepaliveInterval           = time.Second
	DefaultExpiryGraceIntervals        = 3
	DefaultEpochGCKeep                 = 2
	DefaultShutdownTimeout             = 2 * time.Second
	DefaultNodeIDReuseCooldown         = time.Second
	// DefaultHeaderNslots is header_nslots of a profile that does not set it.
	DefaultHeaderNslots uint32 = 1024

	// The built-in profile and stream of DefaultConfig: one static stream
	// (the demo's stream id) of 64 slots of 1 MiB, 64 MiB of SHM in all.
	DefaultProfileName          = "default"
	DefaultStreamName           = "default"
	DefaultStreamID      uint32 = 10000
	defaultProfileNslots uint32 = 64
	defaultPoolStride    uint32 = 1 << 20
)

// Config is the whole configuration of the driver: the keys of the Driver
// Model spec section 17 as Go values. Start from DefaultConfig; file
// formats (TOML, environment) are parsed elsewhere (runtime/driver/tomlconfig).
//
// Some defaults derive from other keys (the announce channel is the control
// channel, ...); their fields are left zero by DefaultConfig and filled in by
// WithDefaults, so a Config changed after DefaultConfig keeps them
// consistent. Validate checks c.WithDefaults().
type Config struct {
	Driver   DriverConfig
	SHM      SHMConfig
	Policies PolicyConfig
	// Profiles, in file order. The first is the default of
	// Policies.DefaultProfile.
	Profiles []Profile
	// Streams are the statically configured streams, in file order.
	Streams []StreamConfig
}

// DriverConfig is the [driver] table.
type DriverConfig struct {
	// InstanceID names this driver in logs and diagnostics
	// (driver.instance_id, default "driver-01").
	InstanceID string
	// AeronDir is the Aeron media driver directory (driver.aeron_dir). Empty
	// means the driver runs tpool's embedded media driver at the Aeron
	// default directory; set, it uses the live media driver there.
	AeronDir string
	// ControlChannel and ControlStreamID carry attach, keepalive and detach
	// (driver.control_channel, driver.control_stream_id; default
	// "aeron:ipc?term-length=4m", 1000).
	ControlChannel  string
	ControlStreamID uint32
	// AnnounceChannel and AnnounceStreamID carry ShmPoolAnnounce
	// (driver.announce_channel, driver.announce_stream_id). Zero: the
	// control channel and stream id.
	AnnounceChannel  string
	AnnounceStreamID uint32
	// QoSChannel and QoSStreamID (driver.qos_channel, driver.qos_stream_id;
	// default "aeron:ipc?term-length=4m", 1200).
	QoSChannel  string
	QoSStreamID uint32
	// StreamIDRange holds the ids of dynamically created streams
	// (driver.stream_id_range); unset disables them.
	StreamIDRange StreamRange
	// DescriptorStreamIDRange and ControlStreamIDRange hold per-consumer
	// descriptor and control stream ids (driver.descriptor_stream_id_range,
	// driver.control_stream_id_range); unset declines per-consumer streams.
	DescriptorStreamIDRange StreamRange
	ControlStreamIDRange    StreamRange
}

// SHMConfig is the [shm] table.
type SHMConfig struct {
	// BaseDir is the root of the SHM backing files (shm.base_dir, default
	// "/dev/shm/tensorpool"); absolute.
	BaseDir string
	// Namespace is the directory level below tensorpool-<user>
	// (shm.namespace, default "default"; wire spec 15.21a.3).
	Namespace string
	// RequireHugepages is the hugepage policy for attach requests that
	// leave it unspecified (shm.require_hugepages, default false).
	RequireHugepages bool
	// PageSizeBytes is the backing page size used for validation
	// (shm.page_size_bytes, default 4096); a power of two.
	PageSizeBytes uint32
	// PermissionsMode is the mode of created files (shm.permissions_mode,
	// default 0660). It may not grant anything to other users.
	PermissionsMode os.FileMode
	// AllowedBaseDirs is the allow-list for region URIs
	// (shm.allowed_base_dirs). Empty: [BaseDir].
	AllowedBaseDirs []string
}

// PolicyConfig is the [policies] table. Durations are whole milliseconds
// (the TOML keys are in ms), except EpochGCMinAge (ns).
type PolicyConfig struct {
	// AllowDynamicStreams allows attach requests for streams that are not
	// configured (policies.allow_dynamic_streams, default false); they get
	// ids from Driver.StreamIDRange and the DefaultProfile. With the range
	// unset, such requests are rejected with INVALID_PARAMS (section 11; see
	// Warnings).
	AllowDynamicStreams bool
	// DefaultProfile is the profile of dynamic streams
	// (policies.default_profile). Empty: the first profile.
	DefaultProfile string
	// AnnouncePeriod is the ShmPoolAnnounce cadence
	// (policies.announce_period_ms, default 1 s).
	AnnouncePeriod time.Duration
	// LeaseKeepaliveInterval is the client keepalive interval
	// (policies.lease_keepalive_interval_ms, default 1 s).
	LeaseKeepaliveInterval time.Duration
	// LeaseExpiryGraceIntervals is how many keepalive intervals may be
	// missed before a lease expires (policies.lease_expiry_grace_intervals,
	// default 3).
	LeaseExpiryGraceIntervals uint32
	// PrefaultSHM prefaults and zeroes regions on create
	// (policies.prefault_shm, default true).
	PrefaultSHM bool
	// MlockSHM locks created regions in memory; failure is fatal
	// (policies.mlock_shm, default false).
	MlockSHM bool
	// EpochGCEnabled enables garbage collection of old epoch directories
	// (policies.epoch_gc_enabled, default true).
	EpochGCEnabled bool
	// EpochGCKeep is how many epochs to keep, the current one included
	// (policies.epoch_gc_keep, default 2).
	EpochGCKeep uint32
	// EpochGCMinAge is the minimum age of an epoch before it is deleted
	// (policies.epoch_gc_min_age_ns). Zero: 3 x AnnouncePeriod.
	EpochGCMinAge time.Duration
	// EpochGCOnStartup runs the GC when the driver starts
	// (policies.epoch_gc_on_startup, default false).
	EpochGCOnStartup bool
	// ShutdownTimeout is the drain period of a shutdown
	// (policies.shutdown_timeout_ms, default 2 s).
	ShutdownTimeout time.Duration
	// ShutdownToken must match a ShmDriverShutdownRequest's token for the
	// driver to accept it (policies.shutdown_token). Empty: remote shutdown
	// is disabled.
	ShutdownToken string
	// NodeIDReuseCooldown is how long a released node id stays unused
	// (policies.node_id_reuse_cooldown_ms, as tensor_pool_c; default 1 s).
	NodeIDReuseCooldown time.Duration
}

// Profile is one [profiles.<name>] table: the SHM layout of a stream.
type Profile struct {
	Name string
	// HeaderNslots is the header ring's slot count, a power of two
	// (profiles.<name>.header_nslots, default 1024 in a file).
	HeaderNslots uint32
	// PayloadPools, at least one, with unique pool ids.
	PayloadPools []PoolSpec
}

// PoolSpec is one entry of profiles.<name>.payload_pools. Each pool has
// HeaderNslots slots.
type PoolSpec struct {
	PoolID uint16
	// StrideBytes is the slot size: a power of two and a multiple of 64
	// (NOTES.md decision 1).
	StrideBytes uint32
}

// StreamConfig is one [streams.<name>] table: a statically configured
// stream.
type StreamConfig struct {
	Name     string
	StreamID uint32
	Profile  string // a Profile's Name
}

// StreamRange is an inclusive range of stream ids. The zero value is unset.
type StreamRange struct {
	First, Last uint32
	Set         bool
}

// Range returns the set range [first, last].
func Range(first, last uint32) StreamRange { return StreamRange{First: first, Last: last, Set: true} }

// Contains reports whether id is in the (set) range.
func (r StreamRange) Contains(id uint32) bool { return r.Set && id >= r.First && id <= r.Last }

// Len is the number of ids in the range (0 when unset or reversed).
func (r StreamRange) Len() uint64 {
	if !r.Set || r.First > r.Last {
		return 0
	}
	return uint64(r.Last) - uint64(r.First) + 1
}

// Overlaps reports whether two set ranges share an id.
func (r StreamRange) Overlaps(o StreamRange) bool {
	return r.Set && o.Set && r.First <= o.Last && o.First <= r.Last
}

// String formats the range as section 17 writes it, "20000-29999"; unset
// is "".
func (r StreamRange) String() string {
	if !r.Set {
		return ""
	}
	return strconv.FormatUint(uint64(r.First), 10) + "-" + strconv.FormatUint(uint64(r.Last), 10)
}

// ErrRange is returned (wrapped) by ParseStreamRange.
var ErrRange = errors.New(`stream id range is not "FIRST-LAST"`)

// ParseStreamRange reads "FIRST-LAST" (inclusive, decimal uint32s; spaces
// around the numbers allowed). "" is the unset range. It does not check
// FIRST <= LAST; Validate does.
func ParseStreamRange(s string) (StreamRange, error) {
	if strings.TrimSpace(s) == "" {
		return StreamRange{}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return StreamRange{}, fmt.Errorf("%q: %w", s, ErrRange)
	}
	first, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 32)
	last, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 32)
	if err1 != nil || err2 != nil {
		return StreamRange{}, fmt.Errorf("%q: %w", s, ErrRange)
	}
	return Range(uint32(first), uint32(last)), nil
}

// DefaultConfig returns the defaults of section 17 plus a built-in profile
// and stream, so that a driver without a configuration file serves the
// demo: profile "default" (64 header slots, one pool of 1 MiB slots, id 1)
// and the static stream "default" with id 10000. Dynamic streams are off.
// Derived defaults are left zero (see WithDefaults). Each call returns new
// slices.
func DefaultConfig() Config {
	return Config{
		Driver: DriverConfig{
			InstanceID:      DefaultInstanceID,
			ControlChannel:  DefaultChannel,
			ControlStreamID: DefaultControlStreamID,
			QoSChannel:      DefaultChannel,
			QoSStreamID:     DefaultQoSStreamID,
		},
		SHM: SHMConfig{
			BaseDir:         DefaultBaseDir,
			Namespace:       DefaultNamespace,
			PageSizeBytes:   DefaultPageSizeBytes,
			PermissionsMode: DefaultPermissionsMode,
		},
		Policies: PolicyConfig{
			AnnouncePeriod:            DefaultAnnouncePeriod,
			LeaseKeepaliveInterval:    DefaultKeepaliveInterval,
			LeaseExpiryGraceIntervals: DefaultExpiryGraceIntervals,
			PrefaultSHM:               true,
			EpochGCEnabled:            true,
			EpochGCKeep:               DefaultEpochGCKeep,
			ShutdownTimeout:           DefaultShutdownTimeout,
			NodeIDReuseCooldown:       DefaultNodeIDReuseCooldown,
		},
		Profiles: []Profile{{
			Name:         DefaultProfileName,
			HeaderNslots: defaultProfileNslots,
			PayloadPools: []PoolSpec{{PoolID: 1, StrideBytes: defaultPoolStride}},
		}},
		Streams: []StreamConfig{{Name: DefaultStreamName, StreamID: DefaultStreamID, Profile: DefaultProfileName}},
	}
}

// WithDefaults returns c with the derived defaults filled in where their
// field is zero: the announce channel and stream id are the control
// channel and stream id, the epoch GC minimum age is 3 x the announce
// period, the allowed base directories are [base dir], and the default
// profile is the first profile. Slices are copied, so the result shares
// nothing with c.
func (c Config) WithDefaults() Config {
	c = c.clone()
	if c.Driver.AnnounceChannel == "" {
		c.Driver.AnnounceChannel = c.Driver.ControlChannel
	}
	if c.Driver.AnnounceStreamID == 0 {
		c.Driver.AnnounceStreamID = c.Driver.ControlStreamID
	}
	if c.Policies.EpochGCMinAge == 0 {
		c.Policies.EpochGCMinAge = 3 * c.Policies.AnnouncePeriod
	}
	if len(c.SHM.AllowedBaseDirs) == 0 && c.SHM.BaseDir != "" {
		c.SHM.AllowedBaseDirs = []string{c.SHM.BaseDir}
	}
	if c.Policies.DefaultProfile == "" && len(c.Profiles) > 0 {
		c.Policies.DefaultProfile = c.Profiles[0].Name
	}
	return c
}

// clone copies every slice of c.
func (c Config) clone() Config {
	c.SHM.AllowedBaseDirs = slices.Clone(c.SHM.AllowedBaseDirs)
	c.Profiles = slices.Clone(c.Profiles)
	for i := range c.Profiles {
		c.Profiles[i].PayloadPools = slices.Clone(c.Profiles[i].PayloadPools)
	}
	c.Streams = slices.Clone(c.Streams)
	return c
}

// Profile returns the profile named name.
func (c *Config) Profile(name string) (Profile, bool) {
	for _, p := range c.Profiles {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// ErrInvalidConfig is wrapped by every problem Validate reports.
var ErrInvalidConfig = errors.New("driver: invalid config")

// ConfigError is one problem found by Validate, at the TOML key Key (for
// example "policies.epoch_gc_keep" or
// "profiles.camera.payload_pools[0].stride_bytes").
type ConfigError struct {
	Key     string
	Problem string
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Problem }

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// ConfigErrors returns the ConfigErrors inside an error returned by
// Validate, in order.
func ConfigErrors(err error) []*ConfigError {
	var out []*ConfigError
	var walk func(error)
	walk = func(err error) {
		if ce, ok := err.(*ConfigError); ok {
			out = append(out, ce)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// Validate checks c.WithDefaults() and returns every problem found, each a
// *ConfigError naming its TOML key, joined with errors.Join; nil if there
// are none. errors.Is(err, ErrInvalidConfig) holds for any of them.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var v validator
	v.driver(&c)
	v.shm(&c.SHM)
	v.policies(&c.Policies)
	v.profiles(c.Profiles)
	v.streams(&c)
	v.ranges(&c)
	if c.Policies.DefaultProfile != "" {
		if _, ok := c.Profile(c.Policies.DefaultProfile); !ok {
			v.addf("policies.default_profile", "profile %q is not defined", c.Policies.DefaultProfile)
		}
	}
	return errors.Join(v.errs...)
}

// Warnings returns what is valid but probably not meant, each naming its
// key: dynamic streams allowed without a stream id range (the driver then
// rejects every dynamic attach with INVALID_PARAMS, as section 11 allows;
// AeronTensorPool.jl's camera example is such a file).
func (c Config) Warnings() []*ConfigError {
	c = c.WithDefaults()
	var w []*ConfigError
	if c.Policies.AllowDynamicStreams && c.Driver.StreamIDRange.Len() == 0 {
		w = append(w, &ConfigError{Key: "driver.stream_id_range",
			Problem: "unset, so with policies.allow_dynamic_streams = true every attach to an unconfigured stream is rejected with INVALID_PARAMS"})
	}
	return w
}

type validator struct{ errs []error }

func (v *validator) addf(key, format string, args ...any) {
	v.errs = append(v.errs, &ConfigError{Key: key, Problem: fmt.Sprintf(format, args...)})
}

func (v *validator) channel(key, ch string) {
	if !strings.HasPrefix(ch, "aeron:") {
		v.addf(key, "%q is not an Aeron channel (aeron:ipc... or aeron:udp...)", ch)
	}
}

// streamID checks an Aeron stream id: Aeron's are int32, the spec's
// uint32, so tpool takes 1..2^31-1.
func (v *validator) streamID(key string, id uint32) {
	if id == 0 || id > math.MaxInt32 {
		v.addf(key, "%d is not a stream id in 1..%d", id, math.MaxInt32)
	}
}

func (v *validator) driver(c *Config) {
	d := &c.Driver
	if d.InstanceID == "" {
		v.addf("driver.instance_id", "must not be empty")
	}
	v.channel("driver.control_channel", d.ControlChannel)
	v.streamID("driver.control_stream_id", d.ControlStreamID)
	v.channel("driver.announce_channel", d.AnnounceChannel)
	v.streamID("driver.announce_stream_id", d.AnnounceStreamID)
	v.channel("driver.qos_channel", d.QoSChannel)
	v.streamID("driver.qos_stream_id", d.QoSStreamID)
}

func (v *validator) shm(s *SHMConfig) {
	if !filepath.IsAbs(s.BaseDir) {
		v.addf("shm.base_dir", "%q is not an absolute path", s.BaseDir)
	}
	if s.Namespace == "" || s.Namespace == "." || s.Namespace == ".." || strings.ContainsAny(s.Namespace, "/\x00") {
		v.addf("shm.namespace", "%q is not a single directory name", s.Namespace)
	}
	if s.PageSizeBytes == 0 || s.PageSizeBytes&(s.PageSizeBytes-1) != 0 {
		v.addf("shm.page_size_bytes", "%d is not a power of two", s.PageSizeBytes)
	}
	m := s.PermissionsMode
	switch {
	case m&^os.ModePerm != 0:
		v.addf("shm.permissions_mode", "%q has bits other than permissions", formatMode(m))
	case m&0o007 != 0:
		v.addf("shm.permissions_mode", "%q grants access to other users (C clients refuse such files)", formatMode(m))
	case m&0o600 != 0o600:
		v.addf("shm.permissions_mode", "%q must let the owner read and write", formatMode(m))
	}
	contained := false
	for i, d := range s.AllowedBaseDirs {
		if !filepath.IsAbs(d) {
			v.addf(fmt.Sprintf("shm.allowed_base_dirs[%d]", i), "%q is not an absolute path", d)
			continue
		}
		if within(s.BaseDir, d) {
			contained = true
		}
	}
	if filepath.IsAbs(s.BaseDir) && !contained {
		v.addf("shm.allowed_base_dirs", "must contain shm.base_dir %q", s.BaseDir)
	}
}

// within reports whether path is dir or below it (lexically).
func within(path, dir string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

func formatMode(m os.FileMode) string { return strconv.FormatUint(uint64(m), 8) }

func (v *validator) millis(key string, d time.Duration, min time.Duration) {
	switch {
	case d < min:
		v.addf(key, "%v is below the minimum %v", d, min)
	case d%time.Millisecond != 0:
		v.addf(key, "%v is not a whole number of milliseconds", d)
	case d/time.Millisecond > math.MaxUint32:
		v.addf(key, "%v is too long", d)
	}
}

func (v *validator) policies(p *PolicyConfig) {
	v.millis("policies.announce_period_ms", p.AnnouncePeriod, time.Millisecond)
	v.millis("policies.lease_keepalive_interval_ms", p.LeaseKeepaliveInterval, time.Millisecond)
	if p.LeaseExpiryGraceIntervals < 1 {
		v.addf("policies.lease_expiry_grace_intervals", "must be at least 1")
	}
	if p.EpochGCKeep < 1 {
		v.addf("policies.epoch_gc_keep", "must be at least 1")
	}
	if p.EpochGCMinAge < 0 {
		v.addf("policies.epoch_gc_min_age_ns", "must not be negative")
	}
	v.millis("policies.shutdown_timeout_ms", p.ShutdownTimeout, 0)
	v.millis("policies.node_id_reuse_cooldown_ms", p.NodeIDReuseCooldown, 0)
}

func (v *validator) profiles(ps []Profile) {
	if len(ps) == 0 {
		v.addf("profiles", "at least one profile must be defined")
	}
	seen := map[string]bool{}
	for _, p := range ps {
		key := "profiles." + p.Name
		switch {
		case p.Name == "":
			v.addf("profiles", "a profile has an empty name")
		case seen[p.Name]:
			v.addf(key, "defined twice")
		}
		seen[p.Name] = true
		if p.HeaderNslots == 0 || p.HeaderNslots&(p.HeaderNslots-1) != 0 {
			v.addf(key+".header_nslots", "%d is not a power of two", p.HeaderNslots)
		}
		if len(p.PayloadPools) == 0 {
			v.addf(key+".payload_pools", "must contain at least one pool")
		}
		ids := map[uint16]bool{}
		for i, pp := range p.PayloadPools {
			pk := fmt.Sprintf("%s.payload_pools[%d]", key, i)
			if ids[pp.PoolID] {
				v.addf(pk+".pool_id", "pool id %d is used twice in this profile", pp.PoolID)
			}
			ids[pp.PoolID] = true
			if err := pool.CheckProducerStride(pp.StrideBytes); err != nil {
				v.addf(pk+".stride_bytes", "%d is not a power of two and a multiple of %d", pp.StrideBytes, pool.StrideAlign)
			}
		}
	}
}

// controlIDs are the driver's own stream ids, with their keys.
func controlIDs(d *DriverConfig) []struct {
	key string
	id  uint32
} {
	return []struct {
		key string
		id  uint32
	}{
		{"driver.control_stream_id", d.ControlStreamID},
		{"driver.announce_stream_id", d.AnnounceStreamID},
		{"driver.qos_stream_id", d.QoSStreamID},
	}
}

func (v *validator) streams(c *Config) {
	names := map[string]bool{}
	ids := map[uint32]string{}
	for _, s := range c.Streams {
		key := "streams." + s.Name
		switch {
		case s.Name == "":
			v.addf("streams", "a stream has an empty name")
		case names[s.Name]:
			v.addf(key, "defined twice")
		}
		names[s.Name] = true
		v.streamID(key+".stream_id", s.StreamID)
		if other, dup := ids[s.StreamID]; dup {
			v.addf(key+".stream_id", "%d is also the id of streams.%s", s.StreamID, other)
		} else {
			ids[s.StreamID] = s.Name
		}
		for _, ctl := range controlIDs(&c.Driver) {
			if s.StreamID == ctl.id {
				v.addf(key+".stream_id", "%d is also %s", s.StreamID, ctl.key)
			}
		}
		if _, ok := c.Profile(s.Profile); !ok {
			v.addf(key+".profile", "profile %q is not defined", s.Profile)
		}
	}
}

func (v *validator) ranges(c *Config) {
	rs := []struct {
		key string
		r   StreamRange
	}{
		{"driver.stream_id_range", c.Driver.StreamIDRange},
		{"driver.descriptor_stream_id_range", c.Driver.DescriptorStreamIDRange},
		{"driver.control_stream_id_range", c.Driver.ControlStreamIDRange},
	}
	for i, a := range rs {
		if !a.r.Set {
			continue
		}
		if a.r.First > a.r.Last {
			v.addf(a.key, "%q is empty: first id above last", a.r.String())
			continue
		}
		if a.r.First == 0 || a.r.Last > math.MaxInt32 {
			v.addf(a.key, "%q is not within 1..%d", a.r.String(), math.MaxInt32)
		}
		for _, b := range rs[:i] {
			if a.r.Overlaps(b.r) {
				v.addf(a.key, "%q overlaps %s %q", a.r.String(), b.key, b.r.String())
			}
		}
		for _, ctl := range controlIDs(&c.Driver) {
			if a.r.Contains(ctl.id) {
				v.addf(a.key, "%q contains %s %d", a.r.String(), ctl.key, ctl.id)
			}
		}
		for _, s := range c.Streams {
			if a.r.Contains(s.StreamID) {
				v.addf(a.key, "%q contains streams.%s.stream_id %d", a.r.String(), s.Name, s.StreamID)
			}
		}
	}
}
