package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"stripetask/dispatch"
	"stripetask/handler"
	"stripetask/internal/bootstrap"
	"stripetask/internal/dedup/deduptest"
	"stripetask/internal/fixture"
	"stripetask/internal/function"
	"stripetask/internal/hungserver"
	"stripetask/internal/stripemock"
	"stripetask/internal/testlog"
	"stripetask/internal/transport"
	"stripetask/secrets"
)

// TestHungStripeAPI invokes the real handler's CheckoutSessionCompleted,
// which lists the session's line items through h.Stripe, against a Stripe
// API that never answers, with an invocation deadline: the function answers
// its own 500 before the deadline (so Stripe retries), logs its delivery
// line, and releases the dedup claim so the retry runs.
func TestHungStripeAPI(t *testing.T) {
	store, _ := deduptest.Store(t, "hung")
	d, err := dispatch.New(handler.Handler{})
	if err != nil {
		t.Fatal(err)
	}
	apiBase, _ := hungserver.Start(t)
	logs := &testlog.Buffer{}
	deps := function.Deps{
		Secrets:   secrets.Static{"STRIPE_WEBHOOK_SECRET": localSecret, "STRIPE_KEY": stripemock.Key, "STRIPE_API_BASE": apiBase},
		Log:       bootstrap.NewLogger(logs, 0),
		RequestID: transport.RequestID,
	}
	lambda := transport.NewLambdaHandler(bootstrap.NewWebhook(deps, d, store, 0))

	raw, err := os.ReadFile(filepath.Join(fixturesDir, "checkout.session.completed.json"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := fixture.Resign(raw, localSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 4 * time.Second
	deadline := time.Now().Add(timeout)
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "c0ffee00-0000-4000-8000-000000000001"})
	out, err := lambda.Invoke(ctx, payload)
	answered := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 500 || !strings.Contains(resp.Body, "handler failed") {
		t.Fatalf("answer %d %s", resp.StatusCode, resp.Body)
	}
	if !answered.Before(deadline) {
		t.Fatalf("answered %v after the deadline", answered.Sub(deadline))
	}
	if left := deadline.Sub(answered); left > function.Tail(timeout)+time.Second {
		t.Errorf("answered %v before the deadline: the handler's time was cut short", left)
	}
	lines := logs.Messages(t, "delivery")
	if len(lines) != 1 || lines[0]["outcome"] != "handler_error" || lines[0]["status"] != 500.0 {
		t.Fatalf("delivery lines: %v", lines)
	}
	if !strings.Contains(lines[0]["error"].(string), "deadline") {
		t.Errorf("the error does not say the deadline passed: %v", lines[0]["error"])
	}
	// Released: the retry claims and runs it (and hangs again: its own
	// deadline answers).
	ctx2, cancel2 := context.WithTimeout(t.Context(), timeout)
	defer cancel2()
	if out, err := lambda.Invoke(ctx2, payload); err != nil || !strings.Contains(string(out), `"statusCode":500`) {
		t.Fatalf("retry: %v %s", err, out)
	}
	if n := strings.Count(logs.String(), `"outcome":"in_progress"`); n != 0 {
		t.Fatalf("the claim was not released: %d in_progress", n)
	}
}
