//go:build !race

package stubtest

const raceEnabled = false
