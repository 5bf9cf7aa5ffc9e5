// Package errorlog implements Aeron's distinct error log, the last region of
// the CnC file: one record per distinct error with an observation count and
// first/last observation timestamps (aeron_distinct_error_log.h of
// real-logic/aeron). Record: int32 length (written last), int32 observation
// count, int64 last observation (epoch ms), int64 first observation, then
// the encoded error text; records are aligned to 8 bytes.
//
// Observations of the same text merge into one record, so callers record
// the kind of error, leaving out per-request data such as correlation ids.
// When the region has no room for a new distinct error, Aeron prints it to
// stderr and drops it; this log instead keeps room for one last record,
// OverflowText, whose observation count is the number of errors that could
// not be recorded, so a full log is visible to any reader of the CnC file.
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

// OverflowText is the text of the record that counts errors the full log
// could not record.
const OverflowText = "distinct error log full: errors not recorded (observation count = errors lost)"

// Log writes distinct errors. It has a single owner (the driver conductor).
type Log struct {
	buf      []byte
	limit    int // end of the room for distinct errors; the overflow record follows
	next     int
	index    map[string]int // error text to record offset
	overflow int            // offset of the overflow record, -1 until written
	lost     int64
	now      func() int64
}

// New wraps a zeroed error log region.
func New(b []byte, now func() int64) *Log {
	// Aligned down, so the overflow record always fits after the last
	// distinct one.
	limit := (len(b) - align(HeaderLength+len(OverflowText))) &^ (RecordAlignment - 1)
	if limit < 0 {
		limit = len(b) // too small for the overflow record: errors are only counted
	}
	return &Log{buf: b, limit: limit, index: map[string]int{}, overflow: -1, now: now}
}

func align(n int) int { return (n + RecordAlignment - 1) &^ (RecordAlignment - 1) }

// Record notes one observation of an error. It reports false when the log
// is full and the error is new: the error is then counted by the overflow
// record (and by Lost) instead.
func (l *Log) Record(text string) bool {
	now := l.now()
	if off, ok := l.index[text]; ok {
		l.observe(off, now)
		return true
	}
	if l.next+HeaderLength+len(text) > l.limit {
		l.lost++
		if l.overflow < 0 && l.limit < len(l.buf) {
			l.overflow = l.append(OverflowText, now)
		} else if l.overflow >= 0 {
			l.observe(l.overflow, now)
		}
		return false
	}
	l.index[text] = l.append(text, now)
	return true
}

// Lost reports how many errors could not be recorded because the log was
// full.
func (l *Log) Lost() int64 { return l.lost }

func (l *Log) observe(off int, now int64) {
	c, _ := shm.Int32At(l.buf, off+ObservationCountOffset)
	c.Add(1)
	t, _ := shm.Int64At(l.buf, off+LastObservationTimeOffset)
	t.Store(now)
}

// append writes a new record with one observation at l.next and returns
// its offset; the callers checked that it fits.
func (l *Log) append(text string, now int64) int {
	off := l.next
	length := HeaderLength + len(text)
	copy(l.buf[off+EncodedErrorOffset:], text)
	binary.LittleEndian.PutUint64(l.buf[off+FirstObservationTimeOffset:], uint64(now))
	t, _ := shm.Int64At(l.buf, off+LastObservationTimeOffset)
	t.Store(now)
	c, _ := shm.Int32At(l.buf, off+ObservationCountOffset)
	c.Store(1)
	n, _ := shm.Int32At(l.buf, off+LengthOffset)
	n.Store(int32(length)) // last: readers see a complete record
	l.next += align(length)
	return off
}
