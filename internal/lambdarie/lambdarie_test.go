package lambdarie_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"stripetask/internal/lambdarie"
)

// echoPackage is the test function: see testdata/echo.
const echoPackage = "./internal/lambdarie/testdata/echo"

func TestMain(m *testing.M) { os.Exit(lambdarie.Main(m)) }

// echoed is the echo function's answer.
type echoed struct {
	Env          string `json:"env"`
	DeadlineMs   int64  `json:"deadline_ms"`
	Pid          int    `json:"pid"`
	ErrorMessage string `json:"errorMessage"`
}

// invoke invokes f and decodes its answer, which must be JSON.
func invoke(t *testing.T, f *lambdarie.Function, payload string) (lambdarie.Result, echoed) {
	t.Helper()
	r, err := f.Invoke(t.Context(), []byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	var e echoed
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("answer %d %q is not JSON: %v", r.Status, r.Body, err)
	}
	return r, e
}

// TestInvoke runs invocations in turn on one function: each Result holds
// the function's lines of its own invocation (the first, the cold start's
// too), from both output streams; the environment is exactly Config.Env.
func TestInvoke(t *testing.T) {
	f := lambdarie.Run(t, lambdarie.Config{
		Bootstrap: lambdarie.Build(t, echoPackage),
		Env:       map[string]string{"ECHO_VAR": "from the test"},
		Timeout:   7 * time.Second,
		MemoryMB:  256,
	})
	if !strings.HasPrefix(f.URL, "http://127.0.0.1:") {
		t.Errorf("URL %s, want a 127.0.0.1 address", f.URL)
	}
	proxyAddr := f.RuntimeAPI()
	if !strings.HasPrefix(proxyAddr, "127.0.0.1:") {
		t.Errorf("RuntimeAPI() %s, want a 127.0.0.1 address", proxyAddr)
	}
	tests := []struct {
		name, payload string
		env           string // the answer's env
		output        string // the Result's Output
		errorMessage  string
	}{
		{name: "cold", payload: `{"stdout":"out 1","stderr":"err 1","getenv":"ECHO_VAR"}`, env: "from the test", output: "{\"msg\":\"cold start\"}\nout 1\nerr 1\n"},
		{name: "warm", payload: `{"stderr":"err 2","getenv":"ECHO_VAR"}`, env: "from the test", output: "err 2\n"},
		{name: "no inherited environment", payload: `{"getenv":"HOME"}`},
		{name: "timeout in the environment", payload: `{"getenv":"AWS_LAMBDA_FUNCTION_TIMEOUT"}`, env: "7"},
		{name: "memory size in the environment", payload: `{"getenv":"AWS_LAMBDA_FUNCTION_MEMORY_SIZE"}`, env: "256"},
		{name: "the Runtime API is the harness's proxy", payload: `{"getenv":"AWS_LAMBDA_RUNTIME_API"}`, env: proxyAddr},
		{name: "no shell variables", payload: `{"getenv":"PWD"}`},
		{name: "function error", payload: `{"fail":"boom"}`, errorMessage: "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, e := invoke(t, f, tt.payload)
			if r.Status != 200 || e.Env != tt.env || e.ErrorMessage != tt.errorMessage {
				t.Errorf("answer %d %s, want env %q, errorMessage %q", r.Status, r.Body, tt.env, tt.errorMessage)
			}
			if !bytes.Equal(r.Posted, r.Body) || r.PostedError != (tt.errorMessage != "") || r.Exited || r.ColdStart != (tt.name == "cold") {
				t.Errorf("posted %q (error %v), exited %v, cold start %v; want the body, posted to /error for a function error, no exit, a cold start first", r.Posted, r.PostedError, r.Exited, r.ColdStart)
			}
			if tt.errorMessage == "" && r.Output != tt.output {
				t.Errorf("output %q, want %q", r.Output, tt.output)
			}
			if tt.errorMessage == "" && (e.DeadlineMs < 5000 || e.DeadlineMs > 7000) {
				t.Errorf("deadline in %d ms, want about 7000", e.DeadlineMs)
			}
			if !strings.Contains(f.RIELog(), "REPORT RequestId: "+r.RequestID) || strings.Contains(r.Output, "RequestId") {
				t.Errorf("RIE's lines are not in its log:\nRIE log:\n%s\noutput:\n%s", f.RIELog(), r.Output)
			}
		})
	}
	if want := "{\"msg\":\"cold start\"}\nout 1\nerr 1\nerr 2\n"; !strings.HasPrefix(f.Output(), want) {
		t.Errorf("Output() = %q, want it to start with %q", f.Output(), want)
	}
}

