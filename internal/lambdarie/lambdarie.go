// Package lambdarie runs a function's Lambda bootstrap in tests as Lambda
// runs it: under the AWS Lambda Runtime Interface Emulator
// (aws-lambda-rie), the real Lambda Runtime API that `sam local` runs
// inside its container, with what RIE does not emulate added around it. A
// test builds the bootstrap as `make build` does, but for the host
// (Build), starts it with an environment of its choosing on loopback
// ports (Run, Start; RunEnvironments for several), invokes it with Lambda
// payloads and reads the raw responses and what the function wrote
// (Function.Invoke), and the harness stops everything when the test ends.
//
// What RIE emulates, for real: the Invoke API, the Runtime API (next,
// response, error, init error), the function timeout
// (AWS_LAMBDA_FUNCTION_TIMEOUT: past it RIE answers "Task timed out" and
// kills the process), the environment variables, and a new bootstrap
// process at the invocation after one exited (a cold start).
//
// What the harness adds, from AWS's documentation:
//
//   - Freeze (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html,
//     https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
//     Lambda freezes the execution environment once the runtime asks for
//     the next invocation, and no thread runs until an invocation reaches
//     it, maybe much later, maybe never. RIE's positional bootstrap is a
//     /bin/sh wrapper that records its pid and execs the real bootstrap
//     with AWS_LAMBDA_RUNTIME_API pointing at a proxy in the test process
//     (on 127.0.0.1), which forwards every call to RIE's Runtime API. At
//     each GET /invocation/next the proxy stops the bootstrap's process
//     group (SIGSTOP, waiting until every thread is stopped) before
//     forwarding it; when RIE hands over an invocation the proxy resumes
//     it (SIGCONT), then delivers it. So an environment is frozen from its
//     answer until the next Invoke reaches it: a test holds an
//     environment frozen by not invoking it, for as long as it likes
//     (Function.Frozen, Function.AwaitFrozen). Stop kills a frozen
//     environment with SIGKILL.
//   - The answer as production delivers it: Lambda returns a posted
//     response to the caller as soon as it is posted; RIE holds it until
//     the runtime's next /next, and answers 502 when the process exits
//     first. The proxy records what the function posts (Result.Posted,
//     PostedError, Answer); Result.Exited and ColdStart follow the
//     processes (the wrapper records each new pid).
//   - Several environments of one function (RunEnvironments): each its
//     own RIE and process, frozen on its own, sharing what their
//     environment variables point at, as concurrent environments do
//     (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html).
//   - Limits (TemplateLimits reads template.yaml's Timeout and MemorySize;
//     Limits.Apply puts them in a Config): the Init phase, from the
//     bootstrap's exec to its first /next, is limited to 10 s
//     (Config.InitLimit, Result.InitDuration); the bootstrap's peak RSS
//     (VmHWM in /proc/<pid>/status, read at every Runtime API call, after
//     each invocation and before Stop) must stay within Config.MemoryMB
//     (Function.PeakRSS). Run fails the test at its end when either is
//     exceeded (Function.CheckLimits); Lambda would end the environment
//     instead.
//
// aws-lambda-rie is found at <repo>/bin/aws-lambda-rie (where `make tools`
// installs it), then on PATH. When it is missing the test fails, saying so;
// it never skips.
//
// RIE hands the function's standard output and standard error to its own
// standard output, one stream, with its START, END and REPORT lines between
// the invocations; its own log goes to its standard error. The harness
// splits the two apart: a Result holds exactly the lines the function wrote
// during one invocation (and, for the first, its cold start), and RIE's
// lines are kept in Function.RIELog.
package lambdarie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"stripetask/internal/devtools"
	"stripetask/internal/testlog"
)

// DefaultTimeout is the function timeout (AWS_LAMBDA_FUNCTION_TIMEOUT) when
// the Config gives none.
const DefaultTimeout = 30 * time.Second

// HelloPackage is the package path, relative to the module root, of a
// hello-world aws-lambda-go function, for Build: the baseline of cold-start
// measurements.
const HelloPackage = "./internal/lambdarie/testdata/hello"

// invocationsPath is the path of RIE's Invoke API.
const invocationsPath = "/2015-03-31/functions/function/invocations"

