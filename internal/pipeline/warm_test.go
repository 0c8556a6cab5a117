package pipeline

import (
	"context"
	"testing"
	"time"

	"stripetask/secrets"
)

// TestInitIgnoringCtx: a Handler Init that ignores its ctx (blocked in a
// call without a deadline) cannot take an event past its invocation's
// deadline: the event is answered init_failed in time, every time, and once
// Init returns, events run.
func TestInitIgnoringCtx(t *testing.T) {
	tb := newTestbed(t, secrets.Map{"STRIPE_KEY": stripeKey, "INIT_HANGS": "yes"}, nil)
	for i := range 2 {
		deadline := time.Now().Add(time.Second)
		ctx, cancel := context.WithDeadline(t.Context(), deadline)
		res := tb.p.Handle(ctx, Input{Source: testSource, Body: charge("evt_i", "ch_i", "ok"), RequestID: "req-i"})
		cancel()
		if res.Outcome != InitFailed || !time.Now().Before(deadline) {
			t.Fatalf("event %d while Init hangs: %s, %v after the deadline; want init_failed before it", i, res.Outcome, time.Since(deadline))
		}
	}
	close(tb.st.release)
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: charge("evt_i", "ch_i", "ok"), RequestID: "req-j"})
		if res.Outcome == Handled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Init returned: %+v", res)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
