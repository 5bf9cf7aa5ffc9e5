package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gdriver "github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
)

// daemon is a tpoold process started by a test.
type daemon struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	added chan struct{} // signalled per stderr line
	exit  chan int
}

func startDaemon(t *testing.T, env []string, args ...string) *daemon {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(cleanEnv(), "TPOOLD_TEST_MAIN=1"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &daemon{t: t, cmd: cmd, added: make(chan struct{}, 1), exit: make(chan int, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.mu.Lock()
			d.lines = append(d.lines, sc.Text())
			d.mu.Unlock()
			select {
			case d.added <- struct{}{}:
			default:
			}
		}
		_ = cmd.Wait()
		d.exit <- cmd.ProcessState.ExitCode()
		close(d.added)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-d.exit
		}
	})
	return d
}

func (d *daemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.lines, "\n")
}

// waitLog waits for a stderr line matching re and returns its submatches.
func (d *daemon) waitLog(re string) []string {
	d.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(60 * time.Second)
	for {
		d.mu.Lock()
		for _, l := range d.lines {
			if m := rx.FindStringSubmatch(l); m != nil {
				d.mu.Unlock()
				return m
			}
		}
		d.mu.Unlock()
		select {
		case _, ok := <-d.added:
			if !ok {
				d.t.Fatalf("tpoold exited without logging %q:\n%s", re, d.log())
			}
		case <-deadline:
			d.t.Fatalf("tpoold did not log %q:\n%s", re, d.log())
		}
	}
}

// stop sends sig and returns the exit code.
func (d *daemon) stop(sig os.Signal) int {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatal(err)
	}
	select {
	case code := <-d.exit:
		return code
	case <-time.After(60 * time.Second):
		d.t.Fatalf("tpoold did not exit after %v:\n%s", sig, d.log())
		return -1
	}
}

// shmBase makes a fresh directory under /dev/shm (the test's own) and
// returns the base_dir inside it, which does not exist yet.
func shmBase(t *testing.T) (parent, base string) {
	t.Helper()
	root := "/dev/shm"
	if _, err := os.Stat(root); err != nil {
		root = ""
	}
	parent, err := os.MkdirTemp(root, "tpoold-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(parent) })
	return parent, filepath.Join(parent, "base")
}

func testConfigFile(t *testing.T, base string, controlStream int) string {
	return writeFile(t, "tpoold.toml", fmt.Sprintf(`[driver]
instance_id = "tpoold-test"
control_stream_id = %d
announce_stream_id = %d
qos_stream_id = %d

[shm]
base_dir = %q

[policies]
announce_period_ms = 100
shutdown_timeout_ms = 100

[profiles.small]
header_nslots = 8
payload_pools = [{ pool_id = 1, stride_bytes = 4096 }]

[streams.s]
stream_id = 10000
profile = "small"
`, controlStream, controlStream+1, controlStream+2, base))
}

// files lists the regular files and symlinks under dir.
func files(t *testing.T, dir string) []string {
	var out []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var protocolErrorsRx = regexp.MustCompile(`(?m)^tpoold_protocol_errors_total\{instance_id="tpoold-test"\} (\d+)$`)

// tpoold with its embedded media driver serves until SIGTERM, exposes its
// figures, refuses a second instance, and leaves nothing behind.
func TestRunEmbeddedUntilSIGTERM(t *testing.T) {
	parent, base := shmBase(t)
	aeronDir := filepath.Join(parent, "aeron")
	cfg := testConfigFile(t, base, 4000)
	env := []string{"AERON_DIR=" + aeronDir}
	d := startDaemon(t, env, "-config", cfg, "-metrics-addr", "127.0.0.1:0", "-log-level", "debug")
	d.waitLog(`tpoold started.*media_driver=embedded`)
	url := d.waitLog(`"serving metrics" url=(\S+)`)[1]

	// An attach request of a schema version the driver does not speak
	// shows up as a protocol error and an UNSUPPORTED rejection: the
	// figures are live.
	msg := make([]byte, 16)
	binary.LittleEndian.PutUint16(msg[0:], gdriver.ShmAttachRequestBlockLength)
	binary.LittleEndian.PutUint16(msg[2:], gdriver.ShmAttachRequestTemplateID)
	binary.LittleEndian.PutUint16(msg[4:], gdriver.SchemaID)
	binary.LittleEndian.PutUint16(msg[6:], 99)
	binary.LittleEndian.PutUint64(msg[8:], 42) // correlation id
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, err := aeron.Connect(ctx, aeron.Config{Dir: aeronDir})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	pub, err := client.AddPublication(ctx, "aeron:ipc?term-length=4m", 4000)
	if err != nil {
		t.Fatal(err)
	}
	for {
		pub.Offer(msg)
		m := protocolErrorsRx.FindStringSubmatch(scrape(t, url))
		if m == nil {
			t.Fatalf("no protocol errors counter in the metrics")
		}
		if m[1] != "0" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("protocol_errors_total stays 0")
		case <-time.After(20 * time.Millisecond):
		}
	}
	body := scrape(t, url)
	if strings.Contains(body, `code="UNSUPPORTED",instance_id="tpoold-test"} 0`) {
		t.Error("the UNSUPPORTED rejection is not counted")
	}
	for _, want := range []string{`tpoold_active_leases{instance_id="tpoold-test",role="producer"} 0`,
		`tpoold_attach_rejections_total{code="INVALID_PARAMS",instance_id="tpoold-test"} 0`,
		`tpoold_attach_rejections_total{code="UNSUPPORTED",instance_id="tpoold-test"} `} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// A second tpoold on the same base directory and control stream refuses.
	_, stderr, code := tpoold(t, []string{"DRIVER_AERON_DIR=" + aeronDir}, "-config", cfg)
	if code != 1 || !strings.Contains(stderr, "another tpoold already serves this base directory") {
		t.Errorf("second tpoold: exit %d, stderr:\n%s", code, stderr)
	}

	if code := d.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, d.log())
	}
	if !strings.Contains(d.log(), "tpoold stopped") {
		t.Errorf("no clean stop logged:\n%s", d.log())
	}
	if left := files(t, parent); len(left) > 0 {
		t.Errorf("files left behind: %q", left)
	}
	if _, err := os.Stat(aeronDir); !os.IsNotExist(err) {
		t.Errorf("embedded media driver directory left: %v", err)
	}
	if _, err := http.Get(url); err == nil {
		t.Error("metrics endpoint still up after exit")
	}
}