// Bounds of the harness's waits.
const (
	startWait   = 15 * time.Second       // RIE listening
	startTries  = 3                      // RIE exiting at start-up (a port taken meanwhile)
	invokeGrace = 15 * time.Second       // beyond the function timeout, for an invocation's answer
	reportWait  = 5 * time.Second        // RIE's REPORT line after its answer
	quietWait   = 100 * time.Millisecond // no output for this long: an answer without REPORT is complete
	drainWait   = 2 * time.Second        // at most, for that quiet
	stopWait    = 10 * time.Second       // RIE exiting after SIGTERM
	pipeWait    = 2 * time.Second        // RIE's output closing after it exits
)

// errNotFound is Binary's error; its text is what the test reports.
var errNotFound = errors.New("aws-lambda-rie not found: run make tools")

// errExited reports an RIE that exited before it listened.
var errExited = errors.New("aws-lambda-rie exited at start-up")

// Binary returns the path of aws-lambda-rie: <repo>/bin/aws-lambda-rie, where
// <repo> is the nearest directory at or above the working directory holding
// a go.mod, else aws-lambda-rie on PATH (devtools.Find).
func Binary() (string, error) {
	p, err := devtools.Find("aws-lambda-rie")
	if err != nil {
		return "", errNotFound
	}
	return p, nil
}

// Config is what Start runs.
type Config struct {
	// Bootstrap is the path of the function's executable (see Build).
	Bootstrap string
	// Env is the whole environment of RIE, which passes it on to the
	// function with its own Lambda variables; nothing is inherited from
	// the test process. AWS_LAMBDA_RUNTIME_API is always the harness's
	// proxy (Function.RuntimeAPI).
	Env map[string]string
	// Timeout is the function timeout, in whole seconds, given to RIE as
	// AWS_LAMBDA_FUNCTION_TIMEOUT: the invocation's deadline, after which
	// RIE answers "Task timed out" itself. Zero means Env's
	// AWS_LAMBDA_FUNCTION_TIMEOUT, or DefaultTimeout without one.
	Timeout time.Duration
	// MemoryMB is the function's memory size (the template's MemorySize,
	// in MB of 2^20 bytes, as Lambda counts them): when it is not zero, a
	// bootstrap whose peak RSS (VmHWM) exceeds it fails the test (see
	// CheckLimits), and the function sees it as
	// AWS_LAMBDA_FUNCTION_MEMORY_SIZE unless Env sets that. Zero: no check,
	// and RIE's 3008.
	MemoryMB int
	// InitLimit bounds the Init phase, from the bootstrap's exec to its
	// first request for an invocation; a longer one fails the test (see
	// CheckLimits). Zero means DefaultInitLimit, Lambda's; negative, no
	// limit.
	InitLimit time.Duration
	// RIE is the path of aws-lambda-rie; empty means Binary's.
	RIE string
}

// DefaultInitLimit is Lambda's limit on the Init phase: "The Init phase
// is limited to 10 seconds"
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
const DefaultInitLimit = 10 * time.Second

// Function is a bootstrap running under RIE, ready for invocations.
type Function struct {
	// URL is RIE's Invoke API endpoint, on 127.0.0.1.
	URL string

	timeout time.Duration
	cmd     *exec.Cmd
	client  *http.Client
	out     *stdout
	rieLog  *testlog.Buffer
	exited  chan struct{} // closed when RIE has exited and its output is read
	waitErr error         // RIE's exit status, once exited is closed

	env   *environment // the platform's side of the execution environment
	proxy *proxy       // the Runtime API the bootstrap sees

	invoke sync.Mutex // RIE runs one invocation at a time
	seq    atomic.Int64
	stop   func() error
}

