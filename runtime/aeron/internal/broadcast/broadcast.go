// Package broadcast implements Aeron's one-to-many broadcast buffer, the
// to-clients response channel inside the CnC file: the media driver
// transmits, every client receives, and a client that falls a whole buffer
// behind is lapped and told so.
//
// Layout (aeron_broadcast_descriptor.h of real-logic/aeron): a power-of-two
// data region followed by a 128-byte trailer with the tail-intent counter
// (0), the tail counter (8) and the latest counter (16). Records are an
// 8-byte header (int32 length, int32 message type id) and the message,
// aligned to 8 bytes; type id -1 is padding to the end of the buffer.
//
// Views keep references to the memory given to them; they are valid as long
// as that memory is mapped.
package broadcast

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tpool-go/tpool/runtime/shm"
)

// Trailer offsets and record layout.
const (
	TailIntentCounterOffset = 0
	TailCounterOffset       = 8
	LatestCounterOffset     = 16
	TrailerLength           = 128

	RecordHeaderLength = 8
	RecordAlignment    = 8
	PaddingMsgTypeID   = -1
)

// Sentinel errors.
var (
	// ErrCapacity: the data region is not a positive power of two.
	ErrCapacity = errors.New("broadcast: capacity must be a power of two")
	// ErrTooLong: the message exceeds capacity/8.
	ErrTooLong = errors.New("broadcast: message too long")
	// ErrMsgTypeID: message type ids must be positive.
	ErrMsgTypeID = errors.New("broadcast: message type id must be >= 1")
	// ErrLapped: the transmitter overwrote records before this receiver
	// read them; messages were lost.
	ErrLapped = errors.New("broadcast: unable to keep up with broadcast (lapped)")
	// ErrCorrupt: a record header is impossible.
	ErrCorrupt = errors.New("broadcast: corrupt record")
)

type view struct {
	buf        []byte
	capacity   int
	tailIntent *atomic.Int64
	tail       *atomic.Int64
	latest     *atomic.Int64
}

func newView(b []byte) (view, error) {
	capacity := len(b) - TrailerLength
	if capacity < RecordHeaderLength || capacity&(capacity-1) != 0 {
		return view{}, fmt.Errorf("%d bytes: %w", capacity, ErrCapacity)
	}
	v := view{buf: b[:capacity:capacity], capacity: capacity}
	var err error
	if v.tailIntent, err = shm.Int64At(b, capacity+TailIntentCounterOffset); err != nil {
		return view{}, err
	}
	if v.tail, err = shm.Int64At(b, capacity+TailCounterOffset); err != nil {
		return view{}, err
	}
	if v.latest, err = shm.Int64At(b, capacity+LatestCounterOffset); err != nil {
		return view{}, err
	}
	return v, nil
}

func align(v, a int) int { return (v + a - 1) &^ (a - 1) }

// Transmitter writes records. It must have a single owner (the driver
// conductor).
type Transmitter struct {
	view
	maxMsgLen int
}

// NewTransmitter wraps b (data region plus trailer).
func NewTransmitter(b []byte) (*Transmitter, error) {
	v, err := newView(b)
	if err != nil {
		return nil, err
	}
	return &Transmitter{view: v, maxMsgLen: v.capacity / 8}, nil
}

// MaxMessageLength is the largest message Transmit accepts.
func (t *Transmitter) MaxMessageLength() int { return t.maxMsgLen }

// Transmit broadcasts one message.
func (t *Transmitter) Transmit(msgTypeID int32, msg []byte) error {
	if len(msg) > t.maxMsgLen {
		return ErrTooLong
	}
	if msgTypeID < 1 {
		return ErrMsgTypeID
	}
	le := binary.LittleEndian
	currentTail := t.tail.Load()
	recordOffset := int(currentTail & int64(t.capacity-1))
	recordLength := len(msg) + RecordHeaderLength
	aligned := align(recordLength, RecordAlignment)
	newTail := currentTail + int64(aligned)
	toEnd := t.capacity - recordOffset
	if toEnd < aligned {
		t.tailIntent.Store(newTail + int64(toEnd))
		le.PutUint32(t.buf[recordOffset+4:], uint32(PaddingMsgTypeID&0xffffffff))
		le.PutUint32(t.buf[recordOffset:], uint32(toEnd))
		currentTail += int64(toEnd)
		recordOffset = 0
	} else {
		t.tailIntent.Store(newTail)
	}
	le.PutUint32(t.buf[recordOffset:], uint32(recordLength))
	le.PutUint32(t.buf[recordOffset+4:], uint32(msgTypeID))
	copy(t.buf[recordOffset+RecordHeaderLength:], msg)
	t.latest.Store(currentTail)
	t.tail.Store(currentTail + int64(aligned))
	return nil
}

