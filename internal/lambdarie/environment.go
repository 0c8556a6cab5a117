package lambdarie

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopWaitThreads bounds the wait for every thread of a bootstrap to stop
// after SIGSTOP.
const stopWaitThreads = 5 * time.Second

// environment is one execution environment's platform side, as the
// harness sees it: the wrapper RIE runs as its bootstrap, the bootstrap
// processes that wrapper became, their freezes, what each invocation was
// delivered to and what the function posted, and the limits' measurements.
type environment struct {
	dir       string // the wrapper and its pid file, removed at Stop
	wrapper   string // RIE's bootstrap: records its pid, then execs the function's
	pidFile   string // the pid of the latest bootstrap process; its mtime, the exec
	initLimit time.Duration
	memoryMB  int

	mu         sync.Mutex
	changed    chan struct{}        // closed, and replaced, at every change of frozen
	stopped    int                  // the pid sent SIGSTOP, 0 when none is
	frozen     int                  // the pid stopped, every thread: frozen
	stopping   bool                 // Stop has begun: freeze no more
	procs      map[int]*process     // every bootstrap process seen, by pid
	deliveries map[string]*delivery // by request id
	peak       int64                // the highest VmHWM of any bootstrap process, bytes
	peakPID    int                  // whose
	violations []error              // the limits exceeded, each once
	maxInit    time.Duration        // the longest Init phase
}

// process is one bootstrap process: one Lambda execution environment's
// life, from its exec (a cold start) to its end.
type process struct {
	pid       int
	started   time.Time // its exec: the pid file's modification time
	firstNext time.Time // its first /next: the end of its Init phase
	delivered int       // invocations delivered to it
}

// delivery is one invocation as it reached the function.
type delivery struct {
	pid          int           // the process it was delivered to
	cold         bool          // the first invocation of that process
	initDuration time.Duration // that process's Init phase, when cold
	posted       []byte        // what the function posted, if it did
	postedError  bool          // to /invocation/{id}/error
	errorType    string        // its Lambda-Runtime-Function-Error-Type
	didPost      bool
}

// newEnvironment writes the wrapper that execs bootstrap with
// AWS_LAMBDA_RUNTIME_API set to apiAddr (the harness's proxy).
func newEnvironment(bootstrap, apiAddr string, env map[string]string, initLimit time.Duration, memoryMB int) (*environment, error) {
	dir, err := os.MkdirTemp("", "lambdarie-env-")
	if err != nil {
		return nil, fmt.Errorf("lambdarie: the wrapper's directory: %w", err)
	}
	e := &environment{
		dir:        dir,
		wrapper:    filepath.Join(dir, "bootstrap"),
		pidFile:    filepath.Join(dir, "pid"),
		initLimit:  initLimit,
		memoryMB:   memoryMB,
		changed:    make(chan struct{}),
		procs:      map[int]*process{},
		deliveries: map[string]*delivery{},
	}
	if err := os.WriteFile(e.wrapper, []byte(wrapperScript(e.pidFile, apiAddr, bootstrap, env)), 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("lambdarie: writing the wrapper: %w", err)
	}
	return e, nil
}

// wrapperScript is RIE's bootstrap: a /bin/sh script that records its pid
// (which exec keeps: it is the function's), points the function at the
// proxy and execs it, with RIE's arguments. RIE starts it with exactly
// the environment it gives a bootstrap; sh adds PWD, which Lambda's
// bootstrap does not have, so the script removes it unless env sets it.
func wrapperScript(pidFile, apiAddr, bootstrap string, env map[string]string) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	b.WriteString("# Written by stripetask/internal/lambdarie: the function's bootstrap, frozen by the harness.\n")
	b.WriteString("echo $$ >" + shellQuote(pidFile) + "\n")
	if _, ok := env["PWD"]; !ok {
		b.WriteString("unset PWD\n")
	}
	b.WriteString("AWS_LAMBDA_RUNTIME_API=" + shellQuote(apiAddr) + "\n")
	b.WriteString("export AWS_LAMBDA_RUNTIME_API\n")
	b.WriteString("exec " + shellQuote(bootstrap) + ` "$@"` + "\n")
	return b.String()
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// current returns the latest bootstrap process, or nil before the first
// exec (or while the wrapper is writing its pid).
func (e *environment) current() *process {
	b, err := os.ReadFile(e.pidFile)
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return nil
	}
	info, err := os.Stat(e.pidFile)
	if err != nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.procs[pid]; ok && p.started.Equal(info.ModTime()) {
		return p
	}
	p := &process{pid: pid, started: info.ModTime()} // new, or a pid reused
	e.procs[pid] = p
	return p
}

// currentPID returns the latest bootstrap process's pid, 0 if none.
func (e *environment) currentPID() int {
	if p := e.current(); p != nil {
		return p.pid
	}
	return 0
}

// sample reads p's peak RSS, keeping the environment's highest; a process
// that has ended meanwhile is ignored.
func (e *environment) sample(pid int) {
	if pid == 0 {
		return
	}
	rss, err := peakRSS(pid)
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if rss > e.peak {
		e.peak, e.peakPID = rss, pid
	}
}

