package agent

// SpinWait tells the CPU that the caller is in a spin loop (the x86 PAUSE
// instruction, Aeron's proc_yield and Java's Thread.onSpinWait). The pause
// lets a sibling hardware thread run and keeps a polling loop from hammering
// the cache line another core is about to write. Call it once per empty
// iteration of a busy loop; it never enters the kernel or the Go scheduler.
func SpinWait()
