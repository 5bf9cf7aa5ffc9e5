package mediadriver

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/udpframe"
	"github.com/tpool-go/tpool/runtime/aeron/internal/uri"
)

func TestParseUDPChannel(t *testing.T) {
	tests := []struct {
		channel string
		code    int32 // 0: accepted
		text    string
	}{
		{"aeron:udp?endpoint=127.0.0.1:40123", 0, ""},
		{"aeron:udp?endpoint=localhost:40123|mtu=8k|term-length=1m|sparse=true|alias=x|linger=1s|reliable=false|eos=false|fc=min|gtag=3|rcv-wnd=64k|so-rcvbuf=1m|so-sndbuf=1m|session-id=5|init-term-id=1|term-id=2|term-offset=64|tether=true|rejoin=true|cc=static|ssc=false|pub-wnd=64k|interface=127.0.0.1", 0, ""},
		{"aeron:udp?endpoint=127.0.0.1:40123|bogus=1", command.ErrorInvalidChannel, `unknown parameter "bogus"`},
		{"aeron:udp?control=127.0.0.1:40123|control-mode=dynamic", 0, ""},
		{"aeron:udp?control=127.0.0.1:40123", 0, ""},
		{"aeron:udp?endpoint=127.0.0.1:40124|control=127.0.0.1:40123", 0, ""},
		{"aeron:udp?control-mode=dynamic", command.ErrorInvalidChannel, "endpoint= is required"},
		{"aeron:udp?control=127.0.0.1:40123|control-mode=response", command.ErrorNotSupported, "control-mode=response"},
		{"aeron:udp?control-mode=manual", 0, ""},
		{"aeron:udp?control-mode=manual|control=127.0.0.1:0", 0, ""},
		{"aeron:udp?control-mode=manual|endpoint=127.0.0.1:40123", command.ErrorInvalidChannel, "not an endpoint"},
		{"aeron:udp?endpoint=224.0.1.1:40456|interface=127.0.0.1|ttl=4", 0, ""},
		{"aeron:udp?endpoint=224.0.1.1:40456|interface=127.0.0.0/8", 0, ""},
		{"aeron:udp?endpoint=224.0.1.2:40456|interface=127.0.0.1", command.ErrorGenericError, "must be odd"},
		{"aeron:udp?endpoint=224.0.1.1:40456|interface=127.0.0.1|ttl=256", command.ErrorGenericError, "ttl"},
		{"aeron:udp?endpoint=224.0.1.1:40456|interface=10.99.99.0/24", command.ErrorGenericError, "no matching interface"},
		{"aeron:udp?endpoint=224.0.1.1:40456|interface=127.0.0.1|control=127.0.0.1:40123", command.ErrorInvalidChannel, "multicast"},
		{"aeron:udp?endpoint=127.0.0.1:40123|ttl=4", 0, ""},
		{"aeron:udp?endpoint=127.0.0.1:40123|interface=127.0.0.0/8", 0, ""},
		{"aeron:udp?endpoint=127.0.0.1:40123|interface=0.0.0.0/0", 0, ""},
		{"aeron:udp?endpoint=127.0.0.1:40123|tags=1,2", 0, ""},
		{"aeron:udp?tags=1", 0, ""},
		{"aeron:udp?tags=1,x", command.ErrorGenericError, "tags"},
		{"aeron:udp?endpoint=127.0.0.1:40123|cc=cubic", command.ErrorNotSupported, "cc=cubic"},
		{"aeron:udp", command.ErrorInvalidChannel, "endpoint= is required"},
		{"aeron:udp?endpoint=127.0.0.1:40123|reliable=maybe", command.ErrorGenericError, "reliable"},
		{"aeron:udp?endpoint=127.0.0.1:40123|gtag=x", command.ErrorGenericError, "gtag"},
	}
	for _, tt := range tests {
		t.Run(tt.channel, func(t *testing.T) {
			u, err := uri.Parse(tt.channel)
			if err != nil {
				t.Fatal(err)
			}
			_, err = parseUDPChannel(u, tt.channel, false)
			var ce *commandError
			switch {
			case tt.code == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.code == 0:
			case !errors.As(err, &ce) || ce.code != tt.code || !strings.Contains(ce.msg, tt.text):
				t.Fatalf("error %v, want code %d containing %q", err, tt.code, tt.text)
			}
		})
	}
}

