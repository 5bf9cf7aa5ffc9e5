package command

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoundTrips(t *testing.T) {
	c := Correlated{ClientID: 3, CorrelationID: 9}
	tests := []struct {
		name   string
		encode func() []byte
		decode func([]byte) (any, error)
		want   any
	}{
		{"publication", func() []byte {
			m := PublicationMessage{c, 1001, "aeron:ipc?term-length=4m"}
			return m.Append(nil)
		}, func(b []byte) (any, error) { return DecodePublicationMessage(b) }, PublicationMessage{c, 1001, "aeron:ipc?term-length=4m"}},
		{"subscription", func() []byte {
			m := SubscriptionMessage{c, -1, 7, "aeron:ipc"}
			return m.Append(nil)
		}, func(b []byte) (any, error) { return DecodeSubscriptionMessage(b) }, SubscriptionMessage{c, -1, 7, "aeron:ipc"}},
		{"remove", func() []byte { m := RemoveMessage{c, 55}; return m.Append(nil) },
			func(b []byte) (any, error) { return DecodeRemoveMessage(b) }, RemoveMessage{c, 55}},
		{"destination", func() []byte {
			m := DestinationMessage{c, 55, "aeron:udp?endpoint=127.0.0.1:40123"}
			return m.Append(nil)
		}, func(b []byte) (any, error) { return DecodeDestinationMessage(b) }, DestinationMessage{c, 55, "aeron:udp?endpoint=127.0.0.1:40123"}},
		{"correlated", func() []byte { return c.Append(nil) },
			func(b []byte) (any, error) { return DecodeCorrelated(b) }, c},
		{"counter", func() []byte {
			m := CounterMessage{c, 1001, []byte{1, 2, 3}, "my counter"}
			return m.Append(nil)
		}, func(b []byte) (any, error) { return DecodeCounterMessage(b) }, CounterMessage{c, 1001, []byte{1, 2, 3}, "my counter"}},
		{"publication ready", func() []byte {
			m := PublicationReady{9, 10, 11, 12, 13, -1, "/dev/shm/aeron/publications/10.logbuffer"}
			return m.Append(nil)
		}, func(b []byte) (any, error) { return DecodePublicationReady(b) }, PublicationReady{9, 10, 11, 12, 13, -1, "/dev/shm/aeron/publications/10.logbuffer"}},
		{"subscription ready", func() []byte { m := SubscriptionReady{9, -1}; return m.Append(nil) },
			func(b []byte) (any, error) { return DecodeSubscriptionReady(b) }, SubscriptionReady{9, -1}},
		{"image ready", func() []byte {
			m := ImageReady{10, 11, 12, 9, 4, "abc.logbuffer", "aeron:ipc"}
			return m.Append(nil)
		}, func(b []byte) (any, error) { return DecodeImageReady(b) }, ImageReady{10, 11, 12, 9, 4, "abc.logbuffer", "aeron:ipc"}},
		{"image unavailable", func() []byte { m := ImageMessage{10, 9, 12, "aeron:ipc"}; return m.Append(nil) },
			func(b []byte) (any, error) { return DecodeImageMessage(b) }, ImageMessage{10, 9, 12, "aeron:ipc"}},
		{"operation succeeded", func() []byte { m := OperationSucceeded{5}; return m.Append(nil) },
			func(b []byte) (any, error) { return DecodeOperationSucceeded(b) }, OperationSucceeded{5}},
		{"error", func() []byte { m := ErrorResponse{5, ErrorInvalidChannel, "bad"}; return m.Append(nil) },
			func(b []byte) (any, error) { return DecodeErrorResponse(b) }, ErrorResponse{5, ErrorInvalidChannel, "bad"}},
		{"counter update", func() []byte { m := CounterUpdate{5, 3}; return m.Append(nil) },
			func(b []byte) (any, error) { return DecodeCounterUpdate(b) }, CounterUpdate{5, 3}},
		{"client timeout", func() []byte { m := ClientTimeout{77}; return m.Append(nil) },
			func(b []byte) (any, error) { return DecodeClientTimeout(b) }, ClientTimeout{77}},
		{"reject image", func() []byte { m := RejectImageMessage{c, 12, 4096, "too slow"}; return m.Append(nil) },
			func(b []byte) (any, error) { return DecodeRejectImageMessage(b) }, RejectImageMessage{c, 12, 4096, "too slow"}},
		{"publication error", func() []byte { m := testPublicationError; return m.Append(nil) },
			func(b []byte) (any, error) { return DecodePublicationError(b) }, testPublicationError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.encode()
			got, err := tt.decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// Every strict prefix cuts a field (each message ends with a
			// non-empty string or an integer), so it is malformed.
			for n := 0; n < len(b); n++ {
				if _, err := tt.decode(b[:n]); !errors.Is(err, ErrMalformed) {
					t.Errorf("prefix of %d bytes: error %v, want ErrMalformed", n, err)
				}
			}
		})
	}
}

