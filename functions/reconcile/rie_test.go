package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"stripetask/internal/dedup/deduptest"
	"stripetask/internal/fakestripe"
	"stripetask/internal/lambdarie"
	"stripetask/internal/metrics"
	"stripetask/internal/moto"
	"stripetask/internal/proctest"
)

// The tests in this file run the reconciler's bootstrap, built as for
// Lambda, under aws-lambda-rie (the real Lambda Runtime API), invoked with
// the payload EventBridge's schedule sends. Stripe's Events API is
// fakestripe: stripe-mock's event list ignores created, cursors and types.

func TestMain(m *testing.M) { os.Exit(lambdarie.Main(m)) }

// summaries returns the summary lines of output. Not every line is JSON:
// aws-lambda-go logs a function error as plain text.
func summaries(t *testing.T, output string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for l := range strings.SplitSeq(output, "\n") {
		var m map[string]any
		if strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "reconcile" {
			out = append(out, m)
		}
	}
	return out
}

// scheduledEvent is an EventBridge scheduled event, as Lambda receives it.
const scheduledEvent = `{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events",` +
	`"account":"123456789012","time":"2026-11-26T12:00:00Z","region":"us-east-1",` +
	`"resources":["arn:aws:events:us-east-1:123456789012:rule/stripetask-ReconcileSchedule"],"detail":{}}`

// TestRIEScheduledPass: each scheduled invocation is one pass: the first
// runs the missed charge.succeeded events through handler.Handler and
// reports the disabled endpoint; the second runs nothing; with the Events
// API down, the pass fails and so does the invocation.
func TestRIEScheduledPass(t *testing.T) {
	srv := deduptest.Table(t, "rie-reconcile")
	fake := fakestripe.Start(t)
	fake.SetEndpoint("we_rie", "disabled")
	now := time.Now()
	for i, typ := range []string{"charge.succeeded", "charge.refunded", "charge.succeeded"} {
		id := fmt.Sprintf("evt_rie_%d", i)
		fake.Add(t, fakestripe.Event(id, typ, now.Add(-time.Duration(40-i)*time.Minute).Unix(), `{"id":"ch_rie_`+fmt.Sprint(i)+`","object":"charge","amount":100,"currency":"usd"}`))
	}
	f := lambdarie.Run(t, lambdarie.Config{
		Bootstrap: lambdarie.Build(t, "./functions/reconcile"),
		Timeout:   20 * time.Second,
		MemoryMB:  lambdarie.TemplateLimits(t, "ReconcileFunction").MemoryMB,
		Env: proctest.With(moto.SDKEnv(srv.URL()),
			"DEDUP_TABLE", "rie-reconcile", "STRIPE_KEY", "sk_test_123", "STRIPE_API_BASE", fake.URL(),
			"STRIPE_WEBHOOK_ENDPOINT_ID", "we_rie", "RECONCILE_GRACE", "1m"),
	})

	invoke := func(name string) (string, map[string]any, lambdarie.Result) {
		t.Helper()
		r, err := f.Invoke(t.Context(), []byte(scheduledEvent))
		if err != nil {
			t.Fatal(err)
		}
		lines := summaries(t, r.Output)
		if r.Status != 200 || len(lines) != 1 {
			t.Fatalf("%s: RIE answered %d %q with %d summary lines; output:\n%s", name, r.Status, r.Body, len(lines), r.Output)
		}
		if msg := metrics.Validate(lines[0]); msg != "" {
			t.Errorf("%s: the summary line is no EMF record: %s", name, msg)
		}
		if lines[0]["request_id"] != r.RequestID {
			t.Errorf("%s: the summary's request_id %v is not the invocation's %s", name, lines[0]["request_id"], r.RequestID)
		}
		return string(r.Body), lines[0], r
	}

	body, line, r := invoke("first")
	if body != "null" || line["dispatched"] != 2.0 || line["handled"] != 2.0 || line["EndpointDisabled"] != 1.0 {
		t.Errorf("first pass: answer %s, line %v; want success, 2 handled, EndpointDisabled 1", body, line)
	}
	if n := strings.Count(r.Output, `"msg":"payment received"`); n != 2 {
		t.Errorf("handler.Handler's ChargeSucceeded ran %d times, want 2", n)
	}
	if !strings.Contains(r.Output, `"msg":"webhook endpoint disabled`) {
		t.Error("no error line about the disabled endpoint")
	}

	fake.SetEndpoint("we_rie", "enabled")
	body, line, r = invoke("second")
	if body != "null" || line["dispatched"] != 0.0 || line["EndpointDisabled"] != 0.0 || strings.Contains(r.Output, "payment received") {
		t.Errorf("second pass: answer %s, line %v; want nothing dispatched and the endpoint enabled", body, line)
	}

	fake.SetDown(true)
	body, line, _ = invoke("Stripe down")
	if !strings.Contains(body, `"errorMessage"`) || line["level"] != "ERROR" || line["error"] == nil {
		t.Errorf("with the Events API down: answer %s, line %v; want a function error and an error line", body, line)
	}
}
