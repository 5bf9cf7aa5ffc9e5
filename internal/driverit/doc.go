// Package driverit holds the cross-process tests of the SHM driver
// (runtime/driver) and its client (runtime/driverclient): attach and
// mapping end to end, faults with real processes (SIGKILL of a producer and
// of the driver), load with leak checks, and the attach round-trip and
// keepalive benchmarks. The test binary re-executes itself for every child
// process (see TestMain). It has no non-test code.
package driverit
