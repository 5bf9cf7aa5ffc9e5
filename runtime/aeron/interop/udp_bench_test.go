package interop_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestUDPPerformanceVsAeronmd measures loopback UDP between two drivers with
// the C sample clients on both ends: streaming_publisher on one driver to
// rate_subscriber on the other (32 B and 1 KiB), and cping on one to cpong
// on the other (32 B round trips), once with aeronmd on both ends and once
// with tpool-aeronmd on both ends, in the same run (issue 11). Both drivers
// run SHARED with their default backoff idle strategy and 1 MiB terms: on
// two cores, dedicated busy-spinning agents of two drivers would starve
// the clients. It only logs figures (no timed assertions) and runs when
// TPOOL_UDP_BENCH=1; docs/PERFORMANCE.md has the results.
func TestUDPPerformanceVsAeronmd(t *testing.T) {
	if os.Getenv("TPOOL_UDP_BENCH") != "1" {
		t.Skip("TPOOL_UDP_BENCH=1 runs the UDP comparison with aeronmd")
	}
	cBin(t, "aeronmd")
	drivers := []driver{
		{"aeronmd", func(t testing.TB, dir string) { startAeronmd(t, dir, "-Daeron.threading.mode=SHARED") }},
		{"tpool-aeronmd", func(t testing.TB, dir string) {
			startTpoolAeronmd(t, dir, "-threading", "shared", "-udp-term-length", strconv.Itoa(termLength))
		}},
	}
	counts := map[int]int{32: 2_000_000, 1024: 300_000}
	for _, size := range []int{32, 1024} {
		for _, d := range drivers {
			t.Run("throughput/"+strconv.Itoa(size)+"B/"+d.name, func(t *testing.T) {
				pubDir := filepath.Join(t.TempDir(), "pub")
				subDir := filepath.Join(t.TempDir(), "sub")
				d.start(t, pubDir)
				d.start(t, subDir)
				channel := udpChannel(t)
				sub := startProcess(t, "rate_subscriber", sample(t, "rate_subscriber", "-p", subDir, "-c", channel, "-s", "1001"))
				sub.waitFor(t, "its subscription", prefix("Subscription channel status"))
				pub := startProcess(t, "streaming_publisher", sample(t, "streaming_publisher", "-p", pubDir, "-c", channel,
					"-s", "1001", "-L", strconv.Itoa(size), "-m", strconv.Itoa(counts[size])))
				line := pub.waitFor(t, "the total", prefix("Total:"))
				t.Logf("%s %d B: streaming_publisher %s", d.name, size, line)
			})
		}
	}
	for _, d := range drivers {
		t.Run("rtt/32B/"+d.name, func(t *testing.T) {
			pingDir := filepath.Join(t.TempDir(), "ping")
			pongDir := filepath.Join(t.TempDir(), "pong")
			d.start(t, pingDir)
			d.start(t, pongDir)
			pingCh, pongCh := udpChannel(t), udpChannel(t)
			pong := startProcess(t, "cpong", sample(t, "cpong", "-p", pongDir, "-c", pingCh, "-C", pongCh))
			pong.waitFor(t, "its subscription", prefix("Subscription channel status"))
			ping := startProcess(t, "cping", sample(t, "cping", "-p", pingDir, "-c", pingCh, "-C", pongCh,
				"-m", "2000", "-w", "200", "-L", "32"))
			ping.waitFor(t, "the end", prefix("Shutting down"))
			p50, p99, max := percentiles(ping.output())
			t.Logf("%s rtt 32 B: p50 %.1f us, p99 %.1f us, max %.1f us", d.name, p50, p99, max)
		})
	}
}

var hdrRow = regexp.MustCompile(`^\s*([0-9.]+)\s+([0-9.]+)\s+\d+\s+`)

// percentiles reads the p50, p99 and max (in microseconds) from
// hdr_percentiles_print's classic table.
func percentiles(out string) (p50, p99, max float64) {
	s := bufio.NewScanner(strings.NewReader(out))
	p50, p99 = -1, -1
	for s.Scan() {
		m := hdrRow.FindStringSubmatch(s.Text())
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		q, _ := strconv.ParseFloat(m[2], 64)
		if p50 < 0 && q >= 0.5 {
			p50 = v
		}
		if p99 < 0 && q >= 0.99 {
			p99 = v
		}
		max = v
	}
	return p50, p99, max
}
