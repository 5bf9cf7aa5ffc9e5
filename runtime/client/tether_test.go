package client

import "testing"

func TestDescriptorChannels(t *testing.T) {
	tests := []struct{ in, sub, pub string }{
		{"aeron:ipc", "aeron:ipc?tether=false",
			"aeron:ipc?untethered-window-limit-timeout=500ms|untethered-resting-timeout=5s"},
		{"aeron:ipc?term-length=4m", "aeron:ipc?term-length=4m|tether=false",
			"aeron:ipc?term-length=4m|untethered-window-limit-timeout=500ms|untethered-resting-timeout=5s"},
		{"aeron:ipc?tether=true|untethered-resting-timeout=5s", "aeron:ipc?tether=true|untethered-resting-timeout=5s",
			"aeron:ipc?tether=true|untethered-resting-timeout=5s|untethered-window-limit-timeout=500ms"},
		{"aeron:udp?endpoint=localhost:40123", "aeron:udp?endpoint=localhost:40123", "aeron:udp?endpoint=localhost:40123"},
	}
	for _, tt := range tests {
		if got := descriptorSubChannel(tt.in); got != tt.sub {
			t.Errorf("subscription channel of %q = %q, want %q", tt.in, got, tt.sub)
		}
		if got := descriptorPubChannel(tt.in); got != tt.pub {
			t.Errorf("publication channel of %q = %q, want %q", tt.in, got, tt.pub)
		}
	}
}
