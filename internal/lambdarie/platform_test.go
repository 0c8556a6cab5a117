package lambdarie_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"stripetask/internal/lambdarie"
)

// platformPackage is the test function of the platform's behaviours: see
// testdata/platform.
const platformPackage = "./internal/lambdarie/testdata/platform"

// The AWS pages the platform tests model.
const (
	environmentPage = "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html"
	runtimeAPIPage  = "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html"
)

// platformAnswer is the platform function's answer.
type platformAnswer struct {
	Pid   int    `json:"pid"`
	Start int64  `json:"start_ns"`
	End   int64  `json:"end_ns"`
	Note  string `json:"note"`
}

// invokePlatform invokes f with payload and decodes the answer
// production would return (Result.Answer).
func invokePlatform(t *testing.T, f *lambdarie.Function, payload string) (lambdarie.Result, platformAnswer) {
	t.Helper()
	r, err := f.Invoke(t.Context(), []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	var a platformAnswer
	if err := json.Unmarshal(r.Answer(), &a); err != nil {
		t.Fatalf("answer %d %q (posted %q) is not the function's: %v", r.Status, r.Body, r.Posted, err)
	}
	return r, a
}

// lineCount returns the number of lines in path, 0 if it does not exist.
func lineCount(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// awaitFrozen waits, bounded, until f is frozen.
func awaitFrozen(t *testing.T, f *lambdarie.Function) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := f.AwaitFrozen(ctx); err != nil {
		t.Fatal(err)
	}
}

// threadStates returns the state letter of every thread of pid (Linux).
func threadStates(t *testing.T, pid int) string {
	t.Helper()
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/stat")
	var states []byte
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		states = append(states, b[i+2])
	}
	return string(states)
}

// TestFrozenBetweenInvocations models Lambda's freeze: once the runtime
// asks for the next invocation, no thread of the environment runs until
// an invocation reaches it (environmentPage, "Invoke phase" and the
// freeze after it; runtimeAPIPage, Next invocation). RIE is the real
// Runtime API; the freeze is the harness's (SIGSTOP at /next, SIGCONT at
// the invocation), since RIE freezes nothing. A goroutine the function
// left ticking (a line every 10 ms, 30 in the window) writes nothing while
// the environment is frozen, and writes again once an invocation thaws it.
func TestFrozenBetweenInvocations(t *testing.T) {
	ticks := filepath.Join(t.TempDir(), "ticks")
	f := lambdarie.Run(t, lambdarie.Config{Bootstrap: lambdarie.Build(t, platformPackage)})
	if f.Frozen() {
		t.Fatal("frozen before any invocation")
	}
	r, a := invokePlatform(t, f, fmt.Sprintf(`{"tick":%q}`, ticks))
	if r.Status != 200 || !r.ColdStart || r.Exited || r.InitDuration <= 0 {
		t.Errorf("first invocation: status %d, cold start %v, exited %v, init %v; want 200, a cold start, not exited, an init duration", r.Status, r.ColdStart, r.Exited, r.InitDuration)
	}
	awaitFrozen(t, f)
	if !f.Frozen() || f.PID() != a.Pid {
		t.Fatalf("Frozen() %v, PID() %d after the answer of pid %d", f.Frozen(), f.PID(), a.Pid)
	}
	if runtime.GOOS == "linux" {
		if s := threadStates(t, a.Pid); strings.Trim(s, "T") != "" || s == "" {
			t.Errorf("frozen, the bootstrap's threads are in states %q, want all T (stopped)", s)
		}
	}
	before := lineCount(t, ticks)
	time.Sleep(300 * time.Millisecond) // the window: the ticker would write 30 lines
	if after := lineCount(t, ticks); after != before || !f.Frozen() {
		t.Fatalf("frozen (%v), the ticker wrote %d lines in 300 ms; want none", f.Frozen(), after-before)
	}

	// The next invocation thaws it: the ticker runs while it holds.
	r, b := invokePlatform(t, f, `{"hold":1000000000}`)
	if r.Status != 200 || r.ColdStart || b.Pid != a.Pid {
		t.Fatalf("second invocation: status %d, cold start %v, pid %d (first %d); want the same environment", r.Status, r.ColdStart, b.Pid, a.Pid)
	}
	thawed := lineCount(t, ticks)
	if thawed <= before {
		t.Errorf("thawed for a 1 s invocation, the ticker wrote %d lines; want some", thawed-before)
	}
	awaitFrozen(t, f)
	frozenAgain := lineCount(t, ticks)
	time.Sleep(300 * time.Millisecond)
	if n := lineCount(t, ticks); n != frozenAgain {
		t.Errorf("frozen again, the ticker wrote %d lines in 300 ms; want none", n-frozenAgain)
	}
	if f.PeakRSS() <= 0 && runtime.GOOS == "linux" {
		t.Errorf("PeakRSS() = %d, want the bootstrap's VmHWM", f.PeakRSS())
	}
}

