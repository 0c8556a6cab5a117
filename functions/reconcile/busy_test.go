package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"stripetask/internal/dedup"
	"stripetask/internal/dedup/deduptest"
	"stripetask/internal/fakestripe"
	"stripetask/internal/lambdarie"
	"stripetask/internal/moto"
	"stripetask/internal/proctest"
)

// Shape of TestRIEBusy's window.
const (
	busyEvents = 2000 // in Stripe's Events API, in the first pass's window
	busyDone   = 200  // of them handled already, by the webhook
	busyLate   = 100  // listed by Stripe only after the first pass
)

// busyTypes are the types of TestRIEBusy's events, in turn, each with the
// message its handler.Handler method logs ("" for a type without one,
// which the reconciler does not list): a third of the events have a
// method, which keeps the test within 30 s on a busy 2-core machine
// (moto_server takes 5 to 10 ms a DynamoDB call there, and each event run
// costs two). checkout.session.completed is left out: its method lists
// line items, which fakestripe does not serve.
var busyTypes = []struct{ typ, msg string }{
	{"charge.succeeded", "payment received"},
	{"invoice.payment_failed", "invoice payment failed"},
	{"customer.subscription.deleted", "subscription ended"},
	{"charge.refunded", ""},
	{"payment_intent.succeeded", ""},
	{"customer.created", ""},
	{"invoice.paid", ""},
	{"charge.failed", ""},
	{"customer.subscription.updated", ""},
}

// TestRIEBusy runs the reconciler's bootstrap under aws-lambda-rie
// (internal/lambdarie: the real Lambda Runtime API, frozen between
// invocations as Lambda freezes an execution environment,
// https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html),
// with the template's Timeout and MemorySize
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html:
// the harness fails the test when the bootstrap's peak RSS exceeds it, as
// Lambda would end the environment), invoked by its schedule (an
// EventBridge scheduled event,
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html),
// its state and dedup in DynamoDB (DEDUP_TABLE) on moto_server, over a
// busy window: 2,000 events in Stripe's Events API (fakestripe:
// stripe-mock's list ignores its filters) within the last hour, with the
// fixtures' objects, of types with and without a method; busyDone of them
// already handled by the webhook (completed in the dedup table). The first
// pass lists every event with a method, runs the rest once each and
// completes its window; then Stripe lists busyLate more events late,
// inside the first window (the reconciler's Overlap exists for them), and
// the second pass runs exactly those. The summary lines' counts, and the
// methods' own lines, say each event ran once; the peak RSS is logged
// against the MemorySize.
func TestRIEBusy(t *testing.T) {
	const table = "busy-reconcile"
	srv := deduptest.Table(t, table)
	fake := fakestripe.Start(t)
	fake.SetEndpoint("we_busy", "enabled")
	objects := fixtureObjects(t)
	limits := lambdarie.TemplateLimits(t, "ReconcileFunction")

	// The window: from 58 minutes ago to 2 minutes ago, within the first
	// pass's (RECONCILE_LOOKBACK's 1 h to RECONCILE_GRACE's 1 m ago).
	now := time.Now()
	first, last := now.Add(-58*time.Minute), now.Add(-2*time.Minute)
	listed := map[string]int{} // events a pass lists (with a method), by type
	var done []string          // event ids the webhook handled
	add := func(id string, i int, created time.Time) {
		bt := busyTypes[i%len(busyTypes)]
		fake.Add(t, fakestripe.Event(id, bt.typ, created.Unix(), objects[bt.typ]))
		if bt.msg != "" {
			listed[bt.typ]++
			if len(done) < busyDone && i%2 == 0 {
				done = append(done, id)
			}
		}
	}
	for i := range busyEvents {
		add(fmt.Sprintf("evt_busy_%05d", i), i, first.Add(last.Sub(first)*time.Duration(i)/busyEvents))
	}
	if len(done) != busyDone {
		t.Fatalf("%d events done before, want %d", len(done), busyDone)
	}
	completeAll(t, srv, table, done)
	firstListed := 0
	for _, n := range listed {
		firstListed += n
	}

	f := lambdarie.Run(t, limits.Apply(lambdarie.Config{
		Bootstrap: lambdarie.Build(t, "./functions/reconcile"),
		Env: proctest.With(moto.SDKEnv(srv.URL()),
			"DEDUP_TABLE", table, "STRIPE_KEY", "sk_test_123", "STRIPE_API_BASE", fake.URL(),
			"STRIPE_WEBHOOK_ENDPOINT_ID", "we_busy", "RECONCILE_GRACE", "1m"),
	}))
	started := time.Now()
	pass := func(name string) (map[string]any, lambdarie.Result) {
		t.Helper()
		r, err := f.Invoke(t.Context(), []byte(scheduledEvent))
		if err != nil {
			t.Fatal(err)
		}
		lines := summaries(t, r.Output)
		if r.Status != 200 || r.PostedError || string(r.Body) != "null" || len(lines) != 1 {
			t.Fatalf("%s pass: aws-lambda-rie answered %d %.300q (error %v) with %d summary lines; output:\n%.3000s", name, r.Status, r.Body, r.PostedError, len(lines), r.Output)
		}
		t.Logf("%s pass: %v in %v", name, summaryCounts(lines[0]), r.Duration.Round(time.Millisecond))
		return lines[0], r
	}
	ran := func(r lambdarie.Result, msg string) int { return strings.Count(r.Output, `"msg":"`+msg+`"`) }

	line, r1 := pass("first")
	want := map[string]float64{
		"listed": float64(firstListed), "already_done": busyDone, "dispatched": float64(firstListed - busyDone),
		"handled": float64(firstListed - busyDone), "failed": 0, "in_progress": 0, "lost": 0, "pending": 0,
	}
	checkSummary(t, "first", line, want)

	// Stripe lists late events, created inside the first pass's window.
	lateFrom := now.Add(-3 * time.Minute)
	for i := range busyLate {
		add(fmt.Sprintf("evt_busy_late_%03d", i), i%3, lateFrom.Add(time.Minute*time.Duration(i)/busyLate))
	}
	line, r2 := pass("second")
	checkSummary(t, "second", line, map[string]float64{
		"dispatched": busyLate, "handled": busyLate, "failed": 0, "in_progress": 0, "lost": 0, "pending": 0,
	})
	if n, d := line["listed"].(float64), line["already_done"].(float64); n != d+busyLate {
		t.Errorf("second pass: listed %v, already done %v: want every event listed again done but the %d late ones", n, d, busyLate)
	}
	took := time.Since(started)

	// Each method ran exactly once per event not done before.
	ranByMsg := map[string]int{}
	for typ, n := range listed {
		for _, bt := range busyTypes {
			if bt.typ == typ {
				ranByMsg[bt.msg] = n
				break
			}
		}
	}
	for _, id := range done {
		var i int
		fmt.Sscanf(id, "evt_busy_%05d", &i)
		ranByMsg[busyTypes[i%len(busyTypes)].msg]--
	}
	for msg, n := range ranByMsg {
		if got := ran(r1, msg) + ran(r2, msg); got != n {
			t.Errorf("%q logged %d times over both passes, want %d (once per event not done before)", msg, got, n)
		}
	}
	if strings.Contains(f.Output(), "sk_test_123") {
		t.Error("the output reveals STRIPE_KEY")
	}
	t.Logf("measured: reconcile busiest: peak RSS %.1f MiB of MemorySize %d MB, 2 invocations (%d + %d events in Stripe, %d run), %v",
		float64(f.PeakRSS())/(1<<20), limits.MemoryMB, busyEvents, busyLate, firstListed-busyDone+busyLate, took.Round(time.Millisecond))
}

