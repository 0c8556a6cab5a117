//go:build !linux

package lambdarie

import "syscall"

// sysProcAttr has no attributes to set outside Linux.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// childPIDs finds no processes outside Linux: a function whose RIE had to
// be killed ends when its next Runtime API call fails.
func childPIDs(pid int) []int { return nil }

// kill has nothing to kill outside Linux.
func kill(pids []int) {}
