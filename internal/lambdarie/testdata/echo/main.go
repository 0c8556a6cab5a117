// Command echo is a Lambda function for lambdarie's own tests: it writes
// the lines it is asked to, sleeps, fails, and reports its environment and
// deadline, so that the harness can be checked against the real Runtime
// API. With ECHO_EXIT set it exits at start-up instead.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

// request says what to do.
type request struct {
	Stdout string        `json:"stdout"` // a line for standard output
	Stderr string        `json:"stderr"` // a line for standard error
	Sleep  time.Duration `json:"sleep"`  // nanoseconds to sleep, or until the deadline
	Fail   string        `json:"fail"`   // an error to return
	Getenv string        `json:"getenv"` // an environment variable to report
}

// response is what echo saw.
type response struct {
	Env        string `json:"env"`
	DeadlineMs int64  `json:"deadline_ms"` // time left at the start
	Pid        int    `json:"pid"`
}

func handle(ctx context.Context, in request) (response, error) {
	out := response{Env: os.Getenv(in.Getenv), Pid: os.Getpid()}
	if d, ok := ctx.Deadline(); ok {
		out.DeadlineMs = time.Until(d).Milliseconds()
	}
	if in.Stdout != "" {
		fmt.Fprintln(os.Stdout, in.Stdout)
	}
	if in.Stderr != "" {
		fmt.Fprintln(os.Stderr, in.Stderr)
	}
	if in.Sleep > 0 {
		time.Sleep(in.Sleep) // deliberately deaf to ctx: a hung function
	}
	if in.Fail != "" {
		return out, errors.New(in.Fail)
	}
	return out, nil
}

func main() {
	if os.Getenv("ECHO_EXIT") != "" {
		fmt.Fprintln(os.Stderr, "echo: exiting at start-up")
		os.Exit(3)
	}
	fmt.Fprintln(os.Stderr, `{"msg":"cold start"}`)
	lambda.Start(handle)
}
