package sbe

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestAppendJSONBytes(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{nil, `""`},
		{[]byte("aeron:ipc?term-length=4m"), `"aeron:ipc?term-length=4m"`},
		{[]byte(`say "hi"\`), `"say \"hi\"\\"`},
		{[]byte{0, 1, 0xff}, `{"hex":"0001ff"}`},
		{[]byte("tab\there"), `{"hex":"7461620968657265"}`},
	}
	for _, tt := range tests {
		got := string(AppendJSONBytes(nil, tt.in))
		if got != tt.want {
			t.Errorf("AppendJSONBytes(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s is not valid JSON", got)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, in := range []string{"plain", "ünïcode", "\x00\x1f\x7f", "bad \xff utf8", "\n\r\t\"\\"} {
		out := AppendJSONString(nil, []byte(in))
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Errorf("AppendJSONString(%q) = %s: %v", in, out, err)
		} else if want := strings.ToValidUTF8(in, "\uFFFD"); back != want {
			t.Errorf("AppendJSONString(%q) = %s, which reads back as %q, want %q", in, out, back, want)
		}
	}
}

func TestAppendJSONChars(t *testing.T) {
	if got := string(AppendJSONChars(nil, []byte{'a', 'b', 0, 'c'})); got != `"ab"` {
		t.Errorf("got %s", got)
	}
}

func TestAppendJSONFloat(t *testing.T) {
	tests := []struct {
		f    float64
		bits int
		want string
	}{
		{35.9, 32, "35.9"},
		{float64(float32(35.9)), 32, "35.9"},
		{0.1, 64, "0.1"},
		{math.NaN(), 32, "null"},
		{math.Inf(1), 64, "null"},
		{math.Inf(-1), 64, "null"},
	}
	for _, tt := range tests {
		if got := string(AppendJSONFloat(nil, tt.f, tt.bits)); got != tt.want {
			t.Errorf("AppendJSONFloat(%v, %d) = %s, want %s", tt.f, tt.bits, got, tt.want)
		}
	}
}

func TestUintRoundTrip(t *testing.T) {
	for _, width := range []int{1, 2, 4, 8} {
		for _, big := range []bool{false, true} {
			b := make([]byte, 8)
			v := uint64(0x0102030405060708) & (1<<(8*width) - 1)
			if width == 8 {
				v = 0x0102030405060708
			}
			PutUint(b, width, big, v)
			if got := Uint(b, width, big); got != v {
				t.Errorf("width %d big %v: %#x, want %#x", width, big, got, v)
			}
			if width == 2 && big && (b[0] != 0x07 || b[1] != 0x08) {
				t.Errorf("big-endian bytes %x", b[:2])
			}
		}
	}
}

func TestVarData(t *testing.T) {
	buf := []byte{3, 0, 'a', 'b', 'c', 9, 0, 'x'}
	tests := []struct {
		name    string
		pos     int
		max     uint64
		wantEnd int
		wantErr error
	}{
		{"ok", 0, 100, 5, nil},
		{"over max", 0, 2, 0, ErrVarDataLength},
		{"runs past end", 5, 100, 0, ErrShortBuffer},
		{"no room for length", 7, 100, 0, ErrShortBuffer},
		{"negative pos", -1, 100, 0, ErrShortBuffer},
		{"pos past end", 9, 100, 0, ErrShortBuffer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			end, err := SkipVarData(buf, tt.pos, 2, false, tt.max)
			if !errors.Is(err, tt.wantErr) || end != tt.wantEnd {
				t.Errorf("SkipVarData = %d, %v; want %d, %v", end, err, tt.wantEnd, tt.wantErr)
			}
		})
	}
	if got := string(VarData(buf, 0, 2, false)); got != "abc" {
		t.Errorf("VarData = %q", got)
	}
	for _, p := range []int{-1, 5, 7, 100} {
		if got := VarData(buf, p, 2, false); got != nil {
			t.Errorf("VarData at %d = %q, want nil", p, got)
		}
	}
	if v := VarData(buf, 0, 2, false); cap(v) != len(v) {
		t.Error("a var-data view must not expose the bytes after it through append")
	}
}

func TestEncoderState(t *testing.T) {
	s := EncoderState{Buf: make([]byte, 10), Limit: 2}
	if p, err := s.Reserve(8); err != nil || p != 2 || s.Limit != 10 {
		t.Fatalf("Reserve = %d, %v (limit %d)", p, err, s.Limit)
	}
	if _, err := s.Reserve(1); !errors.Is(err, ErrShortBuffer) {
		t.Fatalf("Reserve past the end: %v", err)
	}
	// The first error sticks.
	if err := PutVarData(&s, 1, false, 10, "x"); !errors.Is(err, ErrShortBuffer) {
		t.Fatalf("after a failure: %v", err)
	}
	s = EncoderState{Buf: make([]byte, 10)}
	if err := PutVarData(&s, 1, false, 3, "abcd"); !errors.Is(err, ErrVarDataLength) {
		t.Fatalf("over max: %v", err)
	}
	s = EncoderState{Buf: make([]byte, 10)}
	if err := PutVarData(&s, 2, true, 100, []byte("hey")); err != nil || string(s.Buf[:s.Limit]) != "\x00\x03hey" {
		t.Fatalf("PutVarData: %v %q", err, s.Buf[:s.Limit])
	}
}
