//go:build race

package stubtest

const raceEnabled = true
