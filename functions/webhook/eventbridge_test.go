package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stripetask/internal/proctest"
	"stripetask/internal/stripemock"
	"stripetask/internal/testlog"
)

// fixtureSource is the partner event source of the EventBridge fixtures.
const fixtureSource = "aws.partner/stripe.com/ed_test_61RtJ9bXk2Zt3Q9v8yUeSGY3DQ2mN4"

// TestInvokeEventBridge runs the EventBridge fixtures through the webhook
// binary's invoke mode, with STRIPE_EVENT_SOURCE naming their source: they
// succeed (exit 0, the pipeline's outcome in the answer); a foreign source
// is refused and succeeds; without STRIPE_EVENT_SOURCE every fixture is
// refused (foreign_source, an error line, exit 0) and nothing runs; a
// detail that is no Stripe event is refused too (not_event, exit 0), since
// no retry can mend it.
func TestInvokeEventBridge(t *testing.T) {
	unset := baseEnv(stripemock.Start(t))
	env := proctest.With(unset, "STRIPE_EVENT_SOURCE", fixtureSource)
	files, _ := filepath.Glob(filepath.Join(fixturesDir, "eventbridge", "*.json"))
	if len(files) < 3 {
		t.Fatalf("EventBridge fixtures: %d", len(files))
	}
	for _, f := range files {
		// handler.Handler has methods for some of them: the others are
		// ignored, which succeeds too.
		want := "ignored"
		if strings.Contains(f, "charge.succeeded") || strings.Contains(f, "checkout.session.completed") || strings.Contains(f, "invoice.payment_failed") {
			want = "handled"
		}
		r := run(t, env, nil, "invoke", f)
		if r.code != 0 || !strings.Contains(r.stdout, `"status": "`+want+`"`) {
			t.Errorf("%s: exit %d\n%s\n%s", f, r.code, r.stdout, r.stderr)
		}
		if lines := testlog.Messages(t, r.stderr, "delivery"); len(lines) != 1 || lines[0]["source"] != "eventbridge" || lines[0]["outcome"] != want {
			t.Errorf("%s: delivery lines %v", f, lines)
		}
		// Fail closed: without STRIPE_EVENT_SOURCE, nothing runs.
		r = run(t, unset, nil, "invoke", f)
		lines := testlog.Messages(t, r.stderr, "delivery")
		if r.code != 0 || !strings.Contains(r.stdout, `"status": "foreign_source"`) || len(lines) != 1 || lines[0]["outcome"] != "foreign_source" || lines[0]["level"] != "ERROR" {
			t.Errorf("%s without STRIPE_EVENT_SOURCE: exit %d\n%s\n%s", f, r.code, r.stdout, r.stderr)
		}
	}

	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign.json")
	os.WriteFile(foreign, []byte(strings.Replace(string(raw), "aws.partner/stripe.com/ed_test_", "aws.partner/stripe.com/ed_other_", 1)), 0o644)
	r := run(t, env, nil, "invoke", foreign)
	if r.code != 0 || !strings.Contains(r.stdout, "foreign_source") || !strings.Contains(r.stderr, `"level":"ERROR"`) {
		t.Errorf("foreign source: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	broken := filepath.Join(dir, "broken.json")
	os.WriteFile(broken, []byte(`{"version":"0","id":"eb-1","detail-type":"charge.succeeded","source":"`+fixtureSource+`","account":"1","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{"not":"an event"}}`), 0o644)
	// Refused (no retry can mend it): logged and acknowledged.
	if r := run(t, env, nil, "invoke", broken); r.code != 0 || !strings.Contains(r.stdout, `"status": "not_event"`) || !strings.Contains(r.stderr, `"outcome":"not_event"`) {
		t.Errorf("a detail that is no event: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
