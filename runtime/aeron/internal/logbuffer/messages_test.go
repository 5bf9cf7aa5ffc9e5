package logbuffer

import (
	"errors"
	"testing"
)

// Length errors give the allowed range (issue 13).
func TestLengthErrorsGiveRange(t *testing.T) {
	tests := []struct {
		err, sentinel error
		want          string
	}{
		{CheckTermLength(3072), ErrTermLength, "term length 3072 is not a power of two from 64k to 1g (65536 to 1073741824 bytes): logbuffer: bad term length"},
		{CheckPageSize(100), ErrPageSize, "page size 100 is not a power of two from 4k to 1g (4096 to 1073741824 bytes): logbuffer: bad page size"},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.sentinel) || tt.err.Error() != tt.want {
			t.Errorf("got %v, want %q", tt.err, tt.want)
		}
	}
	if CheckTermLength(64<<10) != nil || CheckPageSize(4<<10) != nil {
		t.Error("valid lengths rejected")
	}
}
