package mediadriver

import (
	"testing"

	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
)

// FuzzChannelParams runs the driver's channel parsing (parseChannel, then
// publicationParams with its position parameters) on arbitrary channels
// from clients: an error or parameters the driver can act on, never a
// panic. Seeds are channels the client and the tests send.
func FuzzChannelParams(f *testing.F) {
	for _, s := range []string{
		"aeron:ipc",
		"aeron:ipc?term-length=64k|mtu=8k|session-id=-77|sparse=true|eos=false|linger=5ms|pub-wnd=16k",
		"aeron:ipc?term-length=64k|init-term-id=3|term-id=5|term-offset=128",
		"aeron:ipc?term-length=1g|mtu=65504|linger=9223372036854775807ns",
		"aeron:udp?endpoint=localhost:40123",
		"aeron-spy:aeron:ipc",
		"aeron:ipc?term-length=64k|init-term-id=2147483647|term-id=-2147483648|term-offset=65536",
	} {
		f.Add(s)
	}
	c := &conductor{cfg: Config{}.withDefaults()}
	f.Fuzz(func(t *testing.T, channel string) {
		u, err := parseChannel(channel)
		if err != nil {
			return
		}
		p, err := c.publicationParams(u)
		if err != nil {
			return
		}
		if logbuffer.CheckTermLength(p.termLength) != nil || p.mtu <= 0 || p.mtu > p.termLength/8 || p.linger < 0 {
			t.Fatalf("accepted %q as %+v", channel, p)
		}
		if p.window < 0 || p.window > p.termLength/2 {
			t.Fatalf("accepted %q with window %d", channel, p.window)
		}
		if p.hasPosition && (p.termOffset < 0 || int(p.termOffset) > p.termLength || p.termID-p.initialTermID < 0) {
			t.Fatalf("accepted %q with position %+v", channel, p)
		}
	})
}
