//go:build !linux

package dispatchtest

import "syscall"

// sysProcAttr has no parent-death signal to set outside Linux.
func sysProcAttr() *syscall.SysProcAttr { return nil }
