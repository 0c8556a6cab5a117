package handler

import (
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/dispatchtest"
)

// TestHandler delivers a realistic event of each type the Handler has a
// method for through the webhook's real path, with h.Stripe talking to
// stripe-mock, and checks the answer and what the method logged.
func TestHandler(t *testing.T) {
	w := dispatchtest.NewWebhook(t, Handler{})
	tests := []struct {
		event *dispatchtest.Event
		msg   string         // the method's log line
		level string         // its level
		want  map[string]any // some of its attributes (numbers are float64)
	}{
		{
			// Lists the session's line items through the Stripe API:
			// stripe-mock has one.
			w.NewEvent("checkout.session.completed").
				Set("data.object.id", "cs_test_1").
				Set("data.object.amount_total", 2000),
			"checkout completed", "INFO",
			map[string]any{"session": "cs_test_1", "line_items": 1.0, "amount_total": 2000.0},
		},
		{
			dispatchtest.Edit(w.NewEvent("charge.succeeded"), func(c *stripe.Charge) {
				c.ID = "ch_1"
				c.Amount = 2000
				c.Currency = "eur"
			}),
			"payment received", "INFO",
			map[string]any{"charge": "ch_1", "amount": 2000.0, "currency": "eur"},
		},
		{
			w.NewEvent("invoice.payment_failed").
				Set("data.object.id", "in_1").
				Set("data.object.amount_due", 900).
				Set("data.object.attempt_count", 2),
			"invoice payment failed", "WARN",
			map[string]any{"invoice": "in_1", "amount_due": 900.0, "attempt": 2.0},
		},
		{
			w.NewEvent("customer.subscription.deleted").
				Set("data.object.id", "sub_1").
				Set("data.object.status", "canceled"),
			"subscription ended", "INFO",
			map[string]any{"subscription": "sub_1", "status": "canceled"},
		},
	}
	for _, tt := range tests {
		typ := tt.event.Type()
		t.Run(typ, func(t *testing.T) {
			d := w.Deliver(t.Context(), tt.event)
			if d.Status != 200 || d.Outcome != "handled" || d.Method != dispatch.MethodName(typ) {
				t.Fatalf("%d %s by %q, want 200 handled by %s; body %s", d.Status, d.Outcome, d.Method, dispatch.MethodName(typ), d.Body)
			}
			line := d.Log(tt.msg)
			if line == nil {
				t.Fatalf("no %q line in %v", tt.msg, d.Logs)
			}
			for k, v := range tt.want {
				if line[k] != v {
					t.Errorf("%s = %v (%T), want %v", k, line[k], line[k], v)
				}
			}
			if line["level"] != tt.level {
				t.Errorf("level %v, want %s", line["level"], tt.level)
			}
			// h.Log carries the event and the delivery.
			if line["event_id"] != tt.event.ID() || line["event_type"] != typ || line["request_id"] != d.Log("delivery")["request_id"] {
				t.Errorf("h.Log does not carry the event and the request: %v", line)
			}
		})
	}
}

// TestIgnored checks that an event the Handler has no method for is
// acknowledged and runs nothing.
func TestIgnored(t *testing.T) {
	w := dispatchtest.NewWebhook(t, Handler{})
	d := w.Deliver(t.Context(), w.NewEvent("customer.created"))
	if d.Status != 200 || d.Outcome != "ignored" || d.Method != "" || len(d.Logs) != 1 {
		t.Errorf("%d %s by %q, %d lines; want 200 ignored by none, the delivery line alone", d.Status, d.Outcome, d.Method, len(d.Logs))
	}
}

// TestCheckoutSessionCompletedOnce delivers one checkout.session.completed
// as Stripe may: three times, two of them at once. With dedup the order is
// fulfilled once; the concurrent delivery is told to come back (409) or is
// a duplicate.
func TestCheckoutSessionCompletedOnce(t *testing.T) {
	w := dispatchtest.NewWebhook(t, Handler{}, dispatchtest.WithDedup())
	e := w.NewEvent("checkout.session.completed")
	ds := append(w.DeliverConcurrently(t.Context(), e, e), w.DeliverAll(t.Context(), dispatchtest.Duplicates(e, 2)...)...)
	fulfilled := 0
	for _, d := range ds {
		switch d.Outcome {
		case "handled":
			fulfilled++
		case "duplicate", "in_progress":
		default:
			t.Errorf("%d %s", d.Status, d.Outcome)
		}
		if d.Log("checkout completed") != nil && d.Outcome != "handled" {
			t.Errorf("a %s delivery fulfilled the order", d.Outcome)
		}
	}
	if fulfilled != 1 {
		t.Errorf("fulfilled %d times, want once", fulfilled)
	}
}

// TestStripeErrorIsReturned checks that a failing Stripe call becomes the
// method's error, so the delivery answers 500 and Stripe retries:
// stripe-mock refuses a key that is not of the sk_test_ form.
func TestStripeErrorIsReturned(t *testing.T) {
	w := dispatchtest.NewWebhook(t, Handler{}, dispatchtest.WithSecrets(map[string]string{"STRIPE_KEY": "not-a-key"}))
	e := w.NewEvent("checkout.session.completed").Set("data.object.id", "cs_test_1")
	d := w.Deliver(t.Context(), e)
	if d.Status != 500 || d.Outcome != "handler_error" {
		t.Fatalf("%d %s, want 500 handler_error", d.Status, d.Outcome)
	}
	if err, _ := d.Log("delivery")["error"].(string); !strings.Contains(err, "handler CheckoutSessionCompleted: listing line items of cs_test_1") {
		t.Errorf("delivery line's error %q", err)
	}
	if !strings.Contains(d.Body, `"error":"handler failed"`) || strings.Contains(d.Body, "cs_test_1") {
		t.Errorf("the answer says more than that the handler failed: %s", d.Body)
	}
}
