package client

import (
	"encoding/binary"
	"testing"

	"github.com/tpool-go/tpool/gen/wire"
)

func progressMsg(stream uint32, epoch, seq, filled uint64, st uint8) []byte {
	buf := make([]byte, wire.MessageHeaderEncodedLength+wire.FrameProgressBlockLength)
	var e wire.FrameProgressEncoder
	_ = e.WrapWithHeader(buf)
	e.SetStreamId(stream)
	e.SetEpoch(epoch)
	e.SetSeq(seq)
	e.SetPayloadBytesFilled(filled)
	e.SetState(wire.FrameProgressState(st))
	n, _ := e.Finish()
	return buf[:n]
}

// FuzzProgressCheck feeds arbitrary message sequences (2-byte length
// prefixes) to a consumer's FrameProgress filter: it never panics, and
// what it delivers is of the stream and epoch, of a known state, within a
// payload slot, and never goes back for a sequence it follows.
func FuzzProgressCheck(f *testing.F) {
	const stream, epoch, maxStride = 10000, 7, 1 << 20
	seed := func(msgs ...[]byte) []byte {
		var out []byte
		for _, m := range msgs {
			out = binary.LittleEndian.AppendUint16(out, uint16(len(m)))
			out = append(out, m...)
		}
		return out
	}
	f.Add(seed(progressMsg(stream, epoch, 1, 0, 1), progressMsg(stream, epoch, 1, 100, 2), progressMsg(stream, epoch, 1, 50, 2),
		progressMsg(stream, epoch, 1, 200, 3)))
	f.Add(seed(progressMsg(stream, epoch+1, 1, 0, 1), progressMsg(stream, epoch, 2, 1<<40, 2), progressMsg(stream, epoch, 3, 0, 0),
		progressMsg(stream, epoch, 3, 0, 9), []byte{1, 2, 3}))
	f.Fuzz(func(t *testing.T, in []byte) {
		var g consumerProgress
		bySlot := map[uint64]FrameProgress{} // what the filter follows: the last delivered per slot
		for len(in) >= 2 {
			n := min(int(binary.LittleEndian.Uint16(in)), len(in)-2)
			msg := in[2 : 2+n]
			in = in[2+n:]
			fp, ok := g.check(msg, stream, true, epoch, maxStride)
			if !ok {
				continue
			}
			if fp.StreamID != stream || fp.Epoch != epoch || fp.State < ProgressStarted || fp.State > ProgressComplete || fp.Filled > maxStride {
				t.Fatalf("delivered %+v", fp)
			}
			slot := fp.Seq % progressTracked
			if p, ok := bySlot[slot]; ok && p.Seq == fp.Seq && (fp.Filled < p.Filled || fp.State < p.State) {
				t.Fatalf("seq %d regressed: %+v after %+v", fp.Seq, fp, p)
			}
			bySlot[slot] = fp
		}
	})
}
