package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tpool-go/tpool/internal/cpeer"
)

// tensor_pool_c's driver-mode example producer and consumer exchange frames
// through tpoold, over a real aeronmd and over tpoold's embedded media
// driver. Skipped unless TPOOL_TPC_BIN (and, for aeronmd,
// TPOOL_AERON_C_BIN) name the C binaries (see internal/cpeer).
func TestInteropCProducerTpooldCConsumer(t *testing.T) {
	for _, media := range []string{"aeronmd", "embedded"} {
		t.Run(media, func(t *testing.T) {
			const n = 8
			cpeer.TPCBin(t, "tp_example_producer_driver") // skip before starting anything
			var aeronDir string
			var env []string
			if media == "aeronmd" {
				aeronDir = cpeer.StartAeronMD(t)
			} else {
				aeronDir = filepath.Join(t.TempDir(), "aeron")
				env = []string{"AERON_DIR=" + aeronDir}
			}
			shm := cpeer.ShmDir(t)
			// tp_driver's configuration file, as cpeer writes it for the C
			// driver, runs tpoold unchanged; for the embedded media driver
			// only driver.aeron_dir is emptied.
			toml := cpeer.Config{AeronDir: aeronDir, ShmDir: shm}.TOML()
			if media == "embedded" {
				toml = strings.Replace(toml, fmt.Sprintf("aeron_dir = %q", aeronDir), `aeron_dir = ""`, 1)
			}
			cfgPath := writeFile(t, "tpoold.toml", toml)

			d := startDaemon(t, env, "-config", cfgPath)
			want := map[string]string{"aeronmd": "external", "embedded": "embedded"}[media]
			d.waitLog(`tpoold started.*media_driver=` + want)
			cpeer.WaitSubscribed(t, aeronDir, cpeer.Channel, cpeer.ControlStreamID)

			c := cpeer.StartConsumer(t, cpeer.Client{AeronDir: aeronDir, StreamID: 10000, ClientID: 2, Count: n})
			published := cpeer.RunProducer(t, cpeer.Client{AeronDir: aeronDir, StreamID: 10000, ClientID: 1, Count: n})
			got := c.Frames(t)

			cpeer.CheckFrames(t, published, got, n)

			if code := d.stop(syscall.SIGTERM); code != 0 {
				t.Fatalf("tpoold exit %d after SIGTERM:\n%s", code, d.log())
			}
			if left := files(t, shm); len(left) > 0 {
				t.Errorf("tpoold left files in its SHM directory: %q", left)
			}
			if media == "embedded" {
				if _, err := os.Stat(aeronDir); !os.IsNotExist(err) {
					t.Errorf("embedded media driver directory left: %v", err)
				}
			}
			if t.Failed() {
				t.Logf("tpoold log:\n%s", d.log())
			}
		})
	}
}
