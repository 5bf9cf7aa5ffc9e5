// Package ringbuffer implements Aeron's many-to-one ring buffer, the
// to-driver command channel inside the CnC file: many client processes write
// records, the media driver's conductor reads them.
//
// Layout (aeron_rb.h, aeron_mpsc_rb.c of real-logic/aeron): a power-of-two
// data region followed by a 768-byte trailer holding, each on its own pair of
// cache lines, the tail position (128), the cached head (256), the head
// position (384), the correlation id counter (512) and the consumer heartbeat
// in epoch milliseconds (640), offsets relative to the trailer. Records are
// an 8-byte header (int32 length, int32 message type id) and the message,
// aligned to 8 bytes. A negative length marks a record being written; type
// id -1 is padding to the end of the buffer.
//
// A RingBuffer keeps views into the memory it was given; it is valid as long
// as that memory is mapped.
package ringbuffer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tpool-go/tpool/runtime/shm"
)

// Trailer offsets and record layout.
const (
	TailPositionOffset       = 128
	HeadCachePositionOffset  = 256
	HeadPositionOffset       = 384
	CorrelationCounterOffset = 512
	ConsumerHeartbeatOffset  = 640
	TrailerLength            = 768

	RecordHeaderLength = 8
	RecordAlignment    = 8
	// PaddingMsgTypeID marks padding records.
	PaddingMsgTypeID = -1
)

// Sentinel errors.
var (
	// ErrCapacity: the data region is not a positive power of two.
	ErrCapacity = errors.New("ringbuffer: capacity must be a power of two")
	// ErrFull: not enough free space for the record right now.
	ErrFull = errors.New("ringbuffer: full")
	// ErrTooLong: the message exceeds the maximum (capacity/8).
	ErrTooLong = errors.New("ringbuffer: message too long")
	// ErrMsgTypeID: message type ids must be positive.
	ErrMsgTypeID = errors.New("ringbuffer: message type id must be >= 1")
	// ErrCorrupt: a record header read from the buffer is impossible.
	ErrCorrupt = errors.New("ringbuffer: corrupt record")
)

// RingBuffer is a view of a many-to-one ring buffer. Write, NextCorrelationID
// and the heartbeat are safe from any goroutine or process; Read must be
// called by a single consumer.
type RingBuffer struct {
	buf         []byte // data region only
	capacity    int
	maxMsgLen   int
	tail        *atomic.Int64
	headCache   *atomic.Int64
	head        *atomic.Int64
	correlation *atomic.Int64
	heartbeat   *atomic.Int64
}

// New wraps b (data region plus trailer).
func New(b []byte) (*RingBuffer, error) {
	capacity := len(b) - TrailerLength
	if capacity < RecordHeaderLength || capacity&(capacity-1) != 0 {
		return nil, fmt.Errorf("%d bytes: %w", capacity, ErrCapacity)
	}
	r := &RingBuffer{buf: b[:capacity:capacity], capacity: capacity, maxMsgLen: capacity / 8}
	var err error
	at := func(off int) *atomic.Int64 {
		if err != nil {
			return nil
		}
		var p *atomic.Int64
		p, err = shm.Int64At(b, capacity+off)
		return p
	}
	r.tail = at(TailPositionOffset)
	r.headCache = at(HeadCachePositionOffset)
	r.head = at(HeadPositionOffset)
	r.correlation = at(CorrelationCounterOffset)
	r.heartbeat = at(ConsumerHeartbeatOffset)
	if err != nil {
		return nil, fmt.Errorf("ringbuffer trailer: %w", err)
	}
	return r, nil
}

// MaxMessageLength is the largest message Write accepts.
func (r *RingBuffer) MaxMessageLength() int { return r.maxMsgLen }

func align(v, a int) int { return (v + a - 1) &^ (a - 1) }

// lengthAt and setLength load (acquire) and store (release) the length of
// the record at index, which is always masked and 8-aligned.
func (r *RingBuffer) lengthAt(index int) int32 { return shm.LoadAcquire32At(r.buf, index) }

func (r *RingBuffer) setLength(index int, length int32) { shm.StoreRelease32At(r.buf, index, length) }

// claim reserves an aligned record of recordLength bytes and returns its
// index, or -1 when the buffer is full.
func (r *RingBuffer) claim(recordLength int) int {
	required := int64(align(recordLength, RecordAlignment))
	capacity := int64(r.capacity)
	mask := capacity - 1
	head := r.headCache.Load()
	var tail, padding int64
	var tailIndex int64
	for {
		tail = r.tail.Load()
		if tail&(RecordAlignment-1) != 0 || head&(RecordAlignment-1) != 0 {
			return -2 // corrupted by another process
		}
		if required > capacity-(tail-head) {
			head = r.head.Load()
			if required > capacity-(tail-head) {
				return -1
			}
			r.headCache.Store(head)
		}
		padding = 0
		tailIndex = tail & mask
		toEnd := capacity - tailIndex
		if required > toEnd {
			headIndex := head & mask
			if required > headIndex {
				head = r.head.Load()
				headIndex = head & mask
				if required > headIndex {
					return -1
				}
				r.headCache.Store(head)
			}
			padding = toEnd
		}
		if r.tail.CompareAndSwap(tail, tail+required+padding) {
			break
		}
	}
	if padding != 0 {
		r.setLength(int(tailIndex), int32(-padding))
		binary.LittleEndian.PutUint32(r.buf[tailIndex+4:], uint32(PaddingMsgTypeID&0xffffffff))
		r.setLength(int(tailIndex), int32(padding))
		tailIndex = 0
	}
	return int(tailIndex)
}