// checkSummary fails the test unless the summary line has want's counts,
// and says the pass completed its window.
func checkSummary(t *testing.T, name string, line map[string]any, want map[string]float64) {
	t.Helper()
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s pass: %s %v, want %v; summary %v", name, k, line[k], v, line)
		}
	}
	if line["complete"] != true || line["stopped"] != nil || line["level"] != "INFO" || line["endpoint_status"] != "enabled" {
		t.Errorf("%s pass: summary %v, want a complete pass at info level with the endpoint enabled", name, line)
	}
}

// summaryCounts returns the counts of a summary line, for the test's log.
func summaryCounts(line map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"listed", "already_done", "dispatched", "handled", "failed", "pending", "complete"} {
		out[k] = line[k]
	}
	return out
}

// fixtureObjects returns the data.object of the webhook fixture of each of
// busyTypes, as JSON.
func fixtureObjects(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, bt := range busyTypes {
		data, err := os.ReadFile(filepath.Join("../../events", bt.typ+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var fx struct {
			Body string `json:"body"`
		}
		var ev struct {
			Data struct {
				Object json.RawMessage `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal(data, &fx); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(fx.Body), &ev); err != nil || len(ev.Data.Object) == 0 {
			t.Fatalf("%s: no data.object: %v", bt.typ, err)
		}
		out[bt.typ] = string(ev.Data.Object)
	}
	return out
}

// completeAll records ids as completed in the dedup table, as the
// webhook's runs of them would have, eight at a time.
func completeAll(t *testing.T, srv *moto.Server, table string, ids []string) {
	t.Helper()
	store := dedup.NewDynamoDB(dynamodb.NewFromConfig(srv.ConfigFor()), table, dedup.Options{})
	ch := make(chan string)
	errs := make(chan error, len(ids))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for id := range ch {
				owner := "webhook-" + id
				err := store.Claim(t.Context(), id, dedup.Claim{Owner: owner, Kind: "event", Lease: time.Now().Add(time.Minute)})
				if err == nil {
					err = store.Complete(t.Context(), id, owner)
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for _, id := range ids {
		ch <- id
	}
	close(ch)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