// Result is one invocation's outcome.
//
// Status and Body are RIE's answer, which differs from production's in
// one case: RIE holds the function's posted answer until the runtime asks
// for its next invocation, and when the process exits first it answers
// 502 (with that answer as the body, or none). Lambda returns a posted
// response to the caller as soon as it is posted
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html,
// Invocation response). Posted is what the function posted, recorded by
// the harness's Runtime API proxy; Answer is what production's caller
// gets.
type Result struct {
	// RequestID is the invocation's Lambda request id (X-Amzn-RequestId).
	RequestID string
	// Status is RIE's HTTP status: 200 for every invocation the runtime
	// answered and then asked for its next one, its error included; 502
	// when the bootstrap exited first.
	Status int
	// Body is RIE's raw response: the function's JSON answer, its error
	// object, or RIE's own text ("Task timed out after 6.00 seconds").
	Body []byte
	// Posted is what the function posted to the Runtime API for this
	// invocation (/invocation/{id}/response, or /error when PostedError),
	// nil when it posted nothing.
	Posted []byte
	// PostedError reports a post to /invocation/{id}/error.
	PostedError bool
	// ErrorType is that post's Lambda-Runtime-Function-Error-Type header
	// (or trailer), if any; aws-lambda-go puts the type in the body's
	// errorType instead.
	ErrorType string
	// Exited reports that the bootstrap process ended during or right
	// after this invocation (it exited, crashed, or RIE killed it at the
	// timeout) instead of asking for its next invocation: the environment
	// is gone, and the next invocation starts a new one (ColdStart).
	Exited bool
	// ColdStart reports that a new bootstrap process was started for this
	// invocation: the first, and the first after an exit.
	ColdStart bool
	// InitDuration is, for a cold start, the new process's Init phase:
	// from its exec to its first request for an invocation.
	InitDuration time.Duration
	// Output is what the function wrote to standard output and standard
	// error during the invocation, and before it since the previous one
	// (the first invocation's holds the cold start's lines).
	Output string
	// Duration is the time from sending the invocation to RIE's answer.
	Duration time.Duration
}

// Answer returns what production Lambda returns to the caller: the
// function's posted response or error object when it posted one, else
// RIE's body (Lambda's own answer: a timeout, a crash).
func (r Result) Answer() []byte {
	if r.Posted != nil {
		return r.Posted
	}
	return r.Body
}

// Lines decodes every line of r.Output as a JSON object; a line that is
// not one fails the test.
func (r Result) Lines(tb testing.TB) []map[string]any {
	tb.Helper()
	return testlog.Lines(tb, r.Output)
}

// Messages returns the lines of r.Output whose "msg" is msg; a line that
// is not a JSON object fails the test.
func (r Result) Messages(tb testing.TB, msg string) []map[string]any {
	tb.Helper()
	return testlog.Messages(tb, r.Output, msg)
}

// Run starts a Function for the rest of the test and stops it at the end:
// it logs the environment's measurements (peak RSS, longest Init phase),
// fails the test if a limit was exceeded (CheckLimits), and if the test
// failed, logs RIE's log and the function's output. A failure to start
// fails the test.
func Run(tb testing.TB, c Config) *Function {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startWait*startTries)
	defer cancel()
	f, err := Start(ctx, c)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		err := f.Stop()
		tb.Logf("lambdarie: %s: %s", c.Bootstrap, f.env.summary())
		if lerr := f.CheckLimits(); lerr != nil {
			tb.Errorf("lambdarie: %s: %v", c.Bootstrap, lerr)
		}
		if tb.Failed() {
			tb.Logf("aws-lambda-rie log:\n%s\nfunction output:\n%s", f.RIELog(), f.Output())
		}
		if err != nil {
			tb.Error(err)
		}
	})
	return f
}

// Start runs aws-lambda-rie with c.Bootstrap on free 127.0.0.1 ports and
// returns once RIE accepts invocations. ctx bounds the start only; the
// caller must call Stop, and then CheckLimits if it wants the limits
// checked (Run does both). Like Lambda, RIE starts the bootstrap at the
// first invocation.
func Start(ctx context.Context, c Config) (*Function, error) {
	rie := c.RIE
	if rie == "" {
		var err error
		if rie, err = Binary(); err != nil {
			return nil, err
		}
	}
	timeout, err := functionTimeout(c)
	if err != nil {
		return nil, err
	}
	bootstrap, err := filepath.Abs(c.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("bootstrap path: %w", err)
	}
	if info, err := os.Stat(bootstrap); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	} else if info.IsDir() {
		return nil, fmt.Errorf("bootstrap %s is a directory, not an executable", bootstrap)
	}
	if c.MemoryMB < 0 {
		return nil, fmt.Errorf("lambdarie: MemoryMB %d: want a positive size, or zero", c.MemoryMB)
	}
	initLimit := c.InitLimit
	if initLimit == 0 {
		initLimit = DefaultInitLimit
	}
	s := settings{rie: rie, bootstrap: bootstrap, env: c.Env, timeout: timeout, memoryMB: c.MemoryMB, initLimit: initLimit}
	for try := 1; ; try++ {
		f, err := start(ctx, s)
		if err == nil || !errors.Is(err, errExited) || try == startTries {
			return f, err
		}
	}
}

