package lambdarie

import "testing"

// RunEnvironments runs n Functions of one configuration for the rest of
// the test, as Run does each: n execution environments of one function,
// each its own RIE and bootstrap process, sharing whatever c.Env points
// them at (one moto DynamoDB table, one SQS queue), as Lambda's
// concurrent environments do
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html).
// The test chooses which environment each invocation goes to;
// invocations of different environments run concurrently, and each
// environment freezes on its own.
func RunEnvironments(tb testing.TB, c Config, n int) []*Function {
	tb.Helper()
	if n < 1 {
		tb.Fatalf("lambdarie: RunEnvironments(%d): want at least one", n)
	}
	fs := make([]*Function, n)
	for i := range fs {
		fs[i] = Run(tb, c)
	}
	return fs
}
