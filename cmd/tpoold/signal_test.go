package main

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	gdriver "github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/gen/wire"
	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/aeron/mediadriver"
	"github.com/tpool-go/tpool/runtime/control"
	"github.com/tpool-go/tpool/runtime/driverclient"
)

// goodbyes records what a client hears on the control and announce
// streams.
type goodbyes struct {
	control.NopHandler
	announces int
	revoked   []gdriver.LeaseRevokeReason
	shutdown  []gdriver.ShutdownReason
}

func (g *goodbyes) OnPoolAnnounce(*wire.ShmPoolAnnounceDecoder) { g.announces++ }
func (g *goodbyes) OnLeaseRevoked(m *gdriver.ShmLeaseRevokedDecoder) {
	g.revoked = append(g.revoked, m.Reason())
}
func (g *goodbyes) OnDriverShutdown(m *gdriver.ShmDriverShutdownDecoder) {
	g.shutdown = append(g.shutdown, m.Reason())
}

// TestSignalDrainsAndSaysGoodbye: on SIGINT and on SIGTERM the tpoold
// process drains (a lease still held is revoked after shutdown_timeout_ms),
// announces the stream once more, sends ShmDriverShutdown, removes what
// it created and exits 0 (issue 8 section 1, Lifecycle).
func TestSignalDrainsAndSaysGoodbye(t *testing.T) {
	parent, base := shmBase(t)
	aeronDir := filepath.Join(parent, "aeron")
	md, err := mediadriver.Start(mediadriver.Config{Dir: aeronDir})
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	for i, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			controlStream := 4300 + 10*i
			d := startDaemon(t, []string{"DRIVER_AERON_DIR=" + aeronDir}, "-config", testConfigFile(t, base, controlStream))
			d.waitLog(`tpoold started`)
			a, err := aeron.Connect(ctx, aeron.Config{Dir: aeronDir})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			var heard goodbyes
			var polls []*control.Poller
			for _, s := range []int32{int32(controlStream), int32(controlStream + 1)} {
				sub, err := a.AddSubscription(ctx, "aeron:ipc?term-length=4m", s)
				if err != nil {
					t.Fatal(err)
				}
				polls = append(polls, control.NewPoller(sub, &heard))
			}
			dc, err := driverclient.New(ctx, a, driverclient.Config{ControlStreamID: int32(controlStream),
				AnnounceStreamID: int32(controlStream + 1), AllowedBaseDirs: []string{base}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := dc.Start(); err != nil {
				t.Fatal(err)
			}
			defer dc.Close()
			if _, err := dc.Attach(ctx, driverclient.AttachRequest{StreamID: 10000, Role: driverclient.RoleConsumer}); err != nil {
				t.Fatal(err)
			}
			poll := func() {
				for _, p := range polls {
					p.Poll(64)
				}
			}
			poll()
			before := heard.announces
			if code := d.stop(sig); code != 0 {
				t.Fatalf("exit %d after %v:\n%s", code, sig, d.log())
			}
			for deadline := time.Now().Add(10 * time.Second); len(heard.shutdown) == 0 && time.Now().Before(deadline); {
				poll()
				time.Sleep(time.Millisecond)
			}
			poll()
			if len(heard.shutdown) != 1 || heard.shutdown[0] != gdriver.ShutdownReasonNormal {
				t.Errorf("shutdown notices %v, want one NORMAL", heard.shutdown)
			}
			if len(heard.revoked) != 1 || heard.revoked[0] != gdriver.LeaseRevokeReasonRevoked {
				t.Errorf("revocations %v, want the consumer's lease REVOKED", heard.revoked)
			}
			if heard.announces <= before {
				t.Error("no announce after the signal")
			}
			if left := files(t, base); len(left) > 0 {
				t.Errorf("files left behind: %q", left)
			}
		})
	}
}
