// Package handler holds the Stripe event handlers: one method per event
// type, named after it (charge.succeeded -> ChargeSucceeded). Edit this file;
// the runtime finds the methods by reflection and checks them at start-up.
//
// Each method runs on its own copy of Handler, with the embedded
// dispatch.Env set: h.Stripe (a Stripe client with the STRIPE_KEY secret),
// h.Secrets (every secret by name), h.Event (the event envelope) and h.Log
// (a logger carrying the event's id and type). Return an error, or panic, to
// answer 500 so that Stripe delivers the event again; return nil to answer
// 200.
package handler

import (
	"context"
	"fmt"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
)

// Handler receives Stripe events. Fields other than Env that Init sets are
// carried into every event's copy.
type Handler struct {
	dispatch.Env
}

// ChargeSucceeded records a successful payment.
func (h *Handler) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	h.Log.Info("payment received", "charge", c.ID, "amount", c.Amount, "currency", c.Currency)
	return nil
}

// InvoicePaymentFailed notes a failed invoice payment; Stripe's dunning
// retries the payment itself.
func (h *Handler) InvoicePaymentFailed(ctx context.Context, inv *stripe.Invoice) error {
	h.Log.Warn("invoice payment failed", "invoice", inv.ID, "amount_due", inv.AmountDue, "attempt", inv.AttemptCount)
	return nil
}

// CheckoutSessionCompleted fulfils a Checkout order: it lists what was bought
// through the Stripe API.
func (h *Handler) CheckoutSessionCompleted(ctx context.Context, s *stripe.CheckoutSession) error {
	params := &stripe.CheckoutSessionListLineItemsParams{Session: stripe.String(s.ID)}
	params.Context = ctx
	it := h.Stripe.CheckoutSessions.ListLineItems(params)
	items := 0
	for it.Next() {
		items++
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("listing line items of %s: %w", s.ID, err)
	}
	h.Log.Info("checkout completed", "session", s.ID, "line_items", items, "amount_total", s.AmountTotal)
	return nil
}

// CustomerSubscriptionDeleted notes a cancelled subscription.
func (h *Handler) CustomerSubscriptionDeleted(ctx context.Context, sub *stripe.Subscription) error {
	h.Log.Info("subscription ended", "subscription", sub.ID, "status", sub.Status)
	return nil
}
