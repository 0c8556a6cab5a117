package reconcile_test

import (
	"strings"
	"testing"
	"time"

	"stripetask/internal/reconcile"
)

// The tests in this file hold the pass's logic without DynamoDB: no dedup
// store, the state in memory (memState).

// TestPendingFull: with MaxPending events failing, a pass stops listing
// before the next event (without running it), and later passes resume
// there once the failures clear.
func TestPendingFull(t *testing.T) {
	w := newWorld(t, nil, "")
	es := w.add(6, base.Add(10*time.Minute), time.Minute, "charge.succeeded")
	w.runs.setFailing(true, es[0].id, es[1].id, es[2].id, es[4].id)
	r := w.reconciler(func(c *reconcile.Config) { c.MaxPending = 3 })
	s, line := w.pass(t.Context(), r)
	if s.Stopped != reconcile.StoppedPendingFull || s.Complete || s.Pending != 3 || s.Listed != 3 || w.runs.tries[es[3].id] != 0 {
		t.Errorf("pass %+v, want it stopped before the fourth event with 3 pending", s)
	}
	if line["stopped"] != "pending_full" {
		t.Errorf("summary line %v, want stopped pending_full", line)
	}
	w.runs.setFailing(false, es[0].id, es[1].id, es[2].id)
	s, _ = w.pass(t.Context(), r)
	if !s.Complete || s.Pending != 1 || s.Handled != 5 || s.Failed != 1 {
		t.Errorf("pass %+v, want the 3 retried and the rest listed: 5 handled, the fifth failing", s)
	}
}

// TestConcurrentPasses: a pass whose state another pass saved meanwhile
// stops, leaving the state to it, and does not fail.
func TestConcurrentPasses(t *testing.T) {
	w := newWorld(t, nil, "")
	w.add(5, base.Add(10*time.Minute), time.Minute, "charge.succeeded")
	m := w.state.(*memState)
	m.onLoad = func(m *memState) { // another pass saves right after this one loads
		m.onLoad = nil
		st := m.get()
		st.Resume = reconcile.Position{Created: base.Unix()}
		if err := m.Save(t.Context(), &st); err != nil {
			t.Error(err)
		}
	}
	s, _ := w.pass(t.Context(), w.reconciler(nil))
	if s.Stopped != reconcile.StoppedConflict {
		t.Errorf("pass %+v, want it stopped by the conflict", s)
	}
	if st := m.get(); st.Version != 1 || st.Resume.Created != base.Unix() {
		t.Errorf("state %+v, want the other pass's", st)
	}
}

// TestNewChecksTheWindow: the grace and the lookback are checked.
func TestNewChecksTheWindow(t *testing.T) {
	tests := []struct {
		name            string
		grace, lookback time.Duration
		wantErr         string
	}{
		{"defaults", reconcile.DefaultGrace, reconcile.DefaultLookback, ""},
		{"no grace", 0, time.Minute, ""},
		{"thirty days", time.Hour, 30 * 24 * time.Hour, ""},
		{"negative grace", -time.Second, time.Hour, "negative"},
		{"lookback past Stripe's retention", time.Hour, 31 * 24 * time.Hour, "longer than the 720h0m0s Stripe keeps"},
		{"lookback within the grace", time.Hour, time.Hour, "first pass would look at nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := reconcile.CheckWindow(tt.grace, tt.lookback)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("CheckWindow(%v, %v) = %v, want %q", tt.grace, tt.lookback, err, tt.wantErr)
			}
		})
	}
	if _, err := reconcile.New(reconcile.Config{}); err == nil {
		t.Error("New without Secrets, Pipeline and State succeeded")
	}
}

// TestNothingToRunIsDone: an event the pipeline acknowledges without
// running anything (a test-mode event under a live key) is done: it is
// not pending and does not hold the watermark.
func TestNothingToRunIsDone(t *testing.T) {
	w := newWorld(t, nil, "")
	w.secrets["STRIPE_KEY"] = "sk_live_reconcile_test"
	w.add(2, base.Add(10*time.Minute), time.Minute, "charge.succeeded") // livemode false
	s, _ := w.pass(t.Context(), w.reconciler(nil))
	if s.Ignored != 2 || s.Dispatched != 0 || s.Pending != 0 || !s.Watermark.Equal(s.To.Add(time.Second)) {
		t.Errorf("pass %+v, want both ignored, nothing pending, the watermark past the window", s)
	}
}
