package udpframe

import (
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Frames as real Aeron lays them out (aeron_udp_protocol.h, little-endian,
// packed to 4 bytes), written out byte by byte so that a change in field
// order or width shows here rather than only in an interop run.
var realFrames = map[string]string{
	// setup: len 40, v0, flags 0, type 5; offset 0, session 0x1234, stream
	// 1001, initial term 7, active term 9, term 64 KiB, mtu 1408, ttl 0.
	"setup": "28000000" + "00" + "00" + "0500" + "00000000" + "34120000" + "e9030000" + "07000000" + "09000000" + "00000100" + "80050000" + "00000000",
	// status message: len 32, flags 0x80 (send setup), type 3; session,
	// stream 1001, term 9, offset 0x40, window 128 KiB, receiver id 42.
	"sm": "24000000" + "00" + "80" + "0300" + "34120000" + "e9030000" + "09000000" + "40000000" + "00000200" + "2a00000000000000",
	// status message with group tag 5.
	"sm_gtag": "2c000000" + "00" + "00" + "0300" + "34120000" + "e9030000" + "09000000" + "40000000" + "00000200" + "2a00000000000000" + "0500000000000000",
	// NAK: len 28, type 2; session, stream, term 9, offset 0x1000, length 1408.
	"nak": "1c000000" + "00" + "00" + "0200" + "34120000" + "e9030000" + "09000000" + "00100000" + "80050000",
	// RTTM: len 40, reply flag, type 6; session, stream, echo 1000, delta 0, receiver 42.
	"rttm": "28000000" + "00" + "80" + "0600" + "34120000" + "e9030000" + "e803000000000000" + "0000000000000000" + "2a00000000000000",
	// heartbeat: len 0, flags begin|end, type 1; offset 0x60, session, stream, term 9, reserved 0.
	"heartbeat": "00000000" + "00" + "c0" + "0100" + "60000000" + "34120000" + "e9030000" + "09000000" + "0000000000000000",
	// data: len 36 (4 bytes payload), unfragmented; offset 0, term 9, payload "ping", aligned to 64.
	"data": "24000000" + "00" + "c0" + "0100" + "00000000" + "34120000" + "e9030000" + "09000000" + "0000000000000000" + "70696e67" + "00000000000000000000000000000000000000000000000000000000",
	// error: len 45, type 4; session, stream, receiver 42, group tag 0, code 11, text "nope!".
	"error": "2d000000" + "00" + "00" + "0400" + "34120000" + "e9030000" + "2a00000000000000" + "0000000000000000" + "0b000000" + "05000000" + "6e6f706521",
}

func frame(t testing.TB, name string) []byte {
	t.Helper()
	b, err := hex.DecodeString(realFrames[name])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRealFrames(t *testing.T) {
	tests := []struct {
		name string
		got  func(b []byte) (any, error)
		want any
	}{
		{"setup", func(b []byte) (any, error) { return DecodeSetup(b) },
			Setup{SessionID: 0x1234, StreamID: 1001, InitialTermID: 7, ActiveTermID: 9, TermLength: 65536, MTU: 1408}},
		{"sm", func(b []byte) (any, error) { return DecodeSM(b) },
			SM{Flags: FlagSMSetup, SessionID: 0x1234, StreamID: 1001, ConsumptionTermID: 9, ConsumptionTermOffset: 64, ReceiverWindow: 128 << 10, ReceiverID: 42}},
		{"sm_gtag", func(b []byte) (any, error) { return DecodeSM(b) },
			SM{SessionID: 0x1234, StreamID: 1001, ConsumptionTermID: 9, ConsumptionTermOffset: 64, ReceiverWindow: 128 << 10, ReceiverID: 42, HasGroupTag: true, GroupTag: 5}},
		{"nak", func(b []byte) (any, error) { return DecodeNAK(b) },
			NAK{SessionID: 0x1234, StreamID: 1001, TermID: 9, TermOffset: 4096, Length: 1408}},
		{"rttm", func(b []byte) (any, error) { return DecodeRTTM(b) },
			RTTM{Flags: FlagRTTMReply, SessionID: 0x1234, StreamID: 1001, EchoTimestamp: 1000, ReceiverID: 42}},
		{"heartbeat", func(b []byte) (any, error) { return DecodeData(b) },
			Data{Flags: FlagUnfragmented, Type: TypeData, TermOffset: 96, SessionID: 0x1234, StreamID: 1001, TermID: 9}},
		{"data", func(b []byte) (any, error) { return DecodeData(b) },
			Data{FrameLength: 36, Flags: FlagUnfragmented, Type: TypeData, SessionID: 0x1234, StreamID: 1001, TermID: 9}},
		{"error", func(b []byte) (any, error) {
			e, err := DecodeError(b)
			return [2]any{e.ErrorCode, string(e.Message)}, err
		}, [2]any{int32(11), "nope!"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got(frame(t, tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Fatalf("-want +got:\n%s", d)
			}
		})
	}
}

func TestEncodeMatchesRealFrames(t *testing.T) {
	b := make([]byte, 2048)
	for name, enc := range map[string]func([]byte) int{
		"sm": SM{Flags: FlagSMSetup, SessionID: 0x1234, StreamID: 1001, ConsumptionTermID: 9, ConsumptionTermOffset: 64,
			ReceiverWindow: 128 << 10, ReceiverID: 42}.Encode,
		"heartbeat": Data{Flags: FlagUnfragmented, Type: TypeData, TermOffset: 96, SessionID: 0x1234, StreamID: 1001, TermID: 9}.Encode,
		"setup":     Setup{SessionID: 0x1234, StreamID: 1001, InitialTermID: 7, ActiveTermID: 9, TermLength: 65536, MTU: 1408}.Encode,
		"nak":       NAK{SessionID: 0x1234, StreamID: 1001, TermID: 9, TermOffset: 4096, Length: 1408}.Encode,
		"rttm":      RTTM{Flags: FlagRTTMReply, SessionID: 0x1234, StreamID: 1001, EchoTimestamp: 1000, ReceiverID: 42}.Encode,
		"sm_gtag": SM{SessionID: 0x1234, StreamID: 1001, ConsumptionTermID: 9, ConsumptionTermOffset: 64,
			ReceiverWindow: 128 << 10, ReceiverID: 42, HasGroupTag: true, GroupTag: 5}.Encode,
		"error": Error{SessionID: 0x1234, StreamID: 1001, ReceiverID: 42, ErrorCode: 11, Message: []byte("nope!")}.Encode,
	} {
		t.Run("bytes/"+name, func(t *testing.T) {
			n := enc(b)
			if d := cmp.Diff(hex.EncodeToString(frame(t, name)), hex.EncodeToString(b[:n])); d != "" {
				t.Fatalf("-want +got:\n%s", d)
			}
		})
	}
}

func TestCheckDataDatagram(t *testing.T) {
	const termLength = 64 << 10
	data := frame(t, "data")
	two := append(append([]byte{}, data...), data...)
	// The second frame is at term offset 64.
	le.PutUint32(two[64+8:], 64)
	pad := make([]byte, 32)
	Data{FrameLength: 4096, Flags: FlagUnfragmented, Type: TypePad, TermOffset: termLength - 4096, SessionID: 0x1234, StreamID: 1001, TermID: 9}.Encode(pad)
	badStream := append([]byte{}, two...)
	le.PutUint32(badStream[64+16:], 7)
	pastEnd := append([]byte{}, data...)
	le.PutUint32(pastEnd[8:], termLength-32)
	tests := []struct {
		name    string
		b       []byte
		covered int
		ok      bool
	}{
		{"one frame", data, 64, true},
		{"two frames", two, 128, true},
		{"heartbeat", frame(t, "heartbeat"), 0, true},
		{"padding header only", pad, 4096, true},
		{"frame of another stream", badStream, 0, false},
		{"past the term end", pastEnd, 0, false},
		{"truncated", data[:34], 0, false},
		{"setup", frame(t, "setup"), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := CheckDataDatagram(tt.b, termLength)
			if (err == nil) != tt.ok || n != tt.covered {
				t.Fatalf("got %d, %v; want %d ok=%v", n, err, tt.covered, tt.ok)
			}
		})
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	frames := [][]byte{frame(t, "setup"), frame(t, "sm"), frame(t, "nak"), frame(t, "rttm"), frame(t, "data"), frame(t, "error")}
	allocs := testing.AllocsPerRun(100, func() {
		for _, b := range frames {
			decodeAny(b)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run", allocs)
	}
}

// decodeAny runs every decoder on b.
func decodeAny(b []byte) {
	_, _ = DecodeHeader(b)
	_, _ = DecodeData(b)
	_, _ = DecodeSetup(b)
	_, _ = DecodeSM(b)
	_, _ = DecodeNAK(b)
	_, _ = DecodeRTTM(b)
	_, _ = DecodeError(b)
	_, _ = CheckDataDatagram(b, 64<<10)
}

func FuzzDecode(f *testing.F) {
	for name := range realFrames {
		b, _ := hex.DecodeString(realFrames[name])
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeAny(b)
		if e, err := DecodeError(b); err == nil {
			// Re-encoding a decoded frame gives a frame that decodes the same.
			out := make([]byte, ErrorMaxFrameLength)
			n := e.Encode(out)
			e2, err := DecodeError(out[:n])
			if err != nil || e2.ErrorCode != e.ErrorCode || string(e2.Message) != string(e.Message) {
				t.Fatalf("error frame round trip: %v", err)
			}
		}
		if s, err := DecodeSetup(b); err == nil {
			out := make([]byte, SetupLength)
			s.Encode(out)
			if s2, err := DecodeSetup(out); err != nil || s2 != s {
				t.Fatalf("setup round trip: %+v != %+v (%v)", s2, s, err)
			}
		}
		if n, err := CheckDataDatagram(b, 64<<10); err == nil && n > 64<<10 {
			t.Fatalf("covered %d > term", n)
		}
	})
}
