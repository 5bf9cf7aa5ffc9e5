package gen_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/sbe"
)

// TestWrapFastAndSlowPathsShareNoState: a FrameDescriptor decoder (a
// block-only message, so WrapWithHeader has a fast path for the current
// header) is reused across a current message, a message of a longer block
// (a newer sender: the slow path), a short one, and a failed wrap; what
// one wrap leaves must not show through the next.
func TestWrapFastAndSlowPathsShareNoState(t *testing.T) {
	cur := make([]byte, 64)
	var e wire.FrameDescriptorEncoder
	n := encodeFrameDescriptor(&e, cur, 42)
	cur = cur[:n]
	// A newer sender: 8 more bytes of block, version 2.
	newer := make([]byte, n+8)
	copy(newer, cur)
	binary.LittleEndian.PutUint16(newer[0:], wire.FrameDescriptorBlockLength+8)
	binary.LittleEndian.PutUint16(newer[6:], 2)
	// An older, shorter block that ends before traceId.
	short := append([]byte(nil), cur[:n-8]...)
	binary.LittleEndian.PutUint16(short[0:], wire.FrameDescriptorBlockLength-8)

	var d wire.FrameDescriptorDecoder
	tests := []struct {
		name          string
		msg           []byte
		wantErr       error
		wantLen       int
		wantVersion   int
		wantBlock     int
		wantTraceNull bool
	}{
		{"current", cur, nil, n, wire.SchemaVersion, wire.FrameDescriptorBlockLength, false},
		{"newer", newer, nil, n + 8, 2, wire.FrameDescriptorBlockLength + 8, false},
		{"current again", cur, nil, n, wire.SchemaVersion, wire.FrameDescriptorBlockLength, false},
		{"short block", short, nil, n - 8, wire.SchemaVersion, wire.FrameDescriptorBlockLength - 8, true},
		{"current after short", cur, nil, n, wire.SchemaVersion, wire.FrameDescriptorBlockLength, false},
		{"truncated", cur[:n-1], sbe.ErrShortBuffer, 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.WrapWithHeader(tt.msg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("WrapWithHeader: %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if out, _ := d.AppendJSON(nil); string(out) != "null" {
					t.Errorf("after a failed wrap AppendJSON = %s, want null", out)
				}
				return
			}
			if got := d.EncodedLength(); got != tt.wantLen {
				t.Errorf("EncodedLength = %d, want %d", got, tt.wantLen)
			}
			if got := d.ActingVersion(); got != tt.wantVersion {
				t.Errorf("ActingVersion = %d, want %d", got, tt.wantVersion)
			}
			if got := d.ActingBlockLength(); got != tt.wantBlock {
				t.Errorf("ActingBlockLength = %d, want %d", got, tt.wantBlock)
			}
			if d.Seq() != 42 || d.StreamId() != 10000 {
				t.Errorf("Seq %d StreamId %d, want 42 10000", d.Seq(), d.StreamId())
			}
			if got := d.TraceIdIsNull(); got != tt.wantTraceNull {
				t.Errorf("TraceIdIsNull = %v, want %v", got, tt.wantTraceNull)
			}
		})
	}
}
