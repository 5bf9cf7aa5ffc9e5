// Package tpool is the root of a Go toolkit that moves large tensors
// between processes on one host through shared memory, implementing the
// SHM Tensor Pool protocol family over Aeron (docs/SPECS.md links the
// protocol documents; docs/DECISIONS.md says what tpool chose where they
// leave a choice). This package holds no code; it maps the others.
//
// # Where to start
//
//   - Share tensors between two processes without any daemon:
//     [github.com/tpool-go/tpool/runtime/pool] (CreateStream, Attach,
//     Producer, Consumer, typed views). Its package doc opens with a
//     producer and a consumer in one process. Between processes without
//     tpoold, runtime/client's no-driver mode (Config.NoDriver) announces
//     the regions over Aeron; examples/nodriver has it as two programs
//     (make demo-nodriver runs them).
//   - Encode and decode the protocol's messages: the generated codecs in
//     gen/wire, gen/driver, gen/discovery, gen/bridge, gen/joinbarrier and
//     gen/tracelink (examples/codec shows one round trip).
//   - Generate codecs for your own SBE schema: cmd/tensorgen
//     (docs/TENSORGEN.md).
//   - Declare your streams (dtype, shape, metadata) and get typed producers
//     and consumers: tensorgen stubs, over runtime/typed (docs/STUBS.md).
//   - Talk Aeron from Go: [github.com/tpool-go/tpool/runtime/aeron] (a
//     client compatible with the real media driver) and
//     runtime/aeron/mediadriver (an embedded media driver; cmd/tpool-aeronmd
//     runs it standalone).
//
// # The packages
//
//	schema/                      the SBE XML schemas: the wire contract
//	gen/<schema>                 generated codecs, one package per schema
//	tensorgen, tensorgen/schema, tensorgen/gogen
//	                             the code generator: parse and validate, then emit Go
//	tensorgen/decl, tensorgen/stubgen
//	                             stream declarations (TOML) and the typed producer/consumer stubs made from them
//	runtime/sbe                  what generated code needs at run time
//	runtime/shm                  the only package with mmap and unsafe
//	runtime/pool                 the shared-memory data plane
//	runtime/agent                agents, runners, invokers, idle strategies
//	runtime/aeron                the Aeron client
//	runtime/aeron/mediadriver    the embedded Aeron media driver
//	runtime/control              typed senders and pollers of the driver control plane
//	runtime/driver, runtime/driver/tomlconfig
//	                             the SHM driver (tpoold's engine) and its TOML/env configuration
//	runtime/driverclient         the driver's client: attach, keepalive, revocation, fail closed
//	runtime/client               producers and consumers: one client per process, frames in and out
//	runtime/typed                what generated stream stubs need: typed views, producers, consumers over runtime/client
//	cmd/tpoold                   the SHM driver command
//	cmd/tp                       produce and consume test frames from the command line
//	templates/                   what tensorgen init scaffolds: a stream declaration and a tpoold configuration
//	cmd/tensorgen, cmd/tpool-aeronmd
//	                             thin commands over the packages above
//	examples/...                 small programs, built and tested in CI
//
// Imports follow the data: generated code imports only runtime/sbe;
// runtime/pool builds on runtime/shm and gen/wire; the Aeron client and
// the media driver share formats under runtime/aeron/internal but do not
// import each other; commands and examples are imported by nothing.
// internal/archtest checks these directions.
//
// # Design notes
//
// README.md is the overview; docs/SHM.md covers the data plane (including
// several users on one machine and cleaning up after crashed producers),
// docs/AERON.md the Aeron implementation, docs/INTEROP.md testing against
// the C and Julia implementations, docs/PERFORMANCE.md the measurements.
package tpool
