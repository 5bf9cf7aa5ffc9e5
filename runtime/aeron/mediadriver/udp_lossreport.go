package mediadriver

import (
	"encoding/binary"
	"fmt"
	"path/filepath"

	"github.com/tpool-go/tpool/runtime/shm"
)

// LossReportFile is the loss report in the Aeron directory, which Aeron's
// LossStat reads (aeron_loss_reporter.h).
const LossReportFile = "loss-report.dat"

// Loss report layout: entries aligned to 64 bytes, each observation count
// 0 (written last), total bytes lost 8, first observation ms 16, last
// observation ms 24, session 32, stream 36, then the channel and the source
// as int32 length + bytes (the channel padded to 4).
const (
	lossReportLength        = 1 << 20
	lossEntryHeaderLength   = 40
	lossEntryAlignment      = 64
	lossObservationCountOff = 0
	lossTotalBytesOff       = 8
	lossFirstObservationOff = 16
	lossLastObservationOff  = 24
	lossSessionOff          = 32
	lossStreamOff           = 36
)

// lossReport writes loss observations; only the receiver agent uses it.
type lossReport struct {
	m    *shm.Mapping
	b    []byte
	next int
}

func openLossReport(dir string) (*lossReport, error) {
	m, err := shm.Create(filepath.Join(dir, LossReportFile), lossReportLength, fileMode)
	if err != nil {
		return nil, fmt.Errorf("loss report: %w", err)
	}
	return &lossReport{m: m, b: m.Bytes()}, nil
}

func (r *lossReport) close() {
	if r != nil {
		_ = r.m.Close()
	}
}

// createEntry starts an entry for an image's first loss; it returns the
// entry's offset, or -1 when the report is full.
func (r *lossReport) createEntry(bytesLost, nowMs int64, sessionID, streamID int32, channel, source string) int {
	need := lossEntryHeaderLength + (4+len(channel)+3)&^3 + 4 + len(source)
	if r == nil || need > len(r.b)-r.next {
		return -1
	}
	off := r.next
	e := r.b[off:]
	le := binary.LittleEndian
	le.PutUint64(e[lossTotalBytesOff:], uint64(bytesLost))
	le.PutUint64(e[lossFirstObservationOff:], uint64(nowMs))
	le.PutUint64(e[lossLastObservationOff:], uint64(nowMs))
	le.PutUint32(e[lossSessionOff:], uint32(sessionID))
	le.PutUint32(e[lossStreamOff:], uint32(streamID))
	p := lossEntryHeaderLength
	le.PutUint32(e[p:], uint32(len(channel)))
	copy(e[p+4:], channel)
	p += (4 + len(channel) + 3) &^ 3
	le.PutUint32(e[p:], uint32(len(source)))
	copy(e[p+4:], source)
	if count, err := shm.Int64At(e, lossObservationCountOff); err == nil {
		shm.StoreRelease64(count, 1)
	}
	r.next += (need + lossEntryAlignment - 1) &^ (lossEntryAlignment - 1)
	return off
}

// record adds an observation to an entry.
func (r *lossReport) record(off int, bytesLost, nowMs int64) {
	if r == nil || off < 0 {
		return
	}
	e := r.b[off:]
	if last, err := shm.Int64At(e, lossLastObservationOff); err == nil {
		last.Store(nowMs)
	}
	if total, err := shm.Int64At(e, lossTotalBytesOff); err == nil {
		total.Add(bytesLost)
	}
	if count, err := shm.Int64At(e, lossObservationCountOff); err == nil {
		count.Add(1)
	}
}
