#include "textflag.h"

// func SpinWait()
TEXT ·SpinWait(SB), NOSPLIT, $0-0
	PAUSE
	RET