var testPublicationError = PublicationError{RegistrationID: 5, DestinationRegistrationID: -1, SessionID: 7, StreamID: 1001,
	ReceiverID: 99, GroupTag: -1, AddressType: AddressTypeIPv4, SourcePort: 40123,
	SourceAddress: [16]byte{127, 0, 0, 1}, ErrorCode: ErrorImageRejected, Message: "rejected"}

func TestLayouts(t *testing.T) {
	le := binary.LittleEndian
	pe := testPublicationError
	b := pe.Append(nil)
	// aeron_publication_error_t, packed to 4: address type 40, port 42,
	// address 44, error code 60, message length 64, message 68.
	if le.Uint16(b[40:]) != AddressTypeIPv4 || le.Uint16(b[42:]) != 40123 || b[44] != 127 || le.Uint32(b[60:]) != ErrorImageRejected ||
		le.Uint32(b[64:]) != 8 || string(b[68:]) != "rejected" {
		t.Errorf("publication error layout: % x", b)
	}
	ri := RejectImageMessage{Correlated{1, 2}, 3, 4, "why"}
	b = ri.Append(nil)
	// image correlation id 16, position 24, reason length 32, reason 36.
	if le.Uint64(b[16:]) != 3 || le.Uint64(b[24:]) != 4 || le.Uint32(b[32:]) != 3 || string(b[36:]) != "why" {
		t.Errorf("reject image layout: % x", b)
	}
	m := PublicationMessage{Correlated{1, 2}, 1001, "aeron:ipc"}
	b = m.Append(nil)
	// client 0, correlation 8, stream 16, channel length 20, channel 24.
	if le.Uint64(b[0:]) != 1 || le.Uint64(b[8:]) != 2 || le.Uint32(b[16:]) != 1001 || le.Uint32(b[20:]) != 9 || string(b[24:]) != "aeron:ipc" {
		t.Errorf("publication command layout: % x", b)
	}
	s := SubscriptionMessage{Correlated{1, 2}, -1, 1001, "aeron:ipc"}
	b = s.Append(nil)
	if int64(le.Uint64(b[16:])) != -1 || le.Uint32(b[24:]) != 1001 || le.Uint32(b[28:]) != 9 || string(b[32:]) != "aeron:ipc" {
		t.Errorf("subscription command layout: % x", b)
	}
	img := ImageReady{10, 11, 12, 9, 4, "abcde", "aeron:ipc"}
	b = img.Append(nil)
	// log file name at 28; source identity after the name padded to 4.
	if le.Uint32(b[28:]) != 5 || string(b[32:37]) != "abcde" || le.Uint32(b[40:]) != 9 || string(b[44:]) != "aeron:ipc" {
		t.Errorf("image ready layout: % x", b)
	}
	cm := CounterMessage{Correlated{1, 2}, 1001, []byte{1, 2, 3, 4, 5}, "lbl"}
	b = cm.Append(nil)
	// type 16, key length 20, key 24, label length at 24+align(5,4)=32.
	if le.Uint32(b[16:]) != 1001 || le.Uint32(b[20:]) != 5 || le.Uint32(b[32:]) != 3 || string(b[36:]) != "lbl" {
		t.Errorf("counter command layout: % x", b)
	}
	pr := PublicationReady{1, 2, 3, 4, 5, 6, "f"}
	b = pr.Append(nil)
	if le.Uint32(b[24:]) != 5 || le.Uint32(b[28:]) != 6 || le.Uint32(b[32:]) != 1 || len(b) != 37 {
		t.Errorf("publication ready layout: % x", b)
	}
}

