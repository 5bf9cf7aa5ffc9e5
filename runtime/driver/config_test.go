package driver

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	// Section 17's values, spelled out so a changed constant fails here.
	eff := c.WithDefaults()
	checks := []struct {
		key       string
		got, want any
	}{
		{"driver.instance_id", eff.Driver.InstanceID, "driver-01"},
		{"driver.aeron_dir", eff.Driver.AeronDir, ""},
		{"driver.control_channel", eff.Driver.ControlChannel, "aeron:ipc?term-length=4m"},
		{"driver.control_stream_id", eff.Driver.ControlStreamID, uint32(1000)},
		{"driver.announce_channel", eff.Driver.AnnounceChannel, "aeron:ipc?term-length=4m"},
		{"driver.announce_stream_id", eff.Driver.AnnounceStreamID, uint32(1000)},
		{"driver.qos_channel", eff.Driver.QoSChannel, "aeron:ipc?term-length=4m"},
		{"driver.qos_stream_id", eff.Driver.QoSStreamID, uint32(1200)},
		{"driver.stream_id_range", eff.Driver.StreamIDRange, StreamRange{}},
		{"shm.base_dir", eff.SHM.BaseDir, "/dev/shm/tensorpool"},
		{"shm.namespace", eff.SHM.Namespace, "default"},
		{"shm.require_hugepages", eff.SHM.RequireHugepages, false},
		{"shm.page_size_bytes", eff.SHM.PageSizeBytes, uint32(4096)},
		{"shm.permissions_mode", uint32(eff.SHM.PermissionsMode), uint32(0o660)},
		{"shm.allowed_base_dirs", eff.SHM.AllowedBaseDirs, []string{"/dev/shm/tensorpool"}},
		{"policies.allow_dynamic_streams", eff.Policies.AllowDynamicStreams, false},
		{"policies.default_profile", eff.Policies.DefaultProfile, "default"},
		{"policies.announce_period_ms", eff.Policies.AnnouncePeriod, time.Second},
		{"policies.lease_keepalive_interval_ms", eff.Policies.LeaseKeepaliveInterval, time.Second},
		{"policies.lease_expiry_grace_intervals", eff.Policies.LeaseExpiryGraceIntervals, uint32(3)},
		{"policies.prefault_shm", eff.Policies.PrefaultSHM, true},
		{"policies.mlock_shm", eff.Policies.MlockSHM, false},
		{"policies.epoch_gc_enabled", eff.Policies.EpochGCEnabled, true},
		{"policies.epoch_gc_keep", eff.Policies.EpochGCKeep, uint32(2)},
		{"policies.epoch_gc_min_age_ns", eff.Policies.EpochGCMinAge, 3 * time.Second},
		{"policies.epoch_gc_on_startup", eff.Policies.EpochGCOnStartup, false},
		{"policies.shutdown_timeout_ms", eff.Policies.ShutdownTimeout, 2 * time.Second},
		{"policies.shutdown_token", eff.Policies.ShutdownToken, ""},
		{"policies.node_id_reuse_cooldown_ms", eff.Policies.NodeIDReuseCooldown, time.Second},
		{"streams", eff.Streams, []StreamConfig{{Name: "default", StreamID: 10000, Profile: "default"}}},
		{"profiles", eff.Profiles, []Profile{{Name: "default", HeaderNslots: 64, PayloadPools: []PoolSpec{{PoolID: 1, StrideBytes: 1 << 20}}}}},
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.key, diff)
		}
	}
}

