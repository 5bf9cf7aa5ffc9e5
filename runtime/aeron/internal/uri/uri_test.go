package uri

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    URI
		wantErr bool
	}{
		{"aeron:ipc", URI{Media: "ipc", Params: map[string]string{}}, false},
		{"aeron:ipc?term-length=4m", URI{Media: "ipc", Params: map[string]string{"term-length": "4m"}}, false},
		{"aeron:udp?endpoint=localhost:40123|mtu=8k", URI{Media: "udp", Params: map[string]string{"endpoint": "localhost:40123", "mtu": "8k"}}, false},
		{"aeron-spy:aeron:ipc", URI{Prefix: "aeron-spy", Media: "ipc", Params: map[string]string{}}, false},
		{"ipc", URI{}, true},
		{"aeron:", URI{}, true},
		{"aeron:ipc?term-length", URI{}, true},
		{"aeron:ipc?=4", URI{}, true},
		{"aeron:ipc?x=" + strings.Repeat("a", MaxLength), URI{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in[:min(len(tt.in), 40)], func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"65536", 65536, false},
		{"64k", 65536, false},
		{"4m", 4 << 20, false},
		{"1g", 1 << 30, false},
		{"4M", 4 << 20, false},
		{"", 0, true},
		{"m", 0, true},
		{"-4m", 0, true},
		{"99999999999999999g", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v", tt.in, got, err)
		}
	}
	u, _ := Parse("aeron:ipc?term-length=4m|session-id=77|sparse=true|linger=5ms")
	if n, _ := u.Size(TermLengthKey, 0); n != 4<<20 {
		t.Errorf("term-length %d", n)
	}
	if v, ok, _ := u.Int32(SessionIDKey); !ok || v != 77 {
		t.Errorf("session-id %d %v", v, ok)
	}
	if v, _ := u.Bool(SparseKey, false); !v {
		t.Error("sparse")
	}
	if v, _ := u.Duration(LingerKey, 0); v != 5e6 {
		t.Errorf("linger %d", v)
	}
	for d, want := range map[string]int64{"9223372036854775807ns": math.MaxInt64, "9223372036s": 9223372036e9} {
		u, _ := Parse("aeron:ipc?linger=" + d)
		if v, err := u.Duration(LingerKey, 0); err != nil || v != want {
			t.Errorf("linger=%s: %d, %v; want %d", d, v, err, want)
		}
	}
	for _, d := range []string{"9223372037s", "9300000000s", "9223372036854776ms", "-1ms", "5h"} {
		u, _ := Parse("aeron:ipc?linger=" + d)
		if v, err := u.Duration(LingerKey, 0); !errors.Is(err, ErrInvalid) {
			t.Errorf("linger=%s: %d, %v; want ErrInvalid", d, v, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("aeron:ipc?term-length=4m")
	// Channels as the client and the driver's tests write them.
	f.Add("aeron:ipc?term-length=64k|mtu=8k|session-id=-77|init-term-id=3|term-id=5|term-offset=128|sparse=true|linger=5ms|tether=false|eos=true")
	f.Add("aeron-spy:aeron:ipc?alias=x|tags=1,2|pub-wnd=1m|rejoin=false|reliable=true|linger=9223372036854775807ns")
	f.Add("aeron:ipc?linger=18446744074s|session-id=2147483648|sparse=yes|term-length=8g")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Parse(s)
		if err != nil {
			return
		}
		// Every accessor on every parameter: errors, never panics, and
		// no negative size or duration.
		for key := range u.Params {
			if n, err := u.Size(key, 0); err == nil && n < 0 {
				t.Fatalf("Size(%s) = %d", key, n)
			}
			_, _, _ = u.Int32(key)
			_, _ = u.Bool(key, false)
			if d, err := u.Duration(key, 0); err == nil && d < 0 {
				t.Fatalf("Duration(%s) = %d", key, d)
			}
			if d, err := ParseDuration(u.Params[key], time.Millisecond); err == nil && d < 0 {
				t.Fatalf("ParseDuration(%q, ms) = %d", u.Params[key], d)
			}
		}
		if _, err := Parse(u.String()); err != nil {
			t.Fatalf("Parse(String()) of %q: %v", s, err)
		}
	})
}

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		s    string
		bare time.Duration
		want time.Duration
		err  string // substring of the error, "" for none
	}{
		{"0", time.Nanosecond, 0, ""},
		{"500000", time.Nanosecond, 500 * time.Microsecond, ""},
		{"2500", time.Millisecond, 2500 * time.Millisecond, ""},
		{"2s", time.Millisecond, 2 * time.Second, ""},
		{"7us", time.Millisecond, 7 * time.Microsecond, ""},
		{"9223372036854775807", time.Nanosecond, math.MaxInt64, ""},
		{"9223372036854ms", time.Nanosecond, 9223372036854 * time.Millisecond, ""},
		{"9223372036854", time.Millisecond, 9223372036854 * time.Millisecond, ""},
		// 18446744074 s is 2^64 ns plus 290 ms: once silently 290 ms.
		{"18446744074s", time.Nanosecond, 0, "overflows"},
		// 18446744073710 ms is 2^64 ns plus 448 us: once silently 448 us.
		{"18446744073710", time.Millisecond, 0, "overflows"},
		{"9223372036855", time.Millisecond, 0, "overflows"},
		{"9223372037s", time.Nanosecond, 0, "overflows"},
		{"99999999999999999999", time.Nanosecond, 0, "not a non-negative integer"},
		{"-1", time.Nanosecond, 0, "not a non-negative integer"},
		{"", time.Nanosecond, 0, "not a non-negative integer"},
		{"s", time.Nanosecond, 0, "not a non-negative integer"},
		{"3h", time.Nanosecond, 0, "not a non-negative integer"},
		{"1 s", time.Nanosecond, 0, "not a non-negative integer"},
	} {
		t.Run(tt.s, func(t *testing.T) {
			got, err := ParseDuration(tt.s, tt.bare)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Errorf("ParseDuration(%q, %v) = %v, %v; want %v", tt.s, tt.bare, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseDuration(%q, %v) = %v, %v; want an error containing %q", tt.s, tt.bare, got, err, tt.err)
			}
		})
	}
}
