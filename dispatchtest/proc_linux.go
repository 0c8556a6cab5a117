package dispatchtest

import "syscall"

// sysProcAttr makes the kernel kill stripe-mock when the thread that
// started it ends, which startStripeMock arranges to be when the process
// ends.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
