package aeron

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/counters"
)

// Counter type ids and states, as Aeron defines them.
const (
	CounterTypeSystem             = counters.TypeSystem
	CounterTypePublisherLimit     = counters.TypePublisherLimit
	CounterTypeSubscriberPosition = counters.TypeSubscriberPosition
	CounterTypeClientHeartbeat    = counters.TypeClientHeartbeat
	CounterTypePublisherPosition  = counters.TypePublisherPosition
	NullCounterID                 = counters.NullCounterID
)

// CountersReader reads the driver's counters (what AeronStat shows).
type CountersReader struct{ r *counters.Reader }

// MaxCounterID is the largest counter id.
func (cr *CountersReader) MaxCounterID() int32 { return cr.r.MaxCounterID() }

// ForEach calls f for each allocated counter.
func (cr *CountersReader) ForEach(f func(id, typeID int32, label string)) { cr.r.ForEach(f) }

// Value of a counter.
func (cr *CountersReader) Value(id int32) int64 { return cr.r.Value(id) }

// Label of a counter.
func (cr *CountersReader) Label(id int32) string { return cr.r.Label(id) }

// TypeID of a counter.
func (cr *CountersReader) TypeID(id int32) int32 { return cr.r.TypeID(id) }

// RegistrationID of a counter.
func (cr *CountersReader) RegistrationID(id int32) int64 { return cr.r.RegistrationID(id) }

// OwnerID of a counter (the client id for client-owned counters).
func (cr *CountersReader) OwnerID(id int32) int64 { return cr.r.OwnerID(id) }

// IsAllocated reports whether a counter is in use.
func (cr *CountersReader) IsAllocated(id int32) bool {
	return cr.r.State(id) == counters.RecordAllocated
}

// Find returns the id of the counter with a type and registration id, or
// NullCounterID.
func (cr *CountersReader) Find(typeID int32, registrationID int64) int32 {
	return cr.r.Find(typeID, registrationID)
}

// Counter is a counter the client asked the driver to allocate.
type Counter struct {
	client         *Client
	registrationID int64
	id             int32
	value          *atomic.Int64
	closed         atomic.Bool
}

// AddCounter allocates a counter with a type, key (at most 112 bytes) and
// label (at most 380 bytes). The driver frees it when the client closes or
// times out.
func (c *Client) AddCounter(ctx context.Context, typeID int32, key []byte, label string) (*Counter, error) {
	if len(key) > counters.MaxKeyLength || len(label) > counters.MaxLabelLength {
		return nil, fmt.Errorf("add counter: key %d or label %d bytes too long: %w", len(key), len(label), ErrConfig)
	}
	id, msg, err := c.request(ctx, command.AddCounter, nil, func(id int64, b []byte) []byte {
		m := command.CounterMessage{Correlated: command.Correlated{ClientID: c.clientID, CorrelationID: id},
			TypeID: typeID, Key: key, Label: label}
		return m.Append(b)
	})
	if err != nil {
		return nil, fmt.Errorf("add counter %q: %w", label, err)
	}
	u, err := command.DecodeCounterUpdate(msg)
	if err != nil {
		return nil, err
	}
	v, err := c.counters.Addr(u.CounterID)
	if err != nil {
		return nil, err
	}
	return &Counter{client: c, registrationID: id, id: u.CounterID, value: v}, nil
}

// ID of the counter.
func (k *Counter) ID() int32 { return k.id }

// RegistrationID of the counter.
func (k *Counter) RegistrationID() int64 { return k.registrationID }

// Get reads the value.
func (k *Counter) Get() int64 { return k.value.Load() }

// Set stores a value (release).
func (k *Counter) Set(v int64) { k.value.Store(v) }

// Add adds to the value and returns the new value.
func (k *Counter) Add(d int64) int64 { return k.value.Add(d) }

// Close frees the counter in the driver. It is idempotent.
func (k *Counter) Close() error {
	if !k.closed.CompareAndSwap(false, true) {
		return nil
	}
	if k.client.Err() != nil {
		return nil
	}
	if err := k.client.remove(command.RemoveCounter, k.registrationID); err != nil {
		return fmt.Errorf("remove counter %d: %w", k.id, err)
	}
	return nil
}
