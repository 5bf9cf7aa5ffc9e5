// Package typed is the small runtime that tensorgen's generated stream
// stubs sit on: typed views, producers and consumers of one declared
// stream (element type, shape, memory order) over runtime/client's
// untyped Producer and Consumer. Generated code imports it; programs
// normally use the generated types instead.
//
// A Spec is a stream's declaration as the generated code states it. At
// attach, NewProducer and NewConsumer check that the driver's payload pools
// for the stream can hold the declared largest frame, and that the Go
// element type matches the dtype; failures wrap ErrMismatch and name both
// sides. The protocol announces no dtype or shape for a stream, only each
// frame's TensorHeader, so a Consumer also checks every frame against the
// Spec: a frame of another dtype, order or shape, or with strides that are
// not dense, is not handed to the application (Next returns an error
// wrapping ErrMismatch naming both; Poll counts it in Mismatched and keeps
// the error for Err).
//
// # Configuration, claim queues and FrameProgress
//
// NewProducer and NewConsumer take the client's ProducerConfig and
// ConsumerConfig with the declaration's contract filled in (StreamID 0
// becomes the spec's; a no-driver Layout left empty becomes the
// declaration's pool sizing) and refuse, with ErrMismatch naming both, a
// configuration that contradicts the declaration. The rest is the
// client's: with ProducerConfig.MaxClaims several Claims from TryClaim may
// be open at once, filled in any order (a DMA ring), each reporting how
// far it got with Progress or ProgressRows (FrameProgress PROGRESS when
// ProducerConfig.Progress is set; the client adds STARTED and COMPLETE)
// and committed or aborted by itself. On the consumer side OnProgress
// turns a handler of Progress (the hint in elements and rows) into
// ConsumerConfig.OnProgress.
//
// # How long views stay valid
//
// A View aliases shared memory, like the client's views it wraps: a
// producer's View is valid until its claim is committed or aborted (for
// Claim's view: Commit, Abort or the next Claim); a
// consumer's until the handler returns or the next Next, Poll or Close.
// The producer may overwrite a frame while a consumer reads it: call the
// FrameView's Verify after reading and discard what was computed if it
// reports false.
//
// Claims, commits, offers and polls of frames that match allocate nothing.
package typed

// SupportPackageIsVersion2 is referenced by every file tensorgen's stub
// generator writes (const _ = typed.SupportPackageIsVersion2): stubs
// generated for a version of this package they do not fit fail to
// compile, naming the constant, instead of misbehaving. The number changes
// when the generated code's contract with this package does; the
// constants of older versions this package still serves stay.
//
// Version 2 added claim queues (Producer.TryClaim, Claim) and OnProgress.
const (
	SupportPackageIsVersion1 = true
	SupportPackageIsVersion2 = true
)
