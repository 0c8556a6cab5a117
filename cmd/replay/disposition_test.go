package main

import (
	"testing"

	"stripetask/internal/pipeline"
)

// TestTallyFollowsDisposition holds replay's mapping to the pipeline's
// outcome table: an outcome counts as a failure (exit 1) exactly when it is
// not done.
func TestTallyFollowsDisposition(t *testing.T) {
	for _, o := range append(pipeline.Outcomes(), "something_new") {
		var tl tally
		tl.add(o)
		if failed := tl.failed == 1; failed != (o.Disposition() != pipeline.Done) {
			t.Errorf("%s: counted failed %v; disposition %v", o, failed, o.Disposition())
		}
		if tl.total != 1 || tl.handled+tl.duplicate+tl.ignored+tl.failed != 1 {
			t.Errorf("%s: tally %+v", o, tl)
		}
	}
}
