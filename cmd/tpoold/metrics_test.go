package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func TestMetricsEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var scrapes atomic.Int64
	snapshot := func() []metric {
		n := float64(scrapes.Add(1))
		return []metric{
			{Name: "active_leases", Help: "Active leases.", Gauge: true, Label: "role", LabelValue: "producer", Value: 1},
			{Name: "active_leases", Help: "Active leases.", Gauge: true, Label: "role", LabelValue: "consumer", Value: 3},
			{Name: "attaches_total", Help: "Attaches.", Value: 7 * n},
			{Name: "attach_rejections_total", Help: "Rejections.", Label: "code", LabelValue: "INVALID_PARAMS", Value: 2},
		}
	}
	s := serveMetrics(ln, "driver-test", snapshot, slog.New(slog.DiscardHandler))
	defer s.close()
	url := "http://" + ln.Addr().String() + "/metrics"
	for scrape := 1; scrape <= 2; scrape++ {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
		}
		text := string(body)
		for _, want := range []string{
			"# TYPE tpoold_active_leases gauge",
			`tpoold_active_leases{instance_id="driver-test",role="producer"} 1`,
			`tpoold_active_leases{instance_id="driver-test",role="consumer"} 3`,
			"# TYPE tpoold_attaches_total counter",
			`tpoold_attach_rejections_total{code="INVALID_PARAMS",instance_id="driver-test"} 2`,
			"go_goroutines ",
			"process_cpu_seconds_total ",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("scrape %d lacks %q:\n%s", scrape, want, text)
			}
		}
		// Each scrape takes a fresh snapshot.
		if want := `tpoold_attaches_total{instance_id="driver-test"} ` + map[int]string{1: "7", 2: "14"}[scrape]; !strings.Contains(text, want) {
			t.Errorf("scrape %d lacks %q", scrape, want)
		}
	}
	s.close()
	if _, err := http.Get(url); err == nil {
		t.Error("metrics endpoint still serving after close")
	}
}
