package tomlconfig

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/tpool-go/tpool/runtime/driver"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// The other implementations' example files load unchanged.
func TestReferenceExamples(t *testing.T) {
	tests := []struct {
		file        string
		ignored     []string
		warnings    []string
		profiles    []string
		streams     []string
		check       func(*testing.T, driver.Config)
		description string
	}{
		{
			file:     "jl_driver_camera_example.toml",
			warnings: []string{"driver.stream_id_range"},
			profiles: []string{"raw_profile", "processed_profile"},
			streams:  []string{"cam1", "cam2", "cam3", "proc1", "proc2", "proc3"},
			check: func(t *testing.T, c driver.Config) {
				if !c.Policies.AllowDynamicStreams || c.Policies.DefaultProfile != "raw_profile" {
					t.Errorf("policies = %+v", c.Policies)
				}
				want := driver.Profile{Name: "processed_profile", HeaderNslots: 512, PayloadPools: []driver.PoolSpec{{PoolID: 1, StrideBytes: 524288}, {PoolID: 2, StrideBytes: 2097152}}}
				if diff := cmp.Diff(want, c.Profiles[1]); diff != "" {
					t.Errorf("processed_profile (-want +got):\n%s", diff)
				}
				if c.SHM.BaseDir != "/dev/shm" || !slices.Equal(c.SHM.AllowedBaseDirs, []string{"/dev/shm"}) {
					t.Errorf("shm = %+v", c.SHM)
				}
				if c.Driver.AnnounceStreamID != 1001 || c.Policies.ShutdownTimeout != 2*time.Second {
					t.Errorf("announce stream %d, shutdown timeout %v", c.Driver.AnnounceStreamID, c.Policies.ShutdownTimeout)
				}
			},
		},
		{
			file:     "jl_driver_integration_example.toml",
			profiles: []string{"camera"},
			streams:  []string{"cam1"},
			check: func(t *testing.T, c driver.Config) {
				if c.Driver.DescriptorStreamIDRange != driver.Range(31000, 31999) || c.Driver.ControlStreamIDRange != driver.Range(32000, 32999) || c.Driver.StreamIDRange.Set {
					t.Errorf("ranges = %+v", c.Driver)
				}
				if c.Profiles[0].HeaderNslots != 64 || c.Profiles[0].PayloadPools[0] != (driver.PoolSpec{PoolID: 1, StrideBytes: 1 << 20}) {
					t.Errorf("camera = %+v", c.Profiles[0])
				}
			},
		},
		{
			file:     "tpc_driver_integration_example.toml",
			ignored:  []string{"supervisor"},
			profiles: []string{"camera"},
			streams:  []string{"cam1"},
			check: func(t *testing.T, c driver.Config) {
				if c.Driver.StreamIDRange != driver.Range(20000, 29999) || c.Policies.NodeIDReuseCooldown != time.Second {
					t.Errorf("range %v, cooldown %v", c.Driver.StreamIDRange, c.Policies.NodeIDReuseCooldown)
				}
				if c.SHM.Namespace != "default" || c.Driver.InstanceID != "driver-example" {
					t.Errorf("namespace %q, instance %q", c.SHM.Namespace, c.Driver.InstanceID)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c, ignored, err := Load(filepath.Join("testdata", tt.file), nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			var ig []string
			for _, i := range ignored {
				ig = append(ig, i.Key)
				if i.Line == 0 || i.Why == "" {
					t.Errorf("ignored %+v has no line or reason", i)
				}
			}
			if diff := cmp.Diff(tt.ignored, ig); diff != "" {
				t.Errorf("ignored (-want +got):\n%s", diff)
			}
			var w []string
			for _, x := range c.Warnings() {
				w = append(w, x.Key)
			}
			if diff := cmp.Diff(tt.warnings, w); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			var ps, ss []string
			for _, p := range c.Profiles {
				ps = append(ps, p.Name)
			}
			for _, s := range c.Streams {
				ss = append(ss, s.Name)
			}
			if !slices.Equal(ps, tt.profiles) || !slices.Equal(ss, tt.streams) {
				t.Errorf("profiles %q streams %q, want %q %q (file order)", ps, ss, tt.profiles, tt.streams)
			}
			tt.check(t, c)
			roundTrip(t, c)
		})
	}
}

// roundTrip checks that Marshal(c) parses back to c.
func roundTrip(t *testing.T, c driver.Config) {
	t.Helper()
	b, err := Marshal(c)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back, _, err := Parse("marshalled", b, nil)
	if err != nil {
		t.Fatalf("Parse(Marshal(c)): %v\n%s", err, b)
	}
	if diff := cmp.Diff(c, back, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip (-before +after):\n%s\n%s", diff, b)
	}
}

func TestDefaultGolden(t *testing.T) {
	c, _, err := Parse("empty", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(driver.DefaultConfig().WithDefaults(), c); diff != "" {
		t.Errorf("an empty file is not the default (-want +got):\n%s", diff)
	}
	got, err := Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "default.golden.toml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Marshal(default) differs from %s (go test -update):\n%s", golden, cmp.Diff(string(want), string(got)))
	}
	roundTrip(t, c)
}

// Every key of section 17 is read (and written).
func TestSection17Keys(t *testing.T) {
	spec := []string{
		"driver.instance_id", "driver.control_channel", "driver.control_stream_id", "shm.base_dir",
		"driver.aeron_dir", "driver.announce_channel", "driver.announce_stream_id", "driver.qos_channel",
		"driver.qos_stream_id", "driver.stream_id_range", "driver.descriptor_stream_id_range",
		"driver.control_stream_id_range", "shm.require_hugepages", "shm.page_size_bytes",
		"shm.permissions_mode", "shm.allowed_base_dirs", "policies.allow_dynamic_streams",
		"policies.default_profile", "policies.announce_period_ms", "policies.lease_keepalive_interval_ms",
		"policies.lease_expiry_grace_intervals", "policies.prefault_shm", "policies.mlock_shm",
		"policies.epoch_gc_enabled", "policies.epoch_gc_keep", "policies.epoch_gc_min_age_ns",
		"policies.epoch_gc_on_startup", "policies.shutdown_timeout_ms", "policies.shutdown_token",
	}
	keys := EnvKeys()
	b, err := Marshal(driver.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range spec {
		if !slices.Contains(keys, k) {
			t.Errorf("key %s is not read", k)
		}
		_, name, _ := strings.Cut(k, ".")
		if !bytes.Contains(b, []byte("\n"+name+" = ")) {
			t.Errorf("key %s is not written", k)
		}
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name  string
		toml  string
		check func(driver.Config) bool
	}{
		{"range as string", "[driver]\nstream_id_range = \"20000-20009\"\n", func(c driver.Config) bool { return c.Driver.StreamIDRange == driver.Range(20000, 20009) }},
		{"range as array", "[driver]\nstream_id_range = [20000, 20009]\n", func(c driver.Config) bool { return c.Driver.StreamIDRange == driver.Range(20000, 20009) }},
		{"empty range array", "[driver]\nstream_id_range = []\n", func(c driver.Config) bool { return !c.Driver.StreamIDRange.Set }},
		{"mode 0660", "[shm]\npermissions_mode = \"0660\"\n", func(c driver.Config) bool { return c.SHM.PermissionsMode == 0o660 }},
		{"mode 0o600", "[shm]\npermissions_mode = \"0o600\"\n", func(c driver.Config) bool { return c.SHM.PermissionsMode == 0o600 }},
		{"durations", "[policies]\nannounce_period_ms = 250\nepoch_gc_min_age_ns = 5\n", func(c driver.Config) bool {
			return c.Policies.AnnouncePeriod == 250*time.Millisecond && c.Policies.EpochGCMinAge == 5
		}},
		{"derived gc age", "[policies]\nannounce_period_ms = 250\n", func(c driver.Config) bool { return c.Policies.EpochGCMinAge == 750*time.Millisecond }},
		{"derived announce", "[driver]\ncontrol_stream_id = 2000\n", func(c driver.Config) bool { return c.Driver.AnnounceStreamID == 2000 }},
		{"header_nslots default", "[profiles.p]\npayload_pools = [{pool_id = 1, stride_bytes = 64}]\n[streams.s]\nstream_id = 10000\nprofile = \"p\"\n", func(c driver.Config) bool {
			return len(c.Profiles) == 1 && c.Profiles[0].HeaderNslots == 1024
		}},
		{"profiles only: no built-in stream", "[profiles.p]\npayload_pools = [{pool_id = 1, stride_bytes = 64}]\n", func(c driver.Config) bool {
			return len(c.Streams) == 0 && c.Policies.DefaultProfile == "p"
		}},
		{"dotted keys", "driver.instance_id = \"x\"\n[profiles]\np.header_nslots = 8\np.payload_pools = [{pool_id = 3, stride_bytes = 128}]\n", func(c driver.Config) bool {
			return c.Driver.InstanceID == "x" && c.Profiles[0].PayloadPools[0].PoolID == 3
		}},
		{"dotted keys keep file order", "[profiles]\nz.payload_pools = [{pool_id = 1, stride_bytes = 64}]\na.payload_pools = [{pool_id = 1, stride_bytes = 64}]\n", func(c driver.Config) bool {
			return len(c.Profiles) == 2 && c.Profiles[0].Name == "z" && c.Policies.DefaultProfile == "z"
		}},
		{"foreign keys ignored", "[policies]\nreuse_existing_shm = true\ncleanup_shm_on_exit = false\n[profiles.p]\nheader_slot_bytes = 256\npayload_pools = [{pool_id = 1, stride_bytes = 64}]\n", func(c driver.Config) bool { return true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse("t.toml", []byte(tt.toml), nil)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config: %+v", c)
			}
			roundTrip(t, c)
		})
	}
}

const goodTail = "\n[profiles.p]\npayload_pools = [{pool_id = 1, stride_bytes = 64}]\n[streams.s]\nstream_id = 10000\nprofile = \"p\"\n"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		toml string
		want []string // each error's text, in order
	}{
		{"unknown key with suggestion", "[policies]\nepoch_gc_kep = 3\n",
			[]string{"t.toml:2:1: policies.epoch_gc_kep: unknown key (did you mean epoch_gc_keep?)"}},
		{"unknown key without suggestion", "[driver]\nfrobnicate = 1\n",
			[]string{"t.toml:2:1: driver.frobnicate: unknown key"}},
		{"unknown section", "[polices]\nannounce_period_ms = 5\n",
			[]string{"t.toml:1:2: polices: unknown key (did you mean policies?)"}},
		{"unknown dotted section", "x = 1\npolices.announce_period_ms = 5\n",
			[]string{"t.toml:1:1: x: unknown key", "t.toml:2:1: polices: unknown key (did you mean policies?)"}},
		{"unknown profile key", "[profiles.p]\nheader_nslot = 8\npayload_pools = [{pool_id = 1, stride_bytes = 64}]\n",
			[]string{"t.toml:2:1: profiles.p.header_nslot: unknown key (did you mean header_nslots?)"}},
		{"unknown pool key in array table", "[profiles.p]\n[[profiles.p.payload_pools]]\npool_id = 1\nstride_bytes = 64\n[[profiles.p.payload_pools]]\npool_id = 2\nstride = 64\n",
			[]string{"t.toml:5:3: profiles.p.payload_pools[1]: missing stride_bytes", "t.toml:7:1: profiles.p.payload_pools[1].stride: unknown key (did you mean stride_bytes?)"}},
		{"unknown stream key", "[profiles.p]\npayload_pools = [{pool_id = 1, stride_bytes = 64}]\n[streams.s]\nstreamid = 10000\nprofile = \"p\"\n",
			[]string{"t.toml:3:2: streams.s: missing stream_id", "t.toml:4:1: streams.s.streamid: unknown key (did you mean stream_id?)"}},
		{"wrong type", "[driver]\ncontrol_stream_id = \"1000\"\n",
			[]string{`t.toml:2:1: driver.control_stream_id: want an integer in 0..4294967295, got string "1000"`}},
		{"negative", "[policies]\nepoch_gc_keep = -1\n",
			[]string{"t.toml:2:1: policies.epoch_gc_keep: want an integer in 0..4294967295, got integer -1"}},
		{"bool as string", "[shm]\nrequire_hugepages = \"yes\"\n",
			[]string{`t.toml:2:1: shm.require_hugepages: want true or false, got string "yes"`}},
		{"mode as integer", "[shm]\npermissions_mode = 660\n",
			[]string{`t.toml:2:1: shm.permissions_mode: want an octal mode as a string (e.g. "660"), got integer 660`}},
		{"mode not octal", "[shm]\npermissions_mode = \"u+rw\"\n",
			[]string{`t.toml:2:1: shm.permissions_mode: "u+rw" is not an octal permission mode like "660"`}},
		{"bad range", "[driver]\nstream_id_range = \"20000\"\n",
			[]string{`t.toml:2:1: driver.stream_id_range: want "FIRST-LAST" or [FIRST, LAST], got string "20000"`}},
		{"bad range array", "[driver]\nstream_id_range = [1, 2, 3]\n",
			[]string{`t.toml:2:1: driver.stream_id_range: want "FIRST-LAST" or [FIRST, LAST], got an array of 3`}},
		{"dirs element", "[shm]\nallowed_base_dirs = [\"/dev/shm\", 5]\n",
			[]string{"t.toml:2:34: shm.allowed_base_dirs[1]: want a string, got integer 5"}},
		{"pool id too big", "[profiles.p]\npayload_pools = [{pool_id = 70000, stride_bytes = 64}]\n",
			[]string{"t.toml:2:19: profiles.p.payload_pools[0].pool_id: want an integer in 0..65535, got integer 70000"}},
		{"payload_pools not array", "[profiles.p]\npayload_pools = 1\n",
			[]string{"t.toml:2:1: profiles.p.payload_pools: want an array of tables with pool_id and stride_bytes, got integer 1"}},
		{"missing payload pools", "[profiles.p]\nheader_nslots = 8\n",
			[]string{"t.toml:1:2: profiles.p: missing payload_pools (at least one pool: [[profiles.p.payload_pools]] with pool_id and stride_bytes)"}},
		{"table expected", "driver = 5\n",
			[]string{"t.toml:1:1: driver: want a table, got integer 5"}},
		{"syntax error", "[driver]\ncontrol_stream_id = = 3\n",
			[]string{"t.toml:2:21: "}},
		{"duplicate key", "[driver]\ninstance_id = \"a\"\ninstance_id = \"b\"\n",
			[]string{"t.toml:3:1: "}},
		// Validate's problems, placed at their keys' lines.
		{"validate: stride", "[profiles.p]\n[[profiles.p.payload_pools]]\npool_id = 1\nstride_bytes = 100\n",
			[]string{"t.toml:4:1: profiles.p.payload_pools[0].stride_bytes: 100 is not a power of two and a multiple of 64"}},
		{"validate: stream profile", "[driver]\ninstance_id = \"x\"\n" + "[profiles.p]\npayload_pools = [{pool_id = 1, stride_bytes = 64}]\n[streams.s]\nstream_id = 10000\nprofile = \"q\"\n",
			[]string{`t.toml:7:1: streams.s.profile: profile "q" is not defined`}},
		{"validate: ranges", "[driver]\nstream_id_range = \"900-1300\"\n" + goodTail,
			[]string{
				`t.toml:2:1: driver.stream_id_range: "900-1300" contains driver.control_stream_id 1000`,
				`t.toml:2:1: driver.stream_id_range: "900-1300" contains driver.announce_stream_id 1000`,
				`t.toml:2:1: driver.stream_id_range: "900-1300" contains driver.qos_stream_id 1200`,
			}},
		{"validate: derived key without a line", "[shm]\nbase_dir = \"relative\"\n",
			[]string{`t.toml:1:2: shm.allowed_base_dirs[0]: "relative" is not an absolute path`, `t.toml:2:1: shm.base_dir: "relative" is not an absolute path`}},
		{"several problems sorted by line", "[policies]\nepoch_gc_keep = 0\n[driver]\nqos_stream_id = 0\n",
			[]string{"t.toml:2:1: policies.epoch_gc_keep: must be at least 1", "t.toml:4:1: driver.qos_stream_id: 0 is not a stream id in 1..2147483647"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse("t.toml", []byte(tt.toml), nil)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("Parse = %v, want an ErrConfig", err)
			}
			errs := Errors(err)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("error %d:\n got %s\nwant %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestEnv(t *testing.T) {
	file := "[driver]\ncontrol_stream_id = 1000\naeron_dir = \"/from/file\"\n" + goodTail
	tests := []struct {
		name    string
		env     map[string]string
		check   func(driver.Config) bool
		wantErr string
	}{
		{"env wins over the file", map[string]string{"DRIVER_CONTROL_STREAM_ID": "2000"}, func(c driver.Config) bool {
			return c.Driver.ControlStreamID == 2000 && c.Driver.AnnounceStreamID == 2000
		}, ""},
		{"empty variable is unset", map[string]string{"DRIVER_CONTROL_STREAM_ID": ""}, func(c driver.Config) bool { return c.Driver.ControlStreamID == 1000 }, ""},
		{"AERON_DIR is not driver.aeron_dir", map[string]string{"AERON_DIR": "/aeron"}, func(c driver.Config) bool { return c.Driver.AeronDir == "/from/file" }, ""},
		{"DRIVER_AERON_DIR", map[string]string{"AERON_DIR": "/aeron", "DRIVER_AERON_DIR": "/mine"}, func(c driver.Config) bool { return c.Driver.AeronDir == "/mine" }, ""},
		{"bool", map[string]string{"POLICIES_PREFAULT_SHM": "false", "SHM_REQUIRE_HUGEPAGES": "1"}, func(c driver.Config) bool {
			return !c.Policies.PrefaultSHM && c.SHM.RequireHugepages
		}, ""},
		{"duration", map[string]string{"POLICIES_ANNOUNCE_PERIOD_MS": "100"}, func(c driver.Config) bool { return c.Policies.AnnouncePeriod == 100*time.Millisecond }, ""},
		{"list", map[string]string{"SHM_ALLOWED_BASE_DIRS": "/a, /dev/shm"}, func(c driver.Config) bool {
			return slices.Equal(c.SHM.AllowedBaseDirs, []string{"/a", "/dev/shm"})
		}, ""},
		{"range and mode", map[string]string{"DRIVER_STREAM_ID_RANGE": "20000-20099", "SHM_PERMISSIONS_MODE": "600"}, func(c driver.Config) bool {
			return c.Driver.StreamIDRange == driver.Range(20000, 20099) && c.SHM.PermissionsMode == 0o600
		}, ""},
		{"stream and profile keys", map[string]string{"STREAMS_S_STREAM_ID": "10005", "PROFILES_P_HEADER_NSLOTS": "16"}, func(c driver.Config) bool {
			return c.Streams[0].StreamID == 10005 && c.Profiles[0].HeaderNslots == 16
		}, ""},
		{"bad number", map[string]string{"DRIVER_CONTROL_STREAM_ID": "abc"}, nil,
			`environment DRIVER_CONTROL_STREAM_ID: driver.control_stream_id: want an integer in 0..4294967295, got string "abc"`},
		{"bad bool", map[string]string{"POLICIES_MLOCK_SHM": "maybe"}, nil,
			`environment POLICIES_MLOCK_SHM: policies.mlock_shm: want true or false, got string "maybe"`},
		{"invalid value names the variable", map[string]string{"POLICIES_EPOCH_GC_KEEP": "0"}, nil,
			`environment POLICIES_EPOCH_GC_KEEP: policies.epoch_gc_keep: must be at least 1`},
		{"invalid list element", map[string]string{"SHM_ALLOWED_BASE_DIRS": "rel"}, nil,
			`environment SHM_ALLOWED_BASE_DIRS: shm.allowed_base_dirs[0]: "rel" is not an absolute path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse("t.toml", []byte(file), env(tt.env))
			if tt.wantErr != "" {
				got := Errors(err)
				if len(got) == 0 || got[0].Error() != tt.wantErr {
					t.Fatalf("err = %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
	// Without a file, the environment applies to the built-in defaults.
	c, err := FromEnv(env(map[string]string{"DRIVER_INSTANCE_ID": "envd"}))
	if err != nil || c.Driver.InstanceID != "envd" || c.Streams[0].StreamID != driver.DefaultStreamID {
		t.Errorf("FromEnv = %+v, %v", c.Driver, err)
	}
}

func TestEnvName(t *testing.T) {
	for k, want := range map[string]string{
		"driver.control_stream_id":     "DRIVER_CONTROL_STREAM_ID",
		"policies.epoch_gc_min_age_ns": "POLICIES_EPOCH_GC_MIN_AGE_NS",
		"streams.cam-1.stream_id":      "STREAMS_CAM_1_STREAM_ID",
	} {
		if got := EnvName(k); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", k, got, want)
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*driver.Config)
		want   string
	}{
		{"sub-ms duration", func(c *driver.Config) { c.Policies.AnnouncePeriod = 1500 * time.Microsecond }, "marshal policies.announce_period_ms: 1.5ms is not a whole number of 1ms"},
		{"not UTF-8", func(c *driver.Config) { c.Driver.InstanceID = "\xff" }, `marshal driver.instance_id: "\xff" is not UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := driver.DefaultConfig()
			tt.modify(&c)
			if _, err := Marshal(c); err == nil || err.Error() != tt.want {
				t.Errorf("Marshal err = %v, want %s", err, tt.want)
			}
		})
	}
	// Awkward names and strings survive.
	c := driver.DefaultConfig()
	c.Profiles[0].Name = "a.b \"c\""
	c.Streams[0].Profile = c.Profiles[0].Name
	c.Streams[0].Name = "ü"
	c.Policies.ShutdownToken = "tab\there\x01\\"
	roundTrip(t, c.WithDefaults())
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "nope.toml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load = %v, want ErrNotExist", err)
	}
}
