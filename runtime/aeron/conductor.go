package aeron

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tpool-go/tpool/runtime/aeron/internal/broadcast"
	"github.com/tpool-go/tpool/runtime/aeron/internal/command"
	"github.com/tpool-go/tpool/runtime/aeron/internal/counters"
	"github.com/tpool-go/tpool/runtime/agent"
)

// clientConductor is the client's agent: it reads driver responses, keeps
// the client alive, watches the driver and releases lingering resources.
type clientConductor struct {
	c             *Client
	nextCheckNs   int64
	handleMessage broadcast.Handler
	// notify holds image callbacks, run after c.mu is released so they
	// may call back into the client.
	notify []func()
}

func (cc *clientConductor) Name() string { return "aeron-client-conductor" }

func (cc *clientConductor) OnStart() error {
	cc.handleMessage = cc.onMessage
	return nil
}

func (cc *clientConductor) OnClose() {}

func (cc *clientConductor) DoWork() (int, error) {
	n, err := cc.doWork()
	if len(cc.notify) > 0 {
		// Swap first: in invoker mode a callback may run a nested cycle.
		notify := cc.notify
		cc.notify = nil
		for _, f := range notify {
			f()
		}
	}
	return n, err
}

func (cc *clientConductor) doWork() (int, error) {
	c := cc.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, fmt.Errorf("client stopped: %w", agent.ErrTerminate)
	}
	work := 0
	for range 10 {
		n, err := c.rx.Receive(cc.handleMessage)
		if err != nil {
			if errors.Is(err, broadcast.ErrLapped) {
				c.cfg.ErrorHandler(fmt.Errorf("aeron client: %w", err))
				continue
			}
			c.cfg.ErrorHandler(fmt.Errorf("aeron client: to-clients buffer: %w", err))
			c.fail(err)
			return work, nil
		}
		if n == 0 {
			break
		}
		work += n
	}
	now := time.Now()
	nowNs := now.UnixNano()
	if nowNs >= cc.nextCheckNs {
		cc.nextCheckNs = nowNs + c.cfg.KeepaliveInterval.Nanoseconds()
		work += cc.onCheck(now)
	}
	return work, nil
}

func (cc *clientConductor) onCheck(now time.Time) int {
	c := cc.c
	nowMs := now.UnixMilli()
	hb := c.toDriver.ConsumerHeartbeat()
	if hb == -1 {
		err := fmt.Errorf("media driver has shut down: %w", ErrDriverTimeout)
		c.cfg.ErrorHandler(err)
		c.fail(err)
		return 1
	}
	if nowMs-hb > c.cfg.DriverTimeout.Milliseconds() {
		err := fmt.Errorf("last heartbeat %dms ago: %w", nowMs-hb, ErrDriverTimeout)
		c.cfg.Logger.Warn("aeron driver is dead", "err", err)
		c.cfg.ErrorHandler(err)
		c.fail(err)
		return 1
	}
	if nowMs-hb > replacedCheckAfter.Milliseconds() && c.cncReplaced() {
		// A new driver took the directory over: ours is gone, whatever its
		// heartbeat says (only a dead driver's CnC is replaced).
		err := fmt.Errorf("%s replaced by a new media driver, last heartbeat %dms ago: %w", c.cncPath, nowMs-hb, ErrDriverTimeout)
		c.cfg.Logger.Warn("aeron driver is dead", "err", err)
		c.cfg.ErrorHandler(err)
		c.fail(err)
		return 1
	}
	if c.heartbt == nil {
		if id := c.counters.FindByKey(counters.TypeClientHeartbeat, c.clientID); id != counters.NullCounterID {
			c.useHeartbeat(id)
		}
	} else if !c.counters.IsActive(c.hbID, counters.TypeClientHeartbeat, c.clientID) {
		// The driver reclaimed our heartbeat: it timed us out.
		err := fmt.Errorf("heartbeat counter %d closed by the driver: %w", c.hbID, ErrClientTimeout)
		c.cfg.ErrorHandler(err)
		c.fail(err)
		return 1
	}
	if c.heartbt != nil {
		c.heartbt.Store(nowMs)
	} else if err := c.sendKeepalive(); err != nil {
		c.cfg.ErrorHandler(err)
	}
	nowNs := now.UnixNano()
	kept := c.lingers[:0]
	for _, l := range c.lingers {
		if nowNs >= l.deadline {
			l.close()
		} else {
			kept = append(kept, l)
		}
	}
	clear(c.lingers[len(kept):])
	c.lingers = kept
	return 0
}

