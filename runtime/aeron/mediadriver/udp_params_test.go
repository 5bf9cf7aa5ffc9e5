package mediadriver

import (
	"errors"
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
		{"aeron:udp?endpoint=224.0.1.1:40456|interface=127.0.0.1", command.ErrorNotSupported, "multicast"},
		{"aeron:udp?endpoint=127.0.0.1:40123|ttl=4", command.ErrorNotSupported, `"ttl"`},
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
