package driverit

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/driverclient"
)

// observer listens to the control stream like a tool would, recording
// revocations and announces with the driver's timestamps.
type observer struct {
	control.NopHandler
	revokes   chan control.LeaseRevoked
	announces chan control.PoolAnnounce
}

func (o *observer) OnLeaseRevoked(m *driver.ShmLeaseRevokedDecoder) {
	o.revokes <- control.LeaseRevoked{TimestampNs: m.TimestampNs(), LeaseID: m.LeaseId(), StreamID: m.StreamId(),
		ClientID: m.ClientId(), Role: m.Role(), Reason: m.Reason()}
}

func (o *observer) OnPoolAnnounce(m *wire.ShmPoolAnnounceDecoder) {
	select {
	case o.announces <- control.PoolAnnounce{StreamID: m.StreamId(), ProducerID: m.ProducerId(), Epoch: m.Epoch(), TimestampNs: m.AnnounceTimestampNs()}:
	default: // the test reads only some
	}
}

func (e *env) observe() *observer {
	e.t.Helper()
	a := e.connect()
	sub, err := a.AddSubscription(testCtx(e.t), driverclient.DefaultControlChannel, driverclient.DefaultControlStreamID)
	if err != nil {
		e.t.Fatal(err)
	}
	o := &observer{revokes: make(chan control.LeaseRevoked, 64), announces: make(chan control.PoolAnnounce, 256)}
	p := control.NewPoller(sub, o)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if p.Poll(16) == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	e.t.Cleanup(func() { close(stop); <-done })
	return o
}

func epochOf(t *testing.T, line string) uint64 { return field(t, line, "epoch") }

// TestProducerKilledLeaseExpires: SIGKILL a producer client; the driver
// expires its lease within (grace + 1) keepalive intervals of the kill,
// revokes it, bumps the epoch and announces it; the consumer follows.
func TestProducerKilledLeaseExpires(t *testing.T) {
	e := newEnv(t)
	obs := e.observe()
	drv := e.spawn("driver", "")
	drv.await("ready")
	cons := e.spawn("client", "consumer")
	cons.await("mapped")
	prod := e.spawn("client", "producer")
	e1 := epochOf(t, prod.await("mapped"))
	if got := epochOf(t, cons.await("mapped")); got != e1 {
		t.Fatalf("consumer remapped to epoch %d, producer has %d", got, e1)
	}

	killed := driverclient.Now()
	prod.kill()

	var rev control.LeaseRevoked
	for rev = range obs.revokes {
		if rev.Role == driver.RoleProducer && rev.StreamID == testStream {
			break
		}
	}
	if rev.Reason != driver.LeaseRevokeReasonExpired {
		t.Fatalf("revoked with reason %v", rev.Reason)
	}
	took := time.Duration(int64(rev.TimestampNs) - killed)
	bound := time.Duration(expiryGrace+1) * keepaliveInterval
	t.Logf("producer lease expired %v after SIGKILL (bound %v: %d keepalive intervals of %v plus one)", took, bound, expiryGrace, keepaliveInterval)
	if took > bound {
		t.Errorf("lease expired %v after the kill, more than %v", took, bound)
	}
	for a := range obs.announces {
		if a.StreamID == testStream && a.Epoch > e1 && a.TimestampNs >= rev.TimestampNs {
			if a.ProducerID != 0 {
				t.Errorf("announce after expiry names producer %d", a.ProducerID)
			}
			t.Logf("new epoch %d announced %v after the revocation", a.Epoch, time.Duration(a.TimestampNs-rev.TimestampNs))
			break
		}
	}
	cons.await("event ProducerRevoked")
	cons.await("unmapped")
	if l := cons.await("event EpochChanged"); epochOf(t, l) <= e1 {
		t.Fatalf("consumer: %s", l)
	}
	cons.await("mapped")
}

// mappedUnder counts the mappings of process pid whose path lies under dir.
func mappedUnder(t *testing.T, pid int, dir string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, " "+dir+"/") {
			n++
		}
	}
	return n
}

// TestDriverKilledClientsFailClosedAndReattach: SIGKILL tpoold; its
// clients notice within 3 announce periods (plus one of slack for the
// last announce before the kill), unmap, and reattach by themselves to a
// restarted driver, at higher epochs.
func TestDriverKilledClientsFailClosedAndReattach(t *testing.T) {
	e := newEnv(t)
	drv := e.spawn("driver", "")
	drv.await("ready")
	prod := e.spawn("client", "producer")
	pe := epochOf(t, prod.await("mapped"))
	cons := e.spawn("client", "consumer")
	ce := epochOf(t, cons.await("mapped"))
	for _, c := range []*child{prod, cons} {
		if mappedUnder(t, c.cmd.Process.Pid, e.base) == 0 {
			t.Fatal("client maps nothing under the base dir")
		}
	}

	killed := driverclient.Now()
	drv.kill()
	bound := time.Duration(driverclient.DefaultDriverTimeoutCount+1) * announcePeriod
	for _, c := range []*child{prod, cons} {
		l := c.await("event DriverLost")
		took := time.Duration(int64(field(t, l, "t")) - killed)
		t.Logf("client noticed the driver's loss %v after SIGKILL (bound %v)", took, bound)
		if took > bound {
			t.Errorf("noticed after %v, more than %v", took, bound)
		}
		c.await("unmapped")
		if n := mappedUnder(t, c.cmd.Process.Pid, e.base); n != 0 {
			t.Errorf("%d mappings left under the base dir after the loss", n)
		}
	}

	drv2 := e.spawn("driver", "")
	drv2.await("ready")
	pe2 := epochOf(t, prod.await("event Reattached"))
	prod.await("mapped")
	ce2 := epochOf(t, cons.await("event Reattached"))
	cons.await("mapped")
	if pe2 <= pe || ce2 <= ce {
		t.Fatalf("epochs after restart: producer %d (was %d), consumer %d (was %d)", pe2, pe, ce2, ce)
	}
	t.Logf("epochs: producer %d -> %d, consumer %d -> %d", pe, pe2, ce, ce2)
}
