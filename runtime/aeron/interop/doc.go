// Package interop holds tests that check tpool's Aeron client
// (runtime/aeron) and embedded media driver (runtime/aeron/mediadriver and
// cmd/tpool-aeronmd) against the real Aeron C media driver, C sample clients
// and tools, and benchmarks that compare the two in the same session.
//
// The package has no code of its own. Its tests need the C binaries
// aeronmd, basic_publisher, basic_subscriber and AeronStat (the benchmarks
// only aeronmd), built outside the repository from real-logic/aeron, and
// are skipped unless TPOOL_AERON_C_BIN names the directory holding them:
//
//	TPOOL_AERON_C_BIN=/path/to/binaries go test -v ./runtime/aeron/interop/
//
// docs/INTEROP.md says which Aeron commit the binaries come from, what each
// test does and what a run looks like; docs/PERFORMANCE.md has the
// benchmark figures.
package interop
