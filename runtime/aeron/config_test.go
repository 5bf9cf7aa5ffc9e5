package aeron_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tpool-go/tpool/runtime/aeron"
)

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    aeron.Config
		wantErr string // substring of the ErrConfig error, "" for success
	}{
		{"empty", nil, aeron.Config{}, ""},
		{"all", map[string]string{
			"AERON_DIR": "/tmp/x", "AERON_CLIENT_NAME": "tp", "AERON_DRIVER_TIMEOUT": "2500",
			"AERON_CLIENT_RESOURCE_LINGER_DURATION": "2s", "AERON_CLIENT_IDLE_SLEEP_DURATION": "500000",
		}, aeron.Config{Dir: "/tmp/x", ClientName: "tp", DriverTimeout: 2500 * time.Millisecond,
			ResourceLinger: 2 * time.Second, IdleSleep: 500 * time.Microsecond}, ""},
		{"timeout with a unit", map[string]string{"AERON_DRIVER_TIMEOUT": "20s"}, aeron.Config{DriverTimeout: 20 * time.Second}, ""},
		{"largest idle sleep", map[string]string{"AERON_CLIENT_IDLE_SLEEP_DURATION": "9223372036854775807"},
			aeron.Config{IdleSleep: math.MaxInt64}, ""},
		{"bad timeout", map[string]string{"AERON_DRIVER_TIMEOUT": "soon"}, aeron.Config{}, "AERON_DRIVER_TIMEOUT"},
		{"zero timeout", map[string]string{"AERON_DRIVER_TIMEOUT": "0"}, aeron.Config{}, "must be positive"},
		{"bad linger", map[string]string{"AERON_CLIENT_RESOURCE_LINGER_DURATION": "3h"}, aeron.Config{}, "AERON_CLIENT_RESOURCE_LINGER_DURATION"},
		{"timeout below keepalive", map[string]string{"AERON_DRIVER_TIMEOUT": "100"}, aeron.Config{}, "below the driver timeout"},
		// 2^64 ns + 290 ms: once silently 290 ms.
		{"idle sleep overflows", map[string]string{"AERON_CLIENT_IDLE_SLEEP_DURATION": "18446744074s"}, aeron.Config{},
			`AERON_CLIENT_IDLE_SLEEP_DURATION: duration "18446744074s" overflows`},
		// 2^64 ns + 448 us: once 448 us, then rejected as below the keepalive.
		{"timeout overflows", map[string]string{"AERON_DRIVER_TIMEOUT": "18446744073710"}, aeron.Config{},
			`AERON_DRIVER_TIMEOUT: duration "18446744073710" overflows`},
		{"linger overflows", map[string]string{"AERON_CLIENT_RESOURCE_LINGER_DURATION": "9223372037s"}, aeron.Config{},
			`AERON_CLIENT_RESOURCE_LINGER_DURATION: duration "9223372037s" overflows`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := aeron.ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if !errors.Is(err, aeron.ErrConfig) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %v, want ErrConfig containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b func(error)) bool { return true })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
