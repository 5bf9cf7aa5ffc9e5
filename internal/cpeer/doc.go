// Package cpeer runs the C peers of tpool's interop tests: the real Aeron C
// media driver (aeronmd) and the C implementation of the SHM Tensor Pool,
// tensor_pool_c (its driver tp_driver and its example producer and
// consumer). It is test support only: the library never imports it (see
// internal/archtest), and it imports nothing of tpool.
//
// The C programs are built outside the repository (docs/INTEROP.md says
// from which commits and how). Two environment variables name the
// directories holding them; a test that needs a program whose variable is
// unset is skipped with a message naming the variable:
//
//	TPOOL_AERON_C_BIN  aeronmd and AeronStat
//	TPOOL_TPC_BIN      tp_driver, tp_example_producer_driver, tp_example_consumer_driver
//
// A typical test, C producer -> tp_driver -> C consumer:
//
//	aeronDir := cpeer.StartAeronMD(t)
//	d := cpeer.StartTPDriver(t, cpeer.Config{AeronDir: aeronDir})
//	c := cpeer.StartConsumer(t, cpeer.Client{AeronDir: aeronDir, StreamID: d.Config.StreamID, ClientID: 2, Count: 5})
//	published := cpeer.RunProducer(t, cpeer.Client{AeronDir: aeronDir, StreamID: d.Config.StreamID, ClientID: 1, Count: 5})
//	frames := c.Frames(t) // waits for the consumer to exit
//
// StartConsumer returns once the consumer has attached, so the producer
// started next finds it. To put tpool's own driver (tpoold) in tp_driver's
// place, start it on the Aeron directory from StartAeronMD with the
// settings of Config (Config.TOML is tp_driver's file for them; ShmDir
// makes a pool directory), wait for its control stream with
// WaitSubscribed(t, aeronDir, Channel, ControlStreamID), and use
// StartConsumer and RunProducer as above.
//
// The C examples sometimes crash after finishing their frames, from a race
// in tensor_pool_c's client (see CrashedAfter); the harness logs that
// instead of failing.
//
// Every process is started with exec.CommandContext under Timeout; the
// test's cleanup sends it SIGINT, kills it five seconds later if it is
// still running, and waits for it. Directories are per test (t.TempDir, and
// a fresh directory under /dev/shm for the pool files, removed in cleanup
// because tp_driver leaves its files behind), so tests may run in parallel
// and nothing is left running or in /dev/shm. Nothing is timed: Timeout
// only turns a hang into a failure. Output of every process is kept line by
// line (stdout and stderr merged, line-buffered through stdbuf) and logged
// when the test fails.
package cpeer