// With a live media driver in driver.aeron_dir, or in $AERON_DIR, tpoold uses
// it; SIGINT stops it cleanly and the media driver keeps running.
func TestRunExternalMediaDriver(t *testing.T) {
	parent, base := shmBase(t)
	aeronDir := filepath.Join(parent, "aeron")
	md, err := mediadriver.Start(mediadriver.Config{Dir: aeronDir})
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	for _, tt := range []struct {
		name string
		env  []string
		log  string
	}{
		{"DRIVER_AERON_DIR", []string{"DRIVER_AERON_DIR=" + aeronDir}, ""},
		{"AERON_DIR", []string{"AERON_DIR=" + aeronDir}, "a media driver is running in \\$AERON_DIR; using it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := startDaemon(t, tt.env, "-config", testConfigFile(t, base, 4100))
			d.waitLog(`tpoold started.*media_driver=external`)
			if tt.log != "" {
				d.waitLog(tt.log)
			}
			if code := d.stop(syscall.SIGINT); code != 0 {
				t.Fatalf("exit %d after SIGINT:\n%s", code, d.log())
			}
			if left := files(t, base); len(left) > 0 {
				t.Errorf("files left behind: %q", left)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(aeronDir, "cnc.dat")); err != nil {
		t.Errorf("the external media driver's directory is gone: %v", err)
	}
}

// Without a live media driver in driver.aeron_dir, tpoold says so and exits 1.
func TestRunExternalMissing(t *testing.T) {
	_, base := shmBase(t)
	dir := filepath.Join(t.TempDir(), "no-aeron")
	_, stderr, code := tpoold(t, []string{"DRIVER_AERON_DIR=" + dir}, "-config", testConfigFile(t, base, 4200))
	if code != 1 || !strings.Contains(stderr, "no live Aeron media driver") || !strings.Contains(stderr, dir) {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}
