package driver

import (
	"bytes"
	"encoding/binary"
	"testing"

	gdriver "github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/runtime/control"
)

// fuzzSeeds returns one encoded message of every driver-schema kind (and
// an announce), aimed at the harness's stream.
func fuzzSeeds() [][]byte {
	var l loop
	s := control.NewSender(&l, 0)
	var out [][]byte
	add := func(st int64) { out = append(out, bytes.Clone(l.last)) }
	add(s.SendAttachRequest(&control.AttachRequest{CorrelationID: 1, StreamID: 10000, ClientID: 7, Role: gdriver.RoleProducer,
		PublishMode: gdriver.PublishModeNullValue, DesiredNodeID: control.NullU32}))
	add(s.SendAttachRequest(&control.AttachRequest{CorrelationID: 2, StreamID: 0, ClientID: 8, Role: gdriver.RoleConsumer,
		ExpectedLayoutVersion: 1, PublishMode: gdriver.PublishModeExistingOrCreate, RequireHugepages: gdriver.HugepagesPolicyStandard, DesiredNodeID: 3}))
	add(s.SendAttachResponse(&control.AttachResponse{CorrelationID: 1, Code: gdriver.ResponseCodeOk, Pools: []control.Pool{{PoolID: 1, RegionURI: "shm:file?path=/x"}}}))
	add(s.SendDetachRequest(&control.DetachRequest{CorrelationID: 3, LeaseID: 1, StreamID: 10000, ClientID: 7, Role: gdriver.RoleProducer}))
	add(s.SendDetachResponse(3, gdriver.ResponseCodeOk, ""))
	add(s.SendKeepalive(&control.Keepalive{LeaseID: 1, StreamID: 10000, ClientID: 7, Role: gdriver.RoleProducer}))
	add(s.SendLeaseRevoked(&control.LeaseRevoked{LeaseID: 1, StreamID: 10000, ClientID: 7, Role: gdriver.RoleProducer, Reason: gdriver.LeaseRevokeReasonRevoked}))
	add(s.SendDriverShutdown(1, gdriver.ShutdownReasonNormal, "bye"))
	add(s.SendShutdownRequest(&control.ShutdownRequest{CorrelationID: 4, Reason: gdriver.ShutdownReasonAdmin, Token: "not-the-token"}))
	add(s.SendPoolAnnounce(&control.PoolAnnounce{StreamID: 10000, Pools: []control.Pool{{PoolID: 1, RegionURI: "shm:file?path=/x"}}}))
	return out
}

// FuzzControlHandler feeds arbitrary bytes to the driver's control-plane
// handler: every message it sends in answer must be well formed, it must
// never panic, and it must keep serving other clients (a fresh consumer
// attaches and detaches after every input).
func FuzzControlHandler(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	// Truncated, wrong schema, wrong version, huge var length, wrong template.
	seeds := fuzzSeeds()
	f.Add(seeds[0][:12])
	f.Add(append([]byte{27, 0, 1, 0, 0x84, 0x03, 1, 0}, seeds[0][8:]...))
	f.Add(append([]byte{27, 0, 1, 0, 0x85, 0x03, 7, 0}, seeds[0][8:]...))
	f.Add(append([]byte{27, 0, 99, 0, 0x85, 0x03, 1, 0}, seeds[0][8:]...))
	huge := bytes.Clone(seeds[8])
	binary.LittleEndian.PutUint32(huge[8+gdriver.ShmDriverShutdownRequestBlockLength:], 1<<30)
	f.Add(huge)

	// One engine serves every input (as a driver serves every client);
	// nothing a fuzzed message can do stops it: the shutdown token is not
	// guessable and mlock is off.
	h := newHarness(f, func(c *Config) {
		c.Policies.AllowDynamicStreams = true
		c.Driver.StreamIDRange = Range(20000, 20003)
		c.Policies.ShutdownToken = "a-token-the-fuzzer-will-not-guess-0123456789"
	})
	client := uint32(0xF0000000)
	f.Fuzz(func(t *testing.T, b []byte) {
		h.t = t
		defer func() { h.t = f }()
		h.handle(b)
		var r outRecorder
		p := control.NewPoller(nil, &r)
		for _, m := range h.out.msgs {
			p.Handle(m)
		}
		h.out.msgs = nil
		if st := p.Stats(); st.Dispatched != st.Messages {
			t.Fatalf("driver sent malformed messages: %+v", st)
		}
		for _, a := range ofType[control.AttachResponse](r.got) {
			if a.Code == gdriver.ResponseCodeOk && (a.LeaseID == control.NullU64 || a.Epoch == control.NullU64 || len(a.Pools) == 0 || a.HeaderURI == "") {
				t.Fatalf("OK response with null fields: %+v", a)
			}
		}
		if h.e.state != running {
			t.Fatalf("driver stopped by a fuzzed message (state %d)", h.e.state)
		}
		client++
		for h.e.byClient[client] != nil {
			client++
		}
		got := h.attach(req(10000, client, gdriver.RoleConsumer))
		if got.Code != gdriver.ResponseCodeOk {
			t.Fatalf("stopped serving: %v %q", got.Code, got.ErrorMessage)
		}
		out := h.detach(got, client, gdriver.RoleConsumer)
		if d := ofType[detachResp](out); len(d) != 1 || d[0].Code != gdriver.ResponseCodeOk {
			t.Fatalf("detach after fuzz input: %+v", out)
		}
	})
}
