package cpeer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Environment variables naming the directories of the C binaries.
const (
	EnvAeronBin = "TPOOL_AERON_C_BIN" // aeronmd, AeronStat (real-logic/aeron)
	EnvTPCBin   = "TPOOL_TPC_BIN"     // tp_driver and the examples (tensor_pool_c)
)

// AeronBin returns the path of the Aeron C program name in the directory
// that TPOOL_AERON_C_BIN names. It skips the test if the variable is unset
// and fails it if the program is missing.
func AeronBin(t testing.TB, name string) string {
	t.Helper()
	return bin(t, EnvAeronBin, name, "the Aeron C binaries")
}

// TPCBin is AeronBin for the tensor_pool_c programs (TPOOL_TPC_BIN).
func TPCBin(t testing.TB, name string) string {
	t.Helper()
	return bin(t, EnvTPCBin, name, "the tensor_pool_c binaries")
}

func bin(t testing.TB, env, name, what string) string {
	t.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		t.Skipf("%s is not set; point it at the directory holding %s (see docs/INTEROP.md)", env, what)
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s=%s: %v", env, dir, err)
	}
	return p
}

// StartAeronMD runs the real Aeron C media driver in a fresh directory
// under t.TempDir, waits until it answers (AeronStat reads its CnC file),
// and returns the Aeron directory. The cleanup stops it with SIGINT and
// checks that it exited cleanly (aeronmd exits with the signal's number).
func StartAeronMD(t testing.TB) string {
	t.Helper()
	md := AeronBin(t, "aeronmd")
	AeronBin(t, "AeronStat") // needed by the readiness check; skip/fail before starting anything
	dir := filepath.Join(t.TempDir(), "aeron")
	p := Start(t, "aeronmd", nil, md,
		"-Daeron.dir="+dir,
		"-Daeron.dir.delete.on.start=true",
		"-Daeron.dir.delete.on.shutdown=true",
	)
	t.Cleanup(func() {
		if code := p.Stop(); code != int(syscall.SIGINT) {
			t.Errorf("aeronmd exited with status %d after SIGINT, want %d", code, syscall.SIGINT)
		}
	})
	eventually(t, "aeronmd in "+dir+" to answer", func() bool {
		_, err := aeronStat(t, dir)
		return err == nil
	})
	return dir
}

// subPos matches AeronStat's line for a subscriber position counter:
// "sub-pos: <registration id> <session id> <stream id> <channel> @<position>".
var subPos = regexp.MustCompile(`sub-pos: -?\d+ -?\d+ (-?\d+) (\S+)`)

// WaitSubscribed waits until some client of the media driver in aeronDir
// has a subscription with an image on channel and streamID (AeronStat shows
// a sub-pos counter for it). Over IPC an image needs a publication on the
// same channel and stream, so this tells that a peer that both publishes and
// subscribes there is up, e.g. a driver on its control stream.
func WaitSubscribed(t testing.TB, aeronDir, channel string, streamID int32) {
	t.Helper()
	want := strconv.Itoa(int(streamID))
	eventually(t, "a subscription to "+channel+" stream "+want, func() bool {
		out, err := aeronStat(t, aeronDir)
		if err != nil {
			return false
		}
		for _, m := range subPos.FindAllStringSubmatch(out, -1) {
			if m[1] == want && m[2] == channel {
				return true
			}
		}
		return false
	})
}

// aeronStat prints the counters of the media driver in dir once.
func aeronStat(t testing.TB, dir string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, AeronBin(t, "AeronStat"), "-d", dir, "-w", "false").CombinedOutput()
	return string(out), err
}

// eventually polls cond until it holds, failing the test after Timeout.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s after %v", what, Timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