// TestStopFrozen: Stop ends a frozen environment (SIGKILL, which a
// stopped process cannot refuse) and RIE, promptly, leaving no process.
func TestStopFrozen(t *testing.T) {
	f := lambdarie.Run(t, lambdarie.Config{Bootstrap: lambdarie.Build(t, platformPackage)})
	_, a := invokePlatform(t, f, `{}`)
	awaitFrozen(t, f)
	start := time.Now()
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop of a frozen environment took %v", d)
	}
	if runtime.GOOS == "linux" {
		if err := syscall.Kill(a.Pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("the frozen bootstrap (pid %d) still exists after Stop: %v", a.Pid, err)
		}
	}
	if f.Frozen() {
		t.Error("Frozen() after Stop")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := f.AwaitFrozen(ctx); err == nil {
		t.Error("AwaitFrozen after Stop: nil error")
	}
}

// TestExitAfterPost models the answer as production delivers it: Lambda
// returns a posted response to the caller as soon as it is posted
// (runtimeAPIPage, Invocation response), and an environment whose process
// exits is replaced by a new one at the next invocation, a cold start
// (environmentPage). RIE (the real emulator) holds the answer until the
// next /next and, as the process exits first, answers 502; the harness's
// proxy recorded the posted answer, which Result.Answer returns.
func TestExitAfterPost(t *testing.T) {
	f := lambdarie.Run(t, lambdarie.Config{Bootstrap: lambdarie.Build(t, platformPackage)})
	_, warm := invokePlatform(t, f, `{}`)

	r, a := invokePlatform(t, f, `{"post_and_exit":true}`)
	if a.Note != "posted by the function itself" || a.Pid != warm.Pid || r.PostedError || r.ColdStart {
		t.Errorf("answer %s (posted error %v, cold start %v), want the note posted by pid %d", r.Answer(), r.PostedError, r.ColdStart, warm.Pid)
	}
	if !r.Exited {
		t.Error("Exited = false after the process exited")
	}
	if r.Status != 502 {
		t.Errorf("RIE's status %d, want its 502 for a runtime that exited (the harness reports RIE as it is)", r.Status)
	}

	r, next := invokePlatform(t, f, `{}`)
	if r.Status != 200 || !r.ColdStart || r.Exited || next.Pid == warm.Pid || r.InitDuration <= 0 {
		t.Errorf("after the exit: status %d, cold start %v, exited %v, pid %d (before %d), init %v; want a cold start in a new process",
			r.Status, r.ColdStart, r.Exited, next.Pid, warm.Pid, r.InitDuration)
	}
	if f.PID() != next.Pid {
		t.Errorf("PID() = %d, want the new process's %d", f.PID(), next.Pid)
	}
	awaitFrozen(t, f) // the new process is frozen in its turn
}

