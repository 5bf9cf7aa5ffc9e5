package uri

import (
	"errors"
	"math"
	"strings"
	"testing"

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
	f.Fuzz(func(t *testing.T, s string) {
		u, err := Parse(s)
		if err == nil {
			_, _ = u.Size(TermLengthKey, 0)
		}
	})
}
