package reconcile_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"stripetask/internal/bootstrap"
	"stripetask/internal/dedup"
	"stripetask/internal/fixture"
	"stripetask/internal/function"
	"stripetask/internal/reconcile"
)

// TestOutageCaughtUp is the scenario that defines done: 200 events of
// mixed types are created while the webhook is unreachable, and never
// delivered. One pass runs each event that has a method exactly once and
// leaves the others alone; a second pass dispatches nothing; Stripe's late
// deliveries of the same events, when the webhook is back, are duplicates.
func TestOutageCaughtUp(t *testing.T) {
	w := newWorld(t, startMoto(t), "outage")
	types := append(slices.Clone(methodTypes), otherTypes...)
	// One event every 14 s for 46 minutes, ending 13 minutes before now:
	// all within the first pass's hour, and past the 10 minutes' grace.
	all := w.add(200, base.Add(time.Second), 14*time.Second, types...)
	want := methodEvents(all)

	s, line := w.pass(t.Context(), w.reconciler(nil))
	for _, e := range all {
		switch n := w.runs.okCount(e.id); {
		case e.method() && n != 1:
			t.Errorf("%s (%s) ran %d times, want once", e.id, e.typ, n)
		case !e.method() && len(w.deliveries(e.id)) != 0:
			t.Errorf("%s (%s), which has no method, reached the pipeline", e.id, e.typ)
		}
	}
	if s.Listed != len(want) || s.Dispatched != len(want) || s.Handled != len(want) || s.AlreadyDone != 0 || s.Failed != 0 || s.Pending != 0 || !s.Complete || s.OldestUnhandledAge != 0 {
		t.Errorf("first pass %+v, want %d listed, dispatched and handled, complete, nothing pending", s, len(want))
	}
	to := w.now.Add(-reconcile.DefaultGrace)
	if !s.From.Equal(w.now.Add(-reconcile.DefaultLookback)) || !s.To.Equal(to) || !s.Watermark.Equal(to.Add(time.Second)) {
		t.Errorf("window %v..%v, watermark %v; want the last hour until the grace, and the watermark past it", s.From, s.To, s.Watermark)
	}
	for k, v := range map[string]any{
		"listed": float64(len(want)), "already_done": 0.0, "dispatched": float64(len(want)), "handled": float64(len(want)),
		"failed": 0.0, "oldest_unhandled_age_s": 0.0, "window_from": s.From.Format(time.RFC3339), "window_to": to.Format(time.RFC3339),
		"Function": "reconcile", "ReconcileMissed": float64(len(want)), "ReconcileFailed": 0.0, "OldestUnhandledAge": 0.0,
		"EndpointDisabled": 0.0, "level": "INFO", "endpoint_status": "enabled",
	} {
		if line[k] != v {
			t.Errorf("summary line: %s = %v, want %v", k, line[k], v)
		}
	}
	// Only the Handler's types were asked for.
	for _, r := range w.fake.Requests() {
		if strings.HasPrefix(r, "GET /v1/events?") && strings.Count(r, "types") != len(methodTypes) {
			t.Errorf("a list request not filtered on the Handler's %d types: %s", len(methodTypes), r)
		}
	}

	// A quarter of an hour later: nothing new to run. The overlap lists the
	// last five minutes of the first window again; those are duplicates.
	w.now = w.now.Add(15 * time.Minute)
	s, _ = w.pass(t.Context(), w.reconciler(nil))
	var overlap int
	for _, e := range want {
		if e.created >= to.Add(time.Second-reconcile.DefaultOverlap).Unix() {
			overlap++
		}
	}
	if s.Dispatched != 0 || s.Handled != 0 || s.AlreadyDone != overlap || s.Listed != overlap || !s.Complete {
		t.Errorf("second pass %+v, want nothing dispatched and the %d events of the overlap already done", s, overlap)
	}

	// The webhook is back, and Stripe delivers the same events late.
	wh := bootstrap.NewWebhook(function.Deps{Secrets: w.secrets, Log: w.log}, w.d, w.store, 0)
	for _, e := range all {
		status := deliver(t, wh, e.raw)
		if wantStatus := map[bool]string{true: "duplicate", false: "ignored"}[e.method()]; status != wantStatus {
			t.Errorf("late delivery of %s (%s): %q, want %q", e.id, e.typ, status, wantStatus)
		}
	}
	if ok, tries := w.runs.totals(); ok != len(want) || tries != len(want) {
		t.Errorf("methods ran %d times (%d succeeded), want %d: once per event", tries, ok, len(want))
	}
}

