// Package nodriverit tests runtime/client's no-driver mode with real
// processes: a media driver, producers, consumers and a hostile announcer
// are children (the test binary re-executed, internal/proctest). The tests
// SIGKILL a producer mid-stream and restart it, and flood the announce
// stream with hostile announces and garbage from another process.
package nodriverit