func TestDefaultConfigFreshSlices(t *testing.T) {
	a := DefaultConfig()
	a.Profiles[0].PayloadPools[0].StrideBytes = 64
	a.Streams[0].StreamID = 1
	b := DefaultConfig()
	if b.Profiles[0].PayloadPools[0].StrideBytes != 1<<20 || b.Streams[0].StreamID != 10000 {
		t.Fatal("DefaultConfig shares slices between calls")
	}
}

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		check  func(*testing.T, Config)
	}{
		{
			name: "announce follows control",
			modify: func(c *Config) {
				c.Driver.ControlChannel = "aeron:ipc?term-length=8m"
				c.Driver.ControlStreamID = 2000
			},
			check: func(t *testing.T, c Config) {
				if c.Driver.AnnounceChannel != "aeron:ipc?term-length=8m" || c.Driver.AnnounceStreamID != 2000 {
					t.Errorf("announce = %q %d", c.Driver.AnnounceChannel, c.Driver.AnnounceStreamID)
				}
			},
		},
		{
			name:   "explicit announce kept",
			modify: func(c *Config) { c.Driver.AnnounceStreamID = 1001; c.Driver.AnnounceChannel = "aeron:ipc" },
			check: func(t *testing.T, c Config) {
				if c.Driver.AnnounceChannel != "aeron:ipc" || c.Driver.AnnounceStreamID != 1001 {
					t.Errorf("announce = %q %d", c.Driver.AnnounceChannel, c.Driver.AnnounceStreamID)
				}
			},
		},
		{
			name:   "gc min age follows announce period",
			modify: func(c *Config) { c.Policies.AnnouncePeriod = 250 * time.Millisecond },
			check: func(t *testing.T, c Config) {
				if c.Policies.EpochGCMinAge != 750*time.Millisecond {
					t.Errorf("EpochGCMinAge = %v", c.Policies.EpochGCMinAge)
				}
			},
		},
		{
			name:   "allowed dirs follow base dir",
			modify: func(c *Config) { c.SHM.BaseDir = "/tmp/x" },
			check: func(t *testing.T, c Config) {
				if !slices.Equal(c.SHM.AllowedBaseDirs, []string{"/tmp/x"}) {
					t.Errorf("AllowedBaseDirs = %q", c.SHM.AllowedBaseDirs)
				}
			},
		},
		{
			name: "default profile is the first",
			modify: func(c *Config) {
				c.Profiles = append([]Profile{{Name: "big", HeaderNslots: 8, PayloadPools: []PoolSpec{{1, 64}}}}, c.Profiles...)
			},
			check: func(t *testing.T, c Config) {
				if c.Policies.DefaultProfile != "big" {
					t.Errorf("DefaultProfile = %q", c.Policies.DefaultProfile)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			before := c.clone()
			got := c.WithDefaults()
			tt.check(t, got)
			if diff := cmp.Diff(before, c); diff != "" {
				t.Errorf("WithDefaults changed its receiver:\n%s", diff)
			}
			got.Profiles[0].PayloadPools[0].StrideBytes = 128
			if c.Profiles[0].PayloadPools[0].StrideBytes == 128 {
				t.Error("WithDefaults result shares slices with its receiver")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	twoProfiles := func(c *Config) {
		c.Profiles = append(c.Profiles, Profile{Name: "small", HeaderNslots: 16, PayloadPools: []PoolSpec{{1, 4096}, {2, 65536}}})
	}
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // "key: substring of the problem"; nil = valid
	}{
		{"default", func(*Config) {}, nil},
		{"two profiles and a dynamic range", func(c *Config) {
			twoProfiles(c)
			c.Policies.AllowDynamicStreams = true
			c.Driver.StreamIDRange = Range(20000, 29999)
			c.Driver.DescriptorStreamIDRange = Range(31000, 31999)
			c.Driver.ControlStreamIDRange = Range(32000, 32999)
			c.Policies.DefaultProfile = "small"
		}, nil},
		{"empty instance id", func(c *Config) { c.Driver.InstanceID = "" }, []string{"driver.instance_id: must not be empty"}},
		{"bad channel", func(c *Config) { c.Driver.ControlChannel = "ipc" }, []string{"driver.control_channel: \"ipc\" is not an Aeron channel", "driver.announce_channel: \"ipc\""}},
		{"bad qos channel", func(c *Config) { c.Driver.QoSChannel = "" }, []string{"driver.qos_channel: \"\" is not an Aeron channel"}},
		{"control stream id zero", func(c *Config) { c.Driver.ControlStreamID = 0 }, []string{"driver.control_stream_id: 0 is not a stream id", "driver.announce_stream_id: 0 is not a stream id"}},
		{"stream id beyond int32", func(c *Config) { c.Driver.QoSStreamID = 1 << 31 }, []string{"driver.qos_stream_id: 2147483648 is not a stream id"}},
		{"relative base dir", func(c *Config) { c.SHM.BaseDir = "shm" }, []string{"shm.base_dir: \"shm\" is not an absolute path", "shm.allowed_base_dirs[0]: \"shm\" is not an absolute path"}},
		{"base dir outside allowed dirs", func(c *Config) { c.SHM.AllowedBaseDirs = []string{"/dev/shm/other"} }, []string{"shm.allowed_base_dirs: must contain shm.base_dir \"/dev/shm/tensorpool\""}},
		{"base dir below an allowed dir", func(c *Config) { c.SHM.AllowedBaseDirs = []string{"/tmp", "/dev/shm"} }, nil},
		{"sibling prefix is not containment", func(c *Config) { c.SHM.AllowedBaseDirs = []string{"/dev/shm/tensor"} }, []string{"shm.allowed_base_dirs: must contain"}},
		{"namespace with slash", func(c *Config) { c.SHM.Namespace = "a/b" }, []string{"shm.namespace: \"a/b\" is not a single directory name"}},
		{"namespace dotdot", func(c *Config) { c.SHM.Namespace = ".." }, []string{"shm.namespace"}},
		{"page size not power of two", func(c *Config) { c.SHM.PageSizeBytes = 5000 }, []string{"shm.page_size_bytes: 5000 is not a power of two"}},
		{"mode for others", func(c *Config) { c.SHM.PermissionsMode = 0o664 }, []string{"shm.permissions_mode: \"664\" grants access to other users"}},
		{"mode without owner write", func(c *Config) { c.SHM.PermissionsMode = 0o440 }, []string{"shm.permissions_mode: \"440\" must let the owner read and write"}},
		{"mode with setuid", func(c *Config) { c.SHM.PermissionsMode = 0o660 | 1<<23 }, []string{"shm.permissions_mode"}},
		{"owner-only mode", func(c *Config) { c.SHM.PermissionsMode = 0o600 }, nil},
		{"zero announce period", func(c *Config) { c.Policies.AnnouncePeriod = 0 }, []string{"policies.announce_period_ms: 0s is below the minimum 1ms"}},
		{"sub-ms keepalive", func(c *Config) { c.Policies.LeaseKeepaliveInterval = 1500 * time.Microsecond }, []string{"policies.lease_keepalive_interval_ms: 1.5ms is not a whole number of milliseconds"}},
		{"huge shutdown timeout", func(c *Config) { c.Policies.ShutdownTimeout = 1 << 62 }, []string{"policies.shutdown_timeout_ms: "}},
		{"negative cooldown", func(c *Config) { c.Policies.NodeIDReuseCooldown = -time.Millisecond }, []string{"policies.node_id_reuse_cooldown_ms: -1ms is below the minimum 0s"}},
		{"zero grace", func(c *Config) { c.Policies.LeaseExpiryGraceIntervals = 0 }, []string{"policies.lease_expiry_grace_intervals: must be at least 1"}},
		{"zero gc keep", func(c *Config) { c.Policies.EpochGCKeep = 0 }, []string{"policies.epoch_gc_keep: must be at least 1"}},
		{"negative gc age", func(c *Config) { c.Policies.EpochGCMinAge = -1 }, []string{"policies.epoch_gc_min_age_ns: must not be negative"}},
		{"no profiles", func(c *Config) { c.Profiles = nil; c.Streams = nil }, []string{"profiles: at least one profile must be defined"}},
		{"header slots not power of two", func(c *Config) { c.Profiles[0].HeaderNslots = 100 }, []string{"profiles.default.header_nslots: 100 is not a power of two"}},
		{"header slots zero", func(c *Config) { c.Profiles[0].HeaderNslots = 0 }, []string{"profiles.default.header_nslots: 0 is not a power of two"}},
		{"no pools", func(c *Config) { c.Profiles[0].PayloadPools = nil }, []string{"profiles.default.payload_pools: must contain at least one pool"}},
		{"duplicate pool id", func(c *Config) {
			c.Profiles[0].PayloadPools = append(c.Profiles[0].PayloadPools, PoolSpec{PoolID: 1, StrideBytes: 64})
		}, []string{"profiles.default.payload_pools[1].pool_id: pool id 1 is used twice"}},
		{"stride not multiple of 64", func(c *Config) { c.Profiles[0].PayloadPools[0].StrideBytes = 100 }, []string{"profiles.default.payload_pools[0].stride_bytes: 100 is not a power of two and a multiple of 64"}},
		{"stride multiple of 64 but not power of two", func(c *Config) { c.Profiles[0].PayloadPools[0].StrideBytes = 192 }, []string{"profiles.default.payload_pools[0].stride_bytes: 192"}},
		{"duplicate profile", func(c *Config) { c.Profiles = append(c.Profiles, c.Profiles[0]) }, []string{"profiles.default: defined twice"}},
		{"unnamed profile", func(c *Config) { c.Profiles[0].Name = ""; c.Streams = nil }, []string{"profiles: a profile has an empty name"}},
		{"stream with unknown profile", func(c *Config) { c.Streams[0].Profile = "raw" }, []string{"streams.default.profile: profile \"raw\" is not defined"}},
		{"duplicate stream id", func(c *Config) {
			c.Streams = append(c.Streams, StreamConfig{Name: "two", StreamID: 10000, Profile: "default"})
		}, []string{"streams.two.stream_id: 10000 is also the id of streams.default"}},
		{"duplicate stream name", func(c *Config) {
			c.Streams = append(c.Streams, StreamConfig{Name: "default", StreamID: 10001, Profile: "default"})
		}, []string{"streams.default: defined twice"}},
		{"stream id of control", func(c *Config) { c.Streams[0].StreamID = 1000 }, []string{"streams.default.stream_id: 1000 is also driver.control_stream_id", "streams.default.stream_id: 1000 is also driver.announce_stream_id"}},
		{"stream id zero", func(c *Config) { c.Streams[0].StreamID = 0 }, []string{"streams.default.stream_id: 0 is not a stream id"}},
		{"unknown default profile", func(c *Config) { c.Policies.DefaultProfile = "nope" }, []string{"policies.default_profile: profile \"nope\" is not defined"}},
		{"dynamic without range is valid", func(c *Config) { c.Policies.AllowDynamicStreams = true }, nil},
		{"reversed range", func(c *Config) { c.Driver.StreamIDRange = Range(30000, 20000) }, []string{"driver.stream_id_range: \"30000-20000\" is empty"}},
		{"dynamic with reversed range", func(c *Config) {
			c.Policies.AllowDynamicStreams = true
			c.Driver.StreamIDRange = Range(30000, 20000)
		}, []string{"driver.stream_id_range: \"30000-20000\" is empty"}},
		{"range starting at zero", func(c *Config) { c.Driver.StreamIDRange = Range(0, 10) }, []string{"driver.stream_id_range: \"0-10\" is not within 1..2147483647"}},
		{"overlapping ranges", func(c *Config) {
			c.Driver.StreamIDRange = Range(20000, 29999)
			c.Driver.DescriptorStreamIDRange = Range(29999, 30999)
		}, []string{"driver.descriptor_stream_id_range: \"29999-30999\" overlaps driver.stream_id_range \"20000-29999\""}},
		{"range holding control ids", func(c *Config) { c.Driver.ControlStreamIDRange = Range(900, 1300) }, []string{
			"driver.control_stream_id_range: \"900-1300\" contains driver.control_stream_id 1000",
			"driver.control_stream_id_range: \"900-1300\" contains driver.announce_stream_id 1000",
			"driver.control_stream_id_range: \"900-1300\" contains driver.qos_stream_id 1200",
		}},
		{"range holding a static stream", func(c *Config) { c.Driver.StreamIDRange = Range(10000, 10999) }, []string{"driver.stream_id_range: \"10000-10999\" contains streams.default.stream_id 10000"}},
		{"single-id range", func(c *Config) { c.Driver.StreamIDRange = Range(20000, 20000); c.Policies.AllowDynamicStreams = true }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want an ErrInvalidConfig", err)
			}
			var got []string
			for _, ce := range ConfigErrors(err) {
				got = append(got, ce.Error())
			}
			if len(got) != len(tt.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, w) }) {
					t.Errorf("no problem starting %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
}

func TestStreamRange(t *testing.T) {
	tests := []struct {
		in      string
		want    StreamRange
		wantErr bool
	}{
		{"", StreamRange{}, false},
		{"  ", StreamRange{}, false},
		{"20000-29999", Range(20000, 29999), false},
		{" 1 - 2 ", Range(1, 2), false},
		{"5-5", Range(5, 5), false},
		{"9-1", Range(9, 1), false}, // parses; Validate rejects it
		{"20000", StreamRange{}, true},
		{"a-b", StreamRange{}, true},
		{"-1-5", StreamRange{}, true},
		{"1-4294967296", StreamRange{}, true},
		{"1-2-3", StreamRange{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseStreamRange(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseStreamRange(%q) err = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if tt.wantErr {
				if !errors.Is(err, ErrRange) {
					t.Errorf("err = %v, want ErrRange", err)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("ParseStreamRange(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.Set && got.First <= got.Last {
				back, err := ParseStreamRange(got.String())
				if err != nil || back != got {
					t.Errorf("round trip of %q: %+v, %v", got.String(), back, err)
				}
			}
		})
	}
	r := Range(10, 19)
	for _, c := range []struct {
		name string
		got  bool
		want bool
	}{
		{"contains first", r.Contains(10), true},
		{"contains last", r.Contains(19), true},
		{"contains beyond", r.Contains(20), false},
		{"unset contains nothing", StreamRange{}.Contains(0), false},
		{"overlap at edge", r.Overlaps(Range(19, 30)), true},
		{"adjacent", r.Overlaps(Range(20, 30)), false},
		{"unset overlaps nothing", r.Overlaps(StreamRange{}), false},
		{"len", r.Len() == 10, true},
		{"len reversed", Range(5, 4).Len() == 0, true},
		{"len full", Range(0, 1<<32-1).Len() == 1<<32, true},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v", c.name, c.got)
		}
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string
	}{
		{"default", func(*Config) {}, nil},
		{"dynamic with range", func(c *Config) { c.Policies.AllowDynamicStreams = true; c.Driver.StreamIDRange = Range(20000, 20001) }, nil},
		{"dynamic without range", func(c *Config) { c.Policies.AllowDynamicStreams = true }, []string{"driver.stream_id_range"}},
		{"dynamic with reversed range", func(c *Config) { c.Policies.AllowDynamicStreams = true; c.Driver.StreamIDRange = Range(2, 1) }, []string{"driver.stream_id_range"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			var got []string
			for _, w := range c.Warnings() {
				got = append(got, w.Key)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Warnings keys (-want +got):\n%s", diff)
			}
		})
	}
}
