package lambdarie

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sysProcAttr makes the kernel send RIE SIGTERM when the test process dies
// without stopping it (a test binary killed at its -timeout, say), so that
// RIE, and with it the function, never outlive the test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

// childPIDs returns the processes pid started that still run: RIE's
// function, which RIE puts in a process group of its own.
func childPIDs(pid int) []int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var pids []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
	}
	return pids
}

// kill sends SIGKILL to pids.
func kill(pids []int) {
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// signalGroup sends sig to the process group pid leads (RIE starts the
// bootstrap as the leader of a group of its own), else to pid alone.
func signalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err == nil {
		return nil
	}
	return syscall.Kill(pid, sig)
}

// procState returns the state letter of pid's task in /proc/<pid>/stat
// ("R", "S", "T", "Z", ...), of the whole process when task is "".
func procState(path string) (byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, fmt.Errorf("%s: unexpected %q", path, b)
	}
	return b[i+2], nil
}

// alive reports whether pid is a process that has not ended: it exists
// and is neither a zombie nor dead.
func alive(pid int) bool {
	s, err := procState("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && s != 'Z' && s != 'X'
}

// errNotStopped reports threads still running after SIGSTOP.
var errNotStopped = errors.New("threads still running after SIGSTOP")

// awaitStopped waits, for up to wait, until every thread of pid is
// stopped ("T"): SIGSTOP is sent at once but each thread stops when it is
// next scheduled. A process that has ended counts as stopped.
func awaitStopped(pid int, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/stat")
		running := 0
		for _, t := range tasks {
			if s, err := procState(t); err == nil && s != 'T' && s != 't' && s != 'Z' && s != 'X' {
				running++
			}
		}
		if running == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pid %d: %d %w for %v", pid, running, errNotStopped, wait)
		}
		time.Sleep(time.Millisecond)
	}
}

// peakRSS returns pid's peak resident set size (VmHWM in
// /proc/<pid>/status), in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		v, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("pid %d: VmHWM %q: %w", pid, v, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("pid %d: no VmHWM in /proc/%d/status", pid, pid)
}