func TestMalformedLengths(t *testing.T) {
	m := PublicationMessage{Correlated{1, 2}, 3, "aeron:ipc"}
	b := m.Append(nil)
	tests := []struct {
		name string
		len  uint32
	}{
		{"negative", 0xFFFFFFFF},
		{"past end", 1000},
		{"huge", 0x7FFFFFFF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := append([]byte(nil), b...)
			binary.LittleEndian.PutUint32(c[20:], tt.len)
			if _, err := DecodePublicationMessage(c); !errors.Is(err, ErrMalformed) {
				t.Errorf("error = %v", err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	img := ImageReady{10, 11, 12, 9, 4, "abc", "aeron:ipc"}
	f.Add(img.Append(nil))
	cm := CounterMessage{Correlated{1, 2}, 3, []byte{1}, "x"}
	f.Add(cm.Append(nil))
	// Every other message as the client and the driver write it.
	for _, m := range []interface{ Append([]byte) []byte }{
		&PublicationMessage{Correlated{1, 2}, 1001, "aeron:ipc?term-length=64k"},
		&SubscriptionMessage{Correlated{1, 3}, -1, 1001, "aeron:ipc"},
		&RemoveMessage{Correlated{1, 4}, 2},
		&Correlated{1, 5},
		&PublicationReady{5, 5, 7, 1001, 3, 4, "/dev/shm/aeron/publications/5.logbuffer"},
		&SubscriptionReady{6, 9},
		&ImageMessage{7, 3, 1001, "aeron:ipc"},
		&OperationSucceeded{8},
		&ErrorResponse{9, 1, "invalid channel"},
		&CounterUpdate{10, 11},
		&ClientTimeout{1},
		&RejectImageMessage{Correlated{1, 6}, 12, 0, "reason"},
		&testPublicationError,
	} {
		f.Add(m.Append(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeImageReady(b)
		_, _ = DecodeCounterMessage(b)
		_, _ = DecodePublicationMessage(b)
		_, _ = DecodeSubscriptionMessage(b)
		_, _ = DecodeErrorResponse(b)
		_, _ = DecodePublicationReady(b)
		// The seven no target called before.
		if m, err := DecodeRemoveMessage(b); err == nil {
			if m2, err := DecodeRemoveMessage(m.Append(nil)); err != nil || m2 != m {
				t.Fatalf("RemoveMessage %+v round trip: %+v, %v", m, m2, err)
			}
		}
		if m, err := DecodeDestinationMessage(b); err == nil {
			if m2, err := DecodeDestinationMessage(m.Append(nil)); err != nil || m2 != m {
				t.Fatalf("DestinationMessage %+v round trip: %+v, %v", m, m2, err)
			}
		}
		if m, err := DecodeCorrelated(b); err == nil {
			if m2, err := DecodeCorrelated(m.Append(nil)); err != nil || m2 != m {
				t.Fatalf("Correlated %+v round trip: %+v, %v", m, m2, err)
			}
		}
		if m, err := DecodeSubscriptionReady(b); err == nil {
			if m2, err := DecodeSubscriptionReady(m.Append(nil)); err != nil || m2 != m {
				t.Fatalf("SubscriptionReady %+v round trip: %+v, %v", m, m2, err)
			}
		}
		if m, err := DecodeImageMessage(b); err == nil {
			if m2, err := DecodeImageMessage(m.Append(nil)); err != nil || m2 != m {
				t.Fatalf("ImageMessage %+v round trip: %+v, %v", m, m2, err)
			}
		}
		if m, err := DecodeOperationSucceeded(b); err == nil {
			if m2, err := DecodeOperationSucceeded(m.Append(nil)); err != nil || m2 != m {
				t.Fatalf("OperationSucceeded %+v round trip: %+v, %v", m, m2, err)
			}
		}
		if m, err := DecodeCounterUpdate(b); err == nil {
			if m2, err := DecodeCounterUpdate(m.Append(nil)); err != nil || m2 != m {
				t.Fatalf("CounterUpdate %+v round trip: %+v, %v", m, m2, err)
			}
		}
		if m, err := DecodeRejectImageMessage(b); err == nil {
			if m2, err := DecodeRejectImageMessage(m.Append(nil)); err != nil || m2 != m {
				t.Fatalf("RejectImageMessage %+v round trip: %+v, %v", m, m2, err)
			}
		}
		if m, err := DecodePublicationError(b); err == nil {
			if m2, err := DecodePublicationError(m.Append(nil)); err != nil || m2 != m {
				t.Fatalf("PublicationError %+v round trip: %+v, %v", m, m2, err)
			}
		}
		if m, err := DecodeClientTimeout(b); err == nil {
			if m2, err := DecodeClientTimeout(m.Append(nil)); err != nil || m2 != m {
				t.Fatalf("ClientTimeout %+v round trip: %+v, %v", m, m2, err)
			}
		}
	})
}
