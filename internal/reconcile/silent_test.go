package reconcile_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"stripetask/internal/hungserver"
	"stripetask/internal/reconcile"
	"stripetask/internal/stripeclient"
	"stripetask/internal/stripemock"
	"stripetask/secrets"
)

// TestStripeSilent: a Stripe Events API that accepts connections and never
// answers (a network path that drops the replies) makes the pass fail with
// ErrStripeSilent once its time is up, so that the invocation fails and
// ReconcileErrorsAlarm fires; a pass that only ran out of time after
// reading events stops at its deadline instead (TestDeadlineResume).
func TestStripeSilent(t *testing.T) {
	w := newWorld(t, nil, "")
	w.add(3, base, time.Minute, "charge.succeeded")
	url, accepted := hungserver.Start(t)
	w.secrets = secrets.Static{stripeclient.KeySecret: stripemock.Key, stripeclient.APIBaseSecret: url}
	r := w.reconciler(nil)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	sum, err := r.Pass(ctx, "silent")
	if !errors.Is(err, reconcile.ErrStripeSilent) || sum.Stopped != reconcile.StoppedError {
		t.Fatalf("pass: %+v, %v; want ErrStripeSilent, stopped error", sum, err)
	}
	if accepted() == 0 {
		t.Error("the pass never reached the hung API")
	}
}