// TestEnvironments models concurrent execution environments of one
// function: each its own process, frozen on its own, sharing outside
// state (here a file; in the functions' tests a moto table and queue)
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html).
// Each environment is a real RIE. Each invocation waits until both have
// started, so the two overlap.
func TestEnvironments(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "shared")
	envs := lambdarie.RunEnvironments(t, lambdarie.Config{Bootstrap: lambdarie.Build(t, platformPackage), Timeout: 20 * time.Second}, 2)
	if len(envs) != 2 || envs[0].URL == envs[1].URL {
		t.Fatalf("RunEnvironments(2) gave %d environments", len(envs))
	}
	answers := make([]platformAnswer, 2)
	var wg sync.WaitGroup
	for i, f := range envs {
		wg.Go(func() {
			r, err := f.Invoke(t.Context(), fmt.Appendf(nil, `{"append":%q,"await_starts":2}`, shared))
			if err != nil || r.Status != 200 || r.PostedError {
				t.Errorf("environment %d: %v, %d %s", i, err, r.Status, r.Body)
				return
			}
			json.Unmarshal(r.Answer(), &answers[i])
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	a, b := answers[0], answers[1]
	if a.Pid == b.Pid || a.Pid == 0 {
		t.Errorf("pids %d and %d, want two processes", a.Pid, b.Pid)
	}
	if !(a.Start < b.End && b.Start < a.End) {
		t.Errorf("invocations [%d, %d] and [%d, %d] did not overlap", a.Start, a.End, b.Start, b.End)
	}
	if n := lineCount(t, shared); n != 4 {
		t.Errorf("the shared file has %d lines, want 4 (a start and an end from each)", n)
	}

	// One environment held frozen while the other runs.
	awaitFrozen(t, envs[0])
	invokePlatform(t, envs[1], `{}`)
	if !envs[0].Frozen() {
		t.Error("environment 0 thawed by an invocation of environment 1")
	}
}

// fakeTB is a testing.TB whose errors are recorded instead of failing
// the test, and whose cleanups run when the test says.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Error(args ...any)   { f.Errorf("%s", fmt.Sprint(args...)) }
func (f *fakeTB) Logf(string, ...any) {}
func (f *fakeTB) Cleanup(fn func())   { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Failed() bool        { return len(f.reported()) > 0 }

// runCleanups runs the cleanups, last first, as testing does.
func (f *fakeTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.cleanups = nil
}

// reported returns the errors recorded.
func (f *fakeTB) reported() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errors...)
}

// TestLimits models Lambda's limits on an environment: the Init phase's
// 10 s (environmentPage, "Init phase") and the function's memory size
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
// RIE enforces neither; the harness measures the Init phase (exec to the
// first /next) and the bootstrap's peak RSS (VmHWM), and Run's cleanup
// fails the test when one is over its limit. Each case runs under a fake
// testing.TB, whose reported errors the test checks.
func TestLimits(t *testing.T) {
	bin := lambdarie.Build(t, platformPackage)
	tests := []struct {
		name    string
		c       lambdarie.Config
		payload string
		want    error // nil: nothing reported
		text    string
	}{
		{"init over its limit", lambdarie.Config{Env: map[string]string{"PLATFORM_INIT_SLEEP": "2s"}, InitLimit: time.Second}, `{}`, lambdarie.ErrInitLimit, "from its exec to its first /next, over the 1s limit"},
		{"init within its limit", lambdarie.Config{Env: map[string]string{"PLATFORM_INIT_SLEEP": "200ms"}, InitLimit: 10 * time.Second}, `{}`, nil, ""},
		{"memory over MemorySize", lambdarie.Config{MemoryMB: 32}, `{"alloc_mb":64}`, lambdarie.ErrMemoryLimit, "over its MemorySize of 32 MB"},
		{"memory within MemorySize", lambdarie.Config{MemoryMB: 256}, `{"alloc_mb":64}`, nil, ""},
		{"no MemorySize, no check", lambdarie.Config{}, `{"alloc_mb":64}`, nil, ""},
	}
	if runtime.GOOS != "linux" {
		tests = tests[:2] // peak RSS is read from /proc
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.c.Bootstrap = bin
			ftb := &fakeTB{TB: t}
			defer ftb.runCleanups() // after a t.Fatal too
			f := lambdarie.Run(ftb, tt.c)
			r, _ := invokePlatform(t, f, tt.payload)
			if strings.Contains(tt.c.Env["PLATFORM_INIT_SLEEP"], "2s") && r.InitDuration < 2*time.Second {
				t.Errorf("InitDuration %v, want at least the 2 s init sleep", r.InitDuration)
			}
			if strings.Contains(tt.payload, "alloc_mb") && runtime.GOOS == "linux" && f.PeakRSS() < 64<<20 {
				t.Errorf("PeakRSS() %d, want at least the 64 MiB touched", f.PeakRSS())
			}
			ftb.runCleanups()
			err := f.CheckLimits()
			reported := ftb.reported()
			if tt.want == nil {
				if err != nil || len(reported) > 0 {
					t.Errorf("CheckLimits() = %v, reported %q; want nothing", err, reported)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("CheckLimits() = %v, want %v saying %q", err, tt.want, tt.text)
			}
			if len(reported) != 1 || !strings.Contains(reported[0], tt.text) || !strings.Contains(reported[0], bin) {
				t.Errorf("Run reported %q, want one error naming the bootstrap and saying %q", reported, tt.text)
			}
		})
	}
}

// TestInitStillRunning: an Init phase past its limit is reported before it
// ends (here it never would within the test).
func TestInitStillRunning(t *testing.T) {
	f, err := lambdarie.Start(t.Context(), lambdarie.Config{
		Bootstrap: lambdarie.Build(t, platformPackage),
		Env:       map[string]string{"PLATFORM_INIT_SLEEP": "1h"},
		InitLimit: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	invoked := make(chan struct{})
	go func() {
		defer close(invoked)
		f.Invoke(ctx, []byte(`{}`)) // never answered: Stop ends it
	}()
	deadline := time.Now().Add(30 * time.Second)
	for f.CheckLimits() == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	err = f.CheckLimits()
	f.Stop()
	cancel()
	<-invoked
	if !errors.Is(err, lambdarie.ErrInitLimit) || !strings.Contains(err.Error(), "without asking for an invocation") {
		t.Errorf("CheckLimits() = %v, want the init still running past 1 s", err)
	}
}
