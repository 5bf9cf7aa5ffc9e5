//go:build !amd64

package agent

// SpinWait tells the CPU that the caller is in a spin loop. On this
// architecture it does nothing, as Aeron's proc_yield on ARM.
func SpinWait() {}
