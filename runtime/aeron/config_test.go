package aeron_test

import (
	"errors"
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
		wantErr bool
	}{
		{"empty", nil, aeron.Config{}, false},
		{"all", map[string]string{
			"AERON_DIR": "/tmp/x", "AERON_CLIENT_NAME": "tp", "AERON_DRIVER_TIMEOUT": "2500",
			"AERON_CLIENT_RESOURCE_LINGER_DURATION": "2s", "AERON_CLIENT_IDLE_SLEEP_DURATION": "500000",
		}, aeron.Config{Dir: "/tmp/x", ClientName: "tp", DriverTimeout: 2500 * time.Millisecond,
			ResourceLinger: 2 * time.Second, IdleSleep: 500 * time.Microsecond}, false},
		{"bad timeout", map[string]string{"AERON_DRIVER_TIMEOUT": "soon"}, aeron.Config{}, true},
		{"bad linger", map[string]string{"AERON_CLIENT_RESOURCE_LINGER_DURATION": "3h"}, aeron.Config{}, true},
		{"timeout below keepalive", map[string]string{"AERON_DRIVER_TIMEOUT": "100"}, aeron.Config{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := aeron.ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr {
				if !errors.Is(err, aeron.ErrConfig) {
					t.Errorf("error = %v, want ErrConfig", err)
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
