package driverclient

import (
	"context"
	"fmt"

	"github.com/tpool-go/tpool/runtime/aeron"
	"github.com/tpool-go/tpool/runtime/control"
)

// rebind is a new Aeron client and the transport made on it, waiting for
// the duty cycle to take them over.
type rebind struct {
	a     *aeron.Client
	tr    transport
	taken chan struct{} // closed once the duty cycle swapped (or dropped) it
}

// Rebind moves the Client onto a, a new Aeron client, after the previous
// one stopped (Config.AwaitRebind): it adds the control publication and
// subscriptions on a and waits (until ctx ends) for the duty cycle to take
// them over. The duty cycle then closes the previous transport, emits
// EventMediaDriverReconnected for every lease and attaches them again at
// once. Once Rebind returns nil nothing of the Client uses the previous
// Aeron client any more: the caller may close it. The new one stays the
// caller's. In invoker mode another goroutine must keep running DoWork
// while Rebind waits.
func (c *Client) Rebind(ctx context.Context, a *aeron.Client) error {
	if c.closed.Load() {
		return ErrClosed
	}
	t, err := newAeronTransport(ctx, a, c.cfg, c)
	if err != nil {
		return fmt.Errorf("rebind: %w", err)
	}
	rb := &rebind{a: a, tr: t, taken: make(chan struct{})}
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		_ = t.close()
		return ErrClosed
	}
	if old := c.rebind; old != nil { // never taken: superseded
		_ = old.tr.close()
		close(old.taken)
	}
	c.rebind = rb
	c.pending.Store(true)
	c.mu.Unlock()
	select {
	case <-rb.taken:
		if c.closed.Load() {
			return ErrClosed
		}
		return nil
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// mediaDriverLost fails every lease closed after the Aeron client stopped
// with Config.AwaitRebind: the transport is dropped (nothing is sent or
// polled until Rebind) and the leases wait in Backoff.
func (c *Client) mediaDriverLost(now int64, cause error) {
	err := fmt.Errorf("%w: %v", ErrMediaDriverLost, cause)
	c.stats.mediaDriverLost.Add(1)
	c.log.Warn("media driver lost: leases wait for a new aeron client", "err", cause)
	if c.tr != nil {
		_ = c.tr.close()
	}
	c.tr, c.aeron = noTransport{}, nil
	for _, l := range c.leases {
		switch l.State() {
		case Attached:
			c.loseLease(l, now, Event{Kind: EventMediaDriverLost, Err: err}, false)
		case Attaching:
			c.attemptFailed(l, now, err)
			c.emit(Event{Kind: EventMediaDriverLost, Lease: l, Info: l.info.Load(), Err: err})
		case Backoff:
			c.emit(Event{Kind: EventMediaDriverLost, Lease: l, Info: l.info.Load(), Err: err})
		case Detaching: // the driver cannot answer: the lease ends here
			c.finish(l, nil, err)
		}
	}
}

// takeRebind swaps in a transport handed over by Rebind; called by the
// duty cycle with the commands.
func (c *Client) takeRebind(rb *rebind, now int64) {
	defer close(rb.taken)
	if c.closed.Load() {
		_ = rb.tr.close()
		return
	}
	if c.aeron != nil { // the loss not seen yet (invoker mode): say it first
		select {
		case <-c.aeron.Done():
			c.mediaDriverLost(now, c.aeron.Err())
		default:
		}
	}
	if c.tr != nil {
		_ = c.tr.close()
	}
	c.tr, c.aeron = rb.tr, rb.a
	c.joinTime = now
	c.stats.rebinds.Add(1)
	c.log.Info("media driver reconnected: attaching again", "dir", rb.a.Dir(), "leases", len(c.leases))
	for _, l := range c.leases {
		switch l.State() {
		case Attaching, Backoff:
			l.backoff = 0
			l.setState(Backoff)
			l.deadline = now // attach again in this cycle
		case Attached: // Rebind without a loss: the old transport is gone
			c.loseLease(l, now, Event{Kind: EventMediaDriverLost,
				Err: fmt.Errorf("%w: aeron client replaced", ErrMediaDriverLost)}, false)
			l.deadline = now
		default:
			continue
		}
		c.emit(Event{Kind: EventMediaDriverReconnected, Lease: l, Info: l.info.Load()})
	}
}

// noTransport stands in while the media driver is lost: nothing can be
// sent and nothing arrives.
type noTransport struct{}

func (noTransport) sendAttach(*control.AttachRequest) int64 { return aeron.Closed }
func (noTransport) sendDetach(*control.DetachRequest) int64 { return aeron.Closed }
func (noTransport) sendKeepalive(*control.Keepalive) int64  { return aeron.Closed }
func (noTransport) poll(int) int                            { return 0 }
func (noTransport) source() (int32, bool)                   { return 0, false }
func (noTransport) close() error                            { return nil }
