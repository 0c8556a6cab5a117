package payapi

import (
	"context"
	"net/http"

	"github.com/stripe/stripe-go/v76"
)

// Subscription creation settings: the subscription starts incomplete until
// its first invoice is paid with the client secret returned, and the payment
// method used becomes its default for renewals.
const (
	paymentBehavior     = "default_incomplete"
	expandPaymentIntent = "latest_invoice.payment_intent"
	maxTrialDays        = 730 // Stripe's limit
)

// createSubscriptionRequest is the body of POST /subscriptions. The price
// may be given as "price" or "priceId", not both.
type createSubscriptionRequest struct {
	Customer  *string `json:"customer"`
	Price     *string `json:"price"`
	PriceID   *string `json:"priceId"`
	Quantity  *int64  `json:"quantity"`
	TrialDays *int64  `json:"trial_days"`
}

// subscription answers every subscription route. ClientSecret is the
// client secret of the first invoice's payment intent while payment is due,
// else null; CurrentPeriodEnd is null when Stripe does not report it.
type subscription struct {
	ID                string  `json:"id"`
	Status            string  `json:"status"`
	ClientSecret      *string `json:"client_secret"`
	CurrentPeriodEnd  *int64  `json:"current_period_end"`
	CancelAtPeriodEnd bool    `json:"cancel_at_period_end"`
}

func viewSubscription(s *stripe.Subscription) subscription {
	out := subscription{ID: s.ID, Status: string(s.Status), CancelAtPeriodEnd: s.CancelAtPeriodEnd}
	if s.CurrentPeriodEnd != 0 {
		out.CurrentPeriodEnd = &s.CurrentPeriodEnd
	}
	if inv := s.LatestInvoice; inv != nil && inv.PaymentIntent != nil && paymentDue(inv.PaymentIntent.Status) && inv.PaymentIntent.ClientSecret != "" {
		out.ClientSecret = &inv.PaymentIntent.ClientSecret
	}
	return out
}

// paymentDue reports whether a payment intent in status st still waits for
// the customer.
func paymentDue(st stripe.PaymentIntentStatus) bool {
	switch st {
	case stripe.PaymentIntentStatusRequiresPaymentMethod, stripe.PaymentIntentStatusRequiresConfirmation, stripe.PaymentIntentStatusRequiresAction:
		return true
	}
	return false
}

// createSubscription serves POST /subscriptions.
func (h *Handler) createSubscription(ctx context.Context, c *call) (int, any, error) {
	var req createSubscriptionRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if err := checkID("customer", "cus_", req.Customer, true); err != nil {
		return 0, nil, err
	}
	price, field := req.Price, "price"
	switch {
	case req.Price != nil && req.PriceID != nil:
		return 0, nil, invalid("price", "and priceId are the same field: send one of them")
	case req.PriceID != nil:
		price, field = req.PriceID, "priceId"
	}
	for _, err := range []error{
		checkID(field, "price_", price, true),
		checkRange("quantity", req.Quantity, 1, MaxAmount),
		checkRange("trial_days", req.TrialDays, 1, maxTrialDays),
	} {
		if err != nil {
			return 0, nil, err
		}
	}
	params := &stripe.SubscriptionParams{
		Customer:        req.Customer,
		Items:           []*stripe.SubscriptionItemsParams{{Price: price, Quantity: req.Quantity}},
		PaymentBehavior: stripe.String(paymentBehavior),
		PaymentSettings: &stripe.SubscriptionPaymentSettingsParams{
			SaveDefaultPaymentMethod: stripe.String(string(stripe.SubscriptionPaymentSettingsSaveDefaultPaymentMethodOnSubscription)),
		},
		TrialPeriodDays: req.TrialDays,
	}
	params.AddExpand(expandPaymentIntent)
	c.write(&params.Params)
	sub, err := c.stripe.Subscriptions.New(params)
	if err != nil {
		return 0, nil, stripeFailed("create subscription", err)
	}
	c.seen(sub.LastResponse)
	return http.StatusCreated, viewSubscription(sub), nil
}

// getSubscription serves GET /subscriptions/{id}.
func (h *Handler) getSubscription(ctx context.Context, c *call) (int, any, error) {
	id, err := pathID(c, "sub_")
	if err != nil {
		return 0, nil, err
	}
	params := &stripe.SubscriptionParams{}
	params.AddExpand(expandPaymentIntent)
	c.read(&params.Params)
	sub, err := c.stripe.Subscriptions.Get(id, params)
	if err != nil {
		return 0, nil, stripeFailed("get subscription", err)
	}
	c.seen(sub.LastResponse)
	return http.StatusOK, viewSubscription(sub), nil
}

// cancelSubscription serves DELETE /subscriptions/{id}?immediately=BOOL:
// by default the subscription ends with its current period
// (cancel_at_period_end); immediately=true cancels it now.
func (h *Handler) cancelSubscription(ctx context.Context, c *call) (int, any, error) {
	id, err := pathID(c, "sub_")
	if err != nil {
		return 0, nil, err
	}
	now := false
	if vs, ok := c.r.URL.Query()["immediately"]; ok {
		if len(vs) != 1 || vs[0] != "true" && vs[0] != "false" {
			return 0, nil, invalid("immediately", "must be true or false")
		}
		now = vs[0] == "true"
	}
	var sub *stripe.Subscription
	if now {
		params := &stripe.SubscriptionCancelParams{}
		params.AddExpand(expandPaymentIntent)
		c.write(&params.Params)
		sub, err = c.stripe.Subscriptions.Cancel(id, params)
	} else {
		params := &stripe.SubscriptionParams{CancelAtPeriodEnd: stripe.Bool(true)}
		params.AddExpand(expandPaymentIntent)
		c.write(&params.Params)
		sub, err = c.stripe.Subscriptions.Update(id, params)
	}
	if err != nil {
		return 0, nil, stripeFailed("cancel subscription", err)
	}
	c.seen(sub.LastResponse)
	return http.StatusOK, viewSubscription(sub), nil
}