func sm(receiver int64, pos int32, window int32, tag int64, hasTag bool) udpframe.SM {
	return udpframe.SM{ReceiverID: receiver, ConsumptionTermID: 0, ConsumptionTermOffset: pos, ReceiverWindow: window,
		HasGroupTag: hasTag, GroupTag: tag}
}

func TestFlowControl(t *testing.T) {
	const shift = 16
	type step struct {
		sm     udpframe.SM
		at     time.Duration
		idle   bool // an idle tick instead of a status message
		limit  int64
		enough bool
	}
	tests := []struct {
		fc    string
		steps []step
	}{
		{"max", []step{
			{sm: sm(1, 1000, 100, 0, false), limit: 1100, enough: true},
			{sm: sm(2, 500, 100, 0, false), limit: 1100, enough: true},
			{sm: sm(2, 2000, 100, 0, false), limit: 2100, enough: true},
		}},
		{"min,t:1s", []step{
			{sm: sm(1, 1000, 100, 0, false), limit: 1100, enough: true},
			{sm: sm(2, 500, 100, 0, false), limit: 600, enough: true},
			{sm: sm(1, 2000, 100, 0, false), at: 1500 * time.Millisecond, limit: 600, enough: true},
			{idle: true, at: 1600 * time.Millisecond, limit: 2100, enough: true}, // receiver 2 timed out
		}},
		{"min,g:/2", []step{
			{sm: sm(1, 1000, 100, 0, false), limit: 1100, enough: false},
			{sm: sm(2, 800, 100, 0, false), limit: 900, enough: true},
		}},
		{"tagged,g:7/1", []step{
			{sm: sm(1, 1000, 100, 0, false), limit: 0, enough: false}, // not in the group
			{sm: sm(2, 800, 100, 7, true), limit: 900, enough: true},
			{sm: sm(3, 100, 100, 8, true), limit: 900, enough: true}, // another group
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fc, func(t *testing.T) {
			fc, err := parseFlowControl("aeron:udp?fc="+tt.fc, tt.fc, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			limit := int64(0)
			for i, s := range tt.steps {
				if s.idle {
					limit = fc.onIdle(int64(s.at), limit, 0)
				} else {
					limit = fc.onStatusMessage(s.sm, limit, 0, shift, int64(s.at))
				}
				if limit != s.limit || fc.hasRequiredReceivers() != s.enough {
					t.Fatalf("step %d: limit %d connected %v, want %d %v", i, limit, fc.hasRequiredReceivers(), s.limit, s.enough)
				}
			}
		})
	}
	for _, bad := range []string{"fastest", "max,t:1s", "min,t:x", "tagged", "min,g:3", "min,x:1"} {
		if _, err := parseFlowControl("c", bad, time.Second); err == nil {
			t.Errorf("fc=%s accepted", bad)
		}
	}
}

func TestRetransmitHandler(t *testing.T) {
	var sent []int32
	resend := func(_, off, _ int32) { sent = append(sent, off) }
	h := retransmitHandler{lingerNs: 10}
	h.onNAK(1, 64, 64, 0, resend)
	h.onNAK(1, 64, 64, 5, resend) // lingering: ignored
	h.processTimeouts(11, resend)
	h.onNAK(1, 64, 64, 12, resend) // linger over: resent
	if len(sent) != 2 {
		t.Fatalf("resent %v, want twice", sent)
	}
	d := retransmitHandler{delayNs: 10, lingerNs: 10}
	d.onNAK(1, 0, 64, 0, resend)
	d.processTimeouts(5, resend)
	if len(sent) != 2 {
		t.Fatal("delayed retransmit sent early")
	}
	d.processTimeouts(10, resend)
	if len(sent) != 3 {
		t.Fatal("delayed retransmit not sent")
	}
	d.processTimeouts(20, resend) // the linger ends: every slot is free
	for i := range maxRetransmits + 1 {
		d.onNAK(2, int32(64*i), 64, 20, resend)
	}
	if d.overflows != 1 {
		t.Fatalf("%d overflows, want 1", d.overflows)
	}
}

// FuzzFlowControl: any fc= value is refused or gives a strategy that
// takes a status message and an idle tick without panicking.
func FuzzFlowControl(f *testing.F) {
	for _, s := range []string{"max", "min", "min,t:1s", "min,g:/2", "tagged,g:7/1", "tagged,g:7,t:100ms"} {
		f.Add(s, int64(7), int32(4096), int32(1024))
	}
	f.Fuzz(func(t *testing.T, fc string, tag int64, offset, window int32) {
		s, err := parseFlowControl("c", fc, time.Second)
		if err != nil {
			return
		}
		lmt := s.onStatusMessage(udpframe.SM{ReceiverID: 1, ConsumptionTermOffset: offset, ReceiverWindow: window,
			HasGroupTag: true, GroupTag: tag}, 0, 0, 16, 0)
		lmt = s.onIdle(int64(2*time.Second), lmt, 0)
		_ = s.hasRequiredReceivers()
		_ = lmt
	})
}

func TestLoopbackOnly(t *testing.T) {
	for _, tt := range []struct {
		channel string
		ok      bool
	}{
		{"aeron:udp?endpoint=localhost:40123", true},
		{"aeron:udp?endpoint=127.0.0.1:40123|interface=0.0.0.0", true},
		{"aeron:udp?endpoint=[::1]:40123", true},
		{"aeron:udp?endpoint=10.1.2.3:40123", false},
		{"aeron:udp?endpoint=example.invalid:40123", false}, // refused without a DNS lookup
		{"aeron:udp?endpoint=0.0.0.0:40123", false},
		{"aeron:udp?control-mode=manual|control=192.0.2.1:40123", false},
	} {
		u, err := uri.Parse(tt.channel)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseUDPChannel(u, tt.channel, true); (err == nil) != tt.ok {
			t.Errorf("%s: %v, want accepted=%v", tt.channel, err, tt.ok)
		}
	}
}

// fakeInterfaces replaces the host's interfaces for the test.
func fakeInterfaces(t *testing.T, addrs []localAddr) {
	old := listInterfaces
	listInterfaces = func() ([]localAddr, error) { return addrs, nil }
	t.Cleanup(func() { listInterfaces = old })
}

var testInterfaces = []localAddr{
	{index: 1, addr: netip.MustParsePrefix("127.0.0.1/8"), flags: net.FlagUp | net.FlagLoopback},
	{index: 1, addr: netip.MustParsePrefix("::1/128"), flags: net.FlagUp | net.FlagLoopback},
	{index: 2, addr: netip.MustParsePrefix("10.0.0.5/8"), flags: net.FlagUp | net.FlagMulticast},
	{index: 3, addr: netip.MustParsePrefix("10.1.2.7/24"), flags: net.FlagUp | net.FlagMulticast},
	{index: 4, addr: netip.MustParsePrefix("192.168.1.9/24"), flags: net.FlagUp}, // no multicast
	{index: 3, addr: netip.MustParsePrefix("fd00::7/64"), flags: net.FlagUp | net.FlagMulticast},
}

// TestSelectInterface: Aeron's rule (aeron_ip_lookup_func) on a fixed set
// of interfaces: a loopback match if nothing else matched, else the
// multicast-capable address with the longest netmask in the subnet.
func TestSelectInterface(t *testing.T) {
	fakeInterfaces(t, testInterfaces)
	for _, tt := range []struct {
		spec  string
		is4   bool
		want  string // "" : refused
		index int
	}{
		{"", true, "10.1.2.7:0", 3},           // the wildcard: longest netmask wins over lo
		{"0.0.0.0/0", true, "10.1.2.7:0", 3},  // the same, written out
		{"127.0.0.1", true, "127.0.0.1:0", 1}, // exact
		{"127.0.0.0/8", true, "127.0.0.1:0", 1},
		{"10.0.0.0/8", true, "10.1.2.7:0", 3},
		{"10.0.0.5:4000", true, "10.0.0.5:4000", 2}, // the port is kept
		{"10.0.0.0/16", true, "10.0.0.5:0", 2},
		{"192.168.1.0/24", true, "", 0}, // up but not multicast-capable
		{"172.16.0.0/12", true, "", 0},
		{"[::1]", false, "[::1]:0", 1},
		{"[fd00::]/64", false, "[fd00::7]:0", 3},
		{"", false, "[fd00::7]:0", 3},
		{"127.0.0.1", false, "", 0}, // family mismatch
		{"10.0.0.0/33", true, "", 0},
		{"bogus/x", true, "", 0},
	} {
		t.Run(tt.spec, func(t *testing.T) {
			got, index, err := selectInterface(tt.spec, tt.is4, false)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("selected %s", got)
				}
				return
			}
			if err != nil || got.String() != tt.want || index != tt.index {
				t.Fatalf("got %s (index %d, %v), want %s (index %d)", got, index, err, tt.want, tt.index)
			}
		})
	}
}

