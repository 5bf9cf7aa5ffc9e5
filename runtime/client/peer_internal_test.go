package client

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tpool-go/tpool/gen/wire"
)

func TestRateGate(t *testing.T) {
	const ms = uint64(1e6)
	for _, tc := range []struct {
		name  string
		hz    uint32
		times []uint64 // event times, ms
		want  string   // 1 admitted, 0 not
	}{
		{"unlimited", 0, []uint64{0, 0, 0, 1}, "1111"},
		{"10 Hz from 100 Hz", 10, []uint64{0, 10, 50, 99, 100, 110, 199, 200}, "10001001"},
		// 30 Hz into 10 Hz keeps 10 Hz (a schedule, not "100 ms since the last").
		{"10 Hz from 30 Hz", 10, []uint64{0, 33, 66, 100, 133, 166, 200, 233, 266, 300}, "1001001001"},
		{"no burst after a pause", 10, []uint64{0, 1000, 1010, 1050, 1100}, "11001"},
		{"the grid is kept after a pause", 10, []uint64{0, 1030, 1090, 1100, 1150, 1200}, "110101"},
		{"a clock that went back restarts", 10, []uint64{5000, 5100, 100, 150, 200}, "11101"},
		{"same timestamp", 10, []uint64{7, 7, 7}, "100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newRateGate(tc.hz)
			var got []byte
			for _, x := range tc.times {
				if g.admit(x * ms) {
					got = append(got, '1')
				} else {
					got = append(got, '0')
				}
			}
			if string(got) != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestIDRange(t *testing.T) {
	a := newIDRange(StreamRange{First: 100, Last: 102})
	seen := map[uint32]bool{}
	for range 3 {
		id, ok := a.allocate(0)
		if !ok || id < 100 || id > 102 || seen[id] {
			t.Fatalf("allocate: %d %v (seen %v)", id, ok, seen)
		}
		seen[id] = true
	}
	if id, ok := a.allocate(0); ok {
		t.Fatalf("an exhausted range handed out %d", id)
	}
	if id, ok := a.allocate(101); ok {
		t.Fatalf("a preferred id in use was handed out: %d", id)
	}
	a.release(101)
	a.release(101) // releasing a free id does nothing
	if a.inUse() != 2 {
		t.Fatalf("in use %d, want 2", a.inUse())
	}
	if id, ok := a.allocate(101); !ok || id != 101 {
		t.Fatalf("preferred free id: %d %v", id, ok)
	}
	a.release(100)
	if id, ok := a.allocate(7); !ok || id != 100 {
		t.Fatalf("a preferred id outside the range gets a free one: %d %v", id, ok)
	}
}

func helloSeeds() [][]byte {
	var out [][]byte
	for _, h := range []hello{
		{stream: 10000, consumer: 7, mode: wire.ModeStream, supportsShm: true},
		{stream: 10000, consumer: 8, mode: wire.ModeRateLimited, maxRateHz: 10, supportsShm: true, supportsProgress: true,
			descChan: perConsumerChannel, ctlChan: perConsumerChannel, descID: 31000},
	} {
		buf := make([]byte, 512)
		n, err := encodeHello(buf, &h)
		if err != nil {
			panic(err)
		}
		out = append(out, buf[:n])
	}
	return out
}

func grantSeeds() [][]byte {
	var out [][]byte
	for _, g := range []grant{
		{stream: 10000, consumer: 8, mode: wire.ModeRateLimited, useShm: true},
		{stream: 10000, consumer: 8, mode: wire.ModeRateLimited, useShm: true, descID: 31000, descChan: perConsumerChannel,
			ctlID: 32000, ctlChan: perConsumerChannel},
	} {
		buf := make([]byte, 512)
		n, err := encodeGrant(buf, &g)
		if err != nil {
			panic(err)
		}
		out = append(out, buf[:n])
	}
	return out
}

func TestHelloGrantRoundTrip(t *testing.T) {
	for _, b := range helloSeeds() {
		var h hello
		if err := decodeHello(b, &h); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		n, err := encodeHello(buf, &h)
		if err != nil || !bytes.Equal(buf[:n], b) {
			t.Fatalf("hello %+v does not round-trip: %v", h, err)
		}
	}
	for _, b := range grantSeeds() {
		var g grant
		if err := decodeGrant(b, &g); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		n, err := encodeGrant(buf, &g)
		if err != nil || !bytes.Equal(buf[:n], b) {
			t.Fatalf("grant %+v does not round-trip: %v", g, err)
		}
	}
}

func TestHelloGrantRules(t *testing.T) {
	buf := make([]byte, 512)
	// Wire spec 10.1.2/10.1.3: a stream id without its channel is invalid.
	n, _ := encodeHello(buf, &hello{stream: 1, consumer: 2, mode: wire.ModeStream, descID: 31000})
	var h hello
	if err := decodeHello(buf[:n], &h); !errors.Is(err, errBadRequest) {
		t.Errorf("hello with a stream id and no channel: %v", err)
	}
	n, _ = encodeHello(buf, &hello{stream: 1, consumer: 2, mode: 9})
	if err := decodeHello(buf[:n], &h); !errors.Is(err, errBadRequest) {
		t.Errorf("hello with mode 9: %v", err)
	}
	var g grant
	n, _ = encodeGrant(buf, &grant{stream: 1, consumer: 2, mode: wire.ModeStream, descChan: "aeron:ipc"})
	if err := decodeGrant(buf[:n], &g); !errors.Is(err, errBadRequest) {
		t.Errorf("config with a channel and stream 0: %v", err)
	}
	if err := decodeGrant(buf[:5], &g); !errors.Is(err, errNotMessage) {
		t.Errorf("truncated config: %v", err)
	}
	for ch, want := range map[string]bool{"aeron:ipc": true, "aeron:ipc?term-length=1m": true,
		"aeron:udp?endpoint=10.0.0.1:40123": false, "aeron:ipcx": false, "": false} {
		if ipcChannel(ch) != want {
			t.Errorf("ipcChannel(%q) != %v", ch, want)
		}
	}
}

// The decoders take anything from the control and QoS streams: they must
// return an error, never panic, and what they accept must encode back to
// something they accept identically.
func FuzzDecodeHello(f *testing.F) {
	for _, b := range helloSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var h hello
		if decodeHello(b, &h) != nil {
			return
		}
		buf := make([]byte, 2*maxChannelLen+256)
		n, err := encodeHello(buf, &h)
		if err != nil {
			t.Fatalf("accepted hello %+v does not encode: %v", h, err)
		}
		var h2 hello
		if err := decodeHello(buf[:n], &h2); err != nil || h2 != h {
			t.Fatalf("re-decoded %+v (%v), want %+v", h2, err, h)
		}
	})
}

func FuzzDecodeGrant(f *testing.F) {
	for _, b := range grantSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var g grant
		if decodeGrant(b, &g) != nil {
			return
		}
		buf := make([]byte, 2*maxChannelLen+256)
		n, err := encodeGrant(buf, &g)
		if err != nil {
			t.Fatalf("accepted config %+v does not encode: %v", g, err)
		}
		var g2 grant
		if err := decodeGrant(buf[:n], &g2); err != nil || g2 != g {
			t.Fatalf("re-decoded %+v (%v), want %+v", g2, err, g)
		}
	})
}

func FuzzDecodeQosConsumer(f *testing.F) {
	var e wire.QosConsumerEncoder
	buf := make([]byte, 64)
	if err := e.WrapWithHeader(buf); err != nil {
		f.Fatal(err)
	}
	e.SetStreamId(10000)
	e.SetConsumerId(5)
	e.SetMode(wire.ModeRateLimited)
	n, _ := e.Finish()
	f.Add(buf[:n])
	f.Fuzz(func(t *testing.T, b []byte) {
		stream, consumer, err := decodeQosConsumer(b)
		if err == nil && (len(b) < n) {
			t.Fatalf("accepted %d bytes (stream %d consumer %d), shorter than a QosConsumer", len(b), stream, consumer)
		}
	})
}
