// Package counters implements Aeron's counters: a values buffer of 128-byte
// slots (value, registration id, owner id, reference id) and a metadata
// buffer of 512-byte records (state, type id, free-for-reuse deadline, a
// 112-byte key, label length and a 380-byte label), both inside the CnC file.
// The driver allocates and frees counters with a [Manager]; clients and
// tools read them with a [Reader].
//
// Layout from aeronc.h and aeron_counters_manager.c of real-logic/aeron.
// Views alias the memory given to them and are valid as long as it is mapped.
package counters

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/tpool-go/tpool/runtime/shm"
)

// Record layout.
const (
	ValueLength          = 128
	RegistrationIDOffset = 8
	OwnerIDOffset        = 16
	ReferenceIDOffset    = 24

	MetadataLength             = 512
	StateOffset                = 0
	TypeIDOffset               = 4
	FreeForReuseDeadlineOffset = 8
	KeyOffset                  = 16
	MaxKeyLength               = 112
	LabelLengthOffset          = 128
	LabelOffset                = 132
	MaxLabelLength             = 380

	RecordUnused    = 0
	RecordAllocated = 1
	RecordReclaimed = -1

	// NullCounterID means "no counter".
	NullCounterID = -1
	// NotFreeToReuse is the deadline of an allocated record.
	NotFreeToReuse = math.MaxInt64
)

// Counter type ids used by the driver (aeron_counters.h).
const (
	TypeSystem                = 0
	TypePublisherLimit        = 1
	TypeSenderPosition        = 2
	TypeReceiverHWM           = 3
	TypeSubscriberPosition    = 4
	TypeReceiverPosition      = 5
	TypeSendChannelStatus     = 6
	TypeReceiveChannelStatus  = 7
	TypeClientHeartbeat       = 11
	TypePublisherPosition     = 12
	StreamCounterKeyLength    = 8 + 4 + 4 + 4 // registration, session, stream, channel length
	HeartbeatCounterKeyLength = 8
)

// Sentinel errors.
var (
	// ErrLengths: the metadata buffer is too small for the values buffer.
	ErrLengths = errors.New("counters: metadata buffer must be 4x the values buffer")
	// ErrNoSpace: every counter id is in use.
	ErrNoSpace = errors.New("counters: no counter available")
	// ErrID: the counter id is out of range or not allocated.
	ErrID = errors.New("counters: bad counter id")
)

// Reader reads counters from shared memory. It is safe for concurrent use.
type Reader struct {
	meta   []byte
	values []byte
	maxID  int32
}

// NewReader wraps the two buffers.
func NewReader(meta, values []byte) (*Reader, error) {
	if len(values) < ValueLength || len(meta) < len(values)*(MetadataLength/ValueLength) {
		return nil, fmt.Errorf("metadata %d, values %d bytes: %w", len(meta), len(values), ErrLengths)
	}
	return &Reader{meta: meta, values: values, maxID: int32(len(values)/ValueLength) - 1}, nil
}

// MaxCounterID is the largest id the buffers can hold.
func (r *Reader) MaxCounterID() int32 { return r.maxID }

func (r *Reader) check(id int32) error {
	if id < 0 || id > r.maxID {
		return fmt.Errorf("id %d (max %d): %w", id, r.maxID, ErrID)
	}
	return nil
}

func (r *Reader) i32(b []byte, off int) int32 {
	p, err := shm.Int32At(b, off)
	if err != nil {
		return 0
	}
	return p.Load()
}

func (r *Reader) i64(b []byte, off int) int64 {
	p, err := shm.Int64At(b, off)
	if err != nil {
		return 0
	}
	return p.Load()
}

// State of the metadata record (RecordUnused, RecordAllocated, RecordReclaimed).
func (r *Reader) State(id int32) int32 {
	if r.check(id) != nil {
		return RecordUnused
	}
	return r.i32(r.meta, int(id)*MetadataLength+StateOffset)
}

// TypeID of a counter.
func (r *Reader) TypeID(id int32) int32 {
	if r.check(id) != nil {
		return -1
	}
	return int32(binary.LittleEndian.Uint32(r.meta[int(id)*MetadataLength+TypeIDOffset:]))
}

// FreeForReuseDeadline of a counter (epoch ms).
func (r *Reader) FreeForReuseDeadline(id int32) int64 {
	if r.check(id) != nil {
		return 0
	}
	return r.i64(r.meta, int(id)*MetadataLength+FreeForReuseDeadlineOffset)
}

