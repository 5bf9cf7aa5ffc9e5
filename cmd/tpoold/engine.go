package main

import (
	"context"
	"log/slog"

	"github.com/tpool-go/tpool/runtime/driver"
)

// engine is what tpoold needs of a running driver.
type engine interface {
	Close() error
	Done() <-chan struct{}
	Err() error
	AeronDir() string
	MediaDriver() string
	Metrics() []metric
}

// running is a *driver.Driver seen by tpoold.
type running struct{ *driver.Driver }

func startDriver(ctx context.Context, cfg driver.Config, logger *slog.Logger) (engine, error) {
	d, err := driver.Start(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	return running{d}, nil
}

// Metrics is the driver's Stats as Prometheus figures.
func (r running) Metrics() []metric { return statsMetrics(r.Stats()) }

func statsMetrics(s driver.Stats) []metric {
	const (
		leases      = "Leases held now, by role."
		rejections  = "Attach requests rejected, by response code (Driver Model 4.6)."
		revocations = "Leases revoked (ShmLeaseRevoked), by reason."
	)
	return []metric{
		{Name: "active_leases", Help: leases, Gauge: true, Label: "role", LabelValue: "producer", Value: float64(s.ActiveProducers)},
		{Name: "active_leases", Help: leases, Gauge: true, Label: "role", LabelValue: "consumer", Value: float64(s.ActiveConsumers)},
		{Name: "streams", Help: "Streams with shared memory (an epoch) now.", Gauge: true, Value: float64(s.Streams)},
		{Name: "attaches_total", Help: "Attach requests granted.", Value: float64(s.Attaches)},
		{Name: "detaches_total", Help: "Leases ended by a detach request.", Value: float64(s.Detaches)},
		{Name: "keepalives_total", Help: "Valid lease keepalives received.", Value: float64(s.Keepalives)},
		{Name: "lease_expiries_total", Help: "Leases expired for missed keepalives.", Value: float64(s.Expiries)},
		{Name: "epoch_changes_total", Help: "Epochs created.", Value: float64(s.EpochChanges)},
		{Name: "announces_sent_total", Help: "ShmPoolAnnounce messages sent.", Value: float64(s.AnnouncesSent)},
		{Name: "protocol_errors_total", Help: "Malformed, unknown, unsupported or mismatched control messages.", Value: float64(s.ProtocolErrors)},
		{Name: "shutdown_requests_denied_total", Help: "Shutdown requests with a missing or wrong token.", Value: float64(s.ShutdownDenied)},
		{Name: "send_failures_total", Help: "Control messages the publication did not take.", Value: float64(s.SendFailures)},
		{Name: "gc_removed_epochs_total", Help: "Epoch directories removed by GC or startup cleanup.", Value: float64(s.GCRemovedEpochs)},
		{Name: "attach_rejections_total", Help: rejections, Label: "code", LabelValue: "UNSUPPORTED", Value: float64(s.Rejections.Unsupported)},
		{Name: "attach_rejections_total", Help: rejections, Label: "code", LabelValue: "INVALID_PARAMS", Value: float64(s.Rejections.InvalidParams)},
		{Name: "attach_rejections_total", Help: rejections, Label: "code", LabelValue: "REJECTED", Value: float64(s.Rejections.Rejected)},
		{Name: "attach_rejections_total", Help: rejections, Label: "code", LabelValue: "INTERNAL_ERROR", Value: float64(s.Rejections.InternalError)},
		{Name: "lease_revokes_total", Help: revocations, Label: "reason", LabelValue: "DETACHED", Value: float64(s.Revokes.Detached)},
		{Name: "lease_revokes_total", Help: revocations, Label: "reason", LabelValue: "EXPIRED", Value: float64(s.Revokes.Expired)},
		{Name: "lease_revokes_total", Help: revocations, Label: "reason", LabelValue: "REVOKED", Value: float64(s.Revokes.Revoked)},
	}
}
