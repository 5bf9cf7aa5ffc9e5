package driverclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/tpool-go/tpool/gen/driver"
	"github.com/tpool-go/tpool/runtime/aeron"
)

// transport sends the client's requests and delivers whole messages from
// the control and announce streams to the handler it was made with. Offer
// results are Aeron's: > 0 sent, < 0 a status (aeron.NotConnected, ...).
type transport interface {
	sendAttach(corr int64, clientID uint32, r *AttachRequest) int64
	sendDetach(corr int64, leaseID uint64, streamID, clientID uint32, role Role) int64
	sendKeepalive(leaseID uint64, streamID, clientID uint32, role Role, ts uint64) int64
	poll(limit int) int
	close() error
}

// offerTries bounds the retries of one offer on back pressure within a
// duty cycle; the state machine retries on later cycles.
const offerTries = 3

type aeronTransport struct {
	pub       *aeron.Publication
	ctrl, ann *aeron.Subscription
	asmCtrl   *aeron.FragmentAssembler
	asmAnn    *aeron.FragmentAssembler
	hCtrl     aeron.FragmentHandler
	hAnn      aeron.FragmentHandler

	buf    [128]byte
	attach driver.ShmAttachRequestEncoder
	detach driver.ShmDetachRequestEncoder
	ka     driver.ShmLeaseKeepaliveEncoder
}

func newAeronTransport(ctx context.Context, a *aeron.Client, cfg Config, onMessage func([]byte)) (_ *aeronTransport, err error) {
	t := &aeronTransport{}
	defer func() {
		if err != nil {
			_ = t.close()
		}
	}()
	if t.pub, err = a.AddPublication(ctx, cfg.ControlChannel, cfg.ControlStreamID); err != nil {
		return nil, fmt.Errorf("control publication %s stream %d: %w", cfg.ControlChannel, cfg.ControlStreamID, err)
	}
	if t.ctrl, err = a.AddSubscription(ctx, cfg.ControlChannel, cfg.ControlStreamID); err != nil {
		return nil, fmt.Errorf("control subscription %s stream %d: %w", cfg.ControlChannel, cfg.ControlStreamID, err)
	}
	h := func(b []byte, _ *aeron.Header) { onMessage(b) }
	t.asmCtrl = aeron.NewFragmentAssembler(h, 4096)
	t.hCtrl = t.asmCtrl.Handler()
	if cfg.AnnounceChannel != cfg.ControlChannel || cfg.AnnounceStreamID != cfg.ControlStreamID {
		if t.ann, err = a.AddSubscription(ctx, cfg.AnnounceChannel, cfg.AnnounceStreamID); err != nil {
			return nil, fmt.Errorf("announce subscription %s stream %d: %w", cfg.AnnounceChannel, cfg.AnnounceStreamID, err)
		}
		t.asmAnn = aeron.NewFragmentAssembler(h, 4096)
		t.hAnn = t.asmAnn.Handler()
	}
	return t, nil
}

func (t *aeronTransport) offer(n int) int64 {
	var r int64
	for range offerTries {
		r = t.pub.Offer(t.buf[:n])
		if r > 0 || r == aeron.NotConnected || r == aeron.Closed || r == aeron.MaxPositionExceeded {
			return r
		}
	}
	return r
}

func (t *aeronTransport) sendAttach(corr int64, clientID uint32, r *AttachRequest) int64 {
	e := &t.attach
	if e.WrapWithHeader(t.buf[:]) != nil {
		return aeron.Closed
	}
	e.SetCorrelationId(corr)
	e.SetStreamId(r.StreamID)
	e.SetClientId(clientID)
	e.SetRole(r.Role)
	e.SetExpectedLayoutVersion(r.ExpectedLayoutVersion)
	if r.PublishMode != 0 {
		e.SetPublishMode(r.PublishMode)
	} else {
		e.SetPublishModeNull()
	}
	e.SetRequireHugepages(r.RequireHugepages)
	if r.RequestNodeID {
		e.SetDesiredNodeId(r.DesiredNodeID)
	} else {
		e.SetDesiredNodeIdNull()
	}
	n, _ := e.Finish()
	return t.offer(n)
}

func (t *aeronTransport) sendDetach(corr int64, leaseID uint64, streamID, clientID uint32, role Role) int64 {
	e := &t.detach
	if e.WrapWithHeader(t.buf[:]) != nil {
		return aeron.Closed
	}
	e.SetCorrelationId(corr)
	e.SetLeaseId(leaseID)
	e.SetStreamId(streamID)
	e.SetClientId(clientID)
	e.SetRole(role)
	n, _ := e.Finish()
	return t.offer(n)
}

func (t *aeronTransport) sendKeepalive(leaseID uint64, streamID, clientID uint32, role Role, ts uint64) int64 {
	e := &t.ka
	if e.WrapWithHeader(t.buf[:]) != nil {
		return aeron.Closed
	}
	e.SetLeaseId(leaseID)
	e.SetStreamId(streamID)
	e.SetClientId(clientID)
	e.SetRole(role)
	e.SetClientTimestampNs(ts)
	n, _ := e.Finish()
	return t.offer(n)
}

func (t *aeronTransport) poll(limit int) int {
	n := t.ctrl.Poll(t.hCtrl, limit)
	if t.ann != nil {
		n += t.ann.Poll(t.hAnn, limit)
	}
	return n
}

func (t *aeronTransport) close() error {
	var errs []error
	if t.pub != nil {
		errs = append(errs, t.pub.Close())
	}
	if t.ctrl != nil {
		errs = append(errs, t.ctrl.Close())
	}
	if t.ann != nil {
		errs = append(errs, t.ann.Close())
	}
	return errors.Join(errs...)
}