// Key returns a copy of the counter's key bytes (all 112).
func (r *Reader) Key(id int32) []byte {
	if r.check(id) != nil {
		return nil
	}
	off := int(id)*MetadataLength + KeyOffset
	return append([]byte(nil), r.meta[off:off+MaxKeyLength]...)
}

// Label returns the counter's label.
func (r *Reader) Label(id int32) string {
	if r.check(id) != nil {
		return ""
	}
	off := int(id) * MetadataLength
	n := int(r.i32(r.meta, off+LabelLengthOffset))
	n = max(0, min(n, MaxLabelLength))
	return string(r.meta[off+LabelOffset : off+LabelOffset+n])
}

// Value returns the counter's value (acquire load).
func (r *Reader) Value(id int32) int64 {
	if r.check(id) != nil {
		return 0
	}
	return r.i64(r.values, int(id)*ValueLength)
}

// RegistrationID of the counter's value slot.
func (r *Reader) RegistrationID(id int32) int64 {
	if r.check(id) != nil {
		return 0
	}
	return r.i64(r.values, int(id)*ValueLength+RegistrationIDOffset)
}

// OwnerID of the counter's value slot (the client id for client-owned
// counters).
func (r *Reader) OwnerID(id int32) int64 {
	if r.check(id) != nil {
		return 0
	}
	return r.i64(r.values, int(id)*ValueLength+OwnerIDOffset)
}

// Addr returns the atomic value of a counter, for hot paths that keep it.
func (r *Reader) Addr(id int32) (*atomic.Int64, error) {
	if err := r.check(id); err != nil {
		return nil, err
	}
	return shm.Int64At(r.values, int(id)*ValueLength)
}

// ForEach calls f for every allocated counter, stopping at the first unused
// record, as Aeron's reader does.
func (r *Reader) ForEach(f func(id, typeID int32, label string)) {
	for id := int32(0); id <= r.maxID; id++ {
		switch r.State(id) {
		case RecordUnused:
			return
		case RecordAllocated:
			f(id, r.TypeID(id), r.Label(id))
		}
	}
}

// Find returns the id of the allocated counter with the given type id and
// registration id, or NullCounterID.
func (r *Reader) Find(typeID int32, registrationID int64) int32 {
	for id := int32(0); id <= r.maxID; id++ {
		switch r.State(id) {
		case RecordUnused:
			return NullCounterID
		case RecordAllocated:
			if r.TypeID(id) == typeID && r.RegistrationID(id) == registrationID {
				return id
			}
		}
	}
	return NullCounterID
}

// KeyRegistrationID reads the first 8 bytes of a counter's key: the
// registration id for heartbeat and stream counters.
func (r *Reader) KeyRegistrationID(id int32) int64 {
	if r.check(id) != nil {
		return 0
	}
	off := int(id)*MetadataLength + KeyOffset
	return int64(binary.LittleEndian.Uint64(r.meta[off:]))
}

// FindByKey returns the id of an allocated counter of typeID whose key
// starts with registrationID (how Aeron clients find their heartbeat
// counter), scanning every record, or NullCounterID.
func (r *Reader) FindByKey(typeID int32, registrationID int64) int32 {
	for id := int32(0); id <= r.maxID; id++ {
		if r.IsActive(id, typeID, registrationID) {
			return id
		}
	}
	return NullCounterID
}

// IsActive reports whether counter id is still the allocated counter of
// typeID keyed by registrationID.
func (r *Reader) IsActive(id, typeID int32, registrationID int64) bool {
	return r.State(id) == RecordAllocated && r.TypeID(id) == typeID && r.KeyRegistrationID(id) == registrationID
}

// AppendLabel extends a counter's label in place, truncated to the maximum,
// as Aeron clients do to name themselves on their heartbeat counter.
func (r *Reader) AppendLabel(id int32, s string) {
	if r.check(id) != nil {
		return
	}
	off := int(id) * MetadataLength
	p, err := shm.Int32At(r.meta, off+LabelLengthOffset)
	if err != nil {
		return
	}
	n := int(p.Load())
	if n < 0 || n > MaxLabelLength {
		return
	}
	c := copy(r.meta[off+LabelOffset+n:off+LabelOffset+MaxLabelLength], s)
	p.Store(int32(n + c))
}

// Manager allocates and frees counters. It has a single owner (the driver
// conductor).
type Manager struct {
	*Reader
	highWater          int32
	free               []int32
	freeToReuseTimeout int64 // ms
	now                func() int64
}

// NewManager wraps zeroed buffers. now returns epoch milliseconds;
// freeToReuseMs is how long a freed id rests before reuse.
func NewManager(meta, values []byte, now func() int64, freeToReuseMs int64) (*Manager, error) {
	r, err := NewReader(meta, values)
	if err != nil {
		return nil, err
	}
	return &Manager{Reader: r, highWater: -1, freeToReuseTimeout: freeToReuseMs, now: now}, nil
}

