package driverclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/control"
)

// transport sends the client's requests and polls the control and
// announce streams into a control.Handler (the Client). Send results are
// Offer's: > 0 sent, < 0 a status (aeron.NotConnected, ...).
type transport interface {
	sendAttach(m *control.AttachRequest) int64
	sendDetach(m *control.DetachRequest) int64
	sendKeepalive(m *control.Keepalive) int64
	poll(limit int) int
	// source says where the message being handled came from: its Aeron
	// session id, and whether it arrived on a separate announce stream
	// (false: on the control stream).
	source() (session int32, announceStream bool)
	close() error
}

type aeronTransport struct {
	pub       *aeron.Publication
	ctrl, ann *aeron.Subscription
	send      *control.Sender
	pCtrl     *control.Poller
	pAnn      *control.Poller
	cur       *control.Poller // the one polling now
}

func newAeronTransport(ctx context.Context, a *aeron.Client, cfg Config, h control.Handler) (_ *aeronTransport, err error) {
	t := &aeronTransport{}
	defer func() {
		if err != nil {
			_ = t.close()
		}
	}()
	if t.pub, err = a.AddPublication(ctx, cfg.ControlChannel, cfg.ControlStreamID); err != nil {
		return nil, fmt.Errorf("control publication %s stream %d: %w", cfg.ControlChannel, cfg.ControlStreamID, err)
	}
	t.send = control.NewSender(t.pub, 0)
	if t.ctrl, err = a.AddSubscription(ctx, cfg.ControlChannel, cfg.ControlStreamID); err != nil {
		return nil, fmt.Errorf("control subscription %s stream %d: %w", cfg.ControlChannel, cfg.ControlStreamID, err)
	}
	t.pCtrl = control.NewPoller(t.ctrl, h)
	if cfg.AnnounceChannel != cfg.ControlChannel || cfg.AnnounceStreamID != cfg.ControlStreamID {
		if t.ann, err = a.AddSubscription(ctx, cfg.AnnounceChannel, cfg.AnnounceStreamID); err != nil {
			return nil, fmt.Errorf("announce subscription %s stream %d: %w", cfg.AnnounceChannel, cfg.AnnounceStreamID, err)
		}
		t.pAnn = control.NewPoller(t.ann, h)
	}
	return t, nil
}

func (t *aeronTransport) sendAttach(m *control.AttachRequest) int64 {
	return t.send.SendAttachRequest(m)
}
func (t *aeronTransport) sendDetach(m *control.DetachRequest) int64 {
	return t.send.SendDetachRequest(m)
}
func (t *aeronTransport) sendKeepalive(m *control.Keepalive) int64 { return t.send.SendKeepalive(m) }

func (t *aeronTransport) poll(limit int) int {
	t.cur = t.pCtrl
	n := t.pCtrl.Poll(limit)
	if t.pAnn != nil {
		t.cur = t.pAnn
		n += t.pAnn.Poll(limit)
	}
	t.cur = nil
	return n
}

func (t *aeronTransport) source() (int32, bool) {
	if t.cur == nil {
		return 0, false
	}
	return t.cur.SessionID(), t.cur == t.pAnn
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