// TestMulticastLoopbackOnly: under LoopbackOnly a multicast channel is taken
// only when its interface is a loopback one, and nothing is resolved.
func TestMulticastLoopbackOnly(t *testing.T) {
	fakeInterfaces(t, testInterfaces)
	for _, tt := range []struct {
		channel string
		ok      bool
	}{
		{"aeron:udp?endpoint=239.1.1.1:40456|interface=127.0.0.1", true},
		{"aeron:udp?endpoint=239.1.1.1:40456|interface=localhost", true},
		{"aeron:udp?endpoint=239.1.1.1:40456|interface=127.0.0.0/8", true},
		{"aeron:udp?endpoint=239.1.1.1:40456", false}, // the wildcard selects 10.1.2.7
		{"aeron:udp?endpoint=239.1.1.1:40456|interface=10.0.0.0/8", false},
		{"aeron:udp?endpoint=239.1.1.1:40456|interface=example.invalid", false},
		{"aeron:udp?endpoint=127.0.0.1:40123|interface=10.0.0.0/8", false},
	} {
		u, err := uri.Parse(tt.channel)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := parseUDPChannel(u, tt.channel, true)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v, want accepted=%v", tt.channel, err, tt.ok)
			continue
		}
		if err == nil && (!ch.multicast || ch.mcControl.String() != "239.1.1.2:40456") {
			t.Errorf("%s: multicast %v control %s, want control 239.1.1.2:40456", tt.channel, ch.multicast, ch.mcControl)
		}
	}
}

func TestMulticastControl(t *testing.T) {
	for _, tt := range []struct{ data, control string }{
		{"224.0.1.1:40456", "224.0.1.2:40456"},
		{"239.255.255.255:1", "239.255.255.0:1"}, // the byte wraps, as Aeron's uint8_t
		{"[ff02::1]:40456", "[ff02::2]:40456"},
		{"224.0.1.2:40456", ""},
	} {
		got, err := multicastControl(netip.MustParseAddrPort(tt.data))
		if tt.control == "" {
			if err == nil {
				t.Errorf("%s: control %s, want an error (even data address)", tt.data, got)
			}
			continue
		}
		if err != nil || got.String() != tt.control {
			t.Errorf("%s: control %s (%v), want %s", tt.data, got, err, tt.control)
		}
	}
}
