package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tpool-go/tpool/runtime/driver"
	"github.com/tpool-go/tpool/runtime/driver/tomlconfig"
)

// The test binary re-executed with TPOOLD_TEST_MAIN=1 is tpoold.
func TestMain(m *testing.M) {
	if os.Getenv("TPOOLD_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// tpoold runs the command as a process with the given extra environment
// (keys that section 17 maps are cleared unless given) and returns its
// output and exit code.
func tpoold(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(cleanEnv(), "TPOOLD_TEST_MAIN=1")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run tpoold: %v", err)
	}
	return out.String(), errb.String(), code
}

// cleanEnv is the test's environment without variables tpoold reads.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == tomlconfig.EnvAeronDir || strings.HasPrefix(k, "DRIVER_") || strings.HasPrefix(k, "SHM_") ||
			strings.HasPrefix(k, "POLICIES_") || strings.HasPrefix(k, "PROFILES_") || strings.HasPrefix(k, "STREAMS_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		t.Run(arg, func(t *testing.T) {
			_, stderr, code := tpoold(t, nil, arg)
			if code != 0 {
				t.Errorf("exit %d, want 0", code)
			}
			for _, want := range []string{"Usage:", "-config FILE", "-check-config FILE", "-print-config", "-log-level LEVEL",
				"-metrics-addr HOST:PORT", "SIGTERM", "DRIVER_CONTROL_STREAM_ID", "docs/DRIVER.md", "10000"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("usage lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

func TestBadUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"-nope"}, "flag provided but not defined: -nope"},
		{"extra argument", []string{"cfg.toml"}, `unexpected arguments ["cfg.toml"]`},
		{"bad log level", []string{"-log-level", "loud"}, `-log-level "loud": want debug, info, warn or error`},
		{"check with config", []string{"-check-config", "a", "-config", "b"}, "-check-config takes no -config or -print-config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := tpoold(t, nil, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

func TestCheckConfig(t *testing.T) {
	good := filepath.Join("..", "..", "runtime", "driver", "tomlconfig", "testdata", "tpc_driver_integration_example.toml")
	camera := filepath.Join("..", "..", "runtime", "driver", "tomlconfig", "testdata", "jl_driver_camera_example.toml")
	typo := writeFile(t, "typo.toml", "[driver]\ninstance_id = \"x\"\n\n[policies]\nepoch_gc_kep = 3\nannounce_period_ms = \"1s\"\n")
	badStride := writeFile(t, "stride.toml", "[profiles.p]\n[[profiles.p.payload_pools]]\npool_id = 1\nstride_bytes = 1000\n")
	tests := []struct {
		name       string
		file       string
		env        []string
		code       int
		stdout     []string
		stderr     []string
		stderrNone bool
	}{
		{"tensor_pool_c example", good, nil, 0,
			[]string{good + ":45: supervisor: ignored by tpoold (tensor_pool_c's supervisor settings", good + ": valid (1 profiles, 1 static streams, dynamic streams off)"}, nil, true},
		{"camera example warns", camera, nil, 0,
			[]string{camera + ": warning: driver.stream_id_range: unset", camera + ": valid (2 profiles, 6 static streams, dynamic streams on)"}, nil, true},
		{"typo and type error", typo, nil, 1, nil, []string{
			typo + ":5:1: policies.epoch_gc_kep: unknown key (did you mean epoch_gc_keep?)",
			typo + `:6:1: policies.announce_period_ms: want an integer in 0..4294967295, got string "1s"`,
		}, false},
		{"invalid value", badStride, nil, 1, nil, []string{badStride + ":4:1: profiles.p.payload_pools[0].stride_bytes: 1000 is not a power of two and a multiple of 64"}, false},
		{"environment checked too", good, []string{"POLICIES_EPOCH_GC_KEEP=zero"}, 1, nil,
			[]string{`environment POLICIES_EPOCH_GC_KEEP: policies.epoch_gc_keep: want an integer in 0..4294967295, got string "zero"`}, false},
		{"missing file", filepath.Join(t.TempDir(), "none.toml"), nil, 1, nil, []string{"no such file or directory"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := tpoold(t, tt.env, "-check-config", tt.file)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if tt.stderrNone && stderr != "" {
				t.Errorf("unexpected stderr:\n%s", stderr)
			}
		})
	}
}

func TestPrintConfig(t *testing.T) {
	file := writeFile(t, "c.toml", "[driver]\ncontrol_stream_id = 2000\n"+
		"[profiles.p]\npayload_pools = [{pool_id = 1, stride_bytes = 4096}]\n[streams.s]\nstream_id = 10000\nprofile = \"p\"\n")
	tests := []struct {
		name string
		args []string
		env  []string
		want func() driver.Config
	}{
		{"built-in", []string{"-print-config"}, nil, func() driver.Config { return driver.DefaultConfig().WithDefaults() }},
		{"environment", []string{"-print-config"}, []string{"DRIVER_INSTANCE_ID=env-1", "DRIVER_AERON_DIR=/dev/shm/some-aeron"}, func() driver.Config {
			c := driver.DefaultConfig()
			c.Driver.InstanceID = "env-1"
			c.Driver.AeronDir = "/dev/shm/some-aeron"
			return c.WithDefaults()
		}},
		{"file and environment", []string{"-config", file, "-print-config"}, []string{"POLICIES_ANNOUNCE_PERIOD_MS=500"}, func() driver.Config {
			c := driver.DefaultConfig()
			c.Driver.ControlStreamID = 2000
			c.Policies.AnnouncePeriod = 500 * time.Millisecond
			c.Profiles = []driver.Profile{{Name: "p", HeaderNslots: 1024, PayloadPools: []driver.PoolSpec{{PoolID: 1, StrideBytes: 4096}}}}
			c.Streams = []driver.StreamConfig{{Name: "s", StreamID: 10000, Profile: "p"}}
			return c.WithDefaults()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := tpoold(t, tt.env, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			// The printed file is the effective configuration: read back
			// without the environment, it is the same.
			got, _, err := tomlconfig.Parse("printed", []byte(stdout), nil)
			if err != nil {
				t.Fatalf("printed config does not load: %v\n%s", err, stdout)
			}
			if diff := cmp.Diff(tt.want(), got); diff != "" {
				t.Errorf("printed config (-want +got):\n%s", diff)
			}
			// And it checks as valid.
			p := writeFile(t, "printed.toml", stdout)
			if _, stderr, code := tpoold(t, nil, "-check-config", p); code != 0 {
				t.Errorf("-check-config of the printed config: exit %d: %s", code, stderr)
			}
		})
	}
}

func TestRunWithBadConfigFails(t *testing.T) {
	bad := writeFile(t, "bad.toml", "[shm]\npermissions_mode = \"666\"\n")
	_, stderr, code := tpoold(t, nil, "-config", bad)
	want := bad + `:2:1: shm.permissions_mode: "666" grants access to other users`
	if code != 1 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
}
