package reconcile_test

import (
	"testing"

	"stripetask/internal/pipeline"
	"stripetask/internal/reconcile"
)

// TestPendingFollowsDisposition holds the reconciler's mapping to the
// pipeline's outcome table: every outcome but the done ones keeps the
// event pending for the next pass.
func TestPendingFollowsDisposition(t *testing.T) {
	for _, o := range append(pipeline.Outcomes(), "something_new") {
		if got := reconcile.StaysPending(o); got != (o.Disposition() != pipeline.Done) {
			t.Errorf("StaysPending(%s) = %v; disposition %v", o, got, o.Disposition())
		}
	}
}
