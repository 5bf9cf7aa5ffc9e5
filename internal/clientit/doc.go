// Package clientit tests runtime/client with real processes: tpoold, the
// producers and the consumers are children (the test binary re-executed,
// internal/proctest), and the tests kill them or feed them garbage: a
// consumer SIGKILLed mid-stream, a hostile producer writing garbage into
// slot headers, sending descriptors for slots never written and
// announcing regions outside the allowed directories.
package clientit
