package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/driverclient"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// processCPU returns the user and system CPU time of process pid so far.
func processCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("parse /proc/%d/stat: %q", pid, s)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// TestIdleCPU measures the CPU time of the tpoold process over 10 s while
// ten clients (one producer, nine consumers, each its own driverclient in
// this process, keepalive every second) hold leases on stream 10000 and
// nothing else happens, and with no client as the baseline: with tpoold's
// embedded media driver (the whole standalone cost) and with the media
// driver in this process (tpoold's engine and Aeron client alone). It runs only with
// TPOOL_DRIVER_IDLE_CPU=1, logs the figures for docs/PERFORMANCE.md, and
// fails only if tpoold spins a core (half a core or more).
func TestIdleCPU(t *testing.T) {
	if os.Getenv("TPOOL_DRIVER_IDLE_CPU") != "1" {
		t.Skip("set TPOOL_DRIVER_IDLE_CPU=1 to measure the idle tpoold's CPU (10 s per case)")
	}
	const (
		clients = 10
		window  = 10 * time.Second
	)
	for _, tc := range []struct {
		media   string
		clients int
	}{{"embedded", 0}, {"embedded", clients}, {"external", 0}, {"external", clients}} {
		media := tc.media
		t.Run(fmt.Sprintf("%s/%d-leases", media, tc.clients), func(t *testing.T) {
			parent, base := shmBase(t)
			aeronDir := filepath.Join(parent, "aeron")
			cfg := writeFile(t, "tpoold.toml", fmt.Sprintf(`[shm]
base_dir = %q
[policies]
prefault_shm = false
[profiles.small]
header_nslots = 64
payload_pools = [{ pool_id = 1, stride_bytes = 65536 }]
[streams.s]
stream_id = 10000
profile = "small"
`, base))
			env := []string{"AERON_DIR=" + aeronDir}
			if media == "external" {
				md, err := mediadriver.Start(mediadriver.Config{Dir: aeronDir})
				if err != nil {
					t.Fatal(err)
				}
				defer md.Close()
				env = []string{"DRIVER_AERON_DIR=" + aeronDir}
			}
			d := startDaemon(t, env, "-config", cfg)
			d.waitLog(`tpoold started.*media_driver=` + media)

			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			a, err := aeron.Connect(ctx, aeron.Config{Dir: aeronDir})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			for i := range tc.clients {
				c, err := driverclient.New(ctx, a, driverclient.Config{AllowedBaseDirs: []string{base}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
				role := driverclient.RoleConsumer
				if i == 0 {
					role = driverclient.RoleProducer
				}
				if _, err := c.Attach(ctx, driverclient.AttachRequest{StreamID: 10000, Role: role}); err != nil {
					t.Fatalf("client %d: attach: %v", i, err)
				}
			}

			pid := d.cmd.Process.Pid
			c0, start := processCPU(t, pid), time.Now()
			time.Sleep(window)
			used, wall := processCPU(t, pid)-c0, time.Since(start)
			share := float64(used) / float64(wall)
			t.Logf("tpoold (%s media driver), %d leases held: %v CPU in %v = %.2f%% of one core", media, tc.clients, used, wall.Round(time.Millisecond), 100*share)
			if share >= 0.5 {
				t.Errorf("the idle tpoold uses %.0f%% of a core", 100*share)
			}
			if code := d.stop(syscall.SIGTERM); code != 0 {
				t.Errorf("tpoold exit %d:\n%s", code, d.log())
			}
		})
	}
}