// functionTimeout is the timeout c configures.
func functionTimeout(c Config) (time.Duration, error) {
	if c.Timeout != 0 {
		if c.Timeout < time.Second || c.Timeout%time.Second != 0 {
			return 0, fmt.Errorf("lambdarie: timeout %v: want whole seconds", c.Timeout)
		}
		return c.Timeout, nil
	}
	v, ok := c.Env["AWS_LAMBDA_FUNCTION_TIMEOUT"]
	if !ok {
		return DefaultTimeout, nil
	}
	secs, err := strconv.Atoi(v)
	if err != nil || secs < 1 {
		return 0, fmt.Errorf("lambdarie: AWS_LAMBDA_FUNCTION_TIMEOUT=%q: want a positive number of seconds", v)
	}
	return time.Duration(secs) * time.Second, nil
}

// settings is a checked Config.
type settings struct {
	rie, bootstrap string
	env            map[string]string
	timeout        time.Duration
	memoryMB       int
	initLimit      time.Duration // negative: none
}

// start makes one attempt at starting RIE: the Runtime API proxy, the
// wrapper, then RIE running the wrapper as its bootstrap.
func start(ctx context.Context, s settings) (*Function, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	px, err := newProxy(apiAddr)
	if err != nil {
		return nil, err
	}
	env, err := newEnvironment(s.bootstrap, px.addr(), s.env, max(s.initLimit, 0), s.memoryMB)
	if err != nil {
		px.close()
		return nil, err
	}
	px.env = env
	go px.serve()
	cmd := exec.Command(s.rie,
		"--log-level", "info",
		"--runtime-interface-emulator-address", addr,
		"--runtime-api-address", apiAddr,
		env.wrapper)
	cmd.Dir = filepath.Dir(s.bootstrap) // the function's working directory, as /var/task
	cmd.Env = environ(s.env, s.timeout, s.memoryMB)
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = pipeWait // a function outliving RIE keeps its output open
	f := &Function{
		URL:     "http://" + addr + invocationsPath,
		timeout: s.timeout,
		cmd:     cmd,
		client:  &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}},
		out:     newStdout(),
		rieLog:  &testlog.Buffer{},
		exited:  make(chan struct{}),
		env:     env,
		proxy:   px,
	}
	f.out.rie = f.rieLog
	cmd.Stdout, cmd.Stderr = f.out, f.rieLog
	if err := cmd.Start(); err != nil {
		px.close()
		os.RemoveAll(env.dir)
		return nil, fmt.Errorf("starting %s: %w", s.rie, err)
	}
	go func() {
		f.waitErr = cmd.Wait()
		f.out.flush()
		close(f.exited)
	}()
	f.stop = sync.OnceValue(f.terminate)
	// Both of RIE's listeners: its Runtime API binds apart from its
	// Invoke API, and RIE exits (a retry, on new ports) if it cannot.
	for _, a := range []string{addr, apiAddr} {
		if err := f.awaitListening(ctx, a); err != nil {
			f.Stop()
			return nil, err
		}
	}
	return f, nil
}

// environ is RIE's environment: env, with the function timeout, and the
// memory size unless env has one.
func environ(env map[string]string, timeout time.Duration, memoryMB int) []string {
	out := make([]string, 0, len(env)+2)
	for k, v := range env {
		if k != "AWS_LAMBDA_FUNCTION_TIMEOUT" {
			out = append(out, k+"="+v)
		}
	}
	if _, ok := env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]; !ok && memoryMB > 0 {
		out = append(out, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(memoryMB))
	}
	slices.Sort(out)
	return append(out, "AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(int(timeout/time.Second)))
}

