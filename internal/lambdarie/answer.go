package lambdarie

import (
	"testing"
	"time"
)

// CheckOwnAnswer fails the test unless r, the nth invocation (from 0) of
// one environment, was answered by the function itself within timeout: RIE
// answered 200 with what the function posted to the Runtime API (not RIE's
// own "Task timed out"), the first invocation was the environment's only
// cold start and nothing exited, and its Init phase stayed under Lambda's
// limit. name labels the messages. It returns the Init phase's duration
// (zero after the first invocation). A late or missing answer is fatal.
func (r Result) CheckOwnAnswer(tb testing.TB, name string, n int, timeout time.Duration) time.Duration {
	tb.Helper()
	if r.Status != 200 || r.Posted == nil || r.Duration >= timeout {
		tb.Fatalf("%s: aws-lambda-rie answered %d %q after %v (the function posted %q), want the function's own answer within %v; output:\n%s", name, r.Status, r.Body, r.Duration, r.Posted, timeout, r.Output)
	}
	if r.ColdStart != (n == 0) || r.Exited {
		tb.Errorf("%s: cold start %v, exited %v: want one environment for every invocation", name, r.ColdStart, r.Exited)
	}
	if n > 0 {
		return 0
	}
	if r.InitDuration >= DefaultInitLimit {
		tb.Errorf("%s: Init took %v, want under Lambda's %v", name, r.InitDuration, DefaultInitLimit)
	}
	return r.InitDuration
}
