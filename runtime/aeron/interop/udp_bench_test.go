package interop_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestUDPPerformanceVsAeronmd measures loopback UDP between two drivers with
// the C sample clients on both ends: streaming_publisher on one driver to
// rate_subscriber on the other (32 B and 1 KiB), and cping on one to cpong
// on the other (32 B round trips), once with aeronmd on both ends and once
// with tpool-aeronmd on both ends, in the same run (issue 11).
//
// TPOOL_UDP_BENCH_THREADING picks the drivers' threading: "shared" (the
// default: both drivers SHARED, which leaves the clients a core on a
// 2-core machine), "dedicated" (both DEDICATED: conductor, sender and
// receiver on threads of their own) or "both". The drivers keep their
// default idle strategies and use 1 MiB terms. Every figure is logged with
// the load average read just before and after it, and the run starts with
// the processor's name, so that figures from a shared machine say how
// shared it was; the summary at the end is a Markdown table for
// docs/PERFORMANCE.md. It only logs figures (no timed assertions) and runs
// when TPOOL_UDP_BENCH=1: `make bench-udp`.
//
// tpool-aeronmd runs with its default -gomaxprocs auto (at least the
// threading mode's agent goroutines plus one). TPOOL_UDP_BENCH_GOMAXPROCS=N
// adds a third pair of drivers, tpool-aeronmd -gomaxprocs N, to the same
// run (N=2 on a 2-core machine shows what too few Ps cost);
// TPOOL_UDP_BENCH_CPUPROFILE=DIR has every tpool-aeronmd write a CPU
// profile into DIR (go tool pprof).
func TestUDPPerformanceVsAeronmd(t *testing.T) {
	if os.Getenv("TPOOL_UDP_BENCH") != "1" {
		t.Skip("TPOOL_UDP_BENCH=1 runs the UDP comparison with aeronmd (make bench-udp)")
	}
	cBin(t, "aeronmd")
	old := processLifetime
	processLifetime = benchLimit + time.Minute
	t.Cleanup(func() { processLifetime = old })
	modes := []string{"shared"}
	switch m := os.Getenv("TPOOL_UDP_BENCH_THREADING"); m {
	case "", "shared":
	case "dedicated":
		modes = []string{"dedicated"}
	case "both":
		modes = []string{"shared", "dedicated"}
	default:
		t.Fatalf("TPOOL_UDP_BENCH_THREADING=%q: want shared, dedicated or both", m)
	}
	rttCount := 2000
	if v := os.Getenv("TPOOL_UDP_BENCH_RTT_MESSAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("TPOOL_UDP_BENCH_RTT_MESSAGES=%q: want a positive count", v)
		}
		rttCount = n
	}
	capped := 0
	if v := os.Getenv("TPOOL_UDP_BENCH_GOMAXPROCS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("TPOOL_UDP_BENCH_GOMAXPROCS=%q: want a positive count", v)
		}
		capped = n
	}
	profDir := os.Getenv("TPOOL_UDP_BENCH_CPUPROFILE")
	t.Logf("processor: %s x %d; start load average %s", cpuName(), runtime.NumCPU(), loadAverage())
	var rows []string
	counts := map[int]int{32: 2_000_000, 1024: 300_000}
	for _, mode := range modes {
		drivers := []driver{
			{"aeronmd", func(t testing.TB, dir string) {
				startAeronmd(t, dir, "-Daeron.threading.mode="+strings.ToUpper(mode))
			}},
			{"tpool-aeronmd", func(t testing.TB, dir string) {
				startTpoolAeronmd(t, dir, tpoolFlags(t, profDir, dir, "-threading", mode, "-udp-term-length", strconv.Itoa(termLength))...)
			}},
		}
		if capped > 0 {
			drivers = append(drivers, driver{"tpool-aeronmd-gomaxprocs-" + strconv.Itoa(capped), func(t testing.TB, dir string) {
				startTpoolAeronmd(t, dir, tpoolFlags(t, profDir, dir, "-threading", mode, "-udp-term-length", strconv.Itoa(termLength),
					"-gomaxprocs", strconv.Itoa(capped))...)
			}})
		}
		for _, size := range []int{32, 1024} {
			figures := make([]string, len(drivers))
			for i, d := range drivers {
				t.Run(mode+"/throughput/"+strconv.Itoa(size)+"B/"+d.name, func(t *testing.T) {
					pubDir := filepath.Join(t.TempDir(), "pub")
					subDir := filepath.Join(t.TempDir(), "sub")
					d.start(t, pubDir)
					d.start(t, subDir)
					channel := udpChannel(t)
					sub := startProcess(t, "rate_subscriber", sample(t, "rate_subscriber", "-p", subDir, "-c", channel, "-s", "1001"))
					sub.waitFor(t, "its subscription", prefix("Subscription channel status"))
					before := loadAverage()
					pub := startProcess(t, "streaming_publisher", sample(t, "streaming_publisher", "-p", pubDir, "-c", channel,
						"-s", "1001", "-L", strconv.Itoa(size), "-m", strconv.Itoa(counts[size])))
					line := pub.waitForWithin(t, "the total", prefix("Total:"), benchLimit)
					figures[i] = fmt.Sprintf("%s (load %s → %s)", strings.TrimSpace(strings.TrimPrefix(line, "Total:")), before, loadAverage())
					t.Logf("%s %s %d B: streaming_publisher %s", mode, d.name, size, figures[i])
				})
			}
			rows = append(rows, fmt.Sprintf("| %s | throughput, %d B, %d messages | %s |", mode, size, counts[size], strings.Join(figures, " | ")))
		}
		figures := make([]string, len(drivers))
		for i, d := range drivers {
			t.Run(mode+"/rtt/32B/"+d.name, func(t *testing.T) {
				pingDir := filepath.Join(t.TempDir(), "ping")
				pongDir := filepath.Join(t.TempDir(), "pong")
				d.start(t, pingDir)
				d.start(t, pongDir)
				pingCh, pongCh := udpChannel(t), udpChannel(t)
				pong := startProcess(t, "cpong", sample(t, "cpong", "-p", pongDir, "-c", pingCh, "-C", pongCh))
				pong.waitFor(t, "its subscription", prefix("Subscription channel status"))
				before := loadAverage()
				ping := startProcess(t, "cping", sample(t, "cping", "-p", pingDir, "-c", pingCh, "-C", pongCh,
					"-m", strconv.Itoa(rttCount), "-w", strconv.Itoa(max(rttCount/10, 1)), "-L", "32"))
				ping.waitForWithin(t, "the end", prefix("Shutting down"), benchLimit)
				p50, p99, pmax := percentiles(ping.output())
				figures[i] = fmt.Sprintf("p50 %.1f µs, p99 %.1f µs, max %.1f µs (load %s → %s)", p50, p99, pmax, before, loadAverage())
				t.Logf("%s %s rtt 32 B: %s", mode, d.name, figures[i])
			})
		}
		rows = append(rows, fmt.Sprintf("| %s | round trip, 32 B, %d | %s |", mode, rttCount, strings.Join(figures, " | ")))
	}
	head, rule := "| threading | what | aeronmd ↔ aeronmd | tpool-aeronmd ↔ tpool-aeronmd |", "|---|---|---|---|"
	if capped > 0 {
		head += fmt.Sprintf(" tpool-aeronmd -gomaxprocs %d |", capped)
		rule += "---|"
	}
	t.Logf("summary (processor %s x %d, end load average %s):\n%s\n%s\n%s",
		cpuName(), runtime.NumCPU(), loadAverage(), head, rule, strings.Join(rows, "\n"))
}

// tpoolFlags adds -cpuprofile to tpool-aeronmd's flags when profDir is set:
// one profile per driver, named after the test and its directory.
func tpoolFlags(t testing.TB, profDir, dir string, flags ...string) []string {
	if profDir == "" {
		return flags
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + "_" + filepath.Base(dir) + ".pprof"
	return append(flags, "-cpuprofile", filepath.Join(profDir, name))
}

// loadAverage is the 1, 5 and 15 minute load averages, as uptime prints
// them.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// cpuName is the processor's model name from /proc/cpuinfo.
func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// benchLimit bounds one benchmark run; the sample processes live as long
// (processLifetime is raised for the test).
const benchLimit = 5 * time.Minute

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
