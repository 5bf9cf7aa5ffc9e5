// Package sysbench is the system benchmark of issue 9 section 6: frames
// from a producer process to a consumer process through tpoold over Aeron
// IPC, measured with go test -bench (make bench-system; figures in
// docs/PERFORMANCE.md).
//
// The benchmark process is the producer (runtime/client); tpoold (the
// driver engine with its embedded media driver) and the consumer
// (runtime/client) are children: the test binary re-executed
// (internal/proctest). Every run measures its baseline in the same run:
// plain copy() of the same bytes for the frame path, raw Aeron messages of
// the same size for the descriptor path.
package sysbench