// freeAddr returns a 127.0.0.1 address whose port was free a moment ago,
// outside the ephemeral range that busy tests' connections take ports
// from (devtools.FreeAddr).
func freeAddr() (string, error) { return devtools.FreeAddr() }

// awaitListening waits until RIE accepts connections on addr.
func (f *Function) awaitListening(ctx context.Context, addr string) error {
	deadline := time.Now().Add(startWait)
	var d net.Dialer
	for {
		dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		conn, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("aws-lambda-rie did not listen on %s within %v: %w; its log:\n%s", addr, startWait, err, f.rieLog)
		}
		select {
		case <-f.exited:
			return fmt.Errorf("%w (%v); its log:\n%s", errExited, f.waitErr, f.rieLog)
		case <-ctx.Done():
			return fmt.Errorf("waiting for aws-lambda-rie: %w", ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// Invoke sends payload to the function through RIE's Invoke API and
// returns the answer, once the function's output for the invocation is
// complete. It thaws a frozen environment (the invocation reaches it) and
// returns once the environment is frozen again, or has ended (Exited).
// Invocations are serialised, as RIE runs one at a time; those of
// different Functions (RunEnvironments) run concurrently. The error
// reports an invocation RIE did not answer; a function error or a timeout
// is a Result.
func (f *Function) Invoke(ctx context.Context, payload []byte) (Result, error) {
	f.invoke.Lock()
	defer f.invoke.Unlock()
	id := fmt.Sprintf("lambdarie-%d-%d", os.Getpid(), f.seq.Add(1))
	before := f.env.currentPID()
	reported := f.out.await(id)
	defer f.out.forget(id)

	ctx, cancel := context.WithTimeout(ctx, f.timeout+invokeGrace)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, bytes.NewReader(payload))
	if err != nil {
		return Result{}, fmt.Errorf("invoke request: %w", err)
	}
	req.Header.Set("X-Amzn-RequestId", id)
	req.Header.Set("Content-Type", "application/json")
	sent := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("invoking %s: %w%s", id, err, f.exitNote())
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := Result{RequestID: id, Status: resp.StatusCode, Body: body, Duration: time.Since(sent)}
	if err != nil {
		return r, fmt.Errorf("reading the answer to %s: %w", id, err)
	}
	f.settle(&r, before)
	if resp.StatusCode != http.StatusOK {
		// RIE's own errors (a bootstrap that failed to start, say) come
		// without a REPORT line: take the output once it is quiet.
		r.Output = f.out.drain()
		return r, nil
	}
	select {
	case r.Output = <-reported:
		return r, nil
	case <-time.After(reportWait):
		return r, fmt.Errorf("aws-lambda-rie answered %s but printed no REPORT line for it within %v%s", id, reportWait, f.exitNote())
	}
}

// exitWait bounds the wait, after RIE's answer, for a bootstrap that did
// not ask for its next invocation to end.
const exitWait = 5 * time.Second

// settle completes r with what the proxy saw: what the function posted,
// whether its process was new (before is the latest pid before the
// invocation) and whether it ended. RIE answers once the runtime asks for
// its next invocation, which the proxy froze before forwarding it; an
// answer with the process not frozen means it exited or was killed.
func (f *Function) settle(r *Result, before int) {
	d, delivered := f.env.take(r.RequestID)
	if d.didPost {
		r.Posted, r.PostedError, r.ErrorType = d.posted, d.postedError, d.errorType
		if r.Posted == nil {
			r.Posted = []byte{}
		}
	}
	pid := d.pid
	if pid == 0 {
		pid = f.env.currentPID()
	}
	r.ColdStart = d.cold || (!delivered && pid != 0 && pid != before)
	r.InitDuration = d.initDuration
	if pid == 0 {
		return
	}
	if frozen, ok := f.env.isFrozen(); ok && frozen == pid {
		return
	}
	deadline := time.Now().Add(exitWait)
	for alive(pid) && time.Now().Before(deadline) {
		f.env.sample(pid)
		time.Sleep(5 * time.Millisecond)
	}
	r.Exited = !alive(pid)
}

// exitNote describes RIE's exit, if it has exited.
func (f *Function) exitNote() string {
	select {
	case <-f.exited:
		return fmt.Sprintf(" (aws-lambda-rie exited: %v)", f.waitErr)
	default:
		return ""
	}
}

// Output returns everything the function wrote so far.
func (f *Function) Output() string { return f.out.all.String() }

// RIELog returns RIE's own log so far, with its START, END and REPORT
// lines.
func (f *Function) RIELog() string { return f.rieLog.String() }

// Stop stops RIE, which kills the function, and waits for both, frozen or
// not. It returns an error if RIE had to be killed or the harness failed
// to freeze the function; later calls return the same.
func (f *Function) Stop() error { return f.stop() }

// terminate is Stop's work: SIGKILL to a frozen bootstrap, which could
// not act on RIE's SIGTERM; SIGTERM to RIE, on which it kills the
// function and exits; SIGKILL to RIE and the function if that takes too
// long; SIGKILL to a bootstrap left behind.
func (f *Function) terminate() error {
	f.client.CloseIdleConnections()
	if pid := f.env.currentPID(); pid != 0 {
		f.env.sample(pid)
	}
	if stopped := f.env.beginStop(); stopped != 0 {
		signalGroup(stopped, syscall.SIGKILL)
	}
	var errs []error
	children := childPIDs(f.cmd.Process.Pid)
	f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.exited:
	case <-time.After(stopWait):
		f.cmd.Process.Kill()
		kill(children)
		<-f.exited // bounded: killed, and its output closed after pipeWait
		errs = append(errs, fmt.Errorf("aws-lambda-rie did not exit within %v of SIGTERM: killed it", stopWait))
	}
	if pid := f.env.currentPID(); pid != 0 && alive(pid) {
		signalGroup(pid, syscall.SIGKILL)
		errs = append(errs, fmt.Errorf("the bootstrap (pid %d) outlived aws-lambda-rie: killed it", pid))
	}
	errs = append(errs, f.proxy.close())
	os.RemoveAll(f.env.dir)
	return errors.Join(errs...)
}

// RuntimeAPI returns the address the bootstrap sees as
// AWS_LAMBDA_RUNTIME_API: the harness's proxy in front of RIE's Runtime
// API.
func (f *Function) RuntimeAPI() string { return f.proxy.addr() }

// PID returns the pid of the latest bootstrap process, 0 before the
// first invocation; that process may have ended since.
func (f *Function) PID() int { return f.env.currentPID() }

// Frozen reports whether the execution environment is frozen: its runtime
// asked for the next invocation and no invocation has reached it since.
// Every thread of the bootstrap is stopped (SIGSTOP).
func (f *Function) Frozen() bool {
	_, ok := f.env.isFrozen()
	return ok
}

// AwaitFrozen waits until the environment is frozen, ctx ends, or the
// Function stops.
func (f *Function) AwaitFrozen(ctx context.Context) error {
	return f.env.awaitFrozen(ctx, f.exited)
}

// PeakRSS returns the highest peak resident set size (VmHWM) of the
// environment's bootstrap processes, in bytes, read at each Runtime API
// call (each freeze included), after each invocation and before Stop
// kills it; 0 outside Linux.
func (f *Function) PeakRSS() int64 { return f.env.peakRSS() }

// Prefixes of the lines RIE itself writes to standard output.
const (
	startPrefix  = "START RequestId: "
	endPrefix    = "END RequestId: "
	reportPrefix = "REPORT RequestId: "
)

// stdout is RIE's standard output, split into the function's lines and
// RIE's own (to rie), and delivered per invocation at its REPORT line.
type stdout struct {
	mu      sync.Mutex
	partial []byte                 // the last line, until its newline
	all     testlog.Buffer         // every line of the function
	pending bytes.Buffer           // the function's lines since the last REPORT
	waiters map[string]chan string // request id -> its invocation's lines
	last    time.Time              // of the last write
	rie     io.Writer
}

func newStdout() *stdout {
	return &stdout{waiters: map[string]chan string{}, last: time.Now()}
}

// Write splits p into lines.
func (s *stdout) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = time.Now()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.line(s.partial[:i+1])
		s.partial = s.partial[i+1:]
	}
	if len(s.partial) == 0 {
		s.partial = nil // let the buffer go
	}
	return len(p), nil
}

