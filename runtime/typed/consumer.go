package typed

import (
	"context"
	"errors"

	"github.com/tpool-go/tpool/runtime/client"
	"github.com/tpool-go/tpool/runtime/shm"
)

// Consumer reads the frames of one declared stream. Like the client's
// Consumer it is not safe for concurrent use.
type Consumer[T shm.Elem] struct {
	c          *client.Consumer
	spec       *Spec
	handler    func(View[T], client.FrameView)
	fh         func(client.FrameView) // s.frame, bound once
	mismatched uint64
	err        error
}

// NewConsumer attaches a consumer of spec's stream through c. cfg is the
// client's (OnProgress included: see OnProgress for a typed handler);
// its StreamID may be 0: the spec's. It fails with ErrMismatch if cfg
// names another stream, T is not the dtype's Go type or the driver's
// pools cannot hold the largest frame.
func NewConsumer[T shm.Elem](ctx context.Context, c *client.Client, spec *Spec, cfg client.ConsumerConfig) (*Consumer[T], error) {
	if err := prepare[T](spec, &cfg.StreamID); err != nil {
		return nil, err
	}
	uc, err := c.NewConsumer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if l := uc.Lease(); l != nil { // nil in no-driver mode
		if err := spec.CheckLease(l.Info()); err != nil {
			_ = uc.Close()
			return nil, err
		}
	}
	s := &Consumer[T]{c: uc, spec: spec}
	s.fh = s.frame
	return s, nil
}

// Spec returns the declaration.
func (s *Consumer[T]) Spec() *Spec { return s.spec }

// Untyped returns the client Consumer underneath (stats, lease, epoch).
func (s *Consumer[T]) Untyped() *client.Consumer { return s.c }

// Mismatched counts the frames not handed to a Poll handler because they
// did not match the declaration; Err returns the last such mismatch.
func (s *Consumer[T]) Mismatched() uint64 { return s.mismatched }
func (s *Consumer[T]) Err() error         { return s.err }

// View checks a frame of the stream against the declaration and views it.
func (s *Consumer[T]) View(f client.FrameView) (View[T], error) {
	h := f.Tensor()
	if err := s.spec.Check(h); err != nil {
		return View[T]{}, err
	}
	return newView[T](f.Payload(), h)
}

func (s *Consumer[T]) frame(f client.FrameView) {
	v, err := s.View(f)
	if err != nil {
		s.mismatched++
		s.err = err
		return
	}
	s.handler(v, f)
}

// Poll handles the frames that have arrived (up to the client's fragment
// limit), calling handler with each that matches the declaration; the
// views are valid until handler returns. It never blocks.
func (s *Consumer[T]) Poll(handler func(View[T], client.FrameView)) int {
	s.handler = handler
	n := s.c.Poll(s.fh)
	s.handler = nil
	return n
}

// Next waits for the next frame and returns it, valid until the next call
// of Next, Poll or Close. A frame that does not match the declaration is
// returned as an error wrapping ErrMismatch (naming both); Next can be
// called again for the following frames.
func (s *Consumer[T]) Next(ctx context.Context) (View[T], client.FrameView, error) {
	f, err := s.c.Next(ctx)
	if err != nil {
		return View[T]{}, f, err
	}
	v, err := s.View(f)
	if err != nil {
		s.mismatched++
		s.err = err
	}
	return v, f, err
}

// Run calls handler with every matching frame until ctx ends, then returns
// ctx's error (or client.ErrClosed).
func (s *Consumer[T]) Run(ctx context.Context, handler func(View[T], client.FrameView)) error {
	for {
		v, f, err := s.Next(ctx)
		switch {
		case errors.Is(err, ErrMismatch):
			continue
		case err != nil:
			return err
		}
		handler(v, f)
	}
}

// Close closes the client Consumer.
func (s *Consumer[T]) Close() error { return s.c.Close() }