func (m *Manager) nextID() (int32, error) {
	now := m.now()
	for i, id := range m.free {
		if now >= m.FreeForReuseDeadline(id) {
			m.free = append(m.free[:i], m.free[i+1:]...)
			v := int(id) * ValueLength
			le := binary.LittleEndian
			p, _ := shm.Int64At(m.values, v+RegistrationIDOffset)
			p.Store(0)
			le.PutUint64(m.values[v+OwnerIDOffset:], 0)
			le.PutUint64(m.values[v+ReferenceIDOffset:], 0)
			p, _ = shm.Int64At(m.values, v)
			p.Store(0)
			return id, nil
		}
	}
	if m.highWater+1 > m.maxID {
		return NullCounterID, fmt.Errorf("max counter id %d: %w", m.maxID, ErrNoSpace)
	}
	m.highWater++
	return m.highWater, nil
}

// Allocate takes a counter, writes its type, key and label (both truncated
// to their maximum) and publishes it as allocated.
func (m *Manager) Allocate(typeID int32, key []byte, label string) (int32, error) {
	id, err := m.nextID()
	if err != nil {
		return NullCounterID, err
	}
	off := int(id) * MetadataLength
	le := binary.LittleEndian
	le.PutUint32(m.meta[off+TypeIDOffset:], uint32(typeID))
	le.PutUint64(m.meta[off+FreeForReuseDeadlineOffset:], uint64(NotFreeToReuse))
	k := m.meta[off+KeyOffset : off+KeyOffset+MaxKeyLength]
	clear(k)
	copy(k, key)
	n := copy(m.meta[off+LabelOffset:off+LabelOffset+MaxLabelLength], label)
	le.PutUint32(m.meta[off+LabelLengthOffset:], uint32(n))
	st, _ := shm.Int32At(m.meta, off+StateOffset)
	st.Store(RecordAllocated)
	return id, nil
}

// SetRegistrationID and SetOwnerID fill the value slot's ids.
func (m *Manager) SetRegistrationID(id int32, v int64) { m.setID(id, RegistrationIDOffset, v) }

// SetOwnerID sets the owner id.
func (m *Manager) SetOwnerID(id int32, v int64) { m.setID(id, OwnerIDOffset, v) }

func (m *Manager) setID(id int32, off int, v int64) {
	if m.check(id) != nil {
		return
	}
	p, _ := shm.Int64At(m.values, int(id)*ValueLength+off)
	p.Store(v)
}

// Free reclaims an allocated counter; its id becomes reusable after the
// free-to-reuse timeout.
func (m *Manager) Free(id int32) error {
	if err := m.check(id); err != nil {
		return err
	}
	if m.State(id) != RecordAllocated {
		return fmt.Errorf("id %d not allocated: %w", id, ErrID)
	}
	off := int(id) * MetadataLength
	st, _ := shm.Int32At(m.meta, off+StateOffset)
	st.Store(RecordReclaimed)
	clear(m.meta[off+KeyOffset : off+KeyOffset+MaxKeyLength])
	d, _ := shm.Int64At(m.meta, off+FreeForReuseDeadlineOffset)
	d.Store(m.now() + m.freeToReuseTimeout)
	m.free = append(m.free, id)
	return nil
}

// StreamKey encodes the key of a stream position counter: registration id,
// session id, stream id, channel length and channel (truncated).
func StreamKey(registrationID int64, sessionID, streamID int32, channel string) []byte {
	k := make([]byte, MaxKeyLength)
	le := binary.LittleEndian
	le.PutUint64(k[0:], uint64(registrationID))
	le.PutUint32(k[8:], uint32(sessionID))
	le.PutUint32(k[12:], uint32(streamID))
	n := copy(k[StreamCounterKeyLength:], channel)
	le.PutUint32(k[16:], uint32(n))
	return k
}

// StreamLabel formats a stream counter label as the C driver does:
// "name: registration session stream channel suffix".
func StreamLabel(name string, registrationID int64, sessionID, streamID int32, channel, suffix string) string {
	return fmt.Sprintf("%s: %d %d %d %s %s", name, registrationID, sessionID, streamID, channel, suffix)
}

// HeartbeatKey encodes the key of a heartbeat counter (the client id).
func HeartbeatKey(registrationID int64) []byte {
	k := make([]byte, HeartbeatCounterKeyLength)
	binary.LittleEndian.PutUint64(k, uint64(registrationID))
	return k
}