// line routes one complete line. s.mu is held.
func (s *stdout) line(l []byte) {
	text := string(l)
	switch {
	case strings.HasPrefix(text, reportPrefix):
		id, _, _ := strings.Cut(strings.TrimPrefix(text, reportPrefix), "\t")
		id = strings.TrimSpace(id)
		if ch, ok := s.waiters[id]; ok {
			ch <- s.pending.String()
			delete(s.waiters, id)
		}
		s.pending.Reset()
		s.rie.Write(l)
	case strings.HasPrefix(text, startPrefix), strings.HasPrefix(text, endPrefix):
		s.rie.Write(l)
	default:
		s.all.Write(l)
		s.pending.Write(l)
	}
}

// flush keeps a last line without a newline, once RIE has exited.
func (s *stdout) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.partial) > 0 {
		s.line(append(s.partial, '\n'))
		s.partial = nil
	}
}

// await registers an invocation: its lines are sent on the channel at its
// REPORT line.
func (s *stdout) await(id string) <-chan string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan string, 1)
	s.waiters[id] = ch
	return ch
}

// forget unregisters an invocation.
func (s *stdout) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.waiters, id)
}

// drain returns, and clears, the lines since the last REPORT once nothing
// has been written for quietWait (waiting drainWait at most).
func (s *stdout) drain() string {
	deadline := time.Now().Add(drainWait)
	for {
		s.mu.Lock()
		quiet := time.Since(s.last) >= quietWait
		if quiet || time.Now().After(deadline) {
			out := s.pending.String()
			s.pending.Reset()
			s.mu.Unlock()
			return out
		}
		s.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
}

// builds caches Build's results by package, for the life of the test
// binary.
var builds struct {
	mu   sync.Mutex
	dir  string                 // under os.TempDir, removed by Main
	pkgs map[string]*buildEntry // by package path
}

// buildEntry is one package's build.
type buildEntry struct {
	once sync.Once
	path string
	err  error
}

// Build builds the main package pkg (a path relative to the module root,
// such as "./functions/webhook", or an import path) as a Lambda bootstrap
// for the host's GOOS and GOARCH, as `make build` does for Lambda:
// CGO_ENABLED=0 GOEXPERIMENT=jsonv2 go build -tags lambda.norpc -trimpath -ldflags='-s -w'. It
// builds each package once per test binary, into a temporary directory
// that Main removes, and returns the executable's path. A failed build
// fails the test.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	builds.mu.Lock()
	if builds.pkgs == nil {
		builds.pkgs = map[string]*buildEntry{}
	}
	e, ok := builds.pkgs[pkg]
	if !ok {
		e = &buildEntry{}
		builds.pkgs[pkg] = e
	}
	builds.mu.Unlock()
	e.once.Do(func() { e.path, e.err = build(context.Background(), pkg) })
	if e.err != nil {
		tb.Fatal(e.err)
	}
	return e.path
}

