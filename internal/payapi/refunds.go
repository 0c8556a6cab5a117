package payapi

import (
	"context"
	"net/http"

	"github.com/stripe/stripe-go/v76"
)

// createRefundRequest is the body of POST /refunds. Without an amount the
// whole remaining amount is refunded.
type createRefundRequest struct {
	PaymentIntent *string `json:"payment_intent"`
	Amount        *int64  `json:"amount"`
	Reason        *string `json:"reason"`
}

// refund answers POST /refunds.
type refund struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Amount int64  `json:"amount"`
}

// createRefund serves POST /refunds.
func (h *Handler) createRefund(ctx context.Context, c *call) (int, any, error) {
	var req createRefundRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	for _, err := range []error{
		checkID("payment_intent", "pi_", req.PaymentIntent, true),
		checkAmount("amount", req.Amount, false),
		checkEnum("reason", req.Reason, string(stripe.RefundReasonDuplicate), string(stripe.RefundReasonFraudulent), string(stripe.RefundReasonRequestedByCustomer)),
	} {
		if err != nil {
			return 0, nil, err
		}
	}
	params := &stripe.RefundParams{PaymentIntent: req.PaymentIntent, Amount: req.Amount, Reason: req.Reason}
	c.write(&params.Params)
	re, err := c.stripe.Refunds.New(params)
	if err != nil {
		return 0, nil, stripeFailed("create refund", err)
	}
	c.seen(re.LastResponse)
	return http.StatusCreated, refund{ID: re.ID, Status: string(re.Status), Amount: re.Amount}, nil
}
