// Package proctest runs a function's entry point (bootstrap.Webhook, bootstrap.Pay)
// inside a test as its binary would run, with a fake process: an
// environment given as a map, captured output, and serve mode on a loopback
// port.
package proctest

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"stripetask/internal/bootstrap"
	"stripetask/internal/testlog"
)

// Buffer is an io.Writer safe for the concurrent writes of serve mode.
type Buffer = testlog.Buffer

// Process returns a bootstrap.Process with env as its whole environment (both
// Getenv and Environ), empty standard input and the given output streams.
func Process(env map[string]string, args []string, stdout, stderr io.Writer) bootstrap.Process {
	environ := make([]string, 0, len(env))
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	return bootstrap.Process{
		Args:    args,
		Getenv:  func(k string) string { return env[k] },
		Environ: environ,
		Stdin:   strings.NewReader(""),
		Stdout:  stdout,
		Stderr:  stderr,
	}
}

// With returns a copy of env with the given NAME, value pairs set; an empty
// value removes the variable.
func With(env map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(env)+len(kv)/2)
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// Main is a function's entry point, bootstrap.Pay or a closure over bootstrap.Webhook.
type Main func(ctx context.Context, p bootstrap.Process) int

// Server is a function running in serve mode.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Stdout and Stderr are the function's output so far.
	Stdout, Stderr *Buffer
	// Stop cancels the function and returns its exit code; later calls
	// return the same code. The test's cleanup calls it too.
	Stop func() int
}

// Serve runs main with `serve -addr 127.0.0.1:0` and env, waits until it
// listens (at most 30 s), and stops it when the test ends.
func Serve(t *testing.T, main Main, env map[string]string) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{Stdout: &Buffer{}, Stderr: &Buffer{}}
	p := Process(env, []string{"serve", "-addr", "127.0.0.1:0"}, s.Stdout, s.Stderr)
	ready := make(chan net.Addr, 1)
	p.Ready = func(a net.Addr) { ready <- a }
	done := make(chan int, 1)
	go func() { done <- main(ctx, p) }()
	s.Stop = sync.OnceValue(func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop within 15 s")
			return -1
		}
	})
	t.Cleanup(func() { s.Stop() })
	select {
	case addr := <-ready:
		tcp, ok := addr.(*net.TCPAddr)
		if !ok || !tcp.IP.IsLoopback() || tcp.Port == 0 {
			t.Fatalf("serve listens on %v, want a loopback port", addr)
		}
		s.URL = "http://" + addr.String()
		return s
	case code := <-done:
		t.Fatalf("serve exited with %d before listening; stderr:\n%s", code, s.Stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not listen within 30 s")
	}
	return nil
}
