package driverit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// tensor_pool_c's driver, for the gated interop test and benchmark: set
// TPOOL_TPC_BIN to the directory holding tp_driver (see docs/INTEROP.md).
const tpcBinEnv = "TPOOL_TPC_BIN"

func tpcBin(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(tpcBinEnv)
	if dir == "" {
		t.Skipf("%s not set: skipping the tensor_pool_c driver (point it at the directory with tp_driver)", tpcBinEnv)
	}
	p := filepath.Join(dir, "tp_driver")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s: %v", p, err)
	}
	return p
}

// tpcDriverConfig is tp_driver's TOML for the tests: the keys of Driver
// Model section 17, the same profile and stream as driverConfig.
func tpcDriverConfig(aeronDir, base string) string {
	return fmt.Sprintf(`[driver]
instance_id = "tpc-driverit"
aeron_dir = %q
control_channel = "aeron:ipc?term-length=4m"
control_stream_id = 1000
announce_channel = "aeron:ipc?term-length=4m"
announce_stream_id = 1000
qos_channel = "aeron:ipc?term-length=4m"
qos_stream_id = 1200

[shm]
base_dir = %q
namespace = "default"
require_hugepages = false
page_size_bytes = 4096
permissions_mode = "660"
allowed_base_dirs = [%q]

[policies]
allow_dynamic_streams = false
announce_period_ms = %d
lease_keepalive_interval_ms = %d
lease_expiry_grace_intervals = %d
prefault_shm = false
mlock_shm = false
epoch_gc_enabled = true
epoch_gc_keep = 2
shutdown_timeout_ms = 200

[profiles.small]
header_nslots = 16

[[profiles.small.payload_pools]]
pool_id = 1
stride_bytes = 4096

[streams.s0]
stream_id = %d
profile = "small"
`, aeronDir, base, base, announcePeriod.Milliseconds(), keepaliveInterval.Milliseconds(), expiryGrace, testStream)
}

// startTPCDriver runs tp_driver on the env's media driver and base dir
// until the test ends.
func (e *env) startTPCDriver(bin string) {
	e.t.Helper()
	cfgDir := e.t.TempDir()
	cfg := filepath.Join(cfgDir, "driver.toml")
	if err := os.WriteFile(cfg, []byte(tpcDriverConfig(e.aeronDir, e.base)), 0o600); err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", cfg)
	cmd.Stdout = &prefixWriter{t: e.t, prefix: "tp_driver: "}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	e.t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
}