// build runs go build for Build.
func build(ctx context.Context, pkg string) (string, error) {
	root, err := devtools.ModuleRoot()
	if err != nil {
		return "", fmt.Errorf("building %s: %w", pkg, err)
	}
	builds.mu.Lock()
	if builds.dir == "" {
		builds.dir, err = os.MkdirTemp("", "lambdarie-")
	}
	dir := builds.dir
	builds.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("building %s: %w", pkg, err)
	}
	name := strings.Trim(strings.Map(func(r rune) rune {
		if r == '/' || r == '.' || r == '\\' {
			return '_'
		}
		return r
	}, pkg), "_")
	pkgDir, err := os.MkdirTemp(dir, name+"-")
	if err != nil {
		return "", fmt.Errorf("building %s: %w", pkg, err)
	}
	out := filepath.Join(pkgDir, "bootstrap")
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH, "GOEXPERIMENT="+Experiment)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return out, nil
}

// Experiment is the GOEXPERIMENT the bootstraps are built with, as the
// Makefile builds them for Lambda (LAMBDA_GOEXPERIMENT; internal/deploycheck
// holds the two together).
const Experiment = "jsonv2"

// Main runs m's tests and benchmarks, then removes what Build built, and
// returns the exit code. A package whose tests call Build uses it as
//
//	func TestMain(m *testing.M) { os.Exit(lambdarie.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	builds.mu.Lock()
	defer builds.mu.Unlock()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	return code
}
