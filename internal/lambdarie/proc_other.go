//go:build !linux

package lambdarie

import (
	"errors"
	"syscall"
	"time"
)

// sysProcAttr has no attributes to set outside Linux.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// childPIDs finds no processes outside Linux: a function whose RIE had to
// be killed ends when its next Runtime API call fails.
func childPIDs(pid int) []int { return nil }

// kill has nothing to kill outside Linux.
func kill(pids []int) {}

// signalGroup sends sig to the process group pid leads, else to pid.
func signalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err == nil {
		return nil
	}
	return syscall.Kill(pid, sig)
}

// alive reports whether pid exists (a zombie included, outside Linux).
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// awaitStopped cannot see thread states outside Linux: SIGSTOP is trusted.
func awaitStopped(pid int, wait time.Duration) error { return nil }

// errNoProc reports that peak RSS is read from /proc, Linux only.
var errNoProc = errors.New("peak RSS is read from /proc/<pid>/status: Linux only")

// peakRSS cannot be read outside Linux.
func peakRSS(pid int) (int64, error) { return 0, errNoProc }
