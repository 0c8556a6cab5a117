package payapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"stripetask/internal/function"
	"stripetask/internal/hungserver"
	"stripetask/internal/stripemock"
	"stripetask/secrets"
)

// TestHungStripeAPI checks that a Stripe API that never answers ends in
// this API's own 504, with its JSON error and log line, before the
// request's deadline (in Lambda, the invocation's), for reads and writes.
func TestHungStripeAPI(t *testing.T) {
	apiBase, _ := hungserver.Start(t)
	a := newAPI(t, secrets.Static(testSecrets(apiBase, stripemock.Key)))
	tests := []struct{ method, target, body string }{
		{"POST", "/customers", `{"email":"jenny@example.com"}`},
		{"GET", "/payment-intents/pi_123", ""},
		{"POST", "/payment-intents", `{"amount":1000,"currency":"usd"}`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			const budget = 3 * time.Second
			deadline := time.Now().Add(budget)
			ctx, cancel := context.WithDeadline(t.Context(), deadline)
			defer cancel()
			r := newRequest(t, tt.method, tt.target, tt.body)
			r = r.WithContext(ctx)
			res := a.serve(r)
			done := time.Now()
			if res.code != 504 || !strings.Contains(res.str("error"), "did not answer in time") || res.str("request_id") != testRID {
				t.Fatalf("%d %s", res.code, res.body)
			}
			if res.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", res.header.Get("Cache-Control"))
			}
			if !done.Before(deadline) {
				t.Fatalf("answered %v after the deadline", done.Sub(deadline))
			}
			if left := deadline.Sub(done); left > function.Tail(budget)+time.Second {
				t.Errorf("answered %v before the deadline: the Stripe call was cut short", left)
			}
		})
	}
}
