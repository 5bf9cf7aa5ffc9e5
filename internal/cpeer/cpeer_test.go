package cpeer

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/driver.toml")

// TestCProducerTPDriverCConsumer is the baseline for interop tests: the C
// producer publishes through tp_driver to the C consumer over a real
// aeronmd, and the consumer accepts every frame, in order.
func TestCProducerTPDriverCConsumer(t *testing.T) {
	const n = 8
	TPCBin(t, "tp_driver") // skip before starting anything if TPOOL_TPC_BIN is unset
	aeronDir := StartAeronMD(t)
	d := StartTPDriver(t, Config{AeronDir: aeronDir})
	c := StartConsumer(t, Client{AeronDir: aeronDir, StreamID: d.Config.StreamID, ClientID: 2, Count: n})
	published := RunProducer(t, Client{AeronDir: aeronDir, StreamID: d.Config.StreamID, ClientID: 1, Count: n})
	got := c.Frames(t)

	CheckFrames(t, published, got, n)
	if entries, err := os.ReadDir(d.Config.ShmDir); err != nil || len(entries) == 0 {
		t.Errorf("tp_driver made nothing in its SHM directory %s (%v)", d.Config.ShmDir, err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		line      string
		parse     func(string) (Frame, bool)
		want      Frame
		wantMatch bool
	}{
		{"Frame seq=0 pool_id=1 payload=16", ParseConsumed, Frame{0, 1, 16}, true},
		{"Frame seq=18446744073709551615 pool_id=4294967295 payload=4096", ParseConsumed, Frame{1<<64 - 1, 1<<32 - 1, 4096}, true},
		{"Frame seq=3 read failed: stale epoch", ParseConsumed, Frame{}, false},
		{"Frame seq=3 not ready", ParseConsumed, Frame{}, false},
		{"Frame seq=3 pool_id=1 payload=16 extra", ParseConsumed, Frame{}, false},
		{"Control subscription connected", ParseConsumed, Frame{}, false},
		{"", ParseConsumed, Frame{}, false},
		{"Published frame pool_id=1 seq=7", ParsePublished, Frame{Seq: 7, PoolID: 1}, true},
		{"Published frame pool_id=1 seq=-1", ParsePublished, Frame{}, false},
		{"Published frame pool_id=1", ParsePublished, Frame{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			f, ok := tt.parse(tt.line)
			if ok != tt.wantMatch || (ok && f != tt.want) {
				t.Errorf("parse(%q) = %+v, %v; want %+v, %v", tt.line, f, ok, tt.want, tt.wantMatch)
			}
		})
	}
}

func TestConfigTOML(t *testing.T) {
	c := Config{AeronDir: "/tmp/x/aeron", ShmDir: "/dev/shm/tpool-cpeer-x"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	got := c.TOML()
	golden := filepath.Join("testdata", "driver.toml")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("Config.TOML differs from %s (go test -update rewrites it):\n%s", golden, got)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		ok   bool
	}{
		{"complete", Config{AeronDir: "/a", ShmDir: "/s"}, true},
		{"no aeron dir", Config{ShmDir: "/s"}, false},
		{"no shm dir", Config{AeronDir: "/a"}, false},
		{"slots not a power of two", Config{AeronDir: "/a", ShmDir: "/s", HeaderSlots: 48}, false},
		{"quote in path", Config{AeronDir: `/a"b`, ShmDir: "/s"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.c.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
