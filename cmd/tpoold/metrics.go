package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metric is one figure of the driver at a scrape.
type metric struct {
	Name       string // without the tpoold_ prefix
	Help       string
	Gauge      bool   // else a counter
	Label      string // one variable label, or ""
	LabelValue string
	Value      float64
}

// collector turns a snapshot of the driver's figures into Prometheus
// metrics at each scrape, so the driver keeps one set of numbers (its
// Stats, also its Aeron counters) and the exporter copies nothing between
// scrapes. It is an unchecked collector: the figures are only known at
// Collect.
type collector struct {
	instance string
	snapshot func() []metric
}

func (c *collector) Describe(chan<- *prometheus.Desc) {}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.snapshot() {
		var labels []string
		var values []string
		if m.Label != "" {
			labels, values = []string{m.Label}, []string{m.LabelValue}
		}
		desc := prometheus.NewDesc("tpoold_"+m.Name, m.Help, labels, prometheus.Labels{"instance_id": c.instance})
		t := prometheus.CounterValue
		if m.Gauge {
			t = prometheus.GaugeValue
		}
		pm, err := prometheus.NewConstMetric(desc, t, m.Value, values...)
		if err != nil {
			pm = prometheus.NewInvalidMetric(desc, err)
		}
		ch <- pm
	}
}

// metricsServer serves /metrics until close.
type metricsServer struct {
	srv  *http.Server
	done chan struct{}
}

// serveMetrics serves the driver's figures, plus the Go runtime's and the
// process's, on ln at /metrics.
func serveMetrics(ln net.Listener, instance string, snapshot func() []metric, logger *slog.Logger) *metricsServer {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{instance: instance, snapshot: snapshot},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}))
	s := &metricsServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics endpoint stopped", "err", err)
		}
	}()
	return s
}

// close stops the server and waits for it.
func (s *metricsServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	<-s.done
}
