package client

import (
	"context"
	"errors"

	"github.com/tpool-go/tpool/runtime/aeron"
)

// The streams a Producer or Consumer uses besides the descriptor stream:
// metadata (metasend.go, metaconsume.go) and FrameProgress (progress.go).
// producer.go, consumer.go and reconnect.go call only these.

func (p *Producer) initSideStreams(ctx context.Context) error {
	if err := p.initMeta(ctx); err != nil {
		return err
	}
	return p.initProgress(ctx)
}

func (p *Producer) closeSideStreams() error {
	return errors.Join(p.closeMeta(), p.closeProgress())
}

// swapSideStreams moves the side publications onto a (reconnect.go).
func (p *Producer) swapSideStreams(ctx context.Context, a *aeron.Client) error {
	if err := p.swapMetaPub(ctx, a); err != nil {
		return err
	}
	return p.swapProgressPub(ctx, a)
}

func (s *Consumer) initSideStreams(ctx context.Context) error {
	if err := s.initMeta(ctx); err != nil {
		return err
	}
	return s.initProgress(ctx)
}

// pollSideStreams takes what arrived on the side streams; called with s.mu
// held, before the descriptors.
func (s *Consumer) pollSideStreams() int {
	return s.pollMeta() + s.pollProgress()
}

func (s *Consumer) closeSideStreams() error {
	return errors.Join(s.closeMeta(), s.closeProgress())
}

// swapSideStreams moves the side subscriptions onto a (reconnect.go).
func (s *Consumer) swapSideStreams(ctx context.Context, a *aeron.Client) error {
	if err := s.swapMetaSub(ctx, a); err != nil {
		return err
	}
	return s.swapProgressSub(ctx, a)
}

// remapped is called when the Producer mapped a new epoch.
func (p *Producer) remapped() {
	p.metaRemapped()
	p.deferred = p.deferred[:0] // frames of the old epoch: their descriptors are moot
}
