package queueworker_test

import (
	"testing"

	"stripetask/internal/pipeline"
	"stripetask/internal/queueworker"
)

// TestSucceededFollowsDisposition holds the worker's mapping to the
// pipeline's outcome table: only a done event is deleted from the queue;
// retry and refused are batch item failures (redelivered, then
// dead-lettered: Lambda's SQS partial batch responses,
// https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
func TestSucceededFollowsDisposition(t *testing.T) {
	for _, o := range append(pipeline.Outcomes(), "something_new") {
		if got := queueworker.Succeeded(o); got != (o.Disposition() == pipeline.Done) {
			t.Errorf("Succeeded(%s) = %v; disposition %v", o, got, o.Disposition())
		}
	}
	if !queueworker.Succeeded(pipeline.TestEventInLiveMode) {
		t.Error("a test event in live mode is done, as the webhook answers it")
	}
}
