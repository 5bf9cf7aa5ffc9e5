package client

import (
	"context"
	"fmt"

	"github.com/tpool-go/tpool/runtime/aeron"
)

// consumerMeta is a Consumer's side of the metadata stream (see meta.go).
// Guarded by the Consumer's mu.
type consumerMeta struct {
	sub  *aeron.Subscription // nil with ConsumerConfig.NoMetadata
	fh   aeron.FragmentHandler
	recv *metaReceiver
}

// metaReassembly is the initial reassembly buffer of the metadata stream:
// room for a blob chunk of the default size.
const metaReassembly = DefaultMetaChunkBytes + 256

func (s *Consumer) initMeta(ctx context.Context) error {
	s.meta.recv = newMetaReceiver(s.cfg.StreamID, s.cfg.MaxMetaBlobBytes)
	if s.cfg.NoMetadata {
		return nil
	}
	asm := aeron.NewFragmentAssembler(func(buf []byte, _ *aeron.Header) { s.meta.recv.handle(buf) }, metaReassembly)
	s.meta.fh = asm.Handler()
	var err error
	if s.meta.sub, err = s.aeron.AddSubscription(ctx, s.c.cfg.MetadataChannel, s.c.cfg.MetadataStreamID); err != nil {
		return fmt.Errorf("client: metadata subscription: %w", err)
	}
	return nil
}

// pollMeta takes what arrived on the metadata stream; called with s.mu
// held, before the descriptors, so a frame finds metadata that arrived
// before it.
func (s *Consumer) pollMeta() int {
	if s.meta.sub == nil {
		return 0
	}
	return s.meta.sub.Poll(s.meta.fh, s.cfg.FragmentLimit)
}

func (s *Consumer) closeMeta() error {
	if s.meta.sub == nil {
		return nil
	}
	return s.meta.sub.Close()
}

// swapMetaSub moves the metadata subscription onto a (reconnect.go).
func (s *Consumer) swapMetaSub(ctx context.Context, a *aeron.Client) error {
	if s.cfg.NoMetadata {
		return nil
	}
	sub, err := a.AddSubscription(ctx, s.c.cfg.MetadataChannel, s.c.cfg.MetadataStreamID)
	if err != nil {
		return fmt.Errorf("client: metadata subscription: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = sub.Close()
		return ErrClosed
	}
	old := s.meta.sub
	s.meta.sub = sub
	s.mu.Unlock()
	_ = old.Close() // on the lost Aeron client: its error says nothing new
	return nil
}

// Meta returns the metadata of the frame's meta_version, or nil when the
// Consumer has none for it (the producer published none, it has not
// arrived yet, or it is older than the last MetaHistory versions). It is
// valid until the handler returns (or, from Next, until the next call of
// Next, Poll or Close), like the view: copy what must outlive it. It
// allocates nothing.
func (v FrameView) Meta() *Meta { return v.c.meta.recv.lookup(v.f.MetaVersion) }

// Meta returns the newest metadata version the Consumer completed, or nil.
// The Meta is never modified afterwards. Do not call it from a handler
// (use FrameView.Meta there).
func (s *Consumer) Meta() *Meta {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta.recv.latest()
}

// Source returns the stream's latest DataSourceAnnounce: its name and
// summary, and whether one arrived. Do not call it from a handler.
func (s *Consumer) Source() (DataSource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta.recv.source, s.meta.recv.announced
}

// MetaStats returns a snapshot of the metadata counters. Do not call it
// from a handler.
func (s *Consumer) MetaStats() MetaStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.meta.recv.stats
}