// deliver posts raw to the webhook as Stripe would, signed, and returns the
// status of the answer's body.
func deliver(t *testing.T, wh http.Handler, raw []byte) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(raw))
	req.Header.Set("Stripe-Signature", fixture.Sign(raw, webhookSecret, time.Now()))
	rec := httptest.NewRecorder()
	wh.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("webhook answered %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	_, status, _ := strings.Cut(body, `"status":"`)
	status, _, _ = strings.Cut(status, `"`)
	return status
}

// TestFailuresHoldTheWatermark: events whose method fails stay pending and
// hold the watermark back while later events are handled; each pass runs
// them again, and once the method succeeds they are handled, exactly once.
func TestFailuresHoldTheWatermark(t *testing.T) {
	w := newWorld(t, startMoto(t), "failures")
	early := w.add(30, base.Add(5*time.Minute), 20*time.Second, methodTypes...)
	failing := []event{early[3], early[17]}
	w.runs.setFailing(true, ids(failing)...)

	r := w.reconciler(nil)
	s, line := w.pass(t.Context(), r)
	age := w.now.Sub(time.Unix(failing[0].created, 0))
	if s.Handled != 28 || s.Failed != 2 || s.Dispatched != 30 || s.Pending != 2 || !s.Complete {
		t.Errorf("first pass %+v, want 28 handled, 2 failed and pending", s)
	}
	if !s.Watermark.Equal(time.Unix(failing[0].created, 0)) || s.OldestUnhandledAge != age {
		t.Errorf("watermark %v, oldest unhandled %v; want held at the first failure (%v), %v old", s.Watermark, s.OldestUnhandledAge, time.Unix(failing[0].created, 0).UTC(), age)
	}
	if line["ReconcileFailed"] != 2.0 || line["OldestUnhandledAge"] != float64(age/time.Second) || line["level"] != "WARN" {
		t.Errorf("summary line %v, want ReconcileFailed 2, OldestUnhandledAge %d, level WARN", line, int(age/time.Second))
	}

	// Still failing; meanwhile newer events arrive and are handled.
	w.now = w.now.Add(15 * time.Minute)
	later := w.add(10, base.Add(52*time.Minute), 30*time.Second, methodTypes...)
	s, _ = w.pass(t.Context(), r)
	if s.Failed != 2 || s.Pending != 2 || s.Handled != 10 || !s.Watermark.Equal(time.Unix(failing[0].created, 0)) {
		t.Errorf("second pass %+v, want the 2 failures again, the 10 new events handled, the watermark held", s)
	}

	// The method is fixed: the next pass handles them.
	w.runs.setFailing(false, ids(failing)...)
	w.now = w.now.Add(15 * time.Minute)
	s, _ = w.pass(t.Context(), r)
	if s.Handled != 2 || s.Failed != 0 || s.Pending != 0 || s.OldestUnhandledAge != 0 || !s.Watermark.Equal(s.To.Add(time.Second)) {
		t.Errorf("third pass %+v, want the 2 handled, nothing pending, the watermark past the window", s)
	}
	for _, e := range append(early, later...) {
		if n := w.runs.okCount(e.id); n != 1 {
			t.Errorf("%s succeeded %d times, want once", e.id, n)
		}
	}
	if w.runs.tries[failing[0].id] != 3 {
		t.Errorf("%s ran %d times, want 3 (two failures, one success)", failing[0].id, w.runs.tries[failing[0].id])
	}
}