// Receiver reads records in place. It is used by one goroutine.
type Receiver struct {
	view
	cursor     int64 // the current record
	nextRecord int64
	lapped     int64
}

// NewReceiver wraps b and starts at the latest record.
func NewReceiver(b []byte) (*Receiver, error) {
	v, err := newView(b)
	if err != nil {
		return nil, err
	}
	latest := v.latest.Load()
	return &Receiver{view: v, cursor: latest, nextRecord: latest}, nil
}

// LappedCount is how many times the transmitter overtook this receiver.
func (r *Receiver) LappedCount() int64 { return r.lapped }

func (r *Receiver) validateAt(cursor int64) bool {
	return cursor+int64(r.capacity) > r.tailIntent.Load()
}

// Validate reports whether the current record is still intact (it was not
// overwritten while being read).
func (r *Receiver) Validate() bool { return r.validateAt(r.cursor) }

// ReceiveNext moves to the next record and reports whether there is one.
func (r *Receiver) ReceiveNext() (bool, error) {
	tail := r.tail.Load()
	cursor := r.nextRecord
	if tail <= cursor {
		return false, nil
	}
	mask := int64(r.capacity - 1)
	recordOffset := int(cursor & mask)
	if !r.validateAt(cursor) {
		r.lapped++
		cursor = r.latest.Load()
		recordOffset = int(cursor & mask)
	}
	if cursor&(RecordAlignment-1) != 0 {
		return false, fmt.Errorf("cursor %d: %w", cursor, ErrCorrupt)
	}
	length := int(int32(binary.LittleEndian.Uint32(r.buf[recordOffset:])))
	if length < RecordHeaderLength || length > r.capacity-recordOffset {
		return false, fmt.Errorf("record at %d has length %d: %w", recordOffset, length, ErrCorrupt)
	}
	r.cursor = cursor
	r.nextRecord = cursor + int64(align(length, RecordAlignment))
	if int32(binary.LittleEndian.Uint32(r.buf[recordOffset+4:])) == PaddingMsgTypeID {
		// Padding runs to the end of the buffer: the record is at 0.
		if length != r.capacity-recordOffset {
			return false, fmt.Errorf("padding at %d has length %d: %w", recordOffset, length, ErrCorrupt)
		}
		r.cursor = r.nextRecord
		l := int(int32(binary.LittleEndian.Uint32(r.buf[0:])))
		if l < RecordHeaderLength || l > r.capacity {
			return false, fmt.Errorf("record at 0 has length %d: %w", l, ErrCorrupt)
		}
		r.nextRecord += int64(align(l, RecordAlignment))
	}
	return true, nil
}

// recordOffset is where the current record is in the buffer.
func (r *Receiver) recordOffset() int { return int(r.cursor & int64(r.capacity-1)) }

// MsgTypeID of the current record.
func (r *Receiver) MsgTypeID() int32 {
	return int32(binary.LittleEndian.Uint32(r.buf[r.recordOffset()+4:]))
}

// Message of the current record, aliasing the buffer; check Validate after
// using it.
func (r *Receiver) Message() []byte {
	offset := r.recordOffset()
	length := int(int32(binary.LittleEndian.Uint32(r.buf[offset:])))
	end := offset + length
	if length < RecordHeaderLength || end > r.capacity {
		return nil
	}
	return r.buf[offset+RecordHeaderLength : end]
}

// Handler receives one message; msg is only valid during the call.
type Handler func(msgTypeID int32, msg []byte)

// CopyReceiver copies each record into a scratch buffer before handing it
// over, so a handler never sees a record being overwritten.
type CopyReceiver struct {
	r       *Receiver
	scratch []byte
}

// NewCopyReceiver wraps a Receiver.
func NewCopyReceiver(r *Receiver) *CopyReceiver {
	return &CopyReceiver{r: r, scratch: make([]byte, 4096)}
}

// Receive delivers at most one message to h and returns how many it
// delivered. It returns ErrLapped when messages were lost: the caller must
// treat its view of the driver's state as unreliable.
func (c *CopyReceiver) Receive(h Handler) (int, error) {
	lapped := c.r.lapped
	ok, err := c.r.ReceiveNext()
	if err != nil || !ok {
		return 0, err
	}
	if lapped != c.r.lapped {
		return 0, ErrLapped
	}
	msg := c.r.Message()
	if msg == nil {
		return 0, ErrCorrupt
	}
	if len(msg) > cap(c.scratch) {
		c.scratch = make([]byte, len(msg)+len(msg)/2)
	}
	typeID := c.r.MsgTypeID()
	s := c.scratch[:len(msg)]
	copy(s, msg)
	if !c.r.Validate() {
		return 0, ErrLapped
	}
	h(typeID, s)
	return 1, nil
}
