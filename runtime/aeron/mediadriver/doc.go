// Package mediadriver is tpool's embedded Aeron media driver for IPC. It
// creates an Aeron directory with a CnC file that real Aeron clients (C,
// Java, Julia) and tpool's own client understand, and runs a conductor that
// serves their commands: publications (concurrent and exclusive) backed by
// log buffer files, subscriptions with their positions, counters, client
// liveness and cleanup. It runs inside a process (as Aeron's embedded driver
// does) or as cmd/tpool-aeronmd.
//
// It serves aeron:ipc and unicast aeron:udp?endpoint=host:port channels,
// wire-compatible with Aeron's aeronmd: a sender and a receiver agent next
// to the conductor (dedicated or shared, Config.UDP.Threading) send and
// rebuild streams with setup, status message, NAK and retransmission, and
// max, min or tagged flow control, multicast (IPv4 and IPv6) and
// multi-destination-cast, manual and dynamic (docs/AERON.md). The
// parameters docs/AERON.md lists as not implemented are answered with a
// NOT_SUPPORTED error naming them.
//
// # Usage
//
//	d, err := mediadriver.Start(mediadriver.Config{Dir: dir})
//	...
//	defer d.Close()
//
// # Caveats
//
// A directory belongs to one driver: Start refuses one whose CnC shows a
// heartbeat younger than DriverTimeout and takes over (removes) a stale one.
// Close removes the directory unless KeepDir is set; clients notice the
// driver's end through the heartbeat it sets to -1. Log buffers live in
// <dir>/publications and are sized 3 x term length + 4 KiB, so the default
// 64 MiB IPC term length makes 192 MiB files, allocated when the publication
// is added (as Aeron does; sparse=true in the channel leaves them sparse):
// pass term-length in the channel or set IPCTermLength for small streams.
//
// The agents keep their P (GOMAXPROCS) while idle, so UDP needs
// ThreadingMode.MinGOMAXPROCS Ps (4 in the default dedicated mode) or the
// goroutines reading the sockets wait up to 10 ms for one; the driver logs
// a warning when its first UDP endpoint opens with fewer, and leaves
// GOMAXPROCS to the program (cmd/tpool-aeronmd raises it).
package mediadriver
