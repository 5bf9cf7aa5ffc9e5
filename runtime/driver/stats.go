package driver

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/tpool-go/tpool/runtime/aeron"
)

// Stats is a snapshot of the driver's state and event counts. The same
// figures are Aeron counters in the media driver's CnC file (see
// CounterTypeID), so AeronStat shows them.
type Stats struct {
	// Gauges.
	ActiveLeases    int64 // producer + consumer leases
	ActiveProducers int64
	ActiveConsumers int64
	Streams         int64 // streams with SHM regions (an epoch)
	// Counts since start.
	Attaches        int64 // OK attach responses (duplicates of a retried request not counted)
	Detaches        int64 // leases invalidated by a detach request
	Keepalives      int64 // valid keepalives
	EpochChanges    int64 // epochs created
	AnnouncesSent   int64 // ShmPoolAnnounce messages offered
	ProtocolErrors  int64 // malformed, unknown, unsupported or mismatched control messages
	ShutdownDenied  int64 // shutdown requests with a missing or wrong token
	Rejections      RejectionCounts
	Revokes         RevokeCounts
	Expiries        int64 // = Revokes.Expired
	SendFailures    int64 // control messages the publication did not take
	GCRemovedEpochs int64 // epoch directories removed by GC or startup cleanup
}

// RejectionCounts counts attach responses by non-OK code (Driver Model 4.6).
type RejectionCounts struct {
	Unsupported, InvalidParams, Rejected, InternalError int64
}

// RevokeCounts counts ShmLeaseRevoked notices by reason.
type RevokeCounts struct {
	Detached, Expired, Revoked int64
}

// CounterTypeID is the Aeron counter type id of the driver's counters; each
// counter's key is the driver's instance id and its label names the
// figure ("tpoold active leases: driver-01").
const CounterTypeID int32 = 9001

// metric is one figure: an atomic in Go memory (for Stats) mirrored to an
// Aeron counter when one was allocated. add never allocates.
type metric struct {
	v atomic.Int64
	c *aeron.Counter
}

func (m *metric) add(d int64) {
	v := m.v.Add(d)
	if m.c != nil {
		m.c.Set(v)
	}
}

func (m *metric) get() int64 { return m.v.Load() }

// metrics holds every figure of Stats.
type metrics struct {
	activeLeases, activeProducers, activeConsumers, streams     metric
	attaches, detaches, keepalives, epochChanges, announcesSent metric
	protocolErrors, shutdownDenied, sendFailures, gcRemoved     metric
	rejUnsupported, rejInvalid, rejRejected, rejInternal        metric
	revDetached, revExpired, revRevoked                         metric
}

// named lists the metrics with their counter labels.
func (m *metrics) named() []struct {
	name string
	m    *metric
} {
	return []struct {
		name string
		m    *metric
	}{
		{"active leases", &m.activeLeases},
		{"active producer leases", &m.activeProducers},
		{"active consumer leases", &m.activeConsumers},
		{"streams", &m.streams},
		{"attaches", &m.attaches},
		{"detaches", &m.detaches},
		{"keepalives", &m.keepalives},
		{"epoch changes", &m.epochChanges},
		{"announces sent", &m.announcesSent},
		{"protocol errors", &m.protocolErrors},
		{"shutdown requests denied", &m.shutdownDenied},
		{"send failures", &m.sendFailures},
		{"epochs removed by gc", &m.gcRemoved},
		{"attach rejections UNSUPPORTED", &m.rejUnsupported},
		{"attach rejections INVALID_PARAMS", &m.rejInvalid},
		{"attach rejections REJECTED", &m.rejRejected},
		{"attach rejections INTERNAL_ERROR", &m.rejInternal},
		{"lease revokes DETACHED", &m.revDetached},
		{"lease revokes EXPIRED", &m.revExpired},
		{"lease revokes REVOKED", &m.revRevoked},
	}
}

func (m *metrics) snapshot() Stats {
	return Stats{
		ActiveLeases:    m.activeLeases.get(),
		ActiveProducers: m.activeProducers.get(),
		ActiveConsumers: m.activeConsumers.get(),
		Streams:         m.streams.get(),
		Attaches:        m.attaches.get(),
		Detaches:        m.detaches.get(),
		Keepalives:      m.keepalives.get(),
		EpochChanges:    m.epochChanges.get(),
		AnnouncesSent:   m.announcesSent.get(),
		ProtocolErrors:  m.protocolErrors.get(),
		ShutdownDenied:  m.shutdownDenied.get(),
		SendFailures:    m.sendFailures.get(),
		GCRemovedEpochs: m.gcRemoved.get(),
		Rejections: RejectionCounts{Unsupported: m.rejUnsupported.get(), InvalidParams: m.rejInvalid.get(),
			Rejected: m.rejRejected.get(), InternalError: m.rejInternal.get()},
		Revokes:  RevokeCounts{Detached: m.revDetached.get(), Expired: m.revExpired.get(), Revoked: m.revRevoked.get()},
		Expiries: m.revExpired.get(),
	}
}

// addCounters allocates one Aeron counter per metric. On error the
// counters already allocated are returned for closing.
func (m *metrics) addCounters(ctx context.Context, c *aeron.Client, instance string) ([]*aeron.Counter, error) {
	var out []*aeron.Counter
	key := []byte(instance)
	if len(key) > 100 {
		key = key[:100]
	}
	for _, n := range m.named() {
		label := "tpoold " + n.name + ": " + instance
		if len(label) > 300 {
			label = label[:300]
		}
		k, err := c.AddCounter(ctx, CounterTypeID, key, label)
		if err != nil {
			return out, fmt.Errorf("aeron counter %q: %w", n.name, err)
		}
		k.Set(n.m.get())
		n.m.c = k
		out = append(out, k)
	}
	return out, nil
}