// replacedCheckAfter: a driver heartbeat older than this makes the client
// look whether its CnC file was replaced (a live driver beats every
// millisecond or so; the check costs a stat, off the steady state).
const replacedCheckAfter = time.Second

// cncReplaced reports whether the directory's cnc.dat is no longer the
// file this client mapped.
func (c *Client) cncReplaced() bool {
	if c.cncFile == nil {
		return false
	}
	st, err := os.Stat(c.cncPath)
	return err == nil && !os.SameFile(st, c.cncFile)
}

// onMessage handles one driver response; c.mu is held.
func (cc *clientConductor) onMessage(typeID int32, msg []byte) {
	c := cc.c
	switch typeID {
	case command.OnPublicationReady, command.OnExclusivePublicationReady:
		if m, err := command.DecodePublicationReady(msg); err == nil {
			c.resolve(m.CorrelationID, response{msg: msg})
		}
	case command.OnSubscriptionReady:
		if m, err := command.DecodeSubscriptionReady(msg); err == nil {
			c.resolve(m.CorrelationID, response{msg: msg})
		}
	case command.OnOperationSuccess:
		if m, err := command.DecodeOperationSucceeded(msg); err == nil {
			c.resolve(m.CorrelationID, response{})
		}
	case command.OnCounterReady:
		if m, err := command.DecodeCounterUpdate(msg); err == nil {
			if m.CorrelationID == c.clientID && c.heartbt == nil &&
				c.counters.IsActive(m.CounterID, counters.TypeClientHeartbeat, c.clientID) {
				c.useHeartbeat(m.CounterID)
			}
			c.resolve(m.CorrelationID, response{msg: msg})
		}
	case command.OnUnavailableCounter:
	case command.OnError:
		if m, err := command.DecodeErrorResponse(msg); err == nil {
			c.resolve(m.OffendingCorrelationID, response{err: &DriverError{Code: m.ErrorCode, Message: m.Message}})
		}
	case command.OnAvailableImage:
		m, err := command.DecodeImageReady(msg)
		if err != nil {
			c.cfg.ErrorHandler(fmt.Errorf("aeron client: %w", err))
			return
		}
		if s := c.subs[m.SubscriptionRegistration]; s != nil {
			cc.addImage(s, m)
		}
	case command.OnUnavailableImage:
		m, err := command.DecodeImageMessage(msg)
		if err != nil {
			c.cfg.ErrorHandler(fmt.Errorf("aeron client: %w", err))
			return
		}
		if s := c.subs[m.SubscriptionRegistration]; s != nil {
			if im := s.removeImage(m.CorrelationID); im != nil {
				im.closed.Store(true)
				if s.onUnavailable != nil {
					f := s.onUnavailable
					cc.notify = append(cc.notify, func() { f(im) })
				}
				c.lingerLocked(time.Now().UnixNano(), im.unmap)
			}
		}
	case command.OnPublicationError:
		m, err := command.DecodePublicationError(msg)
		if err != nil {
			c.cfg.ErrorHandler(fmt.Errorf("aeron client: %w", err))
			return
		}
		if f := c.cfg.PublicationErrorFrameHandler; f != nil {
			frame := newPublicationErrorFrame(m)
			cc.notify = append(cc.notify, func() { f(frame) })
		}
	case command.OnClientTimeout:
		if m, err := command.DecodeClientTimeout(msg); err == nil && m.ClientID == c.clientID {
			c.cfg.ErrorHandler(ErrClientTimeout)
			c.fail(ErrClientTimeout)
		}
	}
}

// useHeartbeat adopts the heartbeat counter the driver allocated for this
// client and names the client on its label; c.mu is held.
func (c *Client) useHeartbeat(id int32) {
	c.hbID = id
	c.heartbt, _ = c.counters.Addr(id)
	c.counters.AppendLabel(id, " name="+c.cfg.ClientName+" version=tpool")
}

func (cc *clientConductor) addImage(s *Subscription, m command.ImageReady) {
	c := cc.c
	for _, im := range s.imageList() {
		if im.correlationID == m.CorrelationID {
			return
		}
	}
	im, err := newImage(c, m)
	if err != nil {
		c.cfg.ErrorHandler(fmt.Errorf("aeron client: image session %d of stream %d: %w", m.SessionID, m.StreamID, err))
		return
	}
	s.addImage(im)
	if s.onAvailable != nil {
		f := s.onAvailable
		cc.notify = append(cc.notify, func() { f(im) })
	}
}
