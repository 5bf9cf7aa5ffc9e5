// Package errorlog implements Aeron's distinct error log, the last region of
// the CnC file: one record per distinct error with an observation count and
// first/last observation timestamps (aeron_distinct_error_log.h of
// real-logic/aeron). Record: int32 length (written last), int32 observation
// count, int64 last observation (epoch ms), int64 first observation, then
// the encoded error text; records are aligned to 8 bytes.
package errorlog

import (
	"encoding/binary"

	"github.com/tpool-go/tpool/runtime/shm"
)

// Record layout.
const (
	LengthOffset               = 0
	ObservationCountOffset     = 4
	LastObservationTimeOffset  = 8
	FirstObservationTimeOffset = 16
	EncodedErrorOffset         = 24
	HeaderLength               = 24
	RecordAlignment            = 8
)

// Log writes distinct errors. It has a single owner (the driver conductor).
type Log struct {
	buf   []byte
	next  int
	index map[string]int // error text to record offset
	now   func() int64
}

// New wraps a zeroed error log region.
func New(b []byte, now func() int64) *Log { return &Log{buf: b, index: map[string]int{}, now: now} }

// Record notes one observation of an error. It reports false when the log
// is full and the error is new.
func (l *Log) Record(text string) bool {
	now := l.now()
	if off, ok := l.index[text]; ok {
		c, _ := shm.Int32At(l.buf, off+ObservationCountOffset)
		c.Add(1)
		t, _ := shm.Int64At(l.buf, off+LastObservationTimeOffset)
		t.Store(now)
		return true
	}
	length := HeaderLength + len(text)
	if l.next+length > len(l.buf) {
		return false
	}
	off := l.next
	copy(l.buf[off+EncodedErrorOffset:], text)
	binary.LittleEndian.PutUint64(l.buf[off+FirstObservationTimeOffset:], uint64(now))
	t, _ := shm.Int64At(l.buf, off+LastObservationTimeOffset)
	t.Store(now)
	c, _ := shm.Int32At(l.buf, off+ObservationCountOffset)
	c.Store(1)
	n, _ := shm.Int32At(l.buf, off+LengthOffset)
	n.Store(int32(length))
	l.next += (length + RecordAlignment - 1) &^ (RecordAlignment - 1)
	l.index[text] = off
	return true
}
