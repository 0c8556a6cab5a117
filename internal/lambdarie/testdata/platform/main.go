// Command platform is a Lambda function for lambdarie's tests of the
// platform the harness emulates around RIE: freezing, an exit after the
// answer, several environments, the Init and memory limits. What it does
// is chosen by each invocation's payload (request) and, for its Init
// phase, by PLATFORM_INIT_SLEEP.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// request says what to do; every field is optional.
type request struct {
	// Tick starts, once per process, a goroutine that appends a line to
	// this file every 10 ms, for ever: it runs whenever the process does.
	Tick string `json:"tick"`
	// Append appends a "start" line to this file, holds, then an "end"
	// line: the invocation's span, for environments sharing the file.
	Append string `json:"append"`
	// AwaitStarts, with Append, holds until the file has this many
	// "start" lines (or the deadline is near): the invocation runs beside
	// the others that wrote them.
	AwaitStarts int `json:"await_starts"`
	// Hold sleeps this many nanoseconds before answering.
	Hold time.Duration `json:"hold"`
	// AllocMB allocates and touches this many MiB, and keeps them.
	AllocMB int `json:"alloc_mb"`
	// PostAndExit posts the answer to the Runtime API itself and exits
	// the process once it is accepted (202), as a runtime that ends its
	// environment after answering does.
	PostAndExit bool `json:"post_and_exit"`
}

// response is what the function saw.
type response struct {
	Pid   int    `json:"pid"`
	Start int64  `json:"start_ns"` // Unix nanoseconds
	End   int64  `json:"end_ns"`
	Note  string `json:"note,omitempty"`
}

var (
	tickOnce sync.Once
	kept     [][]byte // AllocMB's memory, kept alive
)

func handle(ctx context.Context, in request) (response, error) {
	out := response{Pid: os.Getpid(), Start: time.Now().UnixNano()}
	if in.Tick != "" {
		tickOnce.Do(func() { go tick(in.Tick) })
	}
	if in.Append != "" {
		if err := appendLine(in.Append, fmt.Sprintf("start %d %d", out.Pid, time.Now().UnixNano())); err != nil {
			return out, err
		}
	}
	if in.AllocMB > 0 {
		b := make([]byte, in.AllocMB<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1 // touch every page: resident
		}
		kept = append(kept, b)
	}
	if in.AwaitStarts > 0 {
		if err := awaitStarts(ctx, in.Append, in.AwaitStarts); err != nil {
			return out, err
		}
	}
	time.Sleep(in.Hold)
	if in.Append != "" {
		if err := appendLine(in.Append, fmt.Sprintf("end %d %d", out.Pid, time.Now().UnixNano())); err != nil {
			return out, err
		}
	}
	out.End = time.Now().UnixNano()
	if in.PostAndExit {
		out.Note = "posted by the function itself"
		postAndExit(ctx, out)
	}
	return out, nil
}

// tick appends a line to path every 10 ms.
func tick(path string) {
	for i := 0; ; i++ {
		appendLine(path, fmt.Sprintf("tick %d %d", i, time.Now().UnixNano()))
		time.Sleep(10 * time.Millisecond)
	}
}

// awaitStarts waits until path holds n "start" lines, or until a second
// before ctx's deadline.
func awaitStarts(ctx context.Context, path string, n int) error {
	deadline, _ := ctx.Deadline()
	for {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Count(b, []byte("start ")) >= n {
			return nil
		}
		if time.Until(deadline) < time.Second {
			return fmt.Errorf("%s has not %d start lines: %q", path, n, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// appendLine appends one line to path.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	return errors.Join(err, f.Close())
}

// postAndExit posts out as the invocation's response
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html,
// Invocation response) and exits once the Runtime API accepted it.
func postAndExit(ctx context.Context, out response) {
	lc, _ := lambdacontext.FromContext(ctx)
	body, _ := json.Marshal(out)
	url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/" + lc.AwsRequestID + "/response"
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		fmt.Fprintln(os.Stderr, "platform: posting:", err)
		os.Exit(2)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		fmt.Fprintln(os.Stderr, "platform: posting: status", resp.StatusCode)
		os.Exit(2)
	}
	os.Exit(0)
}

func main() {
	if d, err := time.ParseDuration(os.Getenv("PLATFORM_INIT_SLEEP")); err == nil {
		time.Sleep(d)
	}
	lambda.Start(handle)
}
