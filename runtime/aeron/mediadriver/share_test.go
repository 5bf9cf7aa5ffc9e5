package mediadriver

import (
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
)

// TestAddPublicationSharingRules: a second add-publication on a stream
// shares the active publication or is refused, by the rules of
// sharesSession and pubParams.matches.
func TestAddPublicationSharingRules(t *testing.T) {
	// The raw client sends no keepalives: a liveness timeout far beyond
	// the test's length keeps a loaded machine from timing it out (and
	// removing the first publication) between two adds.
	dir := startDriverWith(t, func(c *Config) { c.ClientLivenessTimeout = time.Minute })
	r := newRawClient(t, dir)
	tests := []struct {
		name          string
		first, second string
		firstType     int32
		secondType    int32
		wantErr       string // empty: the second shares the first's registration
	}{
		{"same channel shares", "aeron:ipc?term-length=64k", "aeron:ipc", command.AddPublication, command.AddPublication, ""},
		{"other term length", "aeron:ipc?term-length=64k", "aeron:ipc?term-length=128k", command.AddPublication, command.AddPublication, "different term-length: existing=65536 requested=131072"},
		{"other mtu", "aeron:ipc?term-length=64k|mtu=4k", "aeron:ipc?mtu=8k", command.AddPublication, command.AddPublication, "different mtu: existing=4096 requested=8192"},
		{"session in exclusive use", "aeron:ipc?session-id=77", "aeron:ipc?session-id=77", command.AddExclusivePublication, command.AddPublication, "session-id 77 already in exclusive use"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := int32(100 + i)
			first := r.addRaw(tt.firstType, stream, tt.first)
			if first.err != nil {
				t.Fatalf("first add: %d %s", first.err.ErrorCode, first.err.Message)
			}
			second := r.addRaw(tt.secondType, stream, tt.second)
			switch {
			case tt.wantErr == "" && second.err != nil:
				t.Fatalf("second add refused: %s", second.err.Message)
			case tt.wantErr == "" && second.ready.RegistrationID != first.ready.RegistrationID:
				t.Errorf("second add has registration %d, want the first's %d", second.ready.RegistrationID, first.ready.RegistrationID)
			case tt.wantErr != "" && second.err == nil:
				t.Errorf("second add accepted, want %q", tt.wantErr)
			case tt.wantErr != "" && (second.err.ErrorCode != command.ErrorGenericError || !strings.Contains(second.err.Message, tt.wantErr)):
				t.Errorf("second add refused with %d %q, want GENERIC_ERROR %q", second.err.ErrorCode, second.err.Message, tt.wantErr)
			}
		})
	}
}

type addResult struct {
	ready command.PublicationReady
	err   *command.ErrorResponse
}

// addRaw sends an add-publication and returns its ready answer or error.
func (r *rawClient) addRaw(typeID int32, stream int32, channel string) addResult {
	r.t.Helper()
	id := r.rb.NextCorrelationID()
	m := command.PublicationMessage{Correlated: command.Correlated{ClientID: r.id, CorrelationID: id}, StreamID: stream, Channel: channel}
	r.send(typeID, m.Append(nil))
	var res addResult
	deadline := time.Now().Add(guard)
	for done := false; !done; {
		if time.Now().After(deadline) {
			r.t.Fatalf("no answer to add-publication %q", channel)
		}
		n, err := r.rx.Receive(func(rt int32, b []byte) {
			switch rt {
			case command.OnPublicationReady, command.OnExclusivePublicationReady:
				if p, err := command.DecodePublicationReady(b); err == nil && p.CorrelationID == id {
					res.ready, done = p, true
				}
			case command.OnError:
				if e, err := command.DecodeErrorResponse(b); err == nil && e.OffendingCorrelationID == id {
					res.err, done = &e, true
				}
			}
		})
		if err != nil {
			r.t.Fatal(err)
		}
		if n == 0 && !done {
			time.Sleep(time.Millisecond)
		}
	}
	return res
}
