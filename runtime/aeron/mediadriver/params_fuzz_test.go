package mediadriver

import (
	"testing"

	"github.com/tpool-go/tpool/runtime/aeron/internal/logbuffer"
	"github.com/tpool-go/tpool/runtime/aeron/internal/uri"
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

// FuzzUDPChannel runs parseUDPChannel, loopback-only (no DNS) on a fixed set
// of interfaces, on arbitrary channels: an error or a channel whose
// addresses are usable, multicast ones on a loopback interface with the
// control group next to the data group.
func FuzzUDPChannel(f *testing.F) {
	for _, s := range []string{
		"aeron:udp?endpoint=127.0.0.1:40123|interface=127.0.0.0/8|ttl=3",
		"aeron:udp?endpoint=239.1.2.3:40456|interface=127.0.0.1|ttl=1",
		"aeron:udp?endpoint=[ff02::1]:40456|interface=[::1]/128",
		"aeron:udp?endpoint=224.0.0.1:1|interface=0.0.0.0/0",
		"aeron:udp?control=127.0.0.1:40124|control-mode=dynamic|fc=min,g:/2",
		"aeron:udp?endpoint=127.0.0.1:40124|control=127.0.0.1:40125|tags=1,2",
	} {
		f.Add(s)
	}
	old := listInterfaces
	listInterfaces = func() ([]localAddr, error) { return testInterfaces, nil }
	defer func() { listInterfaces = old }()
	f.Fuzz(func(t *testing.T, channel string) {
		u, err := parseChannel(channel)
		if err != nil || u.Media != uri.MediaUDP {
			return
		}
		ch, err := parseUDPChannel(u, channel, true)
		if err != nil {
			return
		}
		if ch.multicast {
			ctl, err := multicastControl(ch.endpoint)
			if err != nil || ctl != ch.mcControl || !ch.iface.Addr().IsLoopback() || ch.ttl < 0 || ch.ttl > 255 {
				t.Fatalf("accepted %q as multicast on %s, control %s, ttl %d", channel, ch.iface, ch.mcControl, ch.ttl)
			}
		}
	})
}
