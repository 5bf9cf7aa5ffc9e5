package cnc

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLayoutConstants(t *testing.T) {
	tests := []struct {
		name      string
		got, want int
	}{
		{"version 0.2.0", int(Version), 512},
		{"metadata length", MetadataLength, 128},
		{"pid offset", PIDOffset, 40},
		{"start timestamp offset", StartTimestampOffset, 32},
		{"liveness offset", ClientLivenessTimeoutOffset, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %d, want %d", tt.got, tt.want)
			}
		})
	}
	if s := VersionString(Version); s != "0.2.0" {
		t.Errorf("VersionString = %q", s)
	}
}

func sample() Metadata {
	return Metadata{
		ToDriverBufferLength:    1024 + 768,
		ToClientsBufferLength:   1024 + 128,
		CounterMetadataLength:   4 * 1024,
		CounterValuesLength:     1024,
		ErrorLogBufferLength:    1024,
		ClientLivenessTimeoutNs: 10e9,
		StartTimestampMs:        1700000000000,
		PID:                     4242,
	}
}

func build(t *testing.T, m Metadata) []byte {
	t.Helper()
	b := make([]byte, m.FileLength(4096))
	if err := EncodeMetadata(b, m); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b, uint32(Version))
	return b
}

func TestParseRoundTrip(t *testing.T) {
	m := sample()
	b := build(t, m)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	m.Version = Version
	if diff := cmp.Diff(m, f.Metadata); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	lens := []int{len(f.ToDriver), len(f.ToClients), len(f.CounterMetadata), len(f.CounterValues), len(f.ErrorLog)}
	if diff := cmp.Diff([]int{1792, 1152, 4096, 1024, 1024}, lens); diff != "" {
		t.Errorf("region lengths (-want +got):\n%s", diff)
	}
	// The to-driver region starts right after the metadata.
	f.ToDriver[0] = 0xAB
	if b[MetadataLength] != 0xAB {
		t.Error("to-driver region does not start at MetadataLength")
	}
	f.ErrorLog[0] = 0xCD
	if b[MetadataLength+1792+1152+4096+1024] != 0xCD {
		t.Error("error log region misplaced")
	}
}

func TestParseErrors(t *testing.T) {
	good := build(t, sample())
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   error
	}{
		{"too short", func(b []byte) []byte { return b[:100] }, ErrTooShort},
		{"no version yet", func(b []byte) []byte { binary.LittleEndian.PutUint32(b, 0); return b }, ErrNotReady},
		{"major version 1", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b, uint32(SemanticVersion(1, 0, 0)))
			return b
		}, ErrVersion},
		{"negative length", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[CounterValuesLengthOffset:], 0xFFFFFFF0)
			return b
		}, ErrBadLength},
		{"truncated", func(b []byte) []byte { return b[:MetadataLength+2000] }, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mutate(append([]byte(nil), good...))
			if _, err := Parse(b); !errors.Is(err, tt.want) {
				t.Errorf("Parse error = %v, want %v", err, tt.want)
			}
			if _, _, err := ParseLive(b); !errors.Is(err, tt.want) {
				t.Errorf("ParseLive error = %v, want %v", err, tt.want)
			}
		})
	}
	// A newer minor version is compatible.
	b := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(b, uint32(SemanticVersion(0, 3, 1)))
	if _, err := Parse(b); err != nil {
		t.Errorf("minor version bump rejected: %v", err)
	}
}

func TestParseLiveReturnsTheHeartbeat(t *testing.T) {
	b := build(t, sample())
	// The driver's heartbeat is the to-driver buffer's consumer heartbeat,
	// 640 bytes into its 768-byte trailer.
	binary.LittleEndian.PutUint64(b[MetadataLength+1024+640:], 1700000000123)
	f, hb, err := ParseLive(b)
	if err != nil {
		t.Fatal(err)
	}
	if hb != 1700000000123 || f.Metadata.PID != 4242 {
		t.Errorf("heartbeat %d, pid %d", hb, f.Metadata.PID)
	}
	// A to-driver buffer that is not a ring buffer makes the file unusable.
	m := sample()
	m.ToDriverBufferLength = 1000 + 768
	if _, _, err := ParseLive(build(t, m)); !errors.Is(err, ErrBadLength) {
		t.Errorf("bad ring buffer: %v, want ErrBadLength", err)
	}
}

func FuzzParse(f *testing.F) {
	m := sample()
	b := make([]byte, m.FileLength(4096))
	_ = EncodeMetadata(b, m)
	binary.LittleEndian.PutUint32(b, uint32(Version))
	f.Add(b[:MetadataLength+64])
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := Parse(data)
		if err == nil && MetadataLength+fl.Metadata.RegionsLength() > len(data) {
			t.Fatal("accepted a file shorter than its regions")
		}
		if _, _, err := ParseLive(data); err == nil && fl == nil {
			t.Fatal("ParseLive accepted what Parse refused")
		}
	})
}