// TestInvokeConcurrently: invocations from several goroutines take turns,
// each with its own output.
func TestInvokeConcurrently(t *testing.T) {
	f := lambdarie.Run(t, lambdarie.Config{Bootstrap: lambdarie.Build(t, echoPackage)})
	invoke(t, f, `{}`) // the cold start
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			line := strings.Repeat("x", i+1)
			r, err := f.Invoke(t.Context(), []byte(`{"sleep":50000000,"stdout":"`+line+`"}`))
			if err != nil || r.Status != 200 || r.Output != line+"\n" {
				t.Errorf("invocation %d: %v %d %s, output %q", i, err, r.Status, r.Body, r.Output)
			}
		})
	}
	wg.Wait()
}

// TestTimeout: past the function timeout RIE answers "Task timed out"
// itself, and the next invocation cold-starts a new process.
func TestTimeout(t *testing.T) {
	f := lambdarie.Run(t, lambdarie.Config{Bootstrap: lambdarie.Build(t, echoPackage), Timeout: time.Second})
	_, before := invoke(t, f, `{}`)
	r, err := f.Invoke(t.Context(), []byte(`{"sleep":3000000000}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || string(r.Body) != "Task timed out after 1.00 seconds" || r.Duration > 2500*time.Millisecond {
		t.Errorf("answer %d %q after %v, want RIE's timeout after 1 s", r.Status, r.Body, r.Duration)
	}
	if !r.Exited || r.Posted != nil || string(r.Answer()) != string(r.Body) {
		t.Errorf("timed out: exited %v, posted %q; want the process killed, nothing posted, RIE's text as the answer", r.Exited, r.Posted)
	}
	r, after := invoke(t, f, `{}`)
	if after.Pid == before.Pid || r.Output != "{\"msg\":\"cold start\"}\n" || !r.ColdStart {
		t.Errorf("after a timeout: pid %d (before %d), output %q, cold start %v; want a cold start", after.Pid, before.Pid, r.Output, r.ColdStart)
	}
}

// TestStartupFailure: a bootstrap that exits at start-up gets RIE's 502,
// with the function's output.
func TestStartupFailure(t *testing.T) {
	f := lambdarie.Run(t, lambdarie.Config{Bootstrap: lambdarie.Build(t, echoPackage), Env: map[string]string{"ECHO_EXIT": "1"}})
	r, err := f.Invoke(t.Context(), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 502 || r.Output != "echo: exiting at start-up\n" {
		t.Errorf("answer %d %q, output %q; want 502 and the function's line", r.Status, r.Body, r.Output)
	}
	if !r.Exited || !r.ColdStart || r.Posted != nil {
		t.Errorf("exited %v, cold start %v, posted %q; want an exit in a new process, nothing posted", r.Exited, r.ColdStart, r.Posted)
	}
}

// TestStop: Stop ends RIE and the function, and later invocations fail.
func TestStop(t *testing.T) {
	f := lambdarie.Run(t, lambdarie.Config{Bootstrap: lambdarie.Build(t, echoPackage)})
	_, e := invoke(t, f, `{}`)
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := f.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if runtime.GOOS == "linux" {
		if err := syscall.Kill(e.Pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("the function (pid %d) still runs after Stop: %v", e.Pid, err)
		}
	}
	if r, err := f.Invoke(t.Context(), []byte(`{}`)); err == nil {
		t.Errorf("invoking a stopped function: %d %s, want an error", r.Status, r.Body)
	}
}

// TestConfigErrors checks what Start refuses.
func TestConfigErrors(t *testing.T) {
	bin := lambdarie.Build(t, echoPackage)
	tests := []struct {
		name string
		c    lambdarie.Config
		want string
	}{
		{"fractional timeout", lambdarie.Config{Bootstrap: bin, Timeout: 1500 * time.Millisecond}, "whole seconds"},
		{"bad timeout variable", lambdarie.Config{Bootstrap: bin, Env: map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "soon"}}, "AWS_LAMBDA_FUNCTION_TIMEOUT"},
		{"negative memory", lambdarie.Config{Bootstrap: bin, MemoryMB: -1}, "MemoryMB"},
		{"bootstrap a directory", lambdarie.Config{Bootstrap: t.TempDir()}, "is a directory"},
		{"no bootstrap", lambdarie.Config{Bootstrap: filepath.Join(t.TempDir(), "bootstrap")}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := lambdarie.Start(t.Context(), tt.c)
			if err == nil {
				f.Stop()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestRIENotFound: without <repo>/bin/aws-lambda-rie or one on PATH, the
// error says how to install it.
func TestRIENotFound(t *testing.T) {
	bin := lambdarie.Build(t, echoPackage)
	t.Chdir(t.TempDir())
	t.Setenv("PATH", t.TempDir())
	_, err := lambdarie.Start(t.Context(), lambdarie.Config{Bootstrap: bin})
	if err == nil || err.Error() != "aws-lambda-rie not found: run make tools" {
		t.Fatalf("error %v, want aws-lambda-rie not found: run make tools", err)
	}
}
