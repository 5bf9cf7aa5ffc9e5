//go:build !race

package sysbench

const raceEnabled = false