// TestInProgressLeftToItsOwner: an event a live run holds (a webhook
// delivery still running) is left to it, and holds the watermark; once
// that run completes it, the next pass finds it done.
func TestInProgressLeftToItsOwner(t *testing.T) {
	w := newWorld(t, startMoto(t), "inprogress")
	es := w.add(3, base.Add(10*time.Minute), time.Minute, "charge.succeeded")
	held := es[1]
	ctx := t.Context()
	if err := w.store.Claim(ctx, held.id, dedup.Claim{Owner: "webhook-run", Lease: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	r := w.reconciler(nil)
	s, _ := w.pass(ctx, r)
	if s.InProgress != 1 || s.Handled != 2 || s.Dispatched != 2 || s.Pending != 1 || !s.Watermark.Equal(time.Unix(held.created, 0)) {
		t.Errorf("pass %+v, want the held event left in progress, pending, holding the watermark", s)
	}
	if n := w.runs.okCount(held.id); n != 0 {
		t.Errorf("the held event ran %d times", n)
	}
	if err := w.store.Complete(ctx, held.id, "webhook-run"); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(15 * time.Minute)
	s, _ = w.pass(ctx, r)
	if s.AlreadyDone < 1 || s.Dispatched != 0 || s.Pending != 0 {
		t.Errorf("pass after the owner completed it %+v, want it already done and nothing pending", s)
	}
}

// TestWatermarkSurvivesProcesses: the state one reconciler saves in the
// dedup table is what a new one, in another process (a cold start), starts
// from.
func TestWatermarkSurvivesProcesses(t *testing.T) {
	db := startMoto(t)
	w := newWorld(t, db, "survives")
	w.add(12, base.Add(20*time.Minute), time.Minute, methodTypes...)
	first, _ := w.pass(t.Context(), w.reconciler(nil))

	w.now = w.now.Add(15 * time.Minute)
	w.add(4, base.Add(55*time.Minute), time.Minute, methodTypes...)
	// A new instance: a new store client on the same table, a new pipeline.
	w.state = reconcile.NewDynamoDBState(db, "survives")
	s, _ := w.pass(t.Context(), w.reconciler(nil))
	if wantFrom := first.To.Add(time.Second - reconcile.DefaultOverlap); !s.From.Equal(wantFrom) {
		t.Errorf("the new instance lists from %v, want %v: where the first stopped, less the overlap", s.From, wantFrom)
	}
	if s.Handled != 4 || s.Dispatched != 4 {
		t.Errorf("second pass %+v, want the 4 new events handled", s)
	}
	st, err := w.state.Load(t.Context())
	if err != nil || st.Version != 2 || !st.Watermark().Equal(s.To.Add(time.Second)) {
		t.Errorf("state %+v %v, want version 2 and the watermark past the second window", st, err)
	}
}

// TestDeadlineResume: a pass cut short by its deadline saves where it
// stopped; the next resumes there, without skipping or repeating an event.
// With no overlap, the second pass lists exactly the events the first did
// not finish.
//
// Where the first pass stops is set by the events, not by how fast the
// machine is: from the eighth on, a method waits for its context to end
// (and fails), so the pass handles at most seven and is cut at its
// deadline in the first of the others it starts. MinEventTime is large
// enough that an event started has time for its claim and its settling
// even on a busy machine.
func TestDeadlineResume(t *testing.T) {
	w := newWorld(t, startMoto(t), "deadline")
	es := w.add(60, base.Add(5*time.Minute), 20*time.Second, methodTypes...)
	const quick = 7
	w.runs.setHolding(true, ids(es[quick:])...)
	r := w.reconciler(func(c *reconcile.Config) {
		c.Overlap = -1
		c.SaveEvery = 3
		c.MinEventTime = 1500 * time.Millisecond
	})
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Second)
	defer cancel()
	first, _ := w.pass(ctx, r)
	if first.Stopped != reconcile.StoppedDeadline || first.Complete || first.Handled == 0 || first.Handled > quick {
		t.Fatalf("first pass %+v, want it stopped at its deadline after at most %d events", first, quick)
	}
	if first.OldestUnhandledAge == 0 {
		t.Errorf("a pass cut short reports no unhandled age")
	}
	// A run the pipeline abandoned at the deadline settles its claim when
	// its method returns, maybe after the pass: wait for it, as the next
	// pass (minutes later) would find it settled.
	w.claims.waitSettled(t)
	_, firstTries := w.runs.totals()
	cutShort := firstTries - first.Handled // runs the deadline ended: they failed, and are pending

	w.runs.setHolding(false, ids(es)...)
	second, _ := w.pass(t.Context(), w.reconciler(func(c *reconcile.Config) { c.Overlap = -1 }))
	if second.AlreadyDone != 0 || second.Dispatched != len(es)-first.Handled || second.Handled != len(es)-first.Handled || !second.Complete {
		t.Errorf("second pass %+v after a first that handled %d of %d: want the rest, each once, and nothing listed twice", second, first.Handled, len(es))
	}
	for _, e := range es {
		if n := w.runs.okCount(e.id); n != 1 {
			t.Errorf("%s succeeded %d times, want once", e.id, n)
		}
	}
	if _, tries := w.runs.totals(); tries != len(es)+cutShort {
		t.Errorf("%d runs for %d events and %d cut short: a run was repeated", tries, len(es), cutShort)
	}
}

// TestLost: an event still unhandled at 30 days is logged as an error with
// outcome lost, its id and type, and no longer holds the watermark; so is
// one Stripe no longer has.
func TestLost(t *testing.T) {
	w := newWorld(t, startMoto(t), "lost")
	es := w.add(2, base.Add(10*time.Minute), time.Minute, "invoice.paid")
	w.runs.setFailing(true, es[0].id)
	r := w.reconciler(nil)
	s, _ := w.pass(t.Context(), r)
	if s.Pending != 1 {
		t.Fatalf("pass %+v, want one pending", s)
	}

	// An event Stripe does not have (any more), pending in the state too.
	st, err := w.state.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	st.Pending = append(st.Pending, reconcile.Pending{ID: "evt_gone", Type: "charge.succeeded", Created: base.Add(20 * time.Minute).Unix()})
	if err := w.state.Save(t.Context(), &st); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(15 * time.Minute)
	s, _ = w.pass(t.Context(), r)
	if s.Lost != 1 || s.Pending != 1 {
		t.Errorf("pass %+v, want evt_gone lost and the failing event still pending", s)
	}

	// Thirty days on, the failing event is lost too.
	w.now = time.Unix(es[0].created, 0).Add(30*24*time.Hour + time.Minute)
	s, line := w.pass(t.Context(), r)
	if s.Lost != 1 || s.Pending != 0 || s.OldestUnhandledAge != 0 || s.Watermark.Before(s.To) {
		t.Errorf("pass after 30 days %+v, want the event lost, nothing pending, the watermark free", s)
	}
	if line["level"] != "WARN" || line["lost"] != 1.0 {
		t.Errorf("summary line %v, want level WARN and lost 1", line)
	}
	for _, want := range []struct{ id, typ, why string }{{"evt_gone", "charge.succeeded", "no longer has"}, {es[0].id, "invoice.paid", "30 days"}} {
		var lost []map[string]any
		for _, l := range w.deliveries(want.id) {
			if l["outcome"] == "lost" {
				lost = append(lost, l)
			}
		}
		if len(lost) != 1 {
			t.Fatalf("%d lost lines for %s, want 1", len(lost), want.id)
		}
		l := lost[0]
		if l["level"] != "ERROR" || l["event_type"] != want.typ || l["source"] != "reconcile" || !strings.Contains(l["error"].(string), want.why) || l["Outcome"] != "lost" || l["Events"] != 1.0 {
			t.Errorf("lost line %v, want an error with event_type %s, outcome lost, an error mentioning %q and the Events metric", l, want.typ, want.why)
		}
	}
}
