package eventbridge

import (
	"testing"

	"stripetask/internal/pipeline"
)

// TestFailedFollowsDisposition holds the adapter's mapping to the
// pipeline's outcome table: only retry fails the invocation (Lambda's
// asynchronous invocation retries it,
// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html);
// done and refused succeed.
func TestFailedFollowsDisposition(t *testing.T) {
	for _, o := range append(pipeline.Outcomes(), "something_new") {
		if got := Failed(o); got != (o.Disposition() == pipeline.Retry) {
			t.Errorf("Failed(%s) = %v; disposition %v", o, got, o.Disposition())
		}
	}
}