// Write appends one record. It returns ErrFull when there is no room now,
// ErrTooLong or ErrMsgTypeID for a message that can never be written.
// It does not allocate.
func (r *RingBuffer) Write(msgTypeID int32, msg []byte) error {
	if len(msg) > r.maxMsgLen {
		return ErrTooLong
	}
	if msgTypeID < 1 {
		return ErrMsgTypeID
	}
	recordLength := len(msg) + RecordHeaderLength
	index := r.claim(recordLength)
	if index == -2 {
		return ErrCorrupt
	}
	if index < 0 {
		return ErrFull
	}
	r.setLength(index, int32(-recordLength))
	copy(r.buf[index+RecordHeaderLength:], msg)
	binary.LittleEndian.PutUint32(r.buf[index+4:], uint32(msgTypeID))
	r.setLength(index, int32(recordLength))
	return nil
}

// Handler receives one message. msg aliases the ring buffer and is only
// valid during the call.
type Handler func(msgTypeID int32, msg []byte)

// Read delivers up to limit messages to h and frees their space. It returns
// the number of messages delivered. A record whose header is impossible
// (another process corrupted the buffer) stops the read with ErrCorrupt; the
// records before it are consumed.
func (r *RingBuffer) Read(h Handler, limit int) (int, error) {
	head := r.head.Load()
	if head&(RecordAlignment-1) != 0 {
		return 0, fmt.Errorf("head position %d: %w", head, ErrCorrupt)
	}
	headIndex := int(head & int64(r.capacity-1))
	contiguous := r.capacity - headIndex
	read, bytesRead := 0, 0
	var err error
	for bytesRead < contiguous && read < limit {
		index := headIndex + bytesRead
		recordLength := int(r.lengthAt(index))
		if recordLength <= 0 {
			break
		}
		if recordLength < RecordHeaderLength || recordLength > contiguous-bytesRead {
			err = fmt.Errorf("record at %d has length %d: %w", index, recordLength, ErrCorrupt)
			break
		}
		bytesRead += align(recordLength, RecordAlignment)
		msgTypeID := int32(binary.LittleEndian.Uint32(r.buf[index+4:]))
		if msgTypeID == PaddingMsgTypeID {
			continue
		}
		read++
		h(msgTypeID, r.buf[index+RecordHeaderLength:index+recordLength])
	}
	if bytesRead != 0 {
		clear(r.buf[headIndex : headIndex+bytesRead])
		r.head.Store(head + int64(bytesRead))
	}
	return read, err
}

// Discard drops everything between head and tail: the consumer's recovery
// after ErrCorrupt. Records being written concurrently are lost.
func (r *RingBuffer) Discard() {
	tail := r.tail.Load() &^ (RecordAlignment - 1)
	r.tail.Store(tail)
	clear(r.buf)
	r.head.Store(tail)
	r.headCache.Store(tail)
}

// Unblock turns a record that a dead producer left half-written (negative
// length at the head) into padding so the consumer can move on. It reports
// whether it changed anything. The consumer calls it only after the head has
// not moved for a client liveness timeout.
func (r *RingBuffer) Unblock() bool {
	head, tail := r.head.Load(), r.tail.Load()
	if head == tail || (head|tail)&(RecordAlignment-1) != 0 {
		return false
	}
	mask := int64(r.capacity - 1)
	consumerIndex := int(head & mask)
	producerIndex := int(tail & mask)
	length := r.lengthAt(consumerIndex)
	if length < 0 {
		binary.LittleEndian.PutUint32(r.buf[consumerIndex+4:], uint32(PaddingMsgTypeID&0xffffffff))
		r.setLength(consumerIndex, -length)
		return true
	}
	if length == 0 {
		// A producer claimed space but never wrote its header: pad up to
		// the next record that has one, if every byte in between is zero.
		limit := r.capacity
		if producerIndex > consumerIndex {
			limit = producerIndex
		}
		for i := consumerIndex + RecordAlignment; i < limit; i += RecordAlignment {
			if r.lengthAt(i) != 0 {
				for j := i - RecordAlignment; j >= consumerIndex; j -= RecordAlignment {
					if r.lengthAt(j) != 0 {
						return false
					}
				}
				binary.LittleEndian.PutUint32(r.buf[consumerIndex+4:], uint32(PaddingMsgTypeID&0xffffffff))
				r.setLength(consumerIndex, int32(i-consumerIndex))
				return true
			}
		}
	}
	return false
}

// NextCorrelationID returns a process-wide unique id (shared by all clients
// of a driver).
func (r *RingBuffer) NextCorrelationID() int64 { return r.correlation.Add(1) - 1 }

// SetConsumerHeartbeat records the consumer's liveness (epoch ms).
func (r *RingBuffer) SetConsumerHeartbeat(ms int64) { r.heartbeat.Store(ms) }

// ConsumerHeartbeat returns the last heartbeat (epoch ms).
func (r *RingBuffer) ConsumerHeartbeat() int64 { return r.heartbeat.Load() }

// Head and Tail expose the positions (for tests and tools).
func (r *RingBuffer) Head() int64 { return r.head.Load() }

// Tail returns the producers' position.
func (r *RingBuffer) Tail() int64 { return r.tail.Load() }
