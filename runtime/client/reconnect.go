package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron"
)

// Recovery from a lost media driver.
//
// The Aeron client stops when its media driver's heartbeat goes stale (the
// process died: DriverTimeout, 10 s by default), when the driver shuts down
// (at once) or when the driver timed the client out. The driver client then
// fails every lease closed (Config.AwaitRebind), so producers pause and
// consumers stop reading. The reconnector, on a goroutine of its own:
//
//  1. waits, with backoff, for a live media driver in the same directory
//     and connects a new Aeron client to it;
//  2. moves every Producer's descriptor publication and every Consumer's
//     descriptor subscription onto it (under their locks, so nobody uses
//     the old ones afterwards);
//  3. hands it to the driver client (driverclient.Client.Rebind), which
//     attaches every lease again: a new lease at a new epoch, which the
//     Producers and Consumers map as after any reattach;
//  4. closes the old Aeron client, which unmaps what it still held.
//
// Lock order: Client.mu, then a Producer's or Consumer's mu; the
// reconnector holds at most one of them at a time.

// Reconnect backoff: the first pause after a failed attempt, and the
// longest. Each attempt itself waits up to the Aeron driver timeout for a
// live CnC.
const (
	reconnectBackoff    = 100 * time.Millisecond
	maxReconnectBackoff = 5 * time.Second
)

// errStaleAeron: a Producer or Consumer was made on an Aeron client the
// reconnector has replaced since; register moves it over and retries.
var errStaleAeron = errors.New("client: aeron client replaced")

// reconnector is the Client's recovery state.
type reconnector struct {
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	retired    []*aeron.Client // stopped clients a failed move left behind
	lost       atomic.Uint64
	reconnects atomic.Uint64
}

// ReconnectStats counts media driver losses and recoveries.
type ReconnectStats struct {
	// MediaDriverLost counts Aeron clients that stopped (their media
	// driver died, shut down or timed them out); Reconnects those replaced
	// by a new Aeron client.
	MediaDriverLost, Reconnects uint64
}

// ReconnectStats returns a snapshot of the counters.
func (c *Client) ReconnectStats() ReconnectStats {
	return ReconnectStats{MediaDriverLost: c.rc.lost.Load(), Reconnects: c.rc.reconnects.Load()}
}

func (c *Client) reconnects() bool { return !c.cfg.NoReconnect && !c.cfg.EmbeddedMediaDriver }

// currentAeron returns the Aeron client in use.
func (c *Client) currentAeron() *aeron.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.aeron
}

func (c *Client) startReconnector() {
	if !c.reconnects() {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.rc.cancel = cancel
	c.rc.wg.Add(1)
	go c.watchMediaDriver(ctx)
}

func (c *Client) stopReconnector() {
	if c.rc.cancel != nil {
		c.rc.cancel()
		c.rc.wg.Wait()
	}
}

// watchMediaDriver reconnects whenever the Aeron client stops, until Close.
func (c *Client) watchMediaDriver(ctx context.Context) {
	defer c.rc.wg.Done()
	for {
		a := c.currentAeron()
		select {
		case <-ctx.Done():
			return
		case <-a.Done():
		}
		if ctx.Err() != nil {
			return
		}
		c.rc.lost.Add(1)
		c.log.Warn("media driver lost: producers pause, consumers stop reading; waiting for a media driver",
			"dir", c.acfg.Dir, "err", a.Err())
		if err := c.reconnect(ctx, a); err != nil {
			return // only Close ends it
		}
	}
}

// reconnect replaces old, a stopped Aeron client, by a new one, retrying
// with backoff until it works or ctx ends.
func (c *Client) reconnect(ctx context.Context, old *aeron.Client) error {
	backoff := reconnectBackoff
	for attempt := 1; ; attempt++ {
		a, err := aeron.Connect(ctx, c.acfg)
		if err == nil {
			if err = c.moveTo(ctx, a, old); err == nil {
				c.rc.reconnects.Add(1)
				c.log.Info("media driver reconnected: leases attach again", "dir", c.acfg.Dir,
					"aeron_client", a.ClientID(), "attempts", attempt)
				return nil
			}
			// Part of the Client may be on a already: a is current now,
			// and old is closed once a later move succeeds (or by Close).
			c.rc.retired = append(c.rc.retired, old)
			old = a
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.log.Info("no media driver yet; retrying", "dir", c.acfg.Dir, "attempt", attempt, "retry_in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, maxReconnectBackoff)
	}
}

// moveTo moves the Client from old onto a and closes old (and the
// clients earlier failed moves left behind).
func (c *Client) moveTo(ctx context.Context, a, old *aeron.Client) error {
	c.mu.Lock()
	c.aeron = a
	ps := append([]*Producer(nil), c.producers...)
	cs := append([]*Consumer(nil), c.consumers...)
	c.mu.Unlock()
	for _, p := range ps {
		if err := p.swapPub(ctx, a); err != nil && !errors.Is(err, ErrClosed) {
			return err
		}
	}
	for _, s := range cs {
		if err := s.swapSub(ctx, a); err != nil && !errors.Is(err, ErrClosed) {
			return err
		}
	}
	if c.dc != nil { // nil in no-driver mode
		if err := c.dc.Rebind(ctx, a); err != nil {
			return err
		}
	}
	// Nothing uses old any more: the driver client dropped its streams,
	// and every Producer and Consumer is on a (or closed).
	for _, x := range append(c.rc.retired, old) {
		if err := x.Close(); err != nil {
			c.log.Debug("closing the lost aeron client", "err", err)
		}
	}
	c.rc.retired = nil
	return nil
}

// register adds a new Producer or Consumer to the Client, first moving it
// onto the current Aeron client if a reconnect replaced the one it was
// made on.
func (c *Client) register(ctx context.Context, p *Producer, s *Consumer) error {
	for {
		err := c.add(p, s)
		if !errors.Is(err, errStaleAeron) {
			return err
		}
		a := c.currentAeron()
		if p != nil {
			err = p.swapPub(ctx, a)
		} else {
			err = s.swapSub(ctx, a)
		}
		if err != nil {
			return err
		}
	}
}

// swapPub replaces the descriptor publication by one on a.
func (p *Producer) swapPub(ctx context.Context, a *aeron.Client) error {
	pub, err := a.AddPublication(ctx, descriptorPubChannel(p.c.cfg.DescriptorChannel), p.c.cfg.DescriptorStreamID)
	if err != nil {
		return fmt.Errorf("client: descriptor publication: %w", err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = pub.Close()
		return ErrClosed
	}
	old := p.pub
	p.pub, p.aeron = pub, a
	p.mu.Unlock()
	_ = old.Close()
	if err := p.swapAnnounce(ctx, a); err != nil { // no-driver mode (nodriver.go)
		return err
	}
	return p.swapSideStreams(ctx, a)
}

// swapSub replaces the descriptor subscription by one on a.
func (s *Consumer) swapSub(ctx context.Context, a *aeron.Client) error {
	sub, err := a.AddSubscription(ctx, descriptorSubChannel(s.c.cfg.DescriptorChannel), s.c.cfg.DescriptorStreamID)
	if err != nil {
		return fmt.Errorf("client: descriptor subscription: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = sub.Close()
		return ErrClosed
	}
	old := s.sub
	s.sub, s.aeron = sub, a
	s.mu.Unlock()
	_ = old.Close()
	if err := s.swapAnnounce(ctx, a); err != nil { // no-driver mode (nodriver.go)
		return err
	}
	return s.swapSideStreams(ctx, a)
}