// askedNext records that p asked for its next invocation: the first time,
// the end of its Init phase, checked against the init limit.
func (e *environment) askedNext(p *process, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !p.firstNext.IsZero() {
		return
	}
	p.firstNext = at
	d := at.Sub(p.started)
	e.maxInit = max(e.maxInit, d)
	if e.initLimit > 0 && d > e.initLimit {
		e.violations = append(e.violations, fmt.Errorf("%w: the bootstrap (pid %d) took %v from its exec to its first /next, over the %v limit",
			ErrInitLimit, p.pid, d.Round(time.Millisecond), e.initLimit))
	}
}

// freeze stops every thread of p (the whole process group), unless Stop
// has begun, and reports whether it did. As on Lambda, the environment is
// frozen once its runtime asks for the next invocation; it counts as
// frozen (Frozen, AwaitFrozen) once every thread has stopped.
func (e *environment) freeze(p *process) (bool, error) {
	e.mu.Lock()
	if e.stopping {
		e.mu.Unlock()
		return false, nil
	}
	if err := signalGroup(p.pid, syscall.SIGSTOP); err != nil {
		e.mu.Unlock()
		return false, fmt.Errorf("lambdarie: freezing pid %d: %w", p.pid, err)
	}
	e.stopped = p.pid
	e.mu.Unlock()
	err := awaitStopped(p.pid, stopWaitThreads)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		return true, fmt.Errorf("lambdarie: freezing: %w", err)
	}
	if e.stopped == p.pid {
		e.frozen = p.pid
		e.notify()
	}
	return true, nil
}

// thaw resumes p.
func (e *environment) thaw(p *process) {
	e.mu.Lock()
	defer e.mu.Unlock()
	signalGroup(p.pid, syscall.SIGCONT) // an ended process: nothing to resume
	if e.stopped == p.pid {
		e.stopped = 0
	}
	if e.frozen == p.pid {
		e.frozen = 0
		e.notify()
	}
}

// notify wakes the waiters on a change. e.mu is held.
func (e *environment) notify() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// isFrozen reports whether a bootstrap is frozen, and which.
func (e *environment) isFrozen() (int, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.frozen, e.frozen != 0
}

// awaitFrozen waits until a bootstrap is frozen, ctx ends, or done closes.
func (e *environment) awaitFrozen(ctx context.Context, done <-chan struct{}) error {
	for {
		e.mu.Lock()
		frozen, changed := e.frozen != 0, e.changed
		e.mu.Unlock()
		if frozen {
			return nil
		}
		select {
		case <-changed:
		case <-done:
			return errStopped
		case <-ctx.Done():
			return fmt.Errorf("lambdarie: waiting for the environment to freeze: %w", ctx.Err())
		}
	}
}

// errStopped reports a wait on a Function that has stopped.
var errStopped = errors.New("lambdarie: the function has stopped")

// delivered records that invocation id was handed to p.
func (e *environment) delivered(id string, p *process) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p.delivered++
	d := &delivery{pid: p.pid, cold: p.delivered == 1}
	if d.cold && !p.firstNext.IsZero() {
		d.initDuration = p.firstNext.Sub(p.started)
	}
	e.deliveries[id] = d
}

// posted records what the function posted for invocation id, and the
// Runtime API accepted.
func (e *environment) posted(id string, body []byte, isError bool, errorType string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.deliveries[id]
	if !ok {
		d = &delivery{}
		e.deliveries[id] = d
	}
	d.didPost, d.posted, d.postedError, d.errorType = true, body, isError, errorType
}

// take returns, and forgets, what is known of invocation id.
func (e *environment) take(id string) (delivery, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.deliveries[id]
	if !ok {
		return delivery{}, false
	}
	delete(e.deliveries, id)
	return *d, true
}

// beginStop makes freeze refuse from now on, and returns the pid sent
// SIGSTOP, if any.
func (e *environment) beginStop() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stopping = true
	return e.stopped
}

// limitErrors returns the limits exceeded: an Init phase over the init
// limit (finished, or still running past it), and a peak RSS over the
// memory size.
func (e *environment) limitErrors() error {
	e.current() // a process that has not called the Runtime API yet
	e.mu.Lock()
	defer e.mu.Unlock()
	errs := append([]error(nil), e.violations...)
	for _, p := range e.procs {
		if p.firstNext.IsZero() && e.initLimit > 0 && alive(p.pid) {
			if d := time.Since(p.started); d > e.initLimit {
				errs = append(errs, fmt.Errorf("%w: the bootstrap (pid %d) has run %v since its exec without asking for an invocation, over the %v limit",
					ErrInitLimit, p.pid, d.Round(time.Millisecond), e.initLimit))
			}
		}
	}
	if limit := int64(e.memoryMB) << 20; e.memoryMB > 0 && e.peak > limit {
		errs = append(errs, fmt.Errorf("%w: the bootstrap (pid %d) reached a peak RSS (VmHWM) of %.1f MiB, over its MemorySize of %d MB",
			ErrMemoryLimit, e.peakPID, float64(e.peak)/(1<<20), e.memoryMB))
	}
	return errors.Join(errs...)
}

// summary describes the measurements, for the test's log.
func (e *environment) summary() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	memory := "no MemorySize"
	if e.memoryMB > 0 {
		memory = fmt.Sprintf("MemorySize %d MB", e.memoryMB)
	}
	return fmt.Sprintf("%d bootstrap processes, peak RSS (VmHWM) %.1f MiB (%s), longest Init phase %v (limit %v)",
		len(e.procs), float64(e.peak)/(1<<20), memory, e.maxInit.Round(time.Millisecond), e.initLimit)
}

// peakRSS returns the highest VmHWM seen.
func (e *environment) peakRSS() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.peak
}
